// Two models, and two engines over one model, computing at once in one process (issue 15, item 6):
// the library keeps no process-wide state they could race on (each thread has its own thread pool:
// core/thread_pool.h; the tensor block cache is locked). Run under ThreadSanitizer by
// scripts/tsan.sh, which fails on any race report; here, without it, the results must equal the
// same work done one after the other.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "core/thread_pool.h"
#include "generate/generator.h"
#include "model/load.h"
#include "serve/engine.h"

namespace stretch::serve {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return fs::path(STRETCH_SOURCE_DIR) / "tests/fixtures/arch" / name; }

std::vector<std::int32_t> greedy(const loaded_model& m, std::vector<std::int32_t> prompt) {
    set_threads(2);  // this thread's own pool
    generation_request g;
    g.prompt = std::move(prompt);
    g.n_predict = 8;
    g.sampling.temperature = 0;
    return generate(*m.model, variants::parse_spec(m.positions, "t"), g);
}

TEST(ServeConcurrency, TwoModelsInTwoThreads) {
    const loaded_model a = load_any_model(fixture("llama.gguf").string());
    const loaded_model b = load_any_model(fixture("qwen3.gguf").string());
    const std::vector<std::int32_t> prompt{1, 5, 9, 2};
    const auto want_a = greedy(a, prompt), want_b = greedy(b, prompt);
    std::vector<std::int32_t> got_a, got_b;
    std::thread ta([&] { got_a = greedy(a, prompt); });
    std::thread tb([&] { got_b = greedy(b, prompt); });
    ta.join();
    tb.join();
    EXPECT_EQ(got_a, want_a);
    EXPECT_EQ(got_b, want_b);
}

TEST(ServeConcurrency, TwoEnginesOverOneModelWithClientsOnFourThreads) {
    const loaded_model m = load_any_model(fixture("llama.gguf").string());
    const auto make = [&](std::int32_t first) {
        job j;
        j.prompt = {first, 3, 4, 5, 6};
        j.max_tokens = 6;
        j.sampling.temperature = 0;
        j.logprobs = 2;
        j.positions = std::make_shared<const layer_positions>(
            m.model->positions(variants::parse_spec(m.positions, "t"), 11, "t"));
        return j;
    };
    const auto run = [](engine& e, const job& j) {
        const std::shared_ptr<job_channel> c = e.submit(j);
        std::vector<std::int32_t> ids;
        for (;;) {
            const job_channel::update u = c->take(std::chrono::milliseconds(50));
            for (const scored_token& t : u.tokens) ids.push_back(t.id);
            if (u.done) return ids;
        }
    };
    const engine_options options{.slots = 2, .queue = 8, .threads = 2};
    std::vector<std::vector<std::int32_t>> want;
    {
        engine alone(*m.model, options);
        for (std::int32_t k = 0; k < 4; ++k) want.push_back(run(alone, make(10 + k)));
    }
    engine first(*m.model, options), second(*m.model, options);
    std::vector<std::vector<std::int32_t>> got(4);
    std::vector<std::thread> clients;
    for (std::int32_t k = 0; k < 4; ++k)
        clients.emplace_back([&, k] { got[std::size_t(k)] = run(k % 2 == 0 ? first : second, make(10 + k)); });
    for (std::thread& t : clients) t.join();
    EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace stretch::serve
