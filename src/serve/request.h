// The bodies of the server's POST requests, parsed and checked before any model work: OpenAI's
// completion and chat-completion schemas (the fields stretch serves; an unknown field, a wrong
// type or a value out of range is a `bad_request` naming the field), plus stretch's `pos`, and
// the tokenizer endpoints lm-evaluation-harness's remote tokenizer calls. Pure parsing: nothing
// here needs the model (token ids are range-checked by the server, which knows the vocabulary).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.h"

namespace stretch::serve {

// A client error: the message names the field (`param`, OpenAI's error field) and what was found.
struct bad_request : error {
    bad_request(std::string field, const std::string& message) : error(message), param(std::move(field)) {}
    std::string param;
};

// One prompt: text, or token ids.
using prompt_input = std::variant<std::string, std::vector<std::int64_t>>;

// What both endpoints share.
struct generation_fields {
    std::optional<std::int64_t> max_tokens;  // absent: the endpoint's default
    double temperature = 1.0, top_p = 1.0, min_p = 0.0, repetition_penalty = 1.0;
    std::int64_t top_k = 0;
    std::optional<std::uint64_t> seed;
    std::vector<std::string> stop;
    bool stream = false, include_usage = false;
    std::optional<std::string> pos;  // stretch's extension: the request's position method
    std::string model;
};

struct completion_request {
    std::vector<prompt_input> prompts;  // one choice each
    generation_fields gen;
    bool echo = false;
    std::optional<int> logprobs;  // 0..20 alternatives
};

struct chat_message {
    std::string role, content;
};

struct chat_request {
    std::vector<chat_message> messages;
    generation_fields gen;
    bool logprobs = false;
    int top_logprobs = 0;
};

struct tokenize_request {
    std::string prompt;
    bool add_special_tokens = true;
};

// Each throws bad_request for a body that is not JSON, not an object, or breaks the schema.
completion_request parse_completion_request(std::string_view body);
chat_request parse_chat_request(std::string_view body);
tokenize_request parse_tokenize_request(std::string_view body);
std::vector<std::int64_t> parse_detokenize_request(std::string_view body);

}  // namespace stretch::serve
