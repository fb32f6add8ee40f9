// GPT-2 byte-level BPE (Radford et al. 2019; openai/gpt-2 encoder.py) as llama.cpp's
// llm_tokenizer_bpe runs it (src/llama-vocab.cpp): special tokens cut out first, the rest split into
// words by the pre-tokenizer (io/pretokenizer.h), each word's bytes mapped to GPT-2's printable
// alphabet (bytes_to_unicode) and merged pair by pair, lowest merge rank first, leftmost on ties.
// Not the SentencePiece-flavoured BPE some GGUF "gpt2" files use without byte encoding (Gemma 4),
// nor tokenizers that skip merges for whole-word tokens (llama.cpp's ignore_merges, Llama 3).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "io/tokenizer_impl.h"

namespace stretch {
namespace {

// GPT-2's bytes_to_unicode: the printable bytes '!'..'~', U+00A1..U+00AC and U+00AE..U+00FF stand
// for themselves, the other 68 bytes for U+0100 onwards in byte order.
struct byte_alphabet {
    std::array<char32_t, 256> char_of{};
    std::array<std::int16_t, 256 + 68> byte_of{};  // -1: not in the alphabet

    byte_alphabet() {
        byte_of.fill(-1);
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char_of[b] = printable ? char32_t(b) : next++;
            byte_of[char_of[b]] = static_cast<std::int16_t>(b);
        }
    }
};

const byte_alphabet& alphabet() {
    static const byte_alphabet a;
    return a;
}

// The alphabet ends at U+0143, so one or two UTF-8 bytes.
std::string utf8(char32_t cp) {
    STRETCH_ASSERT(cp < 0x800);
    if (cp < 0x80) return std::string(1, static_cast<char>(cp));
    return {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
}

// Token text back to bytes: each character of the alphabet gives its byte; anything else (not
// produced by byte-level BPE) is kept as it is.
std::string unmap_bytes(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b >= 0xC0 && b < 0xE0 && i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
            const char32_t cp = (char32_t(b & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
            const int byte = cp < alphabet().byte_of.size() ? alphabet().byte_of[cp] : -1;
            out += byte >= 0 ? std::string(1, static_cast<char>(byte)) : text.substr(i, 2);
            i += 2;
            continue;
        }
        const int byte = b < 0x80 ? alphabet().byte_of[b] : -1;
        out += byte >= 0 ? static_cast<char>(byte) : text[i];
        ++i;
    }
    return out;
}

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
    return (std::uint64_t(std::uint32_t(left)) << 32) | std::uint32_t(right);
}

class bpe_tokenizer final : public tokenizer {
public:
    bpe_tokenizer(vocabulary v, std::span<const std::string> merges, pretokenizer pre)
        : tokenizer(std::move(v)), pre_(pre) {
        for (int b = 0; b < 256; ++b) {
            const std::optional<std::int32_t> id = find(utf8(alphabet().char_of[b]));
            byte_token_[b] = id ? *id : -1;
        }
        merges_.reserve(merges.size());
        for (std::size_t rank = 0; rank < merges.size(); ++rank) {
            const std::string& m = merges[rank];
            // llama.cpp splits at the first space after the first character
            const std::size_t space = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
            if (space == std::string::npos)
                fail("{}: tokenizer.ggml.merges[{}] = '{}', expected 'LEFT RIGHT'", source(), rank, gguf::detail::printable(m));
            const std::string left = m.substr(0, space), right = m.substr(space + 1);
            const std::optional<std::int32_t> l = find(left), r = find(right), joined = find(left + right);
            if (!l || !r || !joined)
                fail("{}: tokenizer.ggml.merges[{}] = '{}': '{}' is not a token, expected both sides and their concatenation in "
                     "tokenizer.ggml.tokens",
                     source(), rank, gguf::detail::printable(m), gguf::detail::printable(!l ? left : !r ? right : left + right));
            // the first occurrence of a pair counts, as in llama.cpp's bpe_ranks.emplace
            merges_.emplace(pair_key(*l, *r), merge_rule{static_cast<std::int32_t>(rank), *joined});
        }
    }

