// SentencePiece-style BPE over a scored vocabulary, in its two reference forms:
//  - llama.cpp's llm_tokenizer_spm (src/llama-vocab.cpp; from SentencePiece's bpe_model.cc):
//    a space is prepended when add_space_prefix is set (at the start and after every special
//    token), spaces become U+2581, the text is split into UTF-8 characters, adjacent symbols are
//    merged while their concatenation is a token (highest score first, leftmost on ties), and a
//    symbol that is not a token falls back to its bytes as <0xXX> tokens.
//  - llama2.c's encode (karpathy/llama2.c run.c): the " " token first when the text is not empty
//    (the dummy prefix, a token of its own rather than a prefixed space), then each UTF-8
//    character (a lead byte and at most three continuation bytes) looked up whole, or failing
//    that its bytes as ids byte + 3, and only then the merges, each of the best-scoring pair
//    (strictly above -1e10, the leftmost of equals), with the concatenated texts looked up.
//    Characters missing from the vocabulary therefore never take part in merges, unlike in
//    llama.cpp, where they can, and no special tokens are parsed.
// Not SentencePiece's Unigram model, nor its normaliser (NFKC, whitespace folding).
#include <algorithm>
#include <cstddef>
#include <optional>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "io/tokenizer_impl.h"

namespace stretch {
namespace {

constexpr std::string_view escaped_space = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

// run.c starts best_score at -1e10 and merges only pairs scoring strictly more.
constexpr float llama2c_score_floor = -1e10f;

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
    std::string out;
    for (std::size_t at; (at = text.find(from)) != std::string_view::npos;) {
        out.append(text.substr(0, at)).append(to);
        text.remove_prefix(at + from.size());
    }
    return out.append(text);
}

class spm_tokenizer final : public tokenizer {
public:
    enum class flavour { llama_cpp, llama2c };

    spm_tokenizer(vocabulary v, std::vector<float> scores, flavour f, bool add_space_prefix)
        : tokenizer(std::move(v)), scores_(std::move(scores)), flavour_(f), add_space_prefix_(add_space_prefix) {
        STRETCH_ASSERT(scores_.size() == static_cast<std::size_t>(vocab_size()));
        if (f == flavour::llama2c) {
            const std::optional<std::int32_t> space = find(" ");
            if (!space) fail("{}: no ' ' token, expected one (llama2.c's dummy prefix)", source());
            dummy_prefix_ = *space;
            return;
        }
        // llama.cpp's byte_to_token: the <0xXX> token, else the byte's own one-byte token.
        for (int b = 0; b < 256; ++b) {
            const std::optional<std::int32_t> id = find(fmt::format("<0x{:02X}>", b));
            const std::optional<std::int32_t> raw = find(std::string(1, static_cast<char>(b)));
            byte_token_[b] = id ? *id : raw ? *raw : -1;
        }
    }

    std::vector<std::int32_t> encode(std::string_view text, bool add_bos) const override {
        std::vector<std::int32_t> out;
        if (add_bos && bos() >= 0) out.push_back(bos());
        if (flavour_ == flavour::llama2c) {
            encode_llama2c(text, out);
            return out;
        }
        bool after_special = true;  // the text's start counts as following a special token
        for (const fragment& f : split_special(text)) {
            if (f.id >= 0) {
                out.push_back(f.id);
                after_special = true;
                continue;
            }
            std::string prefixed(add_space_prefix_ && after_special ? " " : "");
            prefixed += f.text;
            encode_llama_cpp(replace_all(prefixed, " ", escaped_space), out);
            after_special = false;
        }
        return out;
    }

    std::string normal_token_bytes(const std::string& text) const override { return flavour_ == flavour::llama_cpp ? replace_all(text, escaped_space, " ") : text; }

private:
    struct symbol {
        std::string text;  // empty once merged into its left neighbour
        std::int32_t id;   // the token `text` is, -1 when none
        int prev;
        int next;
    };
    struct candidate {
        float score;
        int left;
        int right;
        std::size_t size;  // of the concatenation: a candidate whose symbols changed since is stale
        std::int32_t id;
    };
    struct lower_priority {
        bool operator()(const candidate& a, const candidate& b) const {
            return a.score < b.score || (a.score == b.score && a.left > b.left);
        }
    };
    using queue = std::priority_queue<candidate, std::vector<candidate>, lower_priority>;

    void try_pair(const std::vector<symbol>& symbols, int left, int right, queue& q) const {
        if (left < 0 || right < 0) return;
        const std::string text = symbols[left].text + symbols[right].text;
        const std::optional<std::int32_t> id = find(text);
        if (!id) return;
        const float score = scores_[*id];
        if (flavour_ == flavour::llama2c && !(score > llama2c_score_floor)) return;
        q.push({score, left, right, text.size(), *id});
    }

