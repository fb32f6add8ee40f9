// train/adamw.h: the parameters are checked after an update, so a non-finite one is found before a
// checkpoint could store it (the trainer stops there). beta1 = 1 zeroes the bias correction
// 1 - beta1^t, which the key table refuses; built in code it shows what the check catches.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace stretch
