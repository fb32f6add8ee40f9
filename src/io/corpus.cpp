#include "io/corpus.h"

#include <fmt/format.h>

#include "core/error.h"
#include "io/input_file.h"
#include "io/tokenizer_byte.h"

namespace stretch {

std::string read_text_file(const std::string& path) {
    const input_file file(path);
    std::string bytes(file.size(), '\0');
    file.read_at(bytes.data(), bytes.size(), 0);
    return bytes;
}

std::vector<std::int32_t> read_text_tokens(const tokenizer& tok, const std::string& path, const char* what,
                                           bool add_bos) {
    try {
        const std::string text = read_text_file(path);
        if (text.empty()) fail("file is empty, expected text");
        return tok.encode(text, add_bos);
    } catch (const error& e) {
        const std::string message = e.what();
        fail("{} {}", what, message.starts_with(path + ": ") ? message : fmt::format("{}: {}", path, message));
    }
}

std::vector<std::int32_t> read_byte_tokens(const std::string& path, const char* what, std::int64_t vocab_size) {
    return read_text_tokens(*make_byte_tokenizer(fmt::format("vocab_size {}", vocab_size), vocab_size), path, what);
}

}  // namespace stretch
