#include "train/finetune.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "autograd/objective_ops.h"
#include "autograd/ops.h"
#include "core/error.h"
#include "io/corpus.h"
#include "io/json_text.h"
#include "io/tokenizer_byte.h"
#include "model/config_fields.h"
#include "model/gguf_model.h"
#include "model/load.h"
#include "model/memory_estimate.h"
#include "train/data_parallel.h"
#include "train/labelled_passages.h"
#include "train/ladder.h"
#include "train/lora.h"
#include "train/trainer.h"

namespace stretch {

namespace {

namespace fs = std::filesystem;

// On resume, -m must be the model the checkpoint was fine-tuned from: every field of its shape but
// the positions (which the run chose) equal.
void check_same_base(const model_config& trained, const model_config& loaded, const std::string& model,
                     const std::string& checkpoint) {
    for (const config_field& f : model_fields()) {
        if (f.key == "pos") continue;
        if (f.get(trained) != f.get(loaded))
            fail("-m {}: {} = {}, but {} was fine-tuned from a model with {} = {}; resume with that model", model, f.key,
                 json_text(f.get(loaded)), checkpoint, f.key, json_text(f.get(trained)));
    }
}

// EXACT's noise variance at `step`: log-linear from exact_variance (step 1) to exact_min_variance
// (the last step), as the paper's variance scheduler lowers it over the epochs.
double exact_variance(const run_config& config, std::int64_t step) {
    const finetune_config& f = config.finetune;
    const double progress = double(step - 1) / double(std::max<std::int64_t>(1, config.train.steps - 1));
    return std::exp(std::log(f.exact_variance) + (std::log(f.exact_min_variance) - std::log(f.exact_variance)) *
                                                     std::min(1.0, progress));
}

class finetune_job : public training_job {
public:
    finetune_job(loaded_model& base, const run_config& config, variants::position_spec spec, std::int64_t window,
                 std::vector<std::string> classes)
        : base_(base), config_(config), spec_(std::move(spec)), window_(window), classes_(std::move(classes)) {
        const finetune_config& f = config_.finetune;
        transformer& model = *base_.model;
        const bool frozen = f.method != "full";
        for (const auto& [name, p] : model.parameters()) p->requires_grad = !frozen;
        if (f.method == "full") {
            parameters_ = model.parameters();
        } else if (f.method == "lora") {
            lora_ = std::make_unique<lora_adapters>(model, f.lora_targets, f.lora_rank, f.lora_alpha, "lora_targets");
            hooks_ = lora_->hooks();
            parameters_ = lora_->parameters();
        } else if (f.method == "lst") {
            ladder_ = std::make_unique<ladder_side_network>(model, f, window_, f.task == "lm");
            parameters_ = ladder_->parameters();
        }  // probe: the head alone
        if (classifies()) {
            const std::int64_t width = ladder_ ? ladder_->width() : model.config().d_model, k = std::int64_t(classes_.size());
            head_weight_ = ag::make_var(tensor({k, width}, model.type()), "cls.weight", true);
            head_bias_ = ag::make_var(tensor({k}, model.type()), "cls.bias", true);
            parameters_.emplace_back(head_weight_->name, head_weight_);
            parameters_.emplace_back(head_bias_->name, head_bias_);
        }
    }

    void set_validation(batch windows) { val_windows_ = std::move(windows); }
    void set_validation(labelled_passages passages) { val_passages_ = std::move(passages); }

    const parameter_list& parameters() const override { return parameters_; }

    void initialise(rng& generator) override {
        if (lora_) lora_->initialise(generator);
        if (ladder_) ladder_->initialise(generator);
        if (head_weight_) {
            tensor& w = head_weight_->value;
            for (std::int64_t i = 0; i < w.numel(); ++i) {
                const double x = 0.02 * generator.normal();
                if (w.type() == dtype::f32) w.data<float>()[i] = float(x);
                else w.data<double>()[i] = x;
            }
            head_bias_->value.fill_zero();
        }
    }

