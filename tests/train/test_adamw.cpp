// train/adamw.h: the parameters are checked after an update, so a non-finite one is found before a
// checkpoint could store it (the trainer stops there). beta1 = 1 zeroes the bias correction
// 1 - beta1^t, which the key table refuses; built in code it shows what the check catches. Shards of
// the flat layout updated apart (ZeRO-1) equal one whole update and a float64 AdamW written out here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "support/tiny_model.h"
#include "train/adamw.h"

namespace stretch {
namespace {

TEST(Adamw, AnUpdateThatMakesAParameterNonFiniteIsFound) {
    const model_config config = test::tiny_config();
    for (const double beta1 : {0.9, 1.0}) {
        transformer model(config, dtype::f32);
        rng generator(3);
        model.init(generator);
        train_config t;
        t.beta1 = beta1;
        adamw optimizer(model.parameters(), t);
        for (auto& [name, p] : model.parameters()) {
            p->grad = tensor(p->value.shape(), dtype::f32);
            p->grad.fill_zero();
            p->grad.data<float>()[0] = 0.5f;
        }
        optimizer.update(1e-3, 1);
        const std::string* bad = optimizer.first_non_finite_parameter();
        if (beta1 < 1) {
            EXPECT_EQ(bad, nullptr) << *bad;
        } else {
            ASSERT_NE(bad, nullptr);
            EXPECT_EQ(*bad, model.parameters().front().first);
        }
    }
}

// Parameters of three shapes (a vector is not decayed, matrices are) with values and gradients drawn
// from `seed`: the same numbers for every call.
parameter_list random_parameters(std::uint64_t seed) {
    parameter_list parameters;
    rng generator(seed);
    for (const shape_t& shape : {shape_t{5000}, shape_t{3, 1000}, shape_t{70, 100}}) {
        ag::var p = ag::make_var(tensor(shape), "p" + std::to_string(parameters.size()), true);
        p->grad = tensor(shape);
        for (std::int64_t i = 0; i < p->value.numel(); ++i) p->value.data<float>()[i] = float(generator.normal());
        parameters.emplace_back(p->name, p);
    }
    return parameters;
}

void draw_gradients(const parameter_list& parameters, rng& generator) {
    for (const auto& [name, p] : parameters)
        for (std::int64_t i = 0; i < p->grad.numel(); ++i) p->grad.data<float>()[i] = float(generator.normal());
}

TEST(Adamw, ShardsUpdatedApartEqualOneWholeUpdateAndTheFormula) {
    train_config tc;
    tc.weight_decay = 0.1;
    const parameter_list whole_parameters = random_parameters(4), shard_parameters = random_parameters(4);
    adamw whole(whole_parameters, tc);
    // The cut at 2 x 4096 falls inside the third tensor (elements 8000 .. 14999).
    adamw first(shard_parameters, tc, {0, 2 * norm_block}), second(shard_parameters, tc, {2 * norm_block, 1 << 30});
    EXPECT_EQ(second.owned().end, 15000);

    // The float64 reference: AdamW as in its header, element by element.
    std::vector<double> w, m(15000, 0.0), v(15000, 0.0);
    for (const auto& [name, p] : whole_parameters)
        for (std::int64_t i = 0; i < p->value.numel(); ++i) w.push_back(p->value.data<float>()[i]);
    rng a(8), b(8);
    for (std::int64_t step = 1; step <= 3; ++step) {
        draw_gradients(whole_parameters, a);
        draw_gradients(shard_parameters, b);
        const double lr = 1e-2;
        whole.update(lr, step);
        first.update(lr, step);
        second.update(lr, step);
        std::size_t j = 0;
        for (const auto& [name, p] : whole_parameters)
            for (std::int64_t i = 0; i < p->value.numel(); ++i, ++j) {
                const double g = p->grad.data<float>()[i], decay = p->value.rank() >= 2 ? tc.weight_decay : 0.0;
                m[j] = tc.beta1 * m[j] + (1 - tc.beta1) * g;
                v[j] = tc.beta2 * v[j] + (1 - tc.beta2) * g * g;
                const double m_hat = m[j] / (1 - std::pow(tc.beta1, double(step)));
                const double v_hat = v[j] / (1 - std::pow(tc.beta2, double(step)));
                w[j] -= lr * (m_hat / (std::sqrt(v_hat) + tc.adam_eps) + decay * w[j]);
            }
    }
    std::size_t j = 0;
    double worst = 0;
    for (std::size_t k = 0; k < whole_parameters.size(); ++k) {
        const tensor &x = whole_parameters[k].second->value, &y = shard_parameters[k].second->value;
        EXPECT_EQ(std::memcmp(x.raw(), y.raw(), x.bytes()), 0) << whole_parameters[k].first << ": shards differ";
        for (std::int64_t i = 0; i < x.numel(); ++i, ++j) worst = std::max(worst, std::abs(x.data<float>()[i] - w[j]));
    }
    // f32 against f64 over three steps of size ~lr = 1e-2 on values ~1: measured 1.2e-7; 1e-5 leaves
    // 80x, while a step with the wrong bias correction or decay is off by 1e-3 or more.
    EXPECT_LT(worst, 1e-5);

    // The norm's partials are the same blocks in both, and the moments read back per range.
    std::vector<double> partials = first.grad_square_partials();
    for (const double p : second.grad_square_partials()) partials.push_back(p);
    EXPECT_EQ(partials, whole.grad_square_partials());
    std::vector<float> mw(6808), vw(6808), ms(6808), vs(6808);
    whole.read_moments({2 * norm_block, 15000}, mw, vw);
    second.read_moments({2 * norm_block, 15000}, ms, vs);
    EXPECT_EQ(mw, ms);
    EXPECT_EQ(vw, vs);
    first.write_moments({0, 2 * norm_block}, std::vector<float>(2 * norm_block, 0.5f), std::vector<float>(2 * norm_block, 2.0f));
    EXPECT_EQ(first.first_moments()[0].data<float>()[4999], 0.5f);
    EXPECT_EQ(first.second_moments()[2].data<float>()[191], 2.0f);  // the third tensor's first 192 elements
}

}  // namespace
}  // namespace stretch
