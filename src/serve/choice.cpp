#include "serve/choice.h"

#include <cmath>

namespace stretch::serve {

using json = nlohmann::json;

std::size_t count_chars(const std::string& s) {
    std::size_t n = 0;
    for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

choice::choice(const tokenizer& tok, std::shared_ptr<job_channel> channel, std::vector<std::string> stops)
    : tok_(tok), channel_(std::move(channel)), text_(tok, std::move(stops)) {}

std::string choice::pull(std::chrono::milliseconds wait) {
    if (done_) return {};
    job_channel::update u = channel_->take(wait);
    if (!u.prompt.empty()) prompt_ = std::move(u.prompt);
    std::string out;
    for (scored_token& t : u.tokens) {
        generated_.push_back(std::move(t));
        out += text_.push(generated_.back().id);
        if (text_.stopped()) {
            channel_->cancel();
            done_ = stopped_by_text_ = true;
            return out;
        }
    }
    if (u.done) {
        done_ = true;
        reason_ = u.reason;
        error_ = u.error;
        out += text_.flush();
    }
    return out;
}

std::string choice::openai_finish_reason() const {
    return stopped_by_text_ || reason_ == finish_reason::stop ? "stop" : "length";
}

json choice::top_of(const scored_token& t) const {
    json top = json::object();
    for (const token_logprob& a : t.top) top[tok_.token_bytes(a.id, true)] = a.logprob;
    return top;
}

json choice::completion_logprobs(const std::string& lead, bool with_prompt) const {
    json lp = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
               {"text_offset", json::array()}};
    std::size_t chars = 0;
    const auto add = [&](const scored_token& t, bool first) {
        const std::string piece = tok_.token_bytes(t.id, true);
        lp["tokens"].push_back(piece);
        lp["token_logprobs"].push_back(std::isnan(t.logprob) ? json() : json(t.logprob));
        lp["top_logprobs"].push_back(first ? json() : top_of(t));
        lp["text_offset"].push_back(chars);
        chars += count_chars(piece);
    };
    if (with_prompt)
        for (std::size_t i = 0; i < prompt_.size(); ++i) add(prompt_[i], i == 0);
    chars = count_chars(lead);
    json rest = completion_logprobs_from(0, chars);
    for (const char* key : {"tokens", "token_logprobs", "top_logprobs", "text_offset"})
        for (json& v : rest[key]) lp[key].push_back(std::move(v));
    return lp;
}

json choice::completion_logprobs_from(std::size_t first, std::size_t lead_chars) const {
    json lp = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
               {"text_offset", json::array()}};
    const std::size_t kept = tokens_kept();
    for (std::size_t i = first; i < kept && i < generated_.size(); ++i) {
        const scored_token& t = generated_[i];
        lp["tokens"].push_back(tok_.token_bytes(t.id, true));
        lp["token_logprobs"].push_back(t.logprob);
        lp["top_logprobs"].push_back(top_of(t));
        lp["text_offset"].push_back(lead_chars + count_chars(text_.text().substr(0, text_.offsets()[i])));
    }
    return lp;
}

json choice::chat_logprobs(std::size_t first) const {
    json content = json::array();
    const auto entry = [&](std::int32_t id, double logprob) {
        const std::string piece = tok_.token_bytes(id, true);
        std::vector<int> bytes;
        for (const char c : piece) bytes.push_back(static_cast<unsigned char>(c));
        return json{{"token", piece}, {"logprob", logprob}, {"bytes", bytes}};
    };
    const std::size_t kept = tokens_kept();
    for (std::size_t i = first; i < kept && i < generated_.size(); ++i) {
        json e = entry(generated_[i].id, generated_[i].logprob);
        e["top_logprobs"] = json::array();
        for (const token_logprob& a : generated_[i].top) e["top_logprobs"].push_back(entry(a.id, a.logprob));
        content.push_back(std::move(e));
    }
    return {{"content", content}};
}

}  // namespace stretch::serve