    ag::var loss(ag::context& ctx, const batch& slice, std::int64_t step) const override {
        const auto rows = std::int64_t(slice.inputs.size()) / window_;
        if (!classifies()) return ag::cross_entropy(ctx, lm_logits(ctx, slice, rows), slice.targets, "loss");
        std::vector<std::int32_t> labels;
        const ag::var logits = class_logits(ctx, slice, rows, labels);
        return objective(ctx, logits, labels, step);
    }

    std::vector<std::pair<std::string, double>> validate(std::int64_t step) const override {
        ag::context inference;
        if (!classifies()) {  // one window at a time: [T, V] logits, not [windows T, V]
            double sum = 0;
            const auto windows = std::int64_t(val_windows_.inputs.size()) / window_;
            for (std::int64_t w = 0; w < windows; ++w) {
                batch one;
                const auto at = val_windows_.inputs.begin() + w * window_;
                one.inputs.assign(at, at + window_);
                one.targets.assign(val_windows_.targets.begin() + w * window_, val_windows_.targets.begin() + (w + 1) * window_);
                sum += double(ag::cross_entropy(inference, lm_logits(inference, one, 1), one.targets, "val")->value.data<float>()[0]);
            }
            return {{"val_loss", sum / double(windows)}};
        }
        double loss_sum = 0, correct = 0;
        const std::size_t n = val_passages_.tokens.size(), chunk = std::size_t(config_.train.batch_size);
        for (std::size_t first = 0; first < n; first += chunk) {
            std::vector<std::size_t> picks;
            for (std::size_t i = first; i < std::min(n, first + chunk); ++i) picks.push_back(i);
            const batch b = passage_rows(val_passages_, picks, window_);
            std::vector<std::int32_t> labels;
            const ag::var logits = class_logits(inference, b, std::int64_t(picks.size()), labels);
            loss_sum += double(objective(inference, logits, labels, step)->value.data<float>()[0]) * double(picks.size());
            const std::int64_t k = logits->value.dim(1);
            for (std::size_t r = 0; r < picks.size(); ++r) {
                const float* z = logits->value.data<float>() + std::int64_t(r) * k;
                correct += std::max_element(z, z + k) - z == labels[r] ? 1 : 0;
            }
        }
        return {{"val_loss", loss_sum / double(n)}, {"val_accuracy", correct / double(n)}};
    }

    void describe(gguf::writer& out) const override {
        out.set_string("general.name", "stretch finetune");
        out.set_string("stretch.config", json_text(to_json(config_)));
        out.set_string("stretch.finetune.base", base_.path);
        if (classifies()) out.set_array_string("stretch.finetune.classes", classes_);
    }

    std::vector<std::string> write_outputs(const std::string& dir) const override {
        const finetune_config& f = config_.finetune;
        std::vector<std::string> files;
        if (f.task == "lm" && f.method != "lst") {
            files.push_back((fs::path(dir) / "model.gguf").string());
            write_model(files.back());
        }
        if (f.task == "lm" && f.method == "lora") {
            files.push_back((fs::path(dir) / "adapter.gguf").string());
            lora_->write_adapter(files.back(), config_.model.arch);
        }
        if (f.task == "classify" || f.method == "lst") {
            files.push_back((fs::path(dir) / "finetuned.gguf").string());
            gguf::writer out;
            describe(out);
            for (const auto& [name, p] : parameters_) out.add_tensor(name, p->value);
            out.write(files.back());
        }
        return files;
    }

private:
    bool classifies() const { return config_.finetune.task == "classify"; }

    layer_positions positions(bool drawn) const { return base_.model->positions(spec_, window_, "--pos", drawn); }

    ag::var lm_logits(ag::context& ctx, const batch& slice, std::int64_t rows) const {
        const layer_positions p = positions(!slice.positions.empty());
        if (ladder_) return ladder_->logits(ctx, slice.inputs, rows, window_, p);
        const transformer& model = *base_.model;
        return model.logits(ctx, model.hidden(ctx, slice.inputs, rows, window_, p, nullptr, slice.positions, hooks_));
    }

