// The byte-level "tokenizer" of stretch-trained models: token id = byte value (no BOS or EOS),
// behind the same interface as the pretrained models' tokenizers (io/tokenizer.h). In GGUF it is
// stored as a GPT-2 byte-level BPE vocabulary without merges (token b is GPT-2's symbol for byte
// b), which llama.cpp loads and tokenizes byte for byte, so stretch's models run there too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/gguf.h"
#include "io/tokenizer.h"

namespace stretch {

// Ids 0 .. vocab_size - 1 for the bytes of the same values (vocab_size <= 256; a byte the
// vocabulary lacks is an error when encoded).
std::unique_ptr<tokenizer> make_byte_tokenizer(const std::string& source, std::int64_t vocab_size = 256);

// tokenizer.ggml.* keys of that vocabulary.
void write_byte_vocabulary(gguf::writer& out, std::int64_t vocab_size);
// Whether the file's tokenizer is one write_byte_vocabulary wrote (or none at all, as in files
// stretch wrote before it stored its vocabulary).
bool is_byte_vocabulary(const gguf::reader& in);

}  // namespace stretch
