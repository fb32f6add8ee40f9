// The tokenizer interface's shared parts (vocabulary lookup, special-token partition, decode) and
// the two loaders: GGUF metadata as llama.cpp's llama_vocab::impl::load reads it
// (src/llama-vocab.cpp), and llama2.c's tokenizer.bin as run.c's build_tokenizer reads it. The
// algorithms themselves are in tokenizer_spm.cpp and tokenizer_bpe.cpp.
#include "io/tokenizer.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "io/corpus.h"
#include "io/tokenizer_impl.h"

namespace stretch {

using gguf::detail::printable;

namespace detail {

std::optional<unsigned char> byte_token_value(std::string_view text) {
    if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return std::nullopt;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    const int hi = hex(text[3]), lo = hex(text[4]);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<unsigned char>(hi * 16 + lo);
}

}  // namespace detail

tokenizer::tokenizer(vocabulary v)
    : source_(std::move(v.source)), texts_(std::move(v.texts)), types_(std::move(v.types)), bos_(v.bos), eos_(v.eos),
      add_bos_default_(v.add_bos_default) {
    STRETCH_ASSERT(types_.size() == texts_.size());
    index_.reserve(texts_.size());
    for (std::size_t i = 0; i < texts_.size(); ++i) {
        const std::string& text = texts_[i];
        if (types_[i] == token_type::byte && !detail::byte_token_value(text))
            fail("{}: {}[{}] = '{}' has token_type 6 (byte), expected the form <0xXX>", source_, v.what, i, printable(text));
        // llama.cpp renames empty entries "[EMPTY_i]" to keep them out of its index; they are left
        // out here too, so no text ever matches them.
        if (text.empty()) continue;
        const auto [at, added] = index_.emplace(text, static_cast<std::int32_t>(i));
        if (!added)
            fail("{}: {}[{}] = '{}' repeats {}[{}], expected distinct tokens", source_, v.what, i, printable(text), v.what, at->second);
        if (types_[i] == token_type::control || types_[i] == token_type::user_defined || types_[i] == token_type::unknown)
            specials_.push_back(static_cast<std::int32_t>(i));
    }
    // llama.cpp sorts by length alone with std::sort; ties by id make the order deterministic.
    std::stable_sort(specials_.begin(), specials_.end(),
                     [&](std::int32_t a, std::int32_t b) { return texts_[a].size() > texts_[b].size(); });
}

std::string tokenizer::token_bytes(std::int32_t id, bool special) const {
    const std::string& text = token_text(id);
    switch (type(id)) {
        case token_type::normal: return normal_token_bytes(text);
        case token_type::byte: return std::string(1, static_cast<char>(*detail::byte_token_value(text)));
        case token_type::user_defined: return text;
        case token_type::control:
        case token_type::unknown: return special ? text : std::string();
        case token_type::unused:
        case token_type::undefined: break;
    }
    return {};
}

std::string tokenizer::decode(std::span<const std::int32_t> ids, bool special) const {
    std::string out;
    for (const std::int32_t id : ids) out += token_bytes(id, special);
    return out;
}

std::optional<std::int32_t> tokenizer::find(std::string_view token_text) const {
    const auto it = index_.find(token_text);
    if (it == index_.end()) return std::nullopt;
    return it->second;
}

void tokenizer::check_id(std::int32_t id) const {
    if (id < 0 || id >= vocab_size()) fail("{}: token id {} out of range [0, {})", source_, id, vocab_size());
}

const std::string& tokenizer::token_text(std::int32_t id) const {
    check_id(id);
    return texts_[id];
}

token_type tokenizer::type(std::int32_t id) const {
    check_id(id);
    return types_[id];
}

std::vector<tokenizer::fragment> tokenizer::split_special(std::string_view text) const {
    std::vector<fragment> pieces;
    if (!text.empty()) pieces.push_back({text});
    for (const std::int32_t id : specials_) {
        const std::string& special = texts_[id];
        std::vector<fragment> next;
        for (const fragment& f : pieces) {
            if (f.id >= 0) {
                next.push_back(f);
                continue;
            }
            std::string_view rest = f.text;
            for (std::size_t at; (at = rest.find(special)) != std::string_view::npos;) {
                if (at > 0) next.push_back({rest.substr(0, at)});
                next.push_back({special, id});
                rest.remove_prefix(at + special.size());
            }
            if (!rest.empty()) next.push_back({rest});
        }
        pieces = std::move(next);
    }
    return pieces;
}

namespace {

constexpr const char* tokens_key = "tokenizer.ggml.tokens";

std::vector<token_type> read_types(const gguf::reader& file, std::size_t n) {
    constexpr const char* key = "tokenizer.ggml.token_type";
    if (!file.find(key)) return std::vector<token_type>(n, token_type::normal);
    const std::vector<std::int32_t> raw = file.get_array_i32(key);
    if (raw.size() != n) fail("{}: {} has {} entries, expected {} (one per token)", file.path(), key, raw.size(), n);
    std::vector<token_type> types(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (raw[i] < 0 || raw[i] > 6) fail("{}: {}[{}] = {}, expected a token type 0..6", file.path(), key, i, raw[i]);
        types[i] = static_cast<token_type>(raw[i]);
    }
    return types;
}

// An id key: absent gives llama.cpp's default for the vocabulary type (if that default is in
// range; llama.cpp disables it otherwise); present must name a token.
std::int32_t special_id(const gguf::reader& file, const char* key, std::int32_t fallback, std::size_t n) {
    if (!file.find(key)) return fallback >= 0 && static_cast<std::size_t>(fallback) < n ? fallback : -1;
    const std::uint32_t id = file.get_u32(key);
    if (id >= n) fail("{}: {} = {}, expected a token id below {}", file.path(), key, id, n);
    return static_cast<std::int32_t>(id);
}

}  // namespace

std::unique_ptr<tokenizer> tokenizer_from_gguf(const gguf::reader& file) {
    const std::string model = file.get_string("tokenizer.ggml.model");
    const bool spm = model == "llama";
    if (!spm && model != "gpt2")
        fail("{}: tokenizer.ggml.model = '{}', expected 'llama' (SentencePiece) or 'gpt2' (byte-level BPE)", file.path(),
             printable(model));
    vocabulary v;
    v.source = file.path();
    v.what = tokens_key;
    v.texts = file.get_array_string(tokens_key);
    const std::size_t n = v.texts.size();
    if (n == 0 || n > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        fail("{}: {} has {} entries, expected 1 to 2^31-1 tokens", file.path(), tokens_key, n);
    v.types = read_types(file, n);
    v.bos = special_id(file, "tokenizer.ggml.bos_token_id", spm ? 1 : -1, n);
    v.eos = special_id(file, "tokenizer.ggml.eos_token_id", spm ? 2 : -1, n);
    v.add_bos_default = file.get_bool_or("tokenizer.ggml.add_bos_token", spm);
    if (v.add_bos_default && v.bos < 0)
        fail("{}: tokenizer.ggml.add_bos_token is true, but there is no tokenizer.ggml.bos_token_id", file.path());
    if (spm) {
        constexpr const char* key = "tokenizer.ggml.scores";
        // Without scores every merge ties and the leftmost wins, as in llama.cpp (scores 0).
        std::vector<float> scores = file.find(key) ? file.get_array_f32(key) : std::vector<float>(n, 0.0f);
        if (scores.size() != n) fail("{}: {} has {} entries, expected {} (one per token)", file.path(), key, scores.size(), n);
        const bool add_space_prefix = file.get_bool_or("tokenizer.ggml.add_space_prefix", true);
        return detail::make_spm_tokenizer(std::move(v), std::move(scores), add_space_prefix);
    }
    const std::string pre_name = file.get_string_or("tokenizer.ggml.pre", "default");
    const std::optional<pretokenizer> pre = find_pretokenizer(pre_name);
    if (!pre) fail("{}: tokenizer.ggml.pre = '{}', expected one of: {}", file.path(), printable(pre_name), pretokenizer_names());
    const std::vector<std::string> merges = file.get_array_string("tokenizer.ggml.merges");
    return detail::make_bpe_tokenizer(std::move(v), merges, *pre);
}

std::unique_ptr<tokenizer> load_llama2c_tokenizer(const std::string& path, std::int32_t vocab_size) {
    if (vocab_size < 259)
        fail("{}: vocabulary size {}, expected at least 259 (<unk>, <s>, </s> and the 256 byte tokens run.c's byte fallback uses)",
             path, vocab_size);
    const std::string data = read_text_file(path);

    std::size_t offset = 0;
    auto take = [&](std::size_t n, const char* what, std::int32_t token) {
        if (data.size() - offset < n) {
            if (token < 0) fail("{}: truncated at byte {} reading {} ({} bytes in the file)", path, offset, what, data.size());
            fail("{}: truncated at byte {} reading the {} of token {} ({} bytes in the file, {} tokens expected)", path, offset, what,
                 token, data.size(), vocab_size);
        }
        const std::string_view bytes(data.data() + offset, n);
        offset += n;
        return bytes;
    };
    auto take_i32 = [&](const char* what, std::int32_t token) {
        std::int32_t x;
        std::memcpy(&x, take(4, what, token).data(), 4);
        return x;
    };
    take(4, "max_token_length", -1);  // run.c sizes a buffer with it; nothing else depends on it

    vocabulary v;
    v.source = path;
    v.texts.reserve(vocab_size);
    v.types.reserve(vocab_size);
    std::vector<float> scores(vocab_size);
    for (std::int32_t i = 0; i < vocab_size; ++i) {
        std::memcpy(&scores[i], take(4, "score", i).data(), 4);
        const std::size_t at = offset;
        const std::int32_t length = take_i32("length", i);
        if (length < 0) fail("{}: token {} has length {} (at byte {}), expected a byte count >= 0", path, i, length, at);
        std::string text(take(static_cast<std::size_t>(length), "bytes", i));
        // run.c's ids: 0 <unk>, 1 BOS, 2 EOS; pieces of the form <0xXX> decode to their byte.
        v.types.push_back(i == 0                                 ? token_type::unknown
                          : i <= 2                               ? token_type::control
                          : detail::byte_token_value(text)       ? token_type::byte
                                                                 : token_type::normal);
        v.texts.push_back(std::move(text));
    }
    v.bos = 1;
    v.eos = 2;
    v.add_bos_default = true;  // run.c's generate encodes the prompt with bos = 1
    return detail::make_llama2c_tokenizer(std::move(v), std::move(scores));
}

}  // namespace stretch
