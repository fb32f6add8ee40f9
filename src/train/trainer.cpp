#include "train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "autograd/ops.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/corpus.h"
#include "io/json_text.h"
#include "io/tokenizer_byte.h"
#include "model/gguf_model.h"
#include "model/memory_estimate.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"

namespace stretch {

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// Keeps the log lines of steps <= `step` (what a resumed run will not write again).
void truncate_log(const std::string& path, std::int64_t step) {
    std::ifstream in(path);
    if (!in) return;
    std::string kept, line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto entry = nlohmann::json::parse(line, nullptr, false);
        if (entry.is_discarded()) break;  // a line cut short by a kill: drop it and what follows
        if (entry.value("step", std::int64_t{0}) > step) break;
        kept += line + "\n";
    }
    write_file_atomic(path, std::as_bytes(std::span(kept.data(), kept.size())));
}

// What a resumed run keeps of the checkpoint's config instead of what the command line gave (all but
// --steps): said, not dropped silently.
void report_resume_overrides(const run_config& given, const run_config& kept, const std::string& checkpoint) {
    const nlohmann::json a = to_json(given), b = to_json(kept);
    std::vector<std::string> differ;
    for (const auto& [key, value] : b.items())
        if (key != "steps" && a.value(key, nlohmann::json()) != value)
            differ.push_back(fmt::format("{} = {} (given {})", key, json_text(value), json_text(a[key])));
    if (!differ.empty())
        std::fprintf(stderr, "resume: the run config of %s is kept; --preset/--config/--set values that differ from it are "
                             "ignored: %s\n", checkpoint.c_str(), fmt::format("{}", fmt::join(differ, ", ")).c_str());
}

// The run config every rank trains: rank 0's (a resumed run's is in the checkpoint only rank 0 reads).
run_config rank0_config(const run_config& mine, const communicator& ranks) {
    if (ranks.size() == 1) return mine;
    const std::string text = ranks.broadcast(json_text(to_json(mine)));
    if (ranks.root()) return mine;
    run_config config;
    apply_json(config, nlohmann::json::parse(text), "rank 0's run config");
    return config;
}

// Every rank must sample from the same training text, or the ranks' slices are not one batch.
void check_same_data(const std::string& fingerprint, const communicator& ranks) {
    const auto prints = ranks.all_gather(fingerprint);
    for (std::size_t r = 1; r < prints.size(); ++r)
        if (prints[r] != prints[0])
            fail("--data: rank {} reads other training files ({}) than rank 0 ({}); every rank must read the same data",
                 r, prints[r], prints[0]);
}

// Rank 0 restores the checkpoint; the parameters, moments and state then go to every rank.
training_state resume_state(const std::string& checkpoint_path, const parameter_list& parameters, adamw& optimizer,
                            data_parallel& parallel, const std::string& fingerprint, const train_config& tc) {
    const communicator& ranks = parallel.ranks();
    training_state state;
    std::unique_ptr<adamw> whole;  // rank 0's optimizer of every element, when its own holds a shard
    if (ranks.root()) {
        if (ranks.size() > 1) whole = std::make_unique<adamw>(parameters, tc);
        state = load_checkpoint(checkpoint_path, whole ? *whole : optimizer);
        if (state.ranks != ranks.size())
            fail("--resume: {} was written by {} rank(s), this run has {}; resume with the same count ({}), which fixes "
                 "how each batch is cut and summed",
                 checkpoint_path, state.ranks, ranks.size(),
                 state.ranks == 1 ? std::string("one process, without mpirun") : fmt::format("mpirun -np {}", state.ranks));
        if (state.data_fingerprint != fingerprint)
            fail("--data: the training files differ from the checkpoint's ({}), found {}", state.data_fingerprint,
                 fingerprint);
    }
    if (ranks.size() > 1) {
        parallel.broadcast_parameters();
        parallel.scatter_moments(whole.get(), optimizer);
        ranks.broadcast(std::as_writable_bytes(std::span(&state.step, 1)));
        state.sampler_state = ranks.broadcast(state.sampler_state);
        state.ranks = ranks.size();
    }
    return state;
}

struct slices_result {
    double loss_sum = 0;     // this rank's slices' losses, added in order
    std::string bad_tensor;  // the first non-finite tensor of their forwards, or ""
};

