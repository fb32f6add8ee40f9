// Training and evaluation text: a file's bytes, and its tokens under a model's tokenizer. stretch's
// own models are byte-level (io/tokenizer_byte.h: a token is one byte, so loss per token is loss per
// byte); pretrained models bring their own tokenizers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/tokenizer.h"

namespace stretch {

// The whole file as bytes (io/input_file.h: regular files only); throws stretch::error naming the
// file if it is missing, not a regular file or unreadable.
std::string read_text_file(const std::string& path);

// The tokens of a text file under `tok`. Errors name the role and the file ("--text FILE: ..."): a
// file that is missing, special, unreadable or empty, or a byte the vocabulary cannot express (with
// its offset). `what`: "--data", "--val", "--text".
std::vector<std::int32_t> read_text_tokens(const tokenizer& tok, const std::string& path, const char* what,
                                           bool add_bos = false);
// The same under the byte-level vocabulary of `vocab_size` tokens (a model with fewer than 256 cannot
// read every byte).
std::vector<std::int32_t> read_byte_tokens(const std::string& path, const char* what, std::int64_t vocab_size);

}  // namespace stretch
