// Training and evaluation text. stretch's own models are byte-level: a token is one byte of the
// UTF-8 file (vocabulary 256), so loss per token is loss per byte. Pretrained models bring their own
// tokenizers (a later layer); this file only reads text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stretch {

// The whole file as bytes; throws stretch::error naming the file if it is missing or unreadable.
std::string read_text_file(const std::string& path);

// Byte-level tokens of a file: one id in [0, 256) per byte. `what` names the role in errors
// ("--data", "--val", "--text").
std::vector<std::int32_t> read_byte_tokens(const std::string& path, const char* what);

}  // namespace stretch
