#include "serve/engine.h"

#include <algorithm>
#include <cstring>

#include <malloc.h>

#include "core/error.h"
#include "core/thread_pool.h"
#include "serve/token_scores.h"

namespace stretch::serve {

struct engine::sequence {
    job work;
    std::shared_ptr<job_channel> channel;
    std::unique_ptr<kv_cache> cache;  // made when the job gets a slot
    std::unique_ptr<sampler> pick;
    std::vector<std::int32_t> history;  // prompt + generated (repetition penalty)
    std::int64_t fed = 0;               // prompt tokens in the cache
    std::int32_t next = -1;             // the last generated token, to feed at the next step
    std::int64_t generated = 0;
    std::vector<scored_token> prompt_scores;

    bool prefilling() const { return fed < std::int64_t(work.prompt.size()); }
};

engine::engine(const transformer& model, engine_options options) : model_(model), options_(options) {
    if (options_.slots < 1) fail("--parallel: found {}, expected at least 1 slot", options_.slots);
    if (options_.queue < 0) fail("queue: found {}, expected >= 0", options_.queue);
    check_cache_types(model.config(), options_.cache_types);
    if (options_.prefill_chunk < 1 || options_.prefill_budget < options_.prefill_chunk)
        fail("prefill: chunk {} and budget {}; expected 1 <= chunk <= budget", options_.prefill_chunk,
             options_.prefill_budget);
    thread_ = std::thread([this] { run(); });
}

engine::~engine() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    for (auto& s : queue_) s->channel->finish(finish_reason::cancelled, "the server is shutting down");
}

std::shared_ptr<job_channel> engine::submit(job work) {
    STRETCH_ASSERT(!work.prompt.empty() && work.positions != nullptr && work.max_tokens >= 0);
    auto s = std::make_unique<sequence>();
    s->work = std::move(work);
    s->channel = std::make_shared<job_channel>();
    std::shared_ptr<job_channel> channel = s->channel;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || std::int64_t(queue_.size()) >= options_.queue + options_.slots - active_count_.load())
            return nullptr;
        queue_.push_back(std::move(s));
    }
    wake_.notify_one();
    return channel;
}

engine_counts engine::counts() const {
    engine_counts c;
    {
        std::lock_guard lock(mutex_);
        c.queued = std::int64_t(queue_.size());
    }
    c.active = active_count_.load();
    c.prompt_tokens = prompt_tokens_.load();
    c.generated_tokens = generated_tokens_.load();
    c.steps = steps_.load();
    return c;
}

void engine::run() {
    if (options_.threads > 0) set_threads(options_.threads);  // this thread's own pool (core/thread_pool.h)
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (queue_.empty() && active_.empty() && !stopping_) {
                // Idle: hand the freed KV caches' memory back to the system (glibc keeps freed
                // heap pages otherwise), so an idle server holds the model and little else.
                lock.unlock();
                malloc_trim(0);
                lock.lock();
            }
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active_.empty(); });
            if (stopping_) break;
        }
        admit();
        step();
    }
    for (auto& s : active_) s->channel->finish(finish_reason::cancelled, "the server is shutting down");
    active_.clear();
    active_count_ = 0;
}

void engine::admit() {
    while (std::int64_t(active_.size()) < options_.slots) {
        std::unique_ptr<sequence> s;
        {
            std::lock_guard lock(mutex_);
            if (queue_.empty()) return;
            s = std::move(queue_.front());
            queue_.pop_front();
        }
        try {
            const job& w = s->work;
            s->cache = std::make_unique<kv_cache>(model_.config(), std::int64_t(w.prompt.size()) + w.max_tokens,
                                                  model_.type(), options_.cache_types);
            s->pick = std::make_unique<sampler>(w.sampling);
            s->history = w.prompt;
            active_.push_back(std::move(s));
        } catch (const error& e) {
            s->channel->finish(finish_reason::failed, e.what());
        }
    }
    active_count_ = std::int64_t(active_.size());
}

namespace {

// Ends a sequence after `token`: a stop token or max_tokens.
bool finished_after(const job& w, std::int32_t token, std::int64_t generated, finish_reason& why) {
    if (std::find(w.stop_tokens.begin(), w.stop_tokens.end(), token) != w.stop_tokens.end()) {
        why = finish_reason::stop;
        return true;
    }
    why = finish_reason::length;
    return generated >= w.max_tokens;
}

}  // namespace

