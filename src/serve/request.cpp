#include "serve/request.h"

#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace stretch::serve {

namespace {

using json = nlohmann::json;

const char* type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "null";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::string: return "a string";
        case json::value_t::array: return "an array";
        case json::value_t::object: return "an object";
        case json::value_t::number_float: return "a number";
        default: return "an integer";
    }
}

json parse_object(std::string_view body) {
    json v;
    try {
        v = json::parse(body.begin(), body.end());
    } catch (const json::exception& e) {
        // The parser's message quotes what it read, which may hold newlines or bytes that are not UTF-8.
        const std::string quoted = json(std::string(e.what())).dump(-1, ' ', true, json::error_handler_t::replace);
        throw bad_request("body", fmt::format("body: not valid JSON ({})", quoted.substr(1, quoted.size() - 2)));
    }
    if (!v.is_object()) throw bad_request("body", fmt::format("body: found {}, expected a JSON object", type_name(v)));
    return v;
}

// Reads an object's fields by name, each checked for type and range; `finish` rejects the rest.
class object_reader {
public:
    object_reader(const json& object, std::string prefix) : object_(object), prefix_(std::move(prefix)) {}

    const json* find(const std::string& name) {
        seen_.insert(name);
        const auto it = object_.find(name);
        return it == object_.end() || it->is_null() ? nullptr : &*it;
    }
    [[noreturn]] void wrong(const std::string& name, const json& v, const std::string& expected) const {
        throw bad_request(prefix_ + name, fmt::format("{}{}: found {}, expected {}", prefix_, name, describe(v), expected));
    }
    std::optional<double> number(const std::string& name, double lo, double hi) {
        const json* v = find(name);
        if (v == nullptr) return std::nullopt;
        if (!v->is_number()) wrong(name, *v, fmt::format("a number in [{}, {}]", lo, hi));
        const double x = v->get<double>();
        if (!(x >= lo && x <= hi)) wrong(name, *v, fmt::format("a number in [{}, {}]", lo, hi));
        return x;
    }
    std::optional<std::int64_t> integer(const std::string& name, std::int64_t lo, std::int64_t hi) {
        const json* v = find(name);
        if (v == nullptr) return std::nullopt;
        if (!v->is_number_integer()) wrong(name, *v, fmt::format("an integer in [{}, {}]", lo, hi));
        if (v->is_number_unsigned() ? v->get<std::uint64_t>() > std::uint64_t(hi) : v->get<std::int64_t>() > hi ||
                                                                                        v->get<std::int64_t>() < lo)
            wrong(name, *v, fmt::format("an integer in [{}, {}]", lo, hi));
        return v->is_number_unsigned() ? std::int64_t(v->get<std::uint64_t>()) : v->get<std::int64_t>();
    }
    std::optional<bool> boolean(const std::string& name) {
        const json* v = find(name);
        if (v == nullptr) return std::nullopt;
        if (!v->is_boolean()) wrong(name, *v, "true or false");
        return v->get<bool>();
    }
    std::optional<std::string> text(const std::string& name) {
        const json* v = find(name);
        if (v == nullptr) return std::nullopt;
        if (!v->is_string()) wrong(name, *v, "a string");
        return v->get<std::string>();
    }
    // A field OpenAI defines that stretch serves only at its default.
    void only_default(const std::string& name, const json& default_value, const std::string& why) {
        const json* v = find(name);
        if (v != nullptr && *v != default_value) wrong(name, *v, fmt::format("{} ({})", default_value.dump(), why));
    }
    void finish() const {
        for (const auto& [name, value] : object_.items())
            if (!seen_.contains(name)) {
                std::string known;
                for (const std::string& s : seen_) known += (known.empty() ? "" : ", ") + s;
                // A key may be empty ({"": 1}): it is named as JSON spells it, so the refusal still names it.
                const std::string field = name.empty() ? std::string("\"\"") : name;
                throw bad_request(prefix_ + field, fmt::format("{}{}: unknown field; expected one of {}", prefix_,
                                                               printable(field), known));
            }
    }
    const std::string& prefix() const { return prefix_; }