    std::vector<std::int32_t> encode(std::string_view text, bool add_bos) const override {
        std::vector<std::int32_t> out;
        if (add_bos && bos() >= 0) out.push_back(bos());
        for (const fragment& f : split_special(text)) {
            if (f.id >= 0) {
                out.push_back(f.id);
                continue;
            }
            for (const std::string_view word : pretokenize(f.text, pre_))
                encode_word(word, static_cast<std::size_t>(word.data() - text.data()), out);
        }
        return out;
    }

    std::string normal_token_bytes(const std::string& text) const override { return unmap_bytes(text); }

private:
    struct merge_rule {
        std::int32_t rank;
        std::int32_t result;
    };
    struct symbol {
        std::int32_t id;  // -1 once merged into its left neighbour
        int prev;
        int next;
    };
    struct candidate {
        std::int32_t rank;
        int left;
        int right;
        std::int32_t left_id;  // the pair as it was: a candidate whose symbols changed since is stale
        std::int32_t right_id;
        std::int32_t result;
    };
    struct lower_priority {
        bool operator()(const candidate& a, const candidate& b) const {
            return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
        }
    };
    using queue = std::priority_queue<candidate, std::vector<candidate>, lower_priority>;

    void try_pair(const std::vector<symbol>& symbols, int left, int right, queue& q) const {
        if (left < 0 || right < 0) return;
        const auto it = merges_.find(pair_key(symbols[left].id, symbols[right].id));
        if (it == merges_.end()) return;
        q.push({it->second.rank, left, right, symbols[left].id, symbols[right].id, it->second.result});
    }

    // `offset`: where the word starts in the text, for the error message.
    void encode_word(std::string_view word, std::size_t offset, std::vector<std::int32_t>& out) const {
        std::vector<symbol> symbols(word.size());
        for (std::size_t i = 0; i < word.size(); ++i) {
            const auto b = static_cast<unsigned char>(word[i]);
            if (byte_token_[b] < 0)
                fail("{}: byte 0x{:02X} (text offset {}) has no token in this byte-level vocabulary, so the text cannot be encoded",
                     source(), b, offset + i);
            symbols[i] = {byte_token_[b], static_cast<int>(i) - 1, i + 1 < word.size() ? static_cast<int>(i) + 1 : -1};
        }
        queue q;
        for (std::size_t i = 1; i < symbols.size(); ++i) try_pair(symbols, static_cast<int>(i) - 1, static_cast<int>(i), q);
        while (!q.empty()) {
            const candidate c = q.top();
            q.pop();
            symbol& left = symbols[c.left];
            symbol& right = symbols[c.right];
            if (left.id != c.left_id || right.id != c.right_id) continue;
            left.id = c.result;
            right.id = -1;
            left.next = right.next;
            if (right.next >= 0) symbols[right.next].prev = c.left;
            try_pair(symbols, left.prev, c.left, q);
            try_pair(symbols, c.left, left.next, q);
        }
        for (const symbol& s : symbols)
            if (s.id >= 0) out.push_back(s.id);
    }

    pretokenizer pre_;
    std::int32_t byte_token_[256] = {};  // the token of each byte's alphabet character, -1 for none
    std::unordered_map<std::uint64_t, merge_rule> merges_;
};

}  // namespace

namespace detail {

std::unique_ptr<tokenizer> make_bpe_tokenizer(vocabulary v, std::span<const std::string> merges, pretokenizer pre) {
    return std::make_unique<bpe_tokenizer>(std::move(v), merges, pre);
}

}  // namespace detail
namespace detail {

std::string gpt2_byte_symbol(unsigned char byte) { return utf8(alphabet().char_of[byte]); }

}  // namespace detail

}  // namespace stretch