    // The merge loop both flavours share. A priority queue of adjacent pairs stands in for
    // run.c's rescan of every pair per merge: both merge, each time, the best-scoring pair that
    // is adjacent now, the leftmost of equals (symbols keep their original order).
    void merge(std::vector<symbol>& symbols) const {
        for (std::size_t i = 0; i < symbols.size(); ++i) {
            symbols[i].prev = static_cast<int>(i) - 1;
            symbols[i].next = i + 1 < symbols.size() ? static_cast<int>(i) + 1 : -1;
        }
        queue q;
        for (std::size_t i = 1; i < symbols.size(); ++i) try_pair(symbols, static_cast<int>(i) - 1, static_cast<int>(i), q);
        while (!q.empty()) {
            const candidate c = q.top();
            q.pop();
            symbol& left = symbols[c.left];
            symbol& right = symbols[c.right];
            if (left.text.empty() || right.text.empty() || left.text.size() + right.text.size() != c.size) continue;
            left.text += right.text;
            left.id = c.id;
            right.text.clear();
            left.next = right.next;
            if (right.next >= 0) symbols[right.next].prev = c.left;
            try_pair(symbols, left.prev, c.left, q);
            try_pair(symbols, c.left, left.next, q);
        }
    }

    void encode_llama_cpp(const std::string& text, std::vector<std::int32_t>& out) const {
        // UTF-8 characters by their lead byte alone (llama.cpp's unicode_len_utf8), cut at the end.
        static constexpr std::size_t lengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
        std::vector<symbol> symbols;
        for (std::size_t at = 0; at < text.size();) {
            const std::size_t n = std::min(lengths[static_cast<unsigned char>(text[at]) >> 4], text.size() - at);
            std::string ch = text.substr(at, n);
            const std::optional<std::int32_t> id = find(ch);
            symbols.push_back({std::move(ch), id ? *id : -1, 0, 0});
            at += n;
        }
        merge(symbols);
        for (const symbol& s : symbols) {
            if (s.text.empty()) continue;
            if (s.id >= 0) {
                out.push_back(s.id);
                continue;
            }
            for (const char c : s.text) {
                const std::int32_t id = byte_token_[static_cast<unsigned char>(c)];
                if (id < 0)
                    fail("{}: byte 0x{:02X} is in no token (neither <0x{:02X}> nor the byte itself), so this text cannot be encoded",
                         source(), static_cast<unsigned char>(c), static_cast<unsigned char>(c));
                out.push_back(id);
            }
        }
    }

    void encode_llama2c(std::string_view text, std::vector<std::int32_t>& out) const {
        if (text.empty()) return;
        std::vector<symbol> symbols{{token_text(dummy_prefix_), dummy_prefix_, 0, 0}};
        for (std::size_t at = 0; at < text.size();) {
            // run.c's grouping: any byte, then continuation bytes (10xxxxxx) up to 4 bytes in all.
            std::size_t end = at + 1;
            while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80 && end - at < 4) ++end;
            const std::string_view ch = text.substr(at, end - at);
            if (const std::optional<std::int32_t> id = find(ch)) {
                symbols.push_back({std::string(ch), *id, 0, 0});
            } else {
                // byte fallback: run.c's ids byte + 3, after <unk>, <s>, </s>
                for (const char c : ch) {
                    const std::int32_t byte_id = static_cast<unsigned char>(c) + 3;
                    symbols.push_back({token_text(byte_id), byte_id, 0, 0});
                }
            }
            at = end;
        }
        merge(symbols);
        for (const symbol& s : symbols)
            if (!s.text.empty()) out.push_back(s.id);
    }

    std::vector<float> scores_;
    flavour flavour_;
    bool add_space_prefix_;
    std::int32_t dummy_prefix_ = -1;  // llama2c: the " " token
    std::int32_t byte_token_[256] = {};  // llama_cpp: byte fallback ids, -1 for none
};

}  // namespace

namespace detail {

std::unique_ptr<tokenizer> make_spm_tokenizer(vocabulary v, std::vector<float> scores, bool add_space_prefix) {
    return std::make_unique<spm_tokenizer>(std::move(v), std::move(scores), spm_tokenizer::flavour::llama_cpp, add_space_prefix);
}

std::unique_ptr<tokenizer> make_llama2c_tokenizer(vocabulary v, std::vector<float> scores) {
    return std::make_unique<spm_tokenizer>(std::move(v), std::move(scores), spm_tokenizer::flavour::llama2c, false);
}

}  // namespace detail
}  // namespace stretch