// This rank's slices of the global batch, one after another: forward, backward, and the gradients
// into the rank's running sum (train/data_parallel.h).
slices_result run_slices(const training_job& job, data_parallel& parallel, const batch& global, std::int64_t window,
                         std::int64_t step) {
    slices_result out;
    for (std::int64_t j = 0; j < parallel.slices_per_rank(); ++j) {
        const batch b = parallel.slice(global, j, window);
        ag::tape tape;
        ag::context ctx{&tape};
        ag::var loss = job.loss(ctx, b, step);
        const double value = loss->value.data<float>()[0];
        if (!std::isfinite(value) && out.bad_tensor.empty()) {
            const ag::node* bad = ag::first_non_finite(tape);
            out.bad_tensor = bad ? bad->name : "loss";
        }
        out.loss_sum += value;
        tape.backward(loss);
        parallel.add_slice_gradients();
    }
    return out;
}

// "'name'" of the lowest rank's first non-finite forward tensor, with that rank when there are several.
std::string first_bad_tensor(const std::string& mine, const communicator& ranks) {
    const auto names = ranks.all_gather(mine);
    const auto found = std::find_if(names.begin(), names.end(), [](const std::string& n) { return !n.empty(); });
    const std::string name = fmt::format("'{}'", found == names.end() ? "loss" : *found);
    return ranks.size() > 1 && found != names.end() ? fmt::format("{} (rank {})", name, found - names.begin()) : name;
}

std::string format_duration(double seconds) {
    const auto s = static_cast<long>(std::lround(std::max(0.0, seconds)));
    if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
    if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{}s", s);
}

// stretch train's job: a byte-level model built from the run config, next-token cross-entropy on
// windows of n_ctx_train tokens, validated on fixed windows of the held-out text; model.gguf at the end.
class scratch_job : public training_job {
public:
    scratch_job(const run_config& config, batch val) : config_(config), model_(config.model), val_(std::move(val)) {}

    const parameter_list& parameters() const override { return model_.parameters(); }
    void initialise(rng& generator) override { model_.init(generator); }

    ag::var loss(ag::context& ctx, const batch& slice, std::int64_t) const override {
        const std::int64_t window = config_.model.n_ctx_train;
        const auto rows = std::int64_t(slice.inputs.size()) / window;
        ag::var logits = model_.forward(ctx, slice.inputs, rows, window, slice.positions);
        return ag::cross_entropy(ctx, logits, slice.targets, "loss");
    }

    std::vector<std::pair<std::string, double>> validate(std::int64_t) const override {
        ag::context inference;
        const std::int64_t window = config_.model.n_ctx_train;
        const auto rows = static_cast<std::int64_t>(val_.inputs.size()) / window;
        ag::var logits = model_.forward(inference, val_.inputs, rows, window);
        ag::var loss = ag::cross_entropy(inference, logits, val_.targets, "val_loss");
        return {{"val_loss", double(loss->value.data<float>()[0])}};
    }

    void describe(gguf::writer& out) const override {
        write_model_metadata(out, config_.model);
        write_byte_vocabulary(out, config_.model.vocab_size);
        out.set_string("stretch.config", json_text(to_json(config_)));
    }

    // The model alone (no optimizer state): what `eval` and other tools load.
    std::vector<std::string> write_outputs(const std::string& dir) const override {
        gguf::writer out;
        describe(out);
        write_model_weights(out, model_);
        const std::string path = (fs::path(dir) / "model.gguf").string();
        out.write(path);
        return {path};
    }

private:
    run_config config_;
    transformer model_;
    batch val_;
};

}  // namespace

training_run::training_run(const run_config& given, const std::string& out_dir, bool resume,
                           std::optional<std::int64_t> steps, const communicator& ranks)
    : ranks_(ranks),
      out_dir_(out_dir),
      checkpoint_path_((fs::path(out_dir) / "checkpoint.gguf").string()),
      log_path_((fs::path(out_dir) / "log.jsonl").string()),
      resume_(resume),
      config_(given) {
    if (ranks_.root()) lock_ = std::make_unique<output_lock>(out_dir, "--out");
    if (ranks_.root() && resume) {
        if (!fs::exists(checkpoint_path_))
            fail("--resume: {} does not exist, expected a checkpoint from an earlier run", checkpoint_path_);
        config_ = read_checkpoint_config(checkpoint_path_);
        report_resume_overrides(given, config_, checkpoint_path_);
    }
    config_ = rank0_config(config_, ranks_);
    if (steps) config_.train.steps = *steps;
    check_ranges(config_, "run config");
    config_.model.validate("model config");
}