void engine::step() {
    // Jobs that were cancelled or ran out of time give their slot back first.
    const auto now = steady::now();
    std::erase_if(active_, [&](const std::unique_ptr<sequence>& s) {
        if (s->channel->cancelled()) s->channel->finish(finish_reason::cancelled);
        else if (now > s->work.deadline) s->channel->finish(finish_reason::timed_out, "the request's time limit passed");
        else return false;
        return true;
    });
    active_count_ = std::int64_t(active_.size());
    if (active_.empty()) return;

    // This step's work: every decoding sequence's next token, then prompt chunks within the budget.
    struct planned {
        sequence* seq;
        std::vector<std::int32_t> tokens;
    };
    std::vector<planned> plan;
    for (auto& s : active_)
        if (!s->prefilling()) plan.push_back({s.get(), {s->next}});
    std::int64_t budget = options_.prefill_budget;
    for (auto& s : active_) {
        if (!s->prefilling()) continue;
        const std::int64_t n = std::min(options_.prefill_chunk, std::int64_t(s->work.prompt.size()) - s->fed);
        if (n > budget) break;
        budget -= n;
        const auto from = s->work.prompt.begin() + s->fed;
        plan.push_back({s.get(), std::vector<std::int32_t>(from, from + n)});
    }
    // One-token steps lead (transformer::hidden_batch); stable, so the order is otherwise kept.
    std::stable_partition(plan.begin(), plan.end(), [](const planned& p) { return p.tokens.size() == 1; });
    std::vector<transformer::sequence_step> steps;
    for (const planned& p : plan) steps.push_back({p.tokens, p.seq->work.positions.get(), p.seq->cache.get()});

    try {
        ag::context inference;
        const tensor hidden = model_.hidden_batch(inference, steps)->value;  // [N, C]
        const std::int64_t width = hidden.dim(1);
        const std::size_t row_bytes = std::size_t(width) * dtype_size(hidden.type());
        std::vector<sequence*> sampling;  // sequences whose last row gives their next token
        std::vector<std::int64_t> last_rows;
        std::int64_t row = 0;
        for (const planned& p : plan) {
            sequence& s = *p.seq;
            const std::int64_t n = std::int64_t(p.tokens.size());
            if (s.prefilling()) {
                if (s.work.score_prompt) {
                    // Row i of the chunk predicts prompt token fed + i + 1 (the last prompt row, none).
                    std::vector<std::int32_t> targets(std::size_t(n), -1);
                    for (std::int64_t i = 0; i < n && s.fed + i + 1 < std::int64_t(s.work.prompt.size()); ++i)
                        targets[std::size_t(i)] = s.work.prompt[std::size_t(s.fed + i + 1)];
                    tensor rows({n, width}, hidden.type());
                    std::memcpy(rows.raw(), static_cast<const std::byte*>(hidden.raw()) + std::size_t(row) * row_bytes,
                                rows.bytes());
                    for (scored_token& t : score_rows(model_, rows, targets, std::max(0, s.work.logprobs)))
                        s.prompt_scores.push_back(std::move(t));
                }
                s.fed += n;
                prompt_tokens_ += n;
                if (!s.prefilling()) {
                    if (s.work.score_prompt) {
                        s.prompt_scores.insert(s.prompt_scores.begin(), scored_token{s.work.prompt[0]});
                        s.channel->put_prompt(std::move(s.prompt_scores));
                    }
                    if (s.work.max_tokens == 0) s.channel->finish(finish_reason::length);
                    else {
                        sampling.push_back(&s);
                        last_rows.push_back(row + n - 1);
                    }
                }
            } else {
                sampling.push_back(&s);
                last_rows.push_back(row);
            }
            row += n;
        }
        if (!sampling.empty()) {
            tensor rows({std::int64_t(sampling.size()), width}, hidden.type());  // [R, C]
            for (std::size_t i = 0; i < sampling.size(); ++i)
                std::memcpy(static_cast<std::byte*>(rows.raw()) + i * row_bytes,
                            static_cast<const std::byte*>(hidden.raw()) + std::size_t(last_rows[i]) * row_bytes,
                            row_bytes);
            tensor logits = model_.logits(inference, ag::make_var(rows, "next_rows"), true)->value;  // [R, V]
            if (logits.type() != dtype::f32) logits = logits.to(dtype::f32);
            const std::size_t vocab = std::size_t(logits.dim(1));
            for (std::size_t i = 0; i < sampling.size(); ++i) {
                sequence& s = *sampling[i];
                const std::span<const float> z(logits.data<float>() + i * vocab, vocab);
                const std::int32_t token = s.pick->sample(z, s.history);
                s.channel->put_token(s.work.logprobs >= 0 ? score_token(z, token, s.work.logprobs) : scored_token{token});
                s.history.push_back(token);
                ++s.generated;
                ++generated_tokens_;
                finish_reason why;
                if (finished_after(s.work, token, s.generated, why)) s.channel->finish(why);
                else s.next = token;
            }
        }
    } catch (const error& e) {
        for (const planned& p : plan) p.seq->channel->finish(finish_reason::failed, e.what());
    }
    ++steps_;
    std::erase_if(active_, [](const std::unique_ptr<sequence>& s) { return s->channel->finished(); });
    active_count_ = std::int64_t(active_.size());
}

}  // namespace stretch::serve
