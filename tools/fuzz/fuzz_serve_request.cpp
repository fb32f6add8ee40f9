// libFuzzer target: request bodies of stretch serve (serve/request.h) — every endpoint's parser on
// the same bytes. A bad_request naming a field, in one line, is the expected answer to bad input;
// what parses keeps the promises the server relies on (checked with `require`).
#include <cmath>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "serve/request.h"

namespace {

using namespace stretch;

void check_generation(const serve::generation_fields& g) {
    fuzz::require(!g.max_tokens || *g.max_tokens >= 0, "max_tokens >= 0");
    fuzz::require(g.temperature >= 0 && g.temperature <= 100, "temperature in range");
    fuzz::require(g.top_p > 0 && g.top_p <= 1, "top_p in (0, 1]");
    fuzz::require(g.min_p >= 0 && g.min_p <= 1, "min_p in [0, 1]");
    fuzz::require(g.repetition_penalty > 0 && std::isfinite(g.repetition_penalty), "repetition_penalty > 0");
    for (const std::string& s : g.stop) fuzz::require(!s.empty(), "stop strings are not empty");
}

template <class Parse>
void parse_or_refuse(Parse&& parse) {
    try {
        parse();
    } catch (const serve::bad_request& e) {
        fuzz::require_one_line(e);
        fuzz::require(!e.param.empty(), "a refusal names its field");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    parse_or_refuse([&] {
        const serve::completion_request r = serve::parse_completion_request(body);
        fuzz::require(!r.prompts.empty(), "at least one prompt");
        for (const auto& p : r.prompts)
            if (const auto* ids = std::get_if<std::vector<std::int64_t>>(&p))
                for (const std::int64_t id : *ids) fuzz::require(id >= 0 && id <= INT32_MAX, "token ids are int32");
        fuzz::require(!r.logprobs || (*r.logprobs >= 0 && *r.logprobs <= 20), "logprobs in [0, 20]");
        fuzz::require(!r.gen.stream || r.prompts.size() == 1, "one prompt per stream");
        check_generation(r.gen);
    });
    parse_or_refuse([&] {
        const serve::chat_request r = serve::parse_chat_request(body);
        fuzz::require(!r.messages.empty(), "at least one message");
        check_generation(r.gen);
    });
    parse_or_refuse([&] { serve::parse_tokenize_request(body); });
    parse_or_refuse([&] {
        for (const std::int64_t id : serve::parse_detokenize_request(body))
            fuzz::require(id >= 0 && id <= INT32_MAX, "token ids are int32");
    });
    return 0;
}