    // The head's logits [rows, K] from each row's pooled state; `labels` gets each row's label.
    ag::var class_logits(ag::context& ctx, const batch& slice, std::int64_t rows, std::vector<std::int32_t>& labels) const {
        const layer_positions p = positions(false);
        const ag::var states = ladder_ ? ladder_->features(ctx, slice.inputs, rows, window_, p)
                                       : base_.model->hidden(ctx, slice.inputs, rows, window_, p, nullptr, {}, hooks_);
        // (probe: nothing before the head needs a gradient, so the frozen forward records nothing)
        std::vector<std::pair<std::int64_t, std::int64_t>> spans;
        for (std::int64_t r = 0; r < rows; ++r) {
            const auto* row = slice.targets.data() + r * window_;
            const auto at = std::int64_t(std::find_if(row, row + window_, [](std::int32_t t) { return t >= 0; }) - row);
            STRETCH_ASSERT(at < window_);
            labels.push_back(row[at]);
            const std::int64_t first = config_.finetune.pooling == "last" ? at : 0;
            spans.emplace_back(r * window_ + first, r * window_ + at + 1);
        }
        const ag::var pooled = ag::mean_of_rows(ctx, states, spans, "pooled");
        return ag::add_bias(ctx, ag::linear(ctx, pooled, head_weight_, "cls"), head_bias_, "cls_logits");
    }

    ag::var objective(ag::context& ctx, const ag::var& logits, std::span<const std::int32_t> labels,
                      std::int64_t step) const {
        const std::string& o = config_.finetune.objective;
        if (o == "ce") return ag::cross_entropy(ctx, logits, labels, "loss");
        if (o == "hinge") return ag::multiclass_hinge(ctx, logits, labels, "loss");
        cpu::exact_options options;
        options.sigma = std::sqrt(exact_variance(config_, step));
        options.margin = config_.finetune.exact_margin;
        options.log = o == "exact_log";
        return ag::expected_accuracy(ctx, logits, labels, options, "loss");
    }

    // The whole model, LoRA merged, with the run's positions as its own and the base's vocabulary.
    void write_model(const std::string& path) const {
        gguf::writer out;
        write_model_metadata(out, config_.model);
        const auto in = gguf::reader::open(base_.path);
        if (is_byte_vocabulary(in)) {
            write_byte_vocabulary(out, config_.model.vocab_size);
        } else {
            for (const auto& [key, value] : in.kv())
                if (key.starts_with("tokenizer.")) out.set(key, value);
        }
        out.set_string("stretch.config", json_text(to_json(config_)));
        write_model_weights(out, *base_.model, lora_ ? lora_->merged() : std::unordered_map<std::string, tensor>{});
        out.write(path);
    }

