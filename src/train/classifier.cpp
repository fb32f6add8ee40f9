#include "train/classifier.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "autograd/ops.h"
#include "core/error.h"
#include "io/gguf.h"
#include "model/gguf_model.h"
#include "train/checkpoint.h"
#include "train/ladder.h"
#include "train/lora.h"

namespace stretch {

namespace {

// Overwrites `target`'s values with the file's tensors of the same names.
void read_values(const gguf::reader& in, const parameter_list& target) {
    for (const auto& [name, p] : target) {
        const tensor t = in.read_f32(name, p->value.shape());  // names a missing tensor or a wrong shape
        p->value = p->value.type() == dtype::f32 ? t : t.to(p->value.type());
    }
}

}  // namespace

finetuned_classifier::finetuned_classifier(const std::string& dir, const std::string& flag) {
    const std::string path = (std::filesystem::path(dir) / "finetuned.gguf").string();
    if (!std::filesystem::is_regular_file(path))
        fail("{} {}: no finetuned.gguf in it; expected the --out folder of stretch finetune --task classify", flag, dir);
    const auto in = gguf::reader::open(path);
    if (!in.find("stretch.finetune.classes"))
        fail("{} {}: {} has no classes (stretch.finetune.classes); expected a stretch finetune --task classify output",
             flag, dir, path);
    classes_ = in.get_array_string("stretch.finetune.classes");
    config_ = read_checkpoint_config(path);
    const finetune_config& f = config_.finetune;
    base_ = load_any_model(in.get_string("stretch.finetune.base"), "", quantized_weights::keep);
    transformer& model = *base_.model;
    if (f.method == "full") {
        dequantize_weights(model);
        read_values(in, model.parameters());
    } else if (f.method == "lora") {
        lora_adapters adapters(model, f.lora_targets, f.lora_rank, f.lora_alpha, "lora_targets");
        read_values(in, adapters.parameters());
        for (auto& [name, merged] : adapters.merged())  // W + (alpha / r) B A: a plain model, which caches
            for (const auto& [pname, p] : model.parameters())
                if (pname == name) {
                    p->value = merged;
                    p->quantized.reset();
                }
    } else if (f.method == "lst") {
        const std::int64_t context = f.context > 0 ? f.context : model.config().n_ctx_train;
        ladder_ = std::make_unique<ladder_side_network>(model, f, context, false);
        read_values(in, ladder_->parameters());
    }
    head_weight_ = in.read_f32("cls.weight");
    head_bias_ = in.read_f32("cls.bias");
    const std::int64_t width = ladder_ ? ladder_->width() : model.config().d_model;
    if (head_weight_.shape() != shape_t{std::int64_t(classes_.size()), width})
        fail("{} {}: cls.weight has shape [{}, {}], expected [{} classes, width {}]", flag, dir, head_weight_.dim(0),
             head_weight_.dim(1), classes_.size(), width);
}

finetuned_classifier::~finetuned_classifier() = default;

std::int32_t finetuned_classifier::class_index(const std::string& text, const std::string& flag) const {
    const auto found = std::find(classes_.begin(), classes_.end(), text);
    if (found != classes_.end()) return std::int32_t(found - classes_.begin());
    std::size_t used = 0;
    long long index = -1;
    try {
        index = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == text.size() && !text.empty() && index >= 0 && index < (long long)classes_.size()) return std::int32_t(index);
    fail("{}: found '{}', expected a class of the classifier ({}) or its index 0 .. {}", flag, text,
         fmt::join(classes_, ", "), classes_.size() - 1);
}

std::vector<std::vector<double>> finetuned_classifier::head(const tensor& pooled) const {
    const tensor x = pooled.type() == dtype::f32 ? pooled : pooled.to(dtype::f32);  // [rows, C]
    const std::int64_t rows = x.dim(0), width = x.dim(1), k = head_weight_.dim(0);
    std::vector<std::vector<double>> out(std::size_t(rows), std::vector<double>(std::size_t(k), 0.0));
    for (std::int64_t r = 0; r < rows; ++r) {
        auto& z = out[std::size_t(r)];
        for (std::int64_t c = 0; c < k; ++c) {
            double sum = head_bias_.data<float>()[c];
            for (std::int64_t i = 0; i < width; ++i)
                sum += double(head_weight_.data<float>()[c * width + i]) * double(x.data<float>()[r * width + i]);
            z[std::size_t(c)] = sum;
        }
        const double top = *std::max_element(z.begin(), z.end());
        double total = 0;
        for (const double v : z) total += std::exp(v - top);
        for (double& v : z) v -= top + std::log(total);
    }
    return out;
}

std::vector<std::vector<double>> finetuned_classifier::log_probs(std::span<const std::int32_t> tokens,
                                                                 std::int64_t rows) const {
    STRETCH_ASSERT(rows > 0 && std::int64_t(tokens.size()) % rows == 0);
    const std::int64_t length = std::int64_t(tokens.size()) / rows;
    const transformer& model = *base_.model;
    const layer_positions positions = model.positions(variants::parse_spec(config_.model.pos, "--guide"), length, "--guide");
    ag::context inference;
    const ag::var states = ladder_ ? ladder_->features(inference, tokens, rows, length, positions)  // [rows * length, C]
                                   : model.hidden(inference, tokens, rows, length, positions);
    std::vector<std::pair<std::int64_t, std::int64_t>> spans;
    for (std::int64_t r = 0; r < rows; ++r)
        spans.emplace_back(r * length + (config_.finetune.pooling == "last" ? length - 1 : 0), (r + 1) * length);
    return head(ag::mean_of_rows(inference, states, spans, "pooled")->value);
}

finetuned_classifier::prefix finetuned_classifier::start(std::int64_t capacity) const {
    STRETCH_ASSERT(can_cache());
    const transformer& model = *base_.model;
    return prefix{kv_cache(model.config(), capacity, model.type()),
                  model.positions(variants::parse_spec(config_.model.pos, "--guide"), capacity, "--guide"),
                  std::vector<double>(std::size_t(model.config().d_model), 0.0),
                  {}};
}

void finetuned_classifier::extend(prefix& p, std::span<const std::int32_t> tokens) const {
    ag::context inference;
    const ag::var states = base_.model->hidden(inference, tokens, 1, std::int64_t(tokens.size()), p.positions, &p.cache);
    const tensor x = states->value.type() == dtype::f32 ? states->value : states->value.to(dtype::f32);  // [T, C]
    for (std::int64_t t = 0; t < x.dim(0); ++t)
        for (std::int64_t i = 0; i < x.dim(1); ++i) p.state_sum[std::size_t(i)] += x.data<float>()[t * x.dim(1) + i];
    p.tokens.insert(p.tokens.end(), tokens.begin(), tokens.end());
}

std::vector<std::vector<double>> finetuned_classifier::log_probs_after(const prefix& p,
                                                                       std::span<const std::int32_t> candidates) const {
    STRETCH_ASSERT(!p.tokens.empty() && !candidates.empty());
    // Each candidate continues its own copy of the prefix's cache; one batched step runs them all.
    // A copy shares the cache's storage (core/tensor.h): every candidate writes its keys and values
    // at row size(), past the prefix, and the batched step attends sequence after sequence within a
    // layer, each right after writing that row (model/transformer_batch.cpp), so no candidate reads
    // another's row; the prefix's own size is unchanged and its next token overwrites the row.
    // (tests/generate/test_classifier_guide.cpp checks the result against whole-prefix forwards.)
    std::vector<kv_cache> caches(candidates.size(), p.cache);
    std::vector<transformer::sequence_step> steps;
    for (std::size_t i = 0; i < candidates.size(); ++i) steps.push_back({candidates.subspan(i, 1), &p.positions, &caches[i]});
    ag::context inference;
    const ag::var last = base_.model->hidden_batch(inference, steps);  // [candidates, C]
    tensor pooled = last->value.type() == dtype::f32 ? last->value : last->value.to(dtype::f32);
    if (config_.finetune.pooling == "mean") {
        const std::int64_t width = pooled.dim(1);
        const double n = double(p.tokens.size() + 1);
        for (std::int64_t r = 0; r < pooled.dim(0); ++r)
            for (std::int64_t i = 0; i < width; ++i) {
                float& v = pooled.data<float>()[r * width + i];
                v = float((p.state_sum[std::size_t(i)] + double(v)) / n);
            }
    }
    return head(pooled);
}

}  // namespace stretch
