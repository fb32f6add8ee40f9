// The pre-tokenizers of io/pretokenizer.h: llama.cpp's regex cascades (src/llama-vocab.cpp,
// src/unicode.cpp) as code over code points and their Unicode classes (io/unicode_categories.h).
// Each regex stage is the function named after its pattern below.
#include "io/pretokenizer.h"

#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include "core/error.h"
#include "io/unicode_categories.h"

namespace stretch {
namespace {

// The names llama.cpp's llama_vocab::impl::load maps to each kind (LLAMA_VOCAB_PRE_TYPE_DEFAULT,
// _GPT2/_MPT/_OLMO, and _SMOLLM with the types sharing its regexes).
struct named {
    const char* name;
    pretokenizer kind;
};
constexpr std::array<named, 15> names{{
    {"default", pretokenizer::default_bpe},
    {"gpt-2", pretokenizer::gpt2},
    {"phi-2", pretokenizer::gpt2},
    {"mpt", pretokenizer::gpt2},
    {"olmo", pretokenizer::gpt2},
    {"smollm", pretokenizer::smollm},
    {"starcoder", pretokenizer::smollm},
    {"refact", pretokenizer::smollm},
    {"codeshell", pretokenizer::smollm},
    {"command-r", pretokenizer::smollm},
    {"exaone", pretokenizer::smollm},
    {"minerva-7b", pretokenizer::smollm},
    {"mellum2", pretokenizer::smollm},
    {"qwen2", pretokenizer::qwen2},
    {"deepseek-r1-qwen", pretokenizer::qwen2},
}};

// What the patterns test of one character. Letters, numbers and White_Space are disjoint in
// Unicode, so one field holds them; `punctuation` matters only to the default pre-tokenizer.
enum class kind : unsigned char { space, letter, number, punctuation, other };

struct character {
    std::size_t begin;  // byte offset in the text
    char32_t value;     // the code point; 0x110000 + the byte for a byte that is not valid UTF-8
    kind k;
};

kind kind_of(char32_t cp) {
    if (unicode::is_white_space(cp)) return kind::space;
    switch (unicode::category_of(cp)) {
        case unicode::category::letter: return kind::letter;
        case unicode::category::number: return kind::number;
        case unicode::category::punctuation: return kind::punctuation;
        case unicode::category::other: break;
    }
    return kind::other;
}

// UTF-8 read as llama.cpp's unicode_cpt_from_utf8 reads it: a lead byte and the continuation bytes
// it announces (no overlong or surrogate checks); any other byte is one invalid character.
std::vector<character> characters(std::string_view text) {
    std::vector<character> out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        const std::size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
        bool valid = n > 0 && i + n <= text.size();
        for (std::size_t j = 1; valid && j < n; ++j) valid = (static_cast<unsigned char>(text[i + j]) & 0xC0) == 0x80;
        if (!valid) {
            out.push_back({i, char32_t(0x110000 + b), kind::other});
            ++i;
            continue;
        }
        char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
        for (std::size_t j = 1; j < n; ++j) cp = (cp << 6) | (static_cast<unsigned char>(text[i + j]) & 0x3F);
        out.push_back({i, cp, kind_of(cp)});
        i += n;
    }
    return out;
}

using piece = std::pair<std::size_t, std::size_t>;  // [first, last) character indices
using characters_t = std::vector<character>;

// One regex stage the way unicode_regex_split_stl runs it: in each piece, the leftmost match, the
// text before it and the match become pieces, and the search goes on after the match.
// `match(cs, pos, last)` is the length of the match starting at pos (0: none); no pattern here
// matches the empty string.
template <class Match>
std::vector<piece> split_matches(const characters_t& cs, const std::vector<piece>& pieces, Match match) {
    std::vector<piece> out;
    for (const auto& [first, last] : pieces) {
        std::size_t gap = first;
        for (std::size_t pos = first; pos < last;) {
            const std::size_t n = match(cs, pos, last);
            if (n == 0) {
                ++pos;
                continue;
            }
            if (pos > gap) out.emplace_back(gap, pos);
            out.emplace_back(pos, pos + n);
            pos += n;
            gap = pos;
        }
        if (last > gap) out.emplace_back(gap, last);
    }
    return out;
}

template <class Pred>
std::size_t run_of(const characters_t& cs, std::size_t pos, std::size_t last, Pred in_class) {
    std::size_t end = pos;
    while (end < last && in_class(cs[end])) ++end;
    return end - pos;
}

bool is_number(const character& c) { return c.k == kind::number; }

// [\p{P}\$\+<=>\^~\|]+
std::size_t punctuation_run(const characters_t& cs, std::size_t pos, std::size_t last) {
    return run_of(cs, pos, last, [](const character& c) {
        return c.k == kind::punctuation || c.value == U'$' || c.value == U'+' || c.value == U'<' || c.value == U'=' ||
               c.value == U'>' || c.value == U'^' || c.value == U'~' || c.value == U'|';
    });
}

// \p{N}
std::size_t one_number(const characters_t& cs, std::size_t pos, std::size_t) { return is_number(cs[pos]) ? 1 : 0; }

// \p{N}+
std::size_t number_run(const characters_t& cs, std::size_t pos, std::size_t last) { return run_of(cs, pos, last, is_number); }

// [0-9][0-9][0-9]
std::size_t three_digits(const characters_t& cs, std::size_t pos, std::size_t last) {
    if (last - pos < 3) return 0;
    for (std::size_t i = pos; i < pos + 3; ++i)
        if (cs[i].value < U'0' || cs[i].value > U'9') return 0;
    return 3;
}

bool is_contraction(char32_t a, char32_t b) {
    return (a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l');
}

// GPT-2's pattern, following unicode_regex_split_custom_gpt2 branch for branch. Inside a piece the
// alternatives are tried in the pattern's order; a position past the piece's end is "no
// character", so a run of spaces at the end of a piece is taken whole (\s+(?!\S) sees no \S).
std::vector<piece> split_gpt2(const characters_t& cs, const std::vector<piece>& pieces) {
    std::vector<piece> out;
    for (const auto& [first, last] : pieces) {
        std::size_t pos = first;
        auto emit = [&](std::size_t end) {
            out.emplace_back(pos, end);
            pos = end;
        };
        while (pos < last) {
            const char32_t c = cs[pos].value;
            // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive, as in GPT-2)
            if (c == U'\'' && pos + 1 < last) {
                const char32_t next = cs[pos + 1].value;
                if (next == U's' || next == U't' || next == U'm' || next == U'd') {
                    emit(pos + 2);
                    continue;
                }
                if (pos + 2 < last && is_contraction(next, cs[pos + 2].value)) {
                    emit(pos + 3);
                    continue;
                }
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: one leading U+0020 joins the run after it.
            const std::size_t head = c == U' ' ? pos + 1 : pos;
            if (head < last && cs[head].k != kind::space) {
                const kind k = cs[head].k;
                const auto same_run = [k](const character& ch) {
                    if (k == kind::letter || k == kind::number) return ch.k == k;
                    return ch.k != kind::space && ch.k != kind::letter && ch.k != kind::number;  // [^\s\p{L}\p{N}]
                };
                std::size_t end = head + 1;
                while (end < last && same_run(cs[end])) ++end;
                emit(end);
                continue;
            }
            // \s+(?!\S)|\s+ : a run of spaces followed by more text leaves its last one to that text.
            std::size_t n = 0;
            while (pos + n < last && cs[pos + n].k == kind::space) ++n;
            STRETCH_ASSERT(n > 0);  // every non-space character was taken above
            emit(n > 1 && pos + n < last ? pos + n - 1 : pos + n);
        }
    }
    return out;
}

bool is_newline(const character& c) { return c.value == U'\r' || c.value == U'\n'; }

// Qwen2's pattern (pretokenizer.h), alternative by alternative, as a backtracking regex engine
// would take them at each position.
std::vector<piece> split_qwen2(const characters_t& cs, const std::vector<piece>& pieces) {
    std::vector<piece> out;
    const auto lower = [](char32_t c) { return c >= U'A' && c <= U'Z' ? c + 32 : c; };
    for (const piece& p : pieces) {
        // Not a structured binding: clang 14 (scripts/fuzz.sh) refuses one captured by the lambdas.
        const std::size_t first = p.first, last = p.second;
        std::size_t pos = first;
        auto emit = [&](std::size_t end) {
            out.emplace_back(pos, end);
            pos = end;
        };
        const auto run = [&](std::size_t from, auto in_class) {
            while (from < last && in_class(cs[from])) ++from;
            return from;
        };
        const auto letter = [](const character& ch) { return ch.k == kind::letter; };
        const auto space = [](const character& ch) { return ch.k == kind::space; };
        while (pos < last) {
            const character& c = cs[pos];
            // 's, 't, 're, 've, 'm, 'll, 'd in either case
            if (c.value == U'\'' && pos + 1 < last) {
                const char32_t a = lower(cs[pos + 1].value);
                if (a == U's' || a == U't' || a == U'm' || a == U'd') {
                    emit(pos + 2);
                    continue;
                }
                if (pos + 2 < last && is_contraction(a, lower(cs[pos + 2].value))) {
                    emit(pos + 3);
                    continue;
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (c.k == kind::letter) {
                emit(run(pos, letter));
                continue;
            }
            if (!is_newline(c) && c.k != kind::number && pos + 1 < last && cs[pos + 1].k == kind::letter) {
                emit(run(pos + 1, letter));
                continue;
            }
            // \p{N}
            if (c.k == kind::number) {
                emit(pos + 1);
                continue;
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            const std::size_t head = c.value == U' ' ? pos + 1 : pos;
            const auto symbol = [](const character& ch) {
                return ch.k != kind::space && ch.k != kind::letter && ch.k != kind::number;
            };
            if (head < last && symbol(cs[head])) {
                emit(run(run(head, symbol), is_newline));
                continue;
            }
            // \s*[\r\n]+: the whitespace run up to and including its last newline
            const std::size_t blank_end = run(pos, space);
            std::size_t last_newline = blank_end;
            for (std::size_t i = pos; i < blank_end; ++i)
                if (is_newline(cs[i])) last_newline = i;
            if (last_newline < blank_end) {
                emit(last_newline + 1);
                continue;
            }
            // \s+(?!\S)|\s+ : a run followed by more text leaves its last space to that text.
            const std::size_t n = blank_end - pos;
            STRETCH_ASSERT(n > 0);  // every other character was taken above
            emit(n > 1 && blank_end < last ? blank_end - 1 : blank_end);
        }
    }
    return out;
}

}  // namespace

std::optional<pretokenizer> find_pretokenizer(std::string_view name) {
    for (const auto& n : names)
        if (name == n.name) return n.kind;
    return std::nullopt;
}

std::string pretokenizer_names() {
    std::string out;
    for (const auto& n : names) out += out.empty() ? n.name : std::string(", ") + n.name;
    return out;
}

std::vector<std::string_view> pretokenize(std::string_view text, pretokenizer kind) {
    const characters_t cs = characters(text);
    std::vector<piece> pieces;
    if (!cs.empty()) pieces.emplace_back(0, cs.size());
    switch (kind) {
        case pretokenizer::default_bpe:
            pieces = split_matches(cs, pieces, punctuation_run);
            pieces = split_gpt2(cs, pieces);
            pieces = split_matches(cs, pieces, number_run);
            pieces = split_matches(cs, pieces, three_digits);
            break;
        case pretokenizer::gpt2: pieces = split_gpt2(cs, pieces); break;
        case pretokenizer::smollm:
            pieces = split_matches(cs, pieces, one_number);
            pieces = split_gpt2(cs, pieces);
            break;
        case pretokenizer::qwen2: pieces = split_qwen2(cs, pieces); break;
    }
    std::vector<std::string_view> words;
    words.reserve(pieces.size());
    for (const auto& [first, last] : pieces) {
        const std::size_t begin = cs[first].begin;
        const std::size_t end = last < cs.size() ? cs[last].begin : text.size();
        words.push_back(text.substr(begin, end - begin));
    }
    return words;
}

}  // namespace stretch
