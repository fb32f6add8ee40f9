// POST /v1/completions and /v1/chat/completions: a parsed request becomes one engine job per prompt;
// the response is written by a content provider that waits for the jobs (checking that the client
// is still there) and sends the whole completion, or streams it as server-sent events.
#include <ctime>
#include <random>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "io/chat_template.h"
#include "serve/choice.h"
#include "serve/http_util.h"
#include "serve/positions.h"
#include "serve/request.h"
#include "serve/server.h"

namespace stretch::serve {

using json = nlohmann::json;

struct server::prepared {
    job work;
    std::string echo;  // the prompt as text, for echo
};

server::prepared server::prepare(std::vector<std::int32_t> prompt, std::int64_t max_tokens, const generation_fields& gen,
                                 int logprobs, bool score_prompt, std::vector<std::int32_t> stop_tokens) const {
    const std::int64_t n = std::int64_t(prompt.size());
    if (n == 0) throw bad_request("prompt", "prompt: no tokens; expected at least one");
    if (n >= ctx_size_ + (max_tokens == 0))
        throw bad_request("prompt", fmt::format("prompt: {} tokens, past the context of {} tokens (--ctx-size)", n, ctx_size_));
    if (max_tokens > ctx_size_ - n)
        throw bad_request("max_tokens", fmt::format("max_tokens: found {}; the prompt's {} tokens leave room for at most {} "
                                                    "in the context of {} tokens (--ctx-size)",
                                                    max_tokens, n, ctx_size_ - n, ctx_size_));
    prepared p;
    job& w = p.work;
    try {
        w.positions = request_positions(*model_.model, model_.positions, default_pos_, gen.pos, n + max_tokens);
    } catch (const bad_request&) {
        throw;
    } catch (const error& e) {
        throw bad_request("pos", e.what());
    }
    w.prompt = std::move(prompt);
    w.max_tokens = max_tokens;
    w.sampling.temperature = gen.temperature;
    w.sampling.top_k = gen.top_k;
    w.sampling.top_p = gen.top_p;
    w.sampling.min_p = gen.min_p;
    w.sampling.repeat_penalty = gen.repetition_penalty;
    w.sampling.seed = gen.seed ? *gen.seed : std::random_device{}();
    w.stop_tokens = std::move(stop_tokens);
    w.logprobs = logprobs;
    w.score_prompt = score_prompt;
    w.deadline = steady::now() + std::chrono::seconds(options_.request_timeout_s);
    return p;
}

namespace {

std::string sse(const json& chunk) { return "data: " + dump(chunk) + "\n\n"; }

// The ids of the texts that end a chat turn, where the vocabulary has them as tokens.
std::vector<std::int32_t> turn_end_tokens(const tokenizer& tok, const std::vector<std::string>& texts) {
    std::vector<std::int32_t> ids;
    if (tok.eos() >= 0) ids.push_back(tok.eos());
    for (const std::string& t : texts)
        if (const auto id = tok.find(t)) ids.push_back(*id);
    return ids;
}

}  // namespace

void server::completions(const httplib::Request& req, httplib::Response& res, bool chat) {
    std::vector<prepared> jobs;
    generation_fields gen;
    bool echo = false, chat_logprobs = false;
    int logprobs = -1;
    try {
        if (chat) {
            const chat_request r = parse_chat_request(req.body);
            gen = r.gen;
            std::vector<chat_turn> turns;
            for (const chat_message& m : r.messages) turns.push_back({m.role, m.content});
            chat_prompt formatted;
            try {
                formatted = apply_chat_template(model_.chat_template, turns, model_.path);
            } catch (const error& e) {
                throw bad_request("messages", fmt::format("messages: {}", e.what()));
            }
            std::vector<std::int32_t> prompt = model_.tok->encode(formatted.text, model_.tok->add_bos_default());
            chat_logprobs = r.logprobs;
            logprobs = r.logprobs ? r.top_logprobs : -1;
            const std::int64_t room = ctx_size_ - std::int64_t(prompt.size());
            jobs.push_back(prepare(std::move(prompt), gen.max_tokens.value_or(std::max<std::int64_t>(room, 0)), gen,
                                   logprobs, false, turn_end_tokens(*model_.tok, formatted.stops)));
        } else {
            const completion_request r = parse_completion_request(req.body);
            gen = r.gen;
            echo = r.echo;
            logprobs = r.logprobs.value_or(-1);
            for (std::size_t i = 0; i < r.prompts.size(); ++i) {
                const std::string field = r.prompts.size() > 1 ? fmt::format("prompt[{}]", i) : "prompt";
                std::vector<std::int32_t> ids;
                std::string text;
                if (const auto* s = std::get_if<std::string>(&r.prompts[i])) {
                    text = *s;
                    try {
                        ids = model_.tok->encode(text, model_.tok->add_bos_default());
                    } catch (const error& e) {
                        throw bad_request(field, fmt::format("{}: {}", field, e.what()));
                    }
                } else {
                    ids = check_ids(std::get<std::vector<std::int64_t>>(r.prompts[i]), field);
                    text = model_.tok->decode(ids, true);
                }
                prepared p = prepare(std::move(ids), gen.max_tokens.value_or(16), gen, logprobs, r.echo && logprobs >= 0,
                                     turn_end_tokens(*model_.tok, {}));
                p.echo = std::move(text);
                jobs.push_back(std::move(p));
            }
        }
    } catch (const bad_request& e) {
        send_error(res, 400, e.param, e.what());
        return;
    }

    auto choices = std::make_shared<std::vector<choice>>();
    std::int64_t prompt_tokens = 0;
    for (prepared& p : jobs) {
        prompt_tokens += std::int64_t(p.work.prompt.size());
        std::shared_ptr<job_channel> channel = engine_->submit(p.work);
        if (channel == nullptr) {
            for (choice& c : *choices) c.abandon();
            res.set_header("Retry-After", "1");
            send_error(res, 503, "", "the server is busy: every slot is taken and the queue is full; retry later",
                       "server_busy");
            return;
        }
        choices->emplace_back(*model_.tok, std::move(channel), gen.stop);
    }

    const std::string id = fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", next_id_++);
    const std::time_t created = std::time(nullptr);
    const auto arrived = request_start(req);
    auto echoes = std::make_shared<std::vector<std::string>>();
    for (const prepared& p : jobs) echoes->push_back(echo ? p.echo : std::string());
    const auto base = [=, this](json choices_json) {
        return json{{"id", id}, {"object", chat ? (gen.stream ? "chat.completion.chunk" : "chat.completion")
                                                : "text_completion"},
                    {"created", created}, {"model", model_name_}, {"choices", std::move(choices_json)}};
    };
    const auto usage = [=](const std::vector<choice>& cs) {
        std::int64_t completion = 0;
        for (const choice& c : cs) completion += c.completion_tokens();
        return json{{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion},
                    {"total_tokens", prompt_tokens + completion}};
    };
    const auto release = [choices](bool) {
        for (choice& c : *choices) c.abandon();  // a no-op for finished jobs; frees the slot of a departed client
    };
    constexpr auto poll = std::chrono::milliseconds(50);

    if (!gen.stream) {
        res.set_chunked_content_provider(
            "application/json",
            [=, this](std::size_t, httplib::DataSink& sink) {
                bool first_seen = false;
                for (choice& c : *choices)
                    while (!c.done()) {
                        c.pull(poll);
                        if (!first_seen && c.completion_tokens() > 0) {
                            first_seen = true;
                            metrics_.observe_first_token(seconds_since(arrived));
                        }
                        if (!sink.is_writable()) return false;
                    }
                json out = json::array();
                for (std::size_t i = 0; i < choices->size(); ++i) {
                    const choice& c = (*choices)[i];
                    if (!c.error().empty()) {
                        const std::string body = dump({{"error", {{"message", c.error()}, {"type", "server_error"},
                                                                  {"param", json()}, {"code", 500}}}});
                        sink.write(body.data(), body.size());
                        sink.done();
                        return true;
                    }
                    json entry = {{"index", i}, {"finish_reason", c.openai_finish_reason()}};
                    if (chat) {
                        entry["message"] = {{"role", "assistant"}, {"content", c.text()}};
                        entry["logprobs"] = chat_logprobs ? c.chat_logprobs() : json();
                    } else {
                        entry["text"] = (*echoes)[i] + c.text();
                        entry["logprobs"] = logprobs >= 0 ? c.completion_logprobs((*echoes)[i], echo) : json();
                    }
                    out.push_back(std::move(entry));
                }
                json body = base(std::move(out));
                body["usage"] = usage(*choices);
                const std::string text = dump(body);
                sink.write(text.data(), text.size());
                sink.done();
                return true;
            },
            release);
        return;
    }

    // Streaming: one choice (serve/request.h); a chunk per piece of text that became safe to send.
    auto sent_tokens = std::make_shared<std::size_t>(0);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [=, this](std::size_t, httplib::DataSink& sink) {
            choice& c = choices->front();
            const auto send = [&](const json& chunk) {
                const std::string text = sse(chunk);
                return sink.write(text.data(), text.size());
            };
            const auto delta = [&](const std::string& text, const json& finish) {
                json entry = {{"index", 0}, {"finish_reason", finish}};
                if (chat) {
                    entry["delta"] = finish.is_null() ? json{{"role", "assistant"}, {"content", text}} : json::object();
                    entry["logprobs"] = chat_logprobs ? c.chat_logprobs(*sent_tokens) : json();
                } else {
                    entry["text"] = text;
                    entry["logprobs"] = logprobs >= 0 ? c.completion_logprobs_from(*sent_tokens, 0) : json();
                }
                *sent_tokens = std::min(c.tokens_kept(), std::size_t(c.completion_tokens()));
                return send(base(json::array({entry})));
            };
            if (echo && !(*echoes)[0].empty() && !delta((*echoes)[0], json())) return false;
            bool first_seen = false;
            while (!c.done()) {
                const std::string text = c.pull(poll);
                if (!first_seen && c.completion_tokens() > 0) {
                    first_seen = true;
                    metrics_.observe_first_token(seconds_since(arrived));
                }
                if (!text.empty() && !delta(text, json())) return false;
                if (!sink.is_writable()) return false;
            }
            if (!c.error().empty()) {
                send({{"error", {{"message", c.error()}, {"type", "server_error"}, {"param", json()}, {"code", 500}}}});
            } else {
                if (!delta("", c.openai_finish_reason())) return false;
                if (gen.include_usage) {
                    json last = base(json::array());
                    last["usage"] = usage(*choices);
                    if (!send(last)) return false;
                }
            }
            const std::string done = "data: [DONE]\n\n";
            sink.write(done.data(), done.size());
            sink.done();
            return true;
        },
        release);
}

}  // namespace stretch::serve
