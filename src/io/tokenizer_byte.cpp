#include "io/tokenizer_byte.h"

#include <fmt/format.h>

#include "core/error.h"
#include "io/tokenizer_impl.h"

namespace stretch {

namespace {

class byte_tokenizer final : public tokenizer {
public:
    explicit byte_tokenizer(vocabulary v) : tokenizer(std::move(v)) {}

    std::vector<std::int32_t> encode(std::string_view text, bool /*add_bos: there is no BOS*/) const override {
        std::vector<std::int32_t> ids(text.size());
        for (std::size_t i = 0; i < text.size(); ++i) {
            ids[i] = static_cast<unsigned char>(text[i]);
            if (ids[i] >= vocab_size())
                fail("{}: byte {} (0x{:02X}) at offset {} has no token; the vocabulary holds bytes 0x00..0x{:02X}",
                     source(), ids[i], ids[i], i, vocab_size() - 1);
        }
        return ids;
    }
};

}  // namespace

std::unique_ptr<tokenizer> make_byte_tokenizer(const std::string& source, std::int64_t vocab_size) {
    STRETCH_ASSERT(vocab_size > 0 && vocab_size <= 256);
    vocabulary v;
    v.source = source;
    for (int b = 0; b < vocab_size; ++b) {
        v.texts.push_back(fmt::format("<0x{:02X}>", b));
        v.types.push_back(token_type::byte);
    }
    return std::make_unique<byte_tokenizer>(std::move(v));
}

void write_byte_vocabulary(gguf::writer& out, std::int64_t vocab_size) {
    STRETCH_ASSERT(vocab_size > 0 && vocab_size <= 256);
    std::vector<std::string> tokens;
    for (int b = 0; b < vocab_size; ++b) tokens.push_back(detail::gpt2_byte_symbol(static_cast<unsigned char>(b)));
    const std::vector<std::int32_t> types(tokens.size(), static_cast<std::int32_t>(token_type::normal));
    out.set_string("tokenizer.ggml.model", "gpt2");
    out.set_string("tokenizer.ggml.pre", "default");
    out.set_array_string("tokenizer.ggml.tokens", tokens);
    out.set_array_i32("tokenizer.ggml.token_type", types);
    out.set_array_string("tokenizer.ggml.merges", std::vector<std::string>{});
    out.set_bool("tokenizer.ggml.add_bos_token", false);
    out.set_bool("tokenizer.ggml.add_eos_token", false);
}

bool is_byte_vocabulary(const gguf::reader& in) {
    if (in.find("tokenizer.ggml.model") == nullptr) return true;
    if (in.get_string("tokenizer.ggml.model") != "gpt2" || in.find("tokenizer.ggml.merges") == nullptr ||
        !in.get_array("tokenizer.ggml.merges").items.empty())
        return false;
    const std::vector<std::string> tokens = in.get_array_string("tokenizer.ggml.tokens");
    if (tokens.empty() || tokens.size() > 256) return false;
    for (std::size_t b = 0; b < tokens.size(); ++b)
        if (tokens[b] != detail::gpt2_byte_symbol(static_cast<unsigned char>(b))) return false;
    return true;
}

}  // namespace stretch
