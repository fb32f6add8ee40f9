#include "train/lora.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "autograd/ops.h"
#include "core/error.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/quant_matmul.h"

namespace stretch {

namespace {

// The tensor-name suffix of each target letter group (GGUF's names, model/transformer.h).
const std::pair<const char*, const char*> target_suffixes[] = {
    {"q", ".attn_q.weight"},      {"k", ".attn_k.weight"},   {"v", ".attn_v.weight"}, {"o", ".attn_output.weight"},
    {"gate", ".ffn_gate.weight"}, {"up", ".ffn_up.weight"}, {"down", ".ffn_down.weight"}};

bool targeted(const std::string& name, const std::vector<std::string>& targets) {
    if (!name.starts_with("blk.")) return false;
    for (const auto& [target, suffix] : target_suffixes)
        if (name.ends_with(suffix) && std::find(targets.begin(), targets.end(), target) != targets.end()) return true;
    return false;
}

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> items;
    for (std::size_t start = 0;;) {
        const std::size_t comma = text.find(',', start);
        items.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) return items;
        start = comma + 1;
    }
}

// [rows, cols] of a weight, whether it holds f32 values or quantised blocks.
shape_t weight_shape(const ag::var& w) {
    return w->quantized ? shape_t{w->quantized->rows, w->quantized->cols} : w->value.shape();
}

// The weight as f32 values (quantised blocks dequantised).
tensor weight_values(const ag::var& w) {
    if (!w->quantized) return w->value.type() == dtype::f32 ? w->value.clone() : w->value.to(dtype::f32);
    const cpu::quantized_matrix& q = *w->quantized;
    tensor out({q.rows, q.cols});
    for (std::int64_t r = 0; r < q.rows; ++r) cpu::dequantize_row(q, r, out.data<float>() + r * q.cols);
    return out;
}

}  // namespace

lora_adapters::lora_adapters(const transformer& model, const std::string& targets, std::int64_t rank, double alpha,
                             const std::string& where)
    : rank_(rank), alpha_(alpha) {
    const std::vector<std::string> wanted = split_commas(targets);
    for (const auto& [name, w] : model.parameters()) {
        if (!targeted(name, wanted)) continue;
        const shape_t shape = weight_shape(w);
        adapter ad{name, w, ag::make_var(tensor({rank, shape[1]}, model.type()), name + ".lora_a", true),
                   ag::make_var(tensor({shape[0], rank}, model.type()), name + ".lora_b", true)};
        by_weight_[w.get()] = adapters_.size();
        parameters_.emplace_back(ad.a->name, ad.a);
        parameters_.emplace_back(ad.b->name, ad.b);
        adapters_.push_back(std::move(ad));
    }
    if (adapters_.empty())
        fail("{}: {} has no matrix that '{}' names (a GAU stack has no attention or FFN blocks); expected a "
             "Transformer's q, k, v, o, gate, up or down",
             where, model.config().shape_text(), targets);
}

void lora_adapters::initialise(rng& generator) {
    for (adapter& ad : adapters_) {
        tensor& a = ad.a->value;
        const double std = 1.0 / std::sqrt(double(a.dim(1)));
        for (std::int64_t i = 0; i < a.numel(); ++i) {
            const double x = std * generator.normal();
            if (a.type() == dtype::f32) a.data<float>()[i] = float(x);
            else a.data<double>()[i] = x;
        }
        ad.b->value.fill_zero();
    }
}

forward_hooks lora_adapters::hooks() const {
    forward_hooks h;
    const double scale = alpha_ / double(rank_);
    h.project = [this, scale](ag::context& ctx, const ag::var& x, const ag::var& w, const ag::var& y) {
        const auto found = by_weight_.find(w.get());
        if (found == by_weight_.end()) return y;
        const adapter& ad = adapters_[found->second];
        const ag::var down = ag::linear(ctx, x, ad.a, ad.name + ".lora_down");  // [M, r]
        const ag::var up = ag::linear(ctx, down, ad.b, ad.name + ".lora_up");   // [M, out]
        return ag::add(ctx, up, y, ad.name + ".lora", scale);
    };
    return h;
}

std::unordered_map<std::string, tensor> lora_adapters::merged() const {
    std::unordered_map<std::string, tensor> out;
    const double scale = alpha_ / double(rank_);
    for (const adapter& ad : adapters_) {
        tensor w = weight_values(ad.weight);  // [out, in]
        const tensor a = ad.a->value.type() == dtype::f32 ? ad.a->value : ad.a->value.to(dtype::f32);
        const tensor b = ad.b->value.type() == dtype::f32 ? ad.b->value : ad.b->value.to(dtype::f32);
        const std::int64_t rows = w.dim(0), cols = w.dim(1);
        cpu::gemm<float>(false, false, rows, cols, rank_, float(scale), b.data<float>(), rank_, a.data<float>(), cols,
                         1.0f, w.data<float>(), cols);
        out.emplace(ad.name, std::move(w));
    }
    return out;
}

void lora_adapters::write_adapter(const std::string& path, const std::string& arch) const {
    gguf::writer out;
    out.set_string("general.architecture", arch);
    out.set_string("general.type", "adapter");
    out.set_string("general.name", "stretch LoRA");
    out.set_string("adapter.type", "lora");
    out.set_f32("adapter.lora.alpha", float(alpha_));
    for (const auto& [name, p] : parameters_)
        out.add_tensor(name, p->value.type() == dtype::f32 ? p->value : p->value.to(dtype::f32));
    out.write(path);
}

}  // namespace stretch
