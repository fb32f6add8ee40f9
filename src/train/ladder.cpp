#include "train/ladder.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace stretch {

namespace {

model_config side_config(const model_config& backbone, const finetune_config& c, std::int64_t context) {
    model_config s;
    s.vocab_size = 1;  // the side network reads Down_0(e), not tokens: its embedding is never used
    s.tie_embeddings = true;
    s.d_model = c.lst_width;
    s.n_layer = c.lst_layers;
    s.n_head = s.n_head_kv = c.lst_heads;
    s.d_ff = c.lst_ffn;
    s.n_ctx_train = context;
    s.norm_position = "post";
    s.norm_eps = backbone.norm_eps;
    s.validate("finetune lst side network (lst_width, lst_heads, lst_layers, lst_ffn)");
    return s;
}

void fill_normal(tensor& t, double std, rng& generator) {
    for (std::int64_t i = 0; i < t.numel(); ++i) {
        const double x = std * generator.normal();
        if (t.type() == dtype::f32) t.data<float>()[i] = float(x);
        else t.data<double>()[i] = x;
    }
}

}  // namespace

ladder_side_network::ladder_side_network(const transformer& backbone, const finetune_config& config,
                                         std::int64_t context, bool language_model)
    : backbone_(backbone), side_(side_config(backbone.config(), config, context), backbone.type()) {
    const std::int64_t n_b = backbone.config().n_attention_layers(), n_s = config.lst_layers;
    if (n_s > n_b)
        fail("lst_layers = {}: more side layers than the backbone's {}; expected at most {} (each reads a backbone "
             "layer)",
             n_s, n_b, n_b);
    skip_ = n_b / n_s;
    const std::int64_t c = backbone.config().d_model, w = config.lst_width;
    for (std::int64_t i = 0; i <= n_s; ++i)
        down_.push_back(ag::make_var(tensor({w, c}, backbone.type()), fmt::format("lst.down.{}.weight", i), true));
    for (const auto& [name, p] : side_.parameters())
        if (name != "token_embd.weight") parameters_.emplace_back("lst." + name, p);
    for (const ag::var& d : down_) parameters_.emplace_back(d->name, d);
    if (language_model) {
        up_ = ag::make_var(tensor({c, w}, backbone.type()), "lst.up.weight", true);
        parameters_.emplace_back(up_->name, up_);
    }
}

void ladder_side_network::initialise(rng& generator) {
    const double n_s = double(side_.config().n_layer);
    for (const auto& [name, p] : side_.parameters()) {
        tensor& t = p->value;
        if (t.rank() == 1) {
            for (std::int64_t i = 0; i < t.numel(); ++i)
                if (t.type() == dtype::f32) t.data<float>()[i] = 1.0f;
                else t.data<double>()[i] = 1.0;
        } else {
            fill_normal(t, 1.0 / std::sqrt(double(t.dim(1)) * n_s), generator);
        }
    }
    for (const ag::var& d : down_) fill_normal(d->value, std::sqrt(2.0 / double(d->value.dim(0) + d->value.dim(1))), generator);
    if (up_) up_->value.fill_zero();
}

ladder_side_network::taps ladder_side_network::run_backbone(std::span<const std::int32_t> tokens, std::int64_t batch,
                                                            std::int64_t time, const layer_positions& positions) const {
    taps t;
    const std::int64_t n_b = backbone_.config().n_attention_layers();
    t.layers.resize(down_.size() - 1);
    forward_hooks hooks;
    hooks.after_layer = [&](ag::context&, std::int64_t layer, const ag::var& x) {
        if (layer < 0) t.embedding = x;
        else if ((layer + 1) % skip_ == 0 && (layer + 1) / skip_ <= std::int64_t(t.layers.size()))
            t.layers[std::size_t((layer + 1) / skip_ - 1)] = x;
        if (layer == n_b - 1) t.last = x;
        return x;
    };
    ag::context inference;  // no tape: nothing of the backbone is recorded
    backbone_.hidden(inference, tokens, batch, time, positions, nullptr, {}, hooks);
    return t;
}

ag::var ladder_side_network::run_side(ag::context& ctx, const taps& t, std::int64_t batch, std::int64_t time) const {
    const ag::var start = ag::linear(ctx, t.embedding, down_[0], "lst.down.0");
    const layer_positions positions = side_.positions(variants::parse_spec("default", "lst"), time, "lst");
    forward_hooks hooks;
    hooks.after_layer = [&](ag::context& c, std::int64_t layer, const ag::var& x) {
        if (layer < 0) return x;
        const std::string name = fmt::format("lst.down.{}", layer + 1);
        return ag::add(c, x, ag::linear(c, t.layers[std::size_t(layer)], down_[std::size_t(layer + 1)], name), name + "_added");
    };
    return side_.blocks(ctx, start, batch, time, positions, hooks);
}

ag::var ladder_side_network::features(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch,
                                      std::int64_t time, const layer_positions& backbone_positions) const {
    return run_side(ctx, run_backbone(tokens, batch, time, backbone_positions), batch, time);
}

ag::var ladder_side_network::logits(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch,
                                    std::int64_t time, const layer_positions& backbone_positions) const {
    STRETCH_ASSERT(up_ != nullptr);
    const taps t = run_backbone(tokens, batch, time, backbone_positions);
    const ag::var side = run_side(ctx, t, batch, time);
    const ag::var stream = ag::add(ctx, ag::linear(ctx, side, up_, "lst.up"), t.last, "lst.stream");
    return backbone_.logits(ctx, backbone_.final_norm(ctx, stream));
}

}  // namespace stretch