void training_run::run(training_job& job, batch_source& data) {
    const communicator& ranks = ranks_;
    const bool root = ranks.root();
    const train_config& tc = config_.train;
    const std::int64_t window = data.window();
    data_parallel parallel(job.parameters(), ranks, tc);
    adamw optimizer(job.parameters(), tc, parallel.owned());
    const std::string fingerprint = data.fingerprint();
    check_same_data(fingerprint, ranks);
    variants::model_context train_context = config_.model.position_context(window);
    train_context.training = true;
    const variants::position_setup trained(variants::parse_spec(config_.model.pos, "pos"), train_context, "pos");
    position_draw draw_positions;  // random-position training (methods.md C7) draws them with the data
    if (trained.draws_positions())
        draw_positions = [&trained](rng& generator, std::int64_t length) { return trained.draw_positions(generator, length); };
    training_state state;
    if (resume_) {
        state = resume_state(checkpoint_path_, job.parameters(), optimizer, parallel, fingerprint, tc);
        data.set_state(state.sampler_state, checkpoint_path_.c_str());
        if (root) truncate_log(log_path_, state.step);
    } else {
        rng init_rng(tc.seed ^ 0x9e3779b97f4a7c15ULL);  // a stream separate from the data order
        job.initialise(init_rng);
        parallel.broadcast_parameters();  // one set of weights, whatever each rank's machine computed
        state.data_fingerprint = fingerprint;
        state.ranks = ranks.size();
        if (root) write_file_atomic(log_path_, {});
    }
    std::ofstream log;
    if (root) {
        log.open(log_path_, std::ios::app);
        if (!log) fail("{}: cannot open for appending", log_path_);
    }

    const bool tty = root && isatty(fileno(stderr)) != 0;
    if (root) {
        if (ranks.size() > 1)
            std::fprintf(stderr, "data-parallel: %d ranks x %lld slice(s) of %lld sequences%s\n", ranks.size(),
                         (long long)tc.micro_batches, (long long)parallel.rows_per_slice(),
                         tc.zero ? ", AdamW moments sharded (ZeRO-1)" : "");
        if (resume_)
            std::fprintf(stderr, "resuming from %s at step %lld\n", checkpoint_path_.c_str(), (long long)state.step);
    }

    const std::int64_t tokens_per_step = tc.batch_size * window;
    const auto start = clock_type::now();
    const std::int64_t first_step = state.step;
    std::vector<std::pair<std::string, double>> last_val{{"val_loss", std::nan("")}};
    std::optional<std::int64_t> saved_step;  // what checkpoint.gguf holds
    if (resume_) saved_step = state.step;
    const auto describe = [&job](gguf::writer& out) { job.describe(out); };
    auto save = [&] {
        state.sampler_state = data.state();
        if (parallel.sharded() && ranks.size() > 1) {
            std::unique_ptr<adamw> whole;
            if (root) whole = std::make_unique<adamw>(job.parameters(), tc);
            parallel.gather_moments(optimizer, whole.get());
            if (root) save_checkpoint(checkpoint_path_, describe, *whole, state);
        } else if (root) {
            save_checkpoint(checkpoint_path_, describe, optimizer, state);
        }
        saved_step = state.step;
    };
    const auto stopped = [&] {
        return saved_step ? fmt::format("training stopped, {} left as it was (step {})", checkpoint_path_, *saved_step)
                          : std::string("training stopped before the first checkpoint");
    };

    while (state.step < tc.steps) {
        const std::int64_t step = state.step + 1;
        const batch global = data.next(tc.batch_size, draw_positions);  // the same on every rank
        const slices_result slices = run_slices(job, parallel, global, window, step);
        const double loss_value = parallel.mean_loss(slices.loss_sum);
        if (!std::isfinite(loss_value))
            fail("step {}: non-finite loss ({}); first non-finite tensor in the forward: {}; {}", step, loss_value,
                 first_bad_tensor(slices.bad_tensor, ranks), stopped());
        parallel.reduce_gradients();
        const double norm = parallel.grad_norm(optimizer);
        if (!std::isfinite(norm))
            if (const std::string bad = parallel.first_non_finite_grad(optimizer); !bad.empty())
                fail("step {}: non-finite gradient of '{}'; {}", step, bad, stopped());
        if (tc.grad_clip > 0 && norm > tc.grad_clip) optimizer.scale_grads(tc.grad_clip / norm);
        const double lr = learning_rate(tc, step);
        optimizer.update(lr, step);
        optimizer.zero_grad();
        parallel.share_parameters();
        if (const std::string* bad = optimizer.first_non_finite_parameter())
            fail("step {}: the update made '{}' non-finite (lr {:g}, beta1 {:g}, beta2 {:g}, adam_eps {:g}); {}", step,
                 *bad, lr, tc.beta1, tc.beta2, tc.adam_eps, stopped());
        state.step = step;

        const bool last = step == tc.steps;
        const bool evaluate = step % tc.eval_every == 0 || last;
        if (evaluate && root) last_val = job.validate(step);
        const double val_loss = last_val.front().second;
        const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
        const double tokens_per_s = double((step - first_step) * tokens_per_step) / std::max(elapsed, 1e-9);
        const double eta = double(tc.steps - step) * tokens_per_step / std::max(tokens_per_s, 1e-9);
        if (root && (step % tc.log_every == 0 || evaluate || last)) {
            nlohmann::json entry = {{"step", step},        {"loss", loss_value},       {"lr", lr},
                                    {"grad_norm", norm},   {"tokens_per_s", tokens_per_s}, {"elapsed_s", elapsed}};
            if (evaluate)
                for (const auto& [name, value] : last_val) entry[name] = value;
            log << json_text(entry) << "\n" << std::flush;
            if (!log) {
                const int e = errno;
                fail("{}: write failed at step {}: {}; {}", log_path_, step, std::strerror(e), stopped());
            }
            if (!tty) {
                std::fprintf(stderr, "step %lld/%lld  loss %.4f  %s lr %.2e  %.0f tok/s  ETA %s\n", (long long)step,
                             (long long)tc.steps, loss_value,
                             evaluate ? fmt::format("val {:.4f} ", val_loss).c_str() : "", lr, tokens_per_s,
                             format_duration(eta).c_str());
            }
        }
        if (tty) {
            const int width = 24;
            const int filled = static_cast<int>(width * step / tc.steps);
            std::fprintf(stderr, "\r[%s%s] %lld/%lld  loss %.4f  val %.4f  %.0f tok/s  ETA %-8s", std::string(filled, '#').c_str(),
                         std::string(width - filled, '.').c_str(), (long long)step, (long long)tc.steps, loss_value,
                         val_loss, tokens_per_s, format_duration(eta).c_str());
            if (last) std::fprintf(stderr, "\n");
        }
        if (step % tc.checkpoint_every == 0 || last) save();
    }

    if (!root) return;
    const std::vector<std::string> files = job.write_outputs(out_dir_);
    std::string metrics;
    for (const auto& [name, value] : last_val) metrics += fmt::format("{}{} {:.4f}", metrics.empty() ? "" : ", ", name, value);
    std::fprintf(stderr, "final %s; wrote %s and %s\n", metrics.c_str(), checkpoint_path_.c_str(),
                 fmt::format("{}", fmt::join(files, " and ")).c_str());
}

