#include "serve/job.h"

namespace stretch::serve {

void job_channel::put_prompt(std::vector<scored_token> scores) {
    std::lock_guard lock(mutex_);
    pending_.prompt = std::move(scores);
    has_news_ = true;
    changed_.notify_all();
}

void job_channel::put_token(scored_token t) {
    std::lock_guard lock(mutex_);
    pending_.tokens.push_back(std::move(t));
    has_news_ = true;
    changed_.notify_all();
}

void job_channel::finish(finish_reason reason, std::string error) {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
    pending_.done = true;
    pending_.reason = reason;
    pending_.error = std::move(error);
    has_news_ = true;
    changed_.notify_all();
}

bool job_channel::finished() const {
    std::lock_guard lock(mutex_);
    return finished_;
}

job_channel::update job_channel::take(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, wait, [&] { return has_news_; });
    update out = std::move(pending_);
    pending_ = {};
    pending_.done = out.done;  // `done` stays true for later takes
    pending_.reason = out.reason;
    has_news_ = out.done;
    return out;
}

}  // namespace stretch::serve