    loaded_model& base_;
    run_config config_;
    variants::position_spec spec_;
    std::int64_t window_;
    std::vector<std::string> classes_;
    std::unique_ptr<lora_adapters> lora_;
    std::unique_ptr<ladder_side_network> ladder_;
    forward_hooks hooks_;
    ag::var head_weight_, head_bias_;
    parameter_list parameters_;
    batch val_windows_;
    labelled_passages val_passages_;
};

}  // namespace

void finetune(const finetune_options& options) {
    const std::string checkpoint = (fs::path(options.out_dir) / "checkpoint.gguf").string();
    loaded_model base = load_any_model(options.model, options.tokenizer, quantized_weights::keep);
    const model_config& loaded = base.model->config();
    const std::string where = options.pos.empty() ? fmt::format("{}: the model's own positions", base.path) : "--pos";
    run_config given = options.config;
    given.model = loaded;
    given.model.pos =
        variants::parse_spec_with_modifiers(options.pos.empty() ? base.positions : options.pos, options.pos_modifiers, where)
            .text();
    training_run run(given, options.out_dir, options.resume, options.steps, communicator{});
    const run_config& config = run.config();
    const finetune_config& f = config.finetune;
    if (options.resume) check_same_base(config.model, loaded, options.model, checkpoint);
    const variants::position_spec spec = variants::parse_spec(config.model.pos, options.resume ? checkpoint : where);
    const bool lm = f.task == "lm";
    if (lm && f.prefixes) fail("prefixes = true trains a classifier on passage prefixes; expected task = classify");
    if (lm && f.method == "probe")
        fail("method = probe trains a classification head alone on the frozen model; expected task = classify");
    if (lm && f.method != "lst" && base.format == "llama2.c")
        fail("-m {}: a llama2.c checkpoint; finetune writes the fine-tuned model as GGUF, which needs its vocabulary "
             "in GGUF form: convert the model to GGUF first (method lst, or task classify, work as it is)",
             options.model);
    if (f.method == "full") dequantize_weights(*base.model);
    const std::int64_t context = f.context > 0 ? f.context : loaded.n_ctx_train;

    std::vector<std::string> classes;
    std::unique_ptr<batch_source> data;
    labelled_passages val_passages;
    batch val_windows;
    std::int64_t window = context;
    if (lm) {
        std::vector<std::vector<std::int32_t>> documents;
        for (const auto& path : options.data) documents.push_back(read_text_tokens(*base.tok, path, "--data"));
        if (documents.empty()) fail("--data: no training file given, expected at least one");
        const auto val_tokens = read_text_tokens(*base.tok, options.val, "--val");
        val_windows = validation_windows(val_tokens, window, config.train.eval_windows);
        if (val_windows.inputs.empty())
            fail("--val {}: {} tokens, expected at least context + 1 = {}", options.val, val_tokens.size(), window + 1);
        data = std::make_unique<window_sampler>(std::move(documents), options.data, window, config.train.seed);
    } else {
        labelled_passages train_passages = read_labelled_passages(options.data, "--data", *base.tok, context);
        classes = train_passages.classes;
        val_passages = read_labelled_passages({options.val}, "--val", *base.tok, context, classes);
        window = std::max(train_passages.longest(), val_passages.longest());  // the padding a batch needs
        data = std::make_unique<passage_sampler>(std::move(train_passages), window, config.train.seed, f.prefixes);
    }
    // Every length the run will use, resolved now so that a bad --pos is refused before training.
    layer_positions(config.model, spec, window, where, true);
    if (variants::position_setup(spec, config.model.position_context(window), where).draws_positions() &&
        (f.task == "classify" || f.method == "lst"))
        fail("{}: {} draws random positions per training window (lm with full or lora only); expected another method",
             where, spec.text());
    memory_estimate need = training_memory(config.model, rows_per_slice(config.train, 1), window);
    if (f.method != "full") need.parameters = double(config.model.n_parameters()) * sizeof(float);  // frozen: values only
    require_memory(need, fmt::format("-m {} ({}; batch_size {} x context {})", options.model, config.model.shape_text(),
                                     config.train.batch_size, window));

    finetune_job job(base, config, spec, window, classes);
    if (lm) job.set_validation(std::move(val_windows));
    else job.set_validation(std::move(val_passages));
    std::int64_t trainable = 0;
    for (const auto& [name, p] : job.parameters()) trainable += p->value.numel();
    std::fprintf(stderr, "finetune: %s (%s), method %s, task %s%s: %lld trainable parameters (the base model has %lld), %lld tokens per row, pos %s\n",
                 base.path.c_str(), loaded.shape_text().c_str(), f.method.c_str(), f.task.c_str(),
                 lm ? "" : fmt::format(" ({} classes, objective {})", classes.size(), f.objective).c_str(),
                 (long long)trainable, (long long)config.model.n_parameters(), (long long)window, spec.text().c_str());
    run.run(job, *data);
}

}  // namespace stretch
