#include "io/tokenizer_byte.h"

#include <fmt/format.h>

namespace stretch {

namespace {

class byte_tokenizer final : public tokenizer {
public:
    explicit byte_tokenizer(vocabulary v) : tokenizer(std::move(v)) {}

    std::vector<std::int32_t> encode(std::string_view text, bool /*add_bos: there is no BOS*/) const override {
        std::vector<std::int32_t> ids(text.size());
        for (std::size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
        return ids;
    }
};

}  // namespace

std::unique_ptr<tokenizer> make_byte_tokenizer(const std::string& source) {
    vocabulary v;
    v.source = source;
    for (int b = 0; b < 256; ++b) {
        v.texts.push_back(fmt::format("<0x{:02X}>", b));
        v.types.push_back(token_type::byte);
    }
    return std::make_unique<byte_tokenizer>(std::move(v));
}

}  // namespace stretch
