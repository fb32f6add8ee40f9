#include "eval/probe.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "autograd/ops.h"
#include "core/error.h"
#include "model/transformer.h"
#include "train/adamw.h"

namespace stretch {

namespace {

probe_result probe_one(const probe_options& o, const std::string& spec) {
    model_config c;
    c.vocab_size = o.length + 1;  // labels 1 .. n, and the input token 0
    c.d_model = o.d_model;
    c.n_layer = o.n_layer;
    c.n_head = c.n_head_kv = o.n_head;
    c.d_ff = 2 * o.d_model;
    c.n_ctx_train = o.length;
    c.tie_embeddings = false;  // the input token's embedding is not a label's
    c.pos = spec;
    c.validate("probe");
    transformer model(c);
    rng generator(o.seed);
    model.init(generator);

    train_config tc;
    tc.steps = o.steps;
    tc.lr = o.lr;
    tc.warmup_steps = std::max<std::int64_t>(1, o.steps / 10);
    tc.weight_decay = 0;  // a probe of what the model can represent, not of regularisation
    adamw optimizer(model.parameters(), tc);

    variants::model_context train_context = model.position_context(o.length);
    train_context.training = true;
    const variants::position_setup trained(variants::parse_spec(spec, "probe"), train_context, "probe");
    const std::vector<std::int32_t> tokens(static_cast<std::size_t>(o.length), probe_token);
    std::vector<std::int32_t> labels(static_cast<std::size_t>(o.length));
    for (std::int64_t p = 0; p < o.length; ++p) labels[std::size_t(p)] = std::int32_t(p + 1);

    probe_result r;
    r.spec = spec;
    for (std::int64_t step = 1; step <= o.steps; ++step) {
        const std::vector<double> positions =
            trained.draws_positions() ? trained.draw_positions(generator, o.length) : std::vector<double>{};
        ag::tape tape;
        ag::context ctx{&tape};
        ag::var loss = ag::cross_entropy(ctx, model.forward(ctx, tokens, 1, o.length, positions), labels, "probe_loss");
        r.final_loss = loss->value.data<float>()[0];
        if (!std::isfinite(r.final_loss)) fail("probe {}: non-finite loss at step {}", spec, step);
        tape.backward(loss);
        const double norm = optimizer.grad_norm();
        if (tc.grad_clip > 0 && norm > tc.grad_clip) optimizer.scale_grads(tc.grad_clip / norm);
        optimizer.update(learning_rate(tc, step), step);
        optimizer.zero_grad();
    }

    ag::context inference;  // test-time positions (0 .. n-1 unless the variant says otherwise)
    const tensor logits = model.forward(inference, tokens, 1, o.length)->value;
    std::int64_t correct = 0;
    for (std::int64_t p = 0; p < o.length; ++p) {
        const float* row = logits.data<float>() + p * c.vocab_size;
        const auto label = std::int32_t(std::max_element(row, row + c.vocab_size) - row);
        r.predicted.push_back(label);
        correct += label == labels[std::size_t(p)];
    }
    r.accuracy = double(correct) / double(o.length);
    r.distinct_predictions = std::int64_t(std::set<std::int32_t>(r.predicted.begin(), r.predicted.end()).size());
    return r;
}

}  // namespace

std::vector<probe_result> run_probe(const probe_options& options) {
    if (options.length < 2) fail("--length: found {}, expected at least 2 positions", options.length);
    if (options.steps <= 0) fail("--steps: found {}, expected a positive number of steps", options.steps);
    if (options.specs.empty()) fail("--pos: no spec given, expected at least one");
    std::vector<probe_result> results;
    for (const auto& spec : options.specs) results.push_back(probe_one(options, spec));
    return results;
}

}  // namespace stretch