void train(const train_options& options) {
    training_run run(options.config, options.out_dir, options.resume, options.steps, options.ranks);
    const run_config& config = run.config();
    const communicator& ranks = options.ranks;
    if (config.finetune != finetune_config{})
        fail("run config: {} sets fine-tuning keys (method, task, lora_*, lst_*, exact_*, ...); stretch train trains "
             "from scratch, stretch finetune adapts a model",
             options.resume ? run.checkpoint_path() : std::string("the command line"));
    if (config.model.vocab_size > 256)
        fail("vocab_size = {}: stretch trains byte-level models; expected at most 256 (one token per byte value)",
             config.model.vocab_size);
    const train_config& tc = config.train;
    const std::int64_t window = config.model.n_ctx_train;
    const std::int64_t slice_rows = rows_per_slice(tc, ranks.size());
    memory_estimate need = training_memory(config.model, slice_rows, window);
    need.parameters += data_parallel_bytes(config.model.n_parameters(), tc, ranks.size());
    const std::string rows = slice_rows == tc.batch_size
                                 ? fmt::format("batch_size {}", tc.batch_size)
                                 : fmt::format("{} sequences per slice of batch_size {}", slice_rows, tc.batch_size);
    require_memory(need, fmt::format("model config ({}; {} x n_ctx_train {})", config.model.shape_text(), rows, window));

    std::vector<std::vector<std::int32_t>> documents;
    const std::int64_t vocab = config.model.vocab_size;
    for (const auto& path : options.data) documents.push_back(read_byte_tokens(path, "--data", vocab));
    if (documents.empty()) fail("--data: no training file given, expected at least one");
    batch val;  // rank 0 alone validates
    if (ranks.root()) {
        const auto val_tokens = read_byte_tokens(options.val, "--val", vocab);
        val = validation_windows(val_tokens, window, tc.eval_windows);
        if (val.inputs.empty())
            fail("--val {}: {} tokens, expected at least n_ctx_train + 1 = {}", options.val, val_tokens.size(), window + 1);
    }
    scratch_job job(config, std::move(val));
    window_sampler sampler(std::move(documents), options.data, window, tc.seed);
    if (ranks.root())
        std::fprintf(stderr, "model: %lld parameters (%s), n_ctx_train %lld\n", (long long)config.model.n_parameters(),
                     config.model.shape_text().c_str(), (long long)window);
    run.run(job, sampler);
}

}  // namespace stretch
