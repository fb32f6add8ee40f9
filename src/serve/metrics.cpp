#include "serve/metrics.h"

#include <fmt/format.h>

namespace stretch::serve {

void metrics::histogram::observe(double x) {
    for (std::size_t i = 0; i < bounds.size(); ++i)
        if (x <= bounds[i]) {
            ++buckets[i];
            break;
        }
    ++count;
    sum += x;
}

std::string metrics::histogram::render(const std::string& name, const std::string& help) const {
    std::string out = fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    std::int64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += buckets[i];
        out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds[i], cumulative);
    }
    out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count, name, sum, name, count);
    return out;
}

void metrics::count_request(const std::string& endpoint, int status, double seconds) {
    std::lock_guard lock(mutex_);
    ++requests_[{endpoint, status}];
    latency_.observe(seconds);
}

void metrics::observe_first_token(double seconds) {
    std::lock_guard lock(mutex_);
    first_token_.observe(seconds);
}

std::string metrics::render(const engine_counts& e) const {
    std::lock_guard lock(mutex_);
    std::string out = "# HELP stretch_requests_total HTTP requests answered, by endpoint and status\n"
                      "# TYPE stretch_requests_total counter\n";
    for (const auto& [key, n] : requests_)
        out += fmt::format("stretch_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
    out += fmt::format("# HELP stretch_prompt_tokens_total prompt tokens read\n# TYPE stretch_prompt_tokens_total counter\n"
                       "stretch_prompt_tokens_total {}\n", e.prompt_tokens);
    out += fmt::format("# HELP stretch_generated_tokens_total tokens generated\n"
                       "# TYPE stretch_generated_tokens_total counter\nstretch_generated_tokens_total {}\n",
                       e.generated_tokens);
    out += fmt::format("# HELP stretch_batch_steps_total batched forwards run\n# TYPE stretch_batch_steps_total counter\n"
                       "stretch_batch_steps_total {}\n", e.steps);
    out += fmt::format("# HELP stretch_queue_length requests waiting for a slot\n# TYPE stretch_queue_length gauge\n"
                       "stretch_queue_length {}\n", e.queued);
    out += fmt::format("# HELP stretch_active_slots slots with a request\n# TYPE stretch_active_slots gauge\n"
                       "stretch_active_slots {}\n", e.active);
    out += latency_.render("stretch_request_duration_seconds", "time from a request's arrival to its last byte");
    out += first_token_.render("stretch_time_to_first_token_seconds", "time from a request's arrival to its first token");
    return out;
}

}  // namespace stretch::serve
