// `random_pos` — random-position training on RoPE (methods.md C7). Training replaces each sequence's
// positions 0..N-1 by random ones:
//   uniform (Ruoss et al.):  sort(permutation(L_rand)[:N]), N distinct integers from [0, L_rand);
//   equal_mean (Su):         n ~ Exponential(mean N), positions linspace(0, 1, N) * n (floats).
// At test time (length M) the positions are evenly spaced over the range training covered (Su finds
// that better than sampling): linspace(0, L_rand - 1, M) for uniform, linspace(0, 1, M) * N for
// equal_mean (the mean of n), or plain 0..M-1 (`test=plain`). Evenly spaced positions t * span/(M-1)
// rotate exactly as theta_t * span/(M-1) at position t, so the test side is a frequency scaling; as
// it changes with M, a KV cache is recomputed when the length moves (like LongRoPE's switch).
// RoPE only: the model's other functional encoding (sinusoidal) adds its table at integer positions.
// Su: suits encoders more than autoregressive LMs (post 9603), "not very stable" (post 9948).
// Source: arXiv 2305.16843; https://kexue.fm/archives/9444.
#include <cmath>
#include <set>

#include "core/error.h"
#include "kernels/cpu/rope.h"
#include "variants/variant.h"

namespace stretch::variants {
namespace {

// N distinct integers from [0, l_rand), ascending: Floyd's sampling algorithm (Bentley & Floyd,
// CACM 1987), N draws instead of a permutation of all L_rand.
std::vector<double> distinct_sorted(rng& generator, std::int64_t n, std::int64_t l_rand) {
    std::set<std::int64_t> chosen;
    for (std::int64_t j = l_rand - n; j < l_rand; ++j) {
        const auto t = static_cast<std::int64_t>(generator.below(static_cast<std::uint64_t>(j + 1)));
        chosen.insert(chosen.contains(t) ? j : t);
    }
    return {chosen.begin(), chosen.end()};
}

// linspace(0, 1, n) * last.
std::vector<double> spread(std::int64_t n, double last) {
    std::vector<double> p(static_cast<std::size_t>(n), 0.0);
    for (std::int64_t t = 1; t < n; ++t) p[static_cast<std::size_t>(t)] = double(t) * last / double(n - 1);
    return p;
}

// The last test position of the evenly spaced test positions: the end of the range training drew from.
double test_span(const param_values& p, const model_context& c) {
    return p.text("mode") == "uniform" ? double(p.integer("l_rand") - 1) : double(c.n_ctx_train);
}

const registrar reg{variant_def{
    .name = "random_pos",
    .kind = variant_kind::position,
    .summary = "RoPE trained at random sorted positions, evenly spaced at test time (needs training)",
    .source = "methods.md C7; arXiv 2305.16843; kexue.fm/archives/9444",
    .params = {{.name = "mode", .type = param_type::text, .default_value = "uniform",
                .help = "uniform: N distinct integers of [0, l_rand); equal_mean: linspace(0,1,N) * n, n ~ Exp(mean N)",
                .choices = {"uniform", "equal_mean"}},
               {.name = "l_rand", .type = param_type::integer, .default_value = "2048",
                .help = "L_rand, the range uniform draws from (the paper's 2048; at least L_train)", .min = 1},
               {.name = "test", .type = param_type::text, .default_value = "spread",
                .help = "test-time positions: spread (evenly over the trained range, Su's choice) or plain 0..M-1",
                .choices = {"spread", "plain"}}},
    .frequencies = [](const param_values& p, const model_context& c, std::int64_t length) {
        auto inv_freq = cpu::rope_inv_freq(c.base, c.n_rot);
        if (!c.training && p.text("test") == "spread" && length > 1)
            for (double& f : inv_freq) f *= test_span(p, c) / double(length - 1);
        return rotation{std::move(inv_freq), 1.0};
    },
    .train_positions = [](const param_values& p, const model_context&, rng& generator, std::int64_t length) {
        if (p.text("mode") == "uniform") return distinct_sorted(generator, length, p.integer("l_rand"));
        const double n = -double(length) * std::log(1.0 - generator.uniform());  // inverse CDF of Exp(mean N)
        return spread(length, n);
    },
    .validate = [](const param_values& p, const model_context& c) {
        if (p.text("mode") == "uniform" && p.integer("l_rand") < c.n_ctx_train)
            fail("random_pos: l_rand = {} is below the training length {}, expected l_rand >= L_train (N distinct "
                 "positions are drawn from [0, l_rand))",
                 p.integer("l_rand"), c.n_ctx_train);
    },
    .refill_cache_on_rotation_change = true,
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
