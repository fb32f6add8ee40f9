// The server's counters in Prometheus's text exposition format (GET /metrics): requests by
// endpoint and status, tokens read and generated, queue length and busy slots, and histograms of
// request latency and time to first token.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "serve/engine.h"

namespace stretch::serve {

class metrics {
public:
    void count_request(const std::string& endpoint, int status, double seconds);
    void observe_first_token(double seconds);
    std::string render(const engine_counts& engine) const;

private:
    struct histogram {
        static constexpr std::array<double, 12> bounds{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
        std::array<std::int64_t, bounds.size()> buckets{};  // observations <= bounds[i] (not cumulative)
        std::int64_t count = 0;
        double sum = 0;
        void observe(double x);
        std::string render(const std::string& name, const std::string& help) const;
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, std::int64_t> requests_;
    histogram latency_, first_token_;
};

}  // namespace stretch::serve