    static std::string describe(const json& v) {
        if (v.is_string() || v.is_array() || v.is_object()) return type_name(v);
        return fmt::format("{} {}", type_name(v), v.dump());
    }
    // A field name as text that is safe in a message (names come from the client).
    static std::string printable(const std::string& s) {
        const std::string quoted =
            json(s.size() > 64 ? s.substr(0, 64) + "..." : s).dump(-1, ' ', true, json::error_handler_t::replace);
        return quoted.substr(1, quoted.size() - 2);
    }

private:
    const json& object_;
    std::string prefix_;
    std::set<std::string> seen_;
};

constexpr std::int64_t int32_max = std::numeric_limits<std::int32_t>::max();

std::vector<std::int64_t> token_list(const json& v, const std::string& where) {
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const json& t = v[i];
        if (!t.is_number_integer() || (t.is_number_unsigned() && t.get<std::uint64_t>() > std::uint64_t(int32_max)) ||
            t.get<std::int64_t>() < 0 || t.get<std::int64_t>() > int32_max)
            throw bad_request(where, fmt::format("{}[{}]: found {}, expected a token id >= 0", where, i,
                                                 object_reader::describe(t)));
        ids.push_back(t.get<std::int64_t>());
    }
    return ids;
}

std::vector<prompt_input> parse_prompts(const json* v) {
    if (v == nullptr) throw bad_request("prompt", "prompt: missing; expected a string, token ids, or a list of them");
    if (v->is_string()) return {v->get<std::string>()};
    if (!v->is_array() || v->empty())
        throw bad_request("prompt", fmt::format("prompt: found {}, expected a string, token ids, or a non-empty list of them",
                                                v->is_array() ? "an empty array" : object_reader::describe(*v)));
    if ((*v)[0].is_number()) return {token_list(*v, "prompt")};
    std::vector<prompt_input> prompts;
    for (std::size_t i = 0; i < v->size(); ++i) {
        const json& p = (*v)[i];
        const std::string where = fmt::format("prompt[{}]", i);
        if (p.is_string()) prompts.emplace_back(p.get<std::string>());
        else if (p.is_array()) prompts.emplace_back(token_list(p, where));
        else throw bad_request(where, fmt::format("{}: found {}, expected a string or token ids", where,
                                                  object_reader::describe(p)));
    }
    return prompts;
}

std::vector<std::string> parse_stop(object_reader& in) {
    const json* v = in.find("stop");
    if (v == nullptr) return {};
    if (v->is_string()) return v->get<std::string>().empty() ? std::vector<std::string>{} : std::vector{v->get<std::string>()};
    if (!v->is_array() || v->size() > 16) in.wrong("stop", *v, "a string or a list of at most 16 strings");
    std::vector<std::string> stops;
    for (const json& s : *v) {
        if (!s.is_string()) in.wrong("stop", *v, "a string or a list of at most 16 strings");
        if (!s.get<std::string>().empty()) stops.push_back(s.get<std::string>());
    }
    return stops;
}

generation_fields parse_generation(object_reader& in, const char* max_tokens_name) {
    generation_fields g;
    g.model = in.text("model").value_or("");
    g.max_tokens = in.integer(max_tokens_name, 0, std::numeric_limits<std::int64_t>::max());
    g.temperature = in.number("temperature", 0, 100).value_or(1.0);
    g.top_p = in.number("top_p", 0, 1).value_or(1.0);
    if (g.top_p == 0) g.top_p = std::numeric_limits<double>::min();  // keeps the top token (OpenAI: 0 is greedy-like)
    g.top_k = in.integer("top_k", -1, int32_max).value_or(0);
    g.min_p = in.number("min_p", 0, 1).value_or(0.0);
    g.repetition_penalty = in.number("repetition_penalty", 1e-6, 100).value_or(1.0);
    if (const auto seed = in.integer("seed", std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()))
        g.seed = std::uint64_t(*seed);
    g.stop = parse_stop(in);
    g.stream = in.boolean("stream").value_or(false);
    if (const json* options = in.find("stream_options")) {
        if (!options->is_object()) in.wrong("stream_options", *options, "an object");
        object_reader o(*options, "stream_options.");
        g.include_usage = o.boolean("include_usage").value_or(false);
        o.finish();
    }
    g.pos = in.text("pos");
    in.text("user");  // an end-user id, for the client's own records
    in.only_default("n", 1, "one choice per prompt");
    in.only_default("presence_penalty", 0, "use repetition_penalty");
    in.only_default("frequency_penalty", 0, "use repetition_penalty");
    return g;
}

}  // namespace

