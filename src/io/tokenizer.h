// Tokenizers of pretrained models: text to token ids and back, id for id as their reference
// implementations produce them. Three algorithms behind one interface:
//  - SentencePiece-style BPE (GGUF tokenizer.ggml.model "llama"): llama.cpp's llm_tokenizer_spm
//    (src/llama-vocab.cpp), a port of SentencePiece's bpe_model.cc (Kudo & Richardson 2018);
//    code: tokenizer_spm.cpp.
//  - GPT-2 byte-level BPE (GGUF "gpt2"; Radford et al. 2019, BPE of Sennrich et al. 2016):
//    llama.cpp's llm_tokenizer_bpe with the pre-tokenizer tokenizer.ggml.pre names
//    (io/pretokenizer.h); code: tokenizer_bpe.cpp.
//  - llama2.c's tokenizer.bin with `encode` of karpathy/llama2.c run.c; code: tokenizer_spm.cpp.
// encode() always parses special tokens (llama.cpp's parse_special = true): the text of a control,
// user-defined or unknown token anywhere in the input becomes that token, so chat markup such as
// "<|im_start|>user\n" encodes as the model was trained on it. llama2.c's encode knows no special
// tokens and parses none.
// Not here: WordPiece, Unigram (T5), RWKV and other vocabulary types; chat templates; llama.cpp's
// per-model token attributes (lstrip/rstrip for Phi-3 and a few others) and its renaming of
// end-of-turn tokens to control type by their text; EOS appending (add_eos_token).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/gguf.h"

namespace stretch {

// GGUF tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class token_type : std::int32_t {
    undefined = 0, normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6,
};

// What every tokenizer is built from; the loaders below fill it in.
struct vocabulary {
    std::string source;           // the file, for error messages
    std::string what = "tokens";  // the entries' name in errors: what[7] = '...'

    std::vector<std::string> texts;
    std::vector<token_type> types;  // one per text
    std::int32_t bos = -1;
    std::int32_t eos = -1;
    bool add_bos_default = false;
};

class tokenizer {
public:
    virtual ~tokenizer() = default;

    // Token ids of `text`; with add_bos the model's BOS id first (when the vocabulary has one).
    // Throws stretch::error only for a byte the vocabulary cannot express (a byte-level vocabulary
    // without a token for it, e.g. 0xC0 in SmolLM2's): llama.cpp and Hugging Face drop such bytes
    // silently, which would change the text being measured.
    virtual std::vector<std::int32_t> encode(std::string_view text, bool add_bos) const = 0;
    // The bytes one token stands for: byte-fallback tokens <0xXX> give the raw byte; GPT-2
    // byte-level tokens are mapped back through the byte-to-unicode table; SentencePiece's U+2581
    // becomes a space; control and unknown tokens give "" unless `special` (then their text);
    // user-defined tokens give their text; unused and undefined ones give "".
    std::string token_bytes(std::int32_t id, bool special = false) const;
    // The concatenation of token_bytes. No leading space is stripped: a SentencePiece or llama2.c
    // encoding decodes to " " + text (the dummy prefix).
    std::string decode(std::span<const std::int32_t> ids, bool special = false) const;

    std::int32_t vocab_size() const { return static_cast<std::int32_t>(texts_.size()); }
    std::int32_t bos() const { return bos_; }  // -1 when absent
    std::int32_t eos() const { return eos_; }  // -1 when absent
    // What the model asks for (GGUF tokenizer.ggml.add_bos_token, by default true for "llama" and
    // false for "gpt2", as in llama.cpp; true for llama2.c): pass it to encode's add_bos.
    bool add_bos_default() const { return add_bos_default_; }
    // Exact vocabulary lookup (e.g. "<|im_end|>"); the text as stored, so SentencePiece pieces
    // spell spaces U+2581 in GGUF files and " " in llama2.c files.
    std::optional<std::int32_t> find(std::string_view token_text) const;
    const std::string& token_text(std::int32_t id) const;  // as stored; throws for an id out of range
    token_type type(std::int32_t id) const;

protected:
    explicit tokenizer(vocabulary v);

    // A piece of input after special tokens are cut out: text (id == -1) or one special token.
    struct fragment {
        std::string_view text;
        std::int32_t id = -1;
    };
    // llama.cpp's tokenizer_st_partition with parse_special: control, user-defined and unknown
    // tokens, longest text first (ties by id), each cut out of every text fragment in turn.
    std::vector<fragment> split_special(std::string_view text) const;

    void check_id(std::int32_t id) const;
    // The bytes of a normal token's stored text (the algorithms spell bytes and spaces differently).
    virtual std::string normal_token_bytes(const std::string& text) const { return text; }  // "SOURCE: token id N out of range [0, V)"
    const std::string& source() const { return source_; }

private:
    std::string source_;
    std::vector<std::string> texts_;
    std::vector<token_type> types_;
    std::unordered_map<std::string, std::int32_t, gguf::detail::string_hash, std::equal_to<>> index_;
    std::vector<std::int32_t> specials_;  // in split_special's order
    std::int32_t bos_ = -1;
    std::int32_t eos_ = -1;
    bool add_bos_default_ = false;
};

// From GGUF metadata: tokenizer.ggml.model ("llama": SentencePiece-style, "gpt2": byte-level BPE
// with the pre-tokenizer tokenizer.ggml.pre names, "default" when absent), tokens, scores,
// token_type, merges, bos_token_id / eos_token_id (defaults as llama.cpp's: 1 / 2 for "llama",
// none for "gpt2"), add_bos_token, add_space_prefix. Errors name the file and the key.
std::unique_ptr<tokenizer> tokenizer_from_gguf(const gguf::reader& file);

// llama2.c's tokenizer.bin (int32 max_token_length, then per token: float32 score, int32 length,
// the bytes), read for the model's vocabulary size; ids 1 and 2 are BOS and EOS, as run.c has them.
// Errors name the file, the byte offset and the token index.
std::unique_ptr<tokenizer> load_llama2c_tokenizer(const std::string& path, std::int32_t vocab_size);

}  // namespace stretch
