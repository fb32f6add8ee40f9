// Internal to io/tokenizer*.cpp: the concrete tokenizers, built by the loaders in tokenizer.cpp
// once a vocabulary has been read and checked. Not a public interface.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/pretokenizer.h"
#include "io/tokenizer.h"

namespace stretch::detail {

// The byte a byte-fallback token "<0xXX>" (two hex digits, either case) stands for.
std::optional<unsigned char> byte_token_value(std::string_view text);

// GPT-2's bytes_to_unicode symbol of one byte, as UTF-8 (a byte-level BPE vocabulary's spelling).
std::string gpt2_byte_symbol(unsigned char byte);

// llama.cpp's llm_tokenizer_spm; scores one per token.
std::unique_ptr<tokenizer> make_spm_tokenizer(vocabulary v, std::vector<float> scores, bool add_space_prefix);
// llama2.c run.c's encode; scores one per token. Needs a " " token and ids 3..258 for bytes.
std::unique_ptr<tokenizer> make_llama2c_tokenizer(vocabulary v, std::vector<float> scores);
// llama.cpp's llm_tokenizer_bpe; `merges` as GGUF tokenizer.ggml.merges stores them ("LEFT RIGHT",
// highest priority first), checked here: both sides and their concatenation must be tokens.
std::unique_ptr<tokenizer> make_bpe_tokenizer(vocabulary v, std::span<const std::string> merges, pretokenizer pre);

}  // namespace stretch::detail
