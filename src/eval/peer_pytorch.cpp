#include "eval/peer_pytorch.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/peer_process.h"
#include "io/json_text.h"

namespace stretch {

std::string pytorch_command(const std::string& python, const std::string& script, const run_config& config,
                            int threads, std::int64_t steps, std::int64_t warmup) {
    const model_config& m = config.model;
    const train_config& t = config.train;
    if (m.pos != "default" || m.norm_position != "pre" || m.deepnorm || m.rope_pairing != cpu::rope_pairing::interleaved)
        fail("--peer-pytorch: {} models only pre-norm RoPE (pos default, interleaved pairs), found pos '{}', "
             "norm_position '{}'",
             script, m.pos, m.norm_position);
    return fmt::format(
        "{} {} --threads {} --steps {} --warmup {} --vocab-size {} --d-model {} --n-layer {} --n-head {} "
        "--n-head-kv {} --d-ff {} --n-ctx-train {} --rope-base {} --norm-eps {} --tie-embeddings {} "
        "--batch-size {} --lr {} --weight-decay {} --beta1 {} --beta2 {} --adam-eps {} --grad-clip {}",
        shell_quote(python), shell_quote(script), threads, steps, warmup, m.vocab_size, m.d_model, m.n_layer,
        m.n_head, m.n_head_kv, m.d_ff, m.n_ctx_train, m.rope_base, m.norm_eps, m.tie_embeddings ? 1 : 0,
        t.batch_size, t.lr, t.weight_decay, t.beta1, t.beta2, t.adam_eps, t.grad_clip);
}

pytorch_figure measure_pytorch_training(const std::string& python, const std::string& script,
                                        const run_config& config, int threads, std::int64_t steps,
                                        std::int64_t warmup) {
    const std::string command = pytorch_command(python, script, config, threads, steps, warmup);
    const nlohmann::json answer = run_peer_script(
        command, "--peer-pytorch", "needs Debian's python3-torch: apt-get install python3-torch; --python names the interpreter");
    if (!answer.contains("tokens_per_s") || !answer.contains("parameters"))
        fail("--peer-pytorch: {} printed '{}', expected tokens_per_s and parameters", script,
             json_text(answer));
    pytorch_figure f{answer["tokens_per_s"].get<double>(), answer["parameters"].get<std::int64_t>(),
                     answer.value("torch", std::string())};
    if (f.parameters != config.model.n_parameters())
        fail("--peer-pytorch: {} built a model of {} parameters, expected stretch's {}", script, f.parameters,
             config.model.n_parameters());
    return f;
}

}  // namespace stretch
