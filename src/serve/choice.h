// One choice of a completion as it is generated: the engine's updates from a job_channel turned
// into text (stop strings cut) and the token lists OpenAI's responses carry, and the JSON of it —
// legacy completions' `logprobs` {tokens, token_logprobs, top_logprobs, text_offset} and chat's
// `logprobs.content`.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/tokenizer.h"
#include "serve/job.h"
#include "serve/text_stream.h"

namespace stretch::serve {

class choice {
public:
    choice(const tokenizer& tok, std::shared_ptr<job_channel> channel, std::vector<std::string> stops);

    // Takes what the engine has reported (waiting at most `wait`); returns the text that became
    // safe to send. A matched stop string cancels the job and ends the choice.
    std::string pull(std::chrono::milliseconds wait);
    bool done() const { return done_; }
    void abandon() { channel_->cancel(); }

    // "stop" or "length" (OpenAI's finish_reason); a failed job's message, else "".
    std::string openai_finish_reason() const;
    const std::string& error() const { return error_; }
    const std::string& text() const { return text_.text(); }
    std::int64_t completion_tokens() const { return std::int64_t(generated_.size()); }

    // Completions' logprobs for the echoed prompt (when scored) and the kept generated tokens;
    // offsets count characters from the start of `lead` (the echoed prompt text, or "").
    nlohmann::json completion_logprobs(const std::string& lead, bool with_prompt) const;
    // The same for the tokens from `first` on (a stream chunk), offsets from `lead_chars`.
    nlohmann::json completion_logprobs_from(std::size_t first, std::size_t lead_chars) const;
    // Chat's logprobs.content for the kept generated tokens from `first` on.
    nlohmann::json chat_logprobs(std::size_t first = 0) const;
    std::size_t tokens_kept() const { return text_.tokens_kept(); }

private:
    nlohmann::json top_of(const scored_token& t) const;

    const tokenizer& tok_;
    std::shared_ptr<job_channel> channel_;
    text_stream text_;
    std::vector<scored_token> prompt_, generated_;
    bool done_ = false, stopped_by_text_ = false;
    serve::finish_reason reason_ = serve::finish_reason::length;
    std::string error_;
};

// Code points in s (UTF-8; an invalid byte counts as one).
std::size_t count_chars(const std::string& s);

}  // namespace stretch::serve
