// The pre-tokenizers of GPT-2-style byte-level BPE: the regex cascades llama.cpp applies before BPE
// (llm_tokenizer_bpe's regex_exprs per LLAMA_VOCAB_PRE_TYPE in src/llama-vocab.cpp, and
// unicode_regex_split in src/unicode.cpp), written as hand-made matchers over Unicode categories
// because std::regex has no \p{L} or \p{N}. Each stage splits every piece the previous stages left
// into its matches and the text between them, so no byte is ever dropped.
// GPT-2's pattern (Radford et al. 2019, openai/gpt-2 encoder.py) is
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// and is implemented as llama.cpp's unicode_regex_split_custom_gpt2 implements it.
// Qwen2's pattern (Llama 3's, with single digits instead of runs of up to three) is
//   (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|
//   ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// Not here: the other pre-tokenizers llama.cpp knows (llama3, whose BPE also ignores merges for
// whole-word tokens, deepseek, ...).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stretch {

enum class pretokenizer {
    // llama.cpp's fallback: [\p{P}\$\+<=>\^~\|]+, then GPT-2's pattern, then \p{N}+, then [0-9][0-9][0-9]
    default_bpe,
    // GPT-2's pattern alone
    gpt2,
    // every \p{N} code point on its own, then GPT-2's pattern (SmolLM, StarCoder: HF's
    // Digits(individual_digits=True) followed by ByteLevel)
    smollm,
    // Qwen2's pattern alone
    qwen2,
};

// The pre-tokenizer for a GGUF tokenizer.ggml.pre value, by llama.cpp's names; nullopt for a name
// this file does not implement.
std::optional<pretokenizer> find_pretokenizer(std::string_view name);
// The names find_pretokenizer accepts, comma-separated (for error messages).
std::string pretokenizer_names();

// Splits `text` into the words BPE merges within. Bytes that are not valid UTF-8 are single
// characters of no category (llama.cpp reads them as U+FFFD, which splits the same way); the
// words are views into `text` and cover it exactly, in order.
std::vector<std::string_view> pretokenize(std::string_view text, pretokenizer kind);

}  // namespace stretch
