// train/data_parallel.h in one process (the ranks themselves are tested through `stretch train` under
// mpirun, tests/cli/test_cmd_train.cpp): the mean of the slices' gradients is the whole batch's
// gradient, against a float64 forward and backward of the whole batch; the blocked norm is the norm;
// a batch that does not cut is refused.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "support/tiny_model.h"
#include "train/data_parallel.h"

namespace stretch {
namespace {

// The f32 gradients of each parameter, as doubles, in parameter order.
std::vector<double> gradients(const transformer& model) {
    std::vector<double> out;
    for (const auto& [name, p] : model.parameters())
        for (std::int64_t i = 0; i < p->grad.numel(); ++i)
            out.push_back(p->grad.type() == dtype::f32 ? double(p->grad.data<float>()[i]) : p->grad.data<double>()[i]);
    return out;
}

TEST(DataParallel, MeanOfTheSlicesIsTheWholeBatchGradient) {
    const model_config config = test::tiny_config();
    transformer sliced = test::tiny_model(config, dtype::f32);
    transformer whole = test::tiny_model(config, dtype::f64);
    for (std::size_t i = 0; i < whole.parameters().size(); ++i) {  // the same numbers: f32's, held exactly in f64
        const tensor& from = sliced.parameters()[i].second->value;
        whole.parameters()[i].second->value = from.to(dtype::f64);
    }
    const std::int64_t rows = 4, t = config.n_ctx_train;
    batch global;
    global.inputs = test::tiny_tokens(rows * t);
    global.targets = test::tiny_tokens(rows * t + 1);
    global.targets.erase(global.targets.begin());

    train_config tc;
    tc.batch_size = rows;
    tc.micro_batches = 4;  // one process: four slices of one sequence
    data_parallel parallel(sliced.parameters(), communicator{}, tc);
    double loss_sum = 0;
    for (std::int64_t j = 0; j < parallel.slices_per_rank(); ++j) {
        const batch slice = parallel.slice(global, j, t);
        ag::tape tape;
        ag::context ctx{&tape};
        ag::var loss = ag::cross_entropy(ctx, sliced.forward(ctx, slice.inputs, parallel.rows_per_slice(), t),
                                         slice.targets, "loss");
        loss_sum += loss->value.data<float>()[0];
        tape.backward(loss);
        parallel.add_slice_gradients();
    }
    parallel.reduce_gradients();

    ag::tape tape;
    ag::context ctx{&tape};
    ag::var loss = ag::cross_entropy(ctx, whole.forward(ctx, global.inputs, rows, t), global.targets, "loss");
    tape.backward(loss);
    // f32 against f64 over the same weights, whose size keeps attention far from uniform: measured
    // 3.0e-5 for the gradients (scaled by the largest), the same as f32's own error with the batch in
    // one piece (the f32 floor), and 2e-7 for the loss; 1e-4 and 1e-5 leave 3x and 50x, while a slice
    // read from the wrong rows or a mean over the wrong count is off by 1e-1 or more.
    const double reference_loss = loss->value.data<double>()[0];
    EXPECT_NEAR(parallel.mean_loss(loss_sum), reference_loss, 1e-5 * reference_loss);
    EXPECT_LT(test::scaled_error(gradients(sliced), gradients(whole)), 1e-4);
}

TEST(DataParallel, NormOfTheMeanGradientIsItsEuclideanNorm) {
    // Three tensors over four norm blocks, so the blocked sum has partials to add.
    parameter_list parameters;
    rng generator(9);
    for (const shape_t& shape : {shape_t{5000}, shape_t{3, 1000}, shape_t{7000}}) {
        ag::var p = ag::make_var(tensor(shape), "p" + std::to_string(parameters.size()), true);
        p->grad = tensor(shape);
        for (std::int64_t i = 0; i < p->grad.numel(); ++i) p->grad.data<float>()[i] = float(generator.normal());
        parameters.emplace_back(p->name, p);
    }
    double naive = 0;  // one sum in float64 over every element
    for (const auto& [name, p] : parameters)
        for (std::int64_t i = 0; i < p->grad.numel(); ++i) naive += double(p->grad.data<float>()[i]) * p->grad.data<float>()[i];
    train_config tc;
    tc.batch_size = 1;
    data_parallel parallel(parameters, communicator{}, tc);
    const adamw optimizer(parameters, tc, parallel.owned());
    // Both sum the same f64 squares in another order: relative rounding of about 15000 x 2^-53.
    EXPECT_NEAR(parallel.grad_norm(optimizer), std::sqrt(naive), 1e-12 * std::sqrt(naive));
}

TEST(DataParallel, ABatchThatDoesNotCutIntoEqualSlicesIsRefusedNamingBatchSize) {
    train_config tc;
    tc.batch_size = 6;
    tc.micro_batches = 4;
    try {
        rows_per_slice(tc, 1);
        FAIL() << "no error";
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "batch_size = 6: does not cut into 1 rank(s) x micro_batches 4 = 4 equal slices; expected "
                               "a multiple of 4");
    }
    tc.micro_batches = 3;
    EXPECT_EQ(rows_per_slice(tc, 2), 1);
}

}  // namespace
}  // namespace stretch