completion_request parse_completion_request(std::string_view body) {
    const json v = parse_object(body);
    object_reader in(v, "");
    completion_request r;
    r.prompts = parse_prompts(in.find("prompt"));
    r.gen = parse_generation(in, "max_tokens");
    r.echo = in.boolean("echo").value_or(false);
    if (const auto k = in.integer("logprobs", 0, 20)) r.logprobs = int(*k);
    in.only_default("best_of", 1, "one choice per prompt");
    in.only_default("suffix", nullptr, "no insertion");
    in.only_default("logit_bias", json::object(), "no logit bias");
    in.finish();
    if (r.gen.stream && r.prompts.size() > 1)
        throw bad_request("stream", fmt::format("stream: true with {} prompts; expected one prompt per stream", r.prompts.size()));
    return r;
}

chat_request parse_chat_request(std::string_view body) {
    const json v = parse_object(body);
    object_reader in(v, "");
    chat_request r;
    const json* messages = in.find("messages");
    if (messages == nullptr || !messages->is_array() || messages->empty())
        throw bad_request("messages", fmt::format("messages: found {}, expected a non-empty list of messages",
                                                  messages == nullptr ? "nothing" : object_reader::describe(*messages)));
    for (std::size_t i = 0; i < messages->size(); ++i) {
        const json& m = (*messages)[i];
        const std::string where = fmt::format("messages[{}].", i);
        if (!m.is_object()) in.wrong(where.substr(0, where.size() - 1), m, "an object with role and content");
        object_reader mi(m, where);
        chat_message out;
        out.role = mi.text("role").value_or("");
        if (out.role != "system" && out.role != "user" && out.role != "assistant" && out.role != "developer")
            throw bad_request(where + "role", fmt::format("{}role: found '{}', expected system, developer, user or assistant",
                                                          where, object_reader::printable(out.role)));
        const json* content = mi.find("content");
        if (content != nullptr && content->is_string()) out.content = content->get<std::string>();
        else if (content != nullptr && content->is_array())
            for (std::size_t j = 0; j < content->size(); ++j) {
                const json& part = (*content)[j];
                const json fields = part.is_object() ? part : json::object();
                object_reader pi(fields, fmt::format("{}content[{}].", where, j));
                if (!part.is_object() || pi.text("type").value_or("") != "text")
                    throw bad_request(pi.prefix() + "type", fmt::format("{}type: expected a part of type 'text'", pi.prefix()));
                out.content += pi.text("text").value_or("");
                pi.finish();
            }
        else mi.wrong("content", content == nullptr ? json() : *content, "a string or a list of text parts");
        mi.text("name");
        mi.finish();
        r.messages.push_back(std::move(out));
    }
    r.gen = parse_generation(in, "max_tokens");
    if (const auto newer = in.integer("max_completion_tokens", 0, std::numeric_limits<std::int64_t>::max()))
        r.gen.max_tokens = newer;
    r.logprobs = in.boolean("logprobs").value_or(false);
    r.top_logprobs = int(in.integer("top_logprobs", 0, 20).value_or(0));
    if (r.top_logprobs > 0 && !r.logprobs)
        throw bad_request("top_logprobs", "top_logprobs: set without logprobs: true; expected logprobs: true with it");
    in.finish();
    return r;
}

tokenize_request parse_tokenize_request(std::string_view body) {
    const json v = parse_object(body);
    object_reader in(v, "");
    tokenize_request r;
    const auto prompt = in.text("prompt");
    const auto content = in.text("content");  // llama.cpp's server's name for it
    if (!prompt && !content) throw bad_request("prompt", "prompt: missing; expected the text to tokenize");
    r.prompt = prompt ? *prompt : *content;
    r.add_special_tokens = in.boolean("add_special_tokens").value_or(true);
    in.text("model");
    in.finish();
    return r;
}

std::vector<std::int64_t> parse_detokenize_request(std::string_view body) {
    const json v = parse_object(body);
    object_reader in(v, "");
    const json* tokens = in.find("tokens");
    if (tokens == nullptr || !tokens->is_array())
        throw bad_request("tokens", fmt::format("tokens: found {}, expected a list of token ids",
                                                tokens == nullptr ? "nothing" : object_reader::describe(*tokens)));
    in.text("model");
    in.finish();
    return token_list(*tokens, "tokens");
}

}  // namespace stretch::serve
