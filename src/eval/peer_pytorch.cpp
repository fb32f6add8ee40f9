#include "eval/peer_pytorch.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/peer_process.h"
#include "io/json_text.h"

namespace stretch {

namespace {

// The peer's environment: the caller's OpenBLAS settings removed, then `coretype` if one is given.
std::string openblas_environment(const std::string& coretype) {
    return "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE " + (coretype.empty() ? "" : "OPENBLAS_CORETYPE=" + coretype + " ");
}

// The core types of Debian 12's OpenBLAS (0.3.21, DYNAMIC_ARCH) that an AVX2 or AVX-512 x86-64 CPU
// can run; one whose instructions the CPU lacks dies in the probe and is left out.
const char* const candidate_coretypes[] = {"", "Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};

}  // namespace

std::string pytorch_command(const std::string& python, const std::string& script, const run_config& config,
                            int threads, std::int64_t steps, std::int64_t warmup, const std::string& coretype) {
    const model_config& m = config.model;
    const train_config& t = config.train;
    if (m.pos != "default" || m.norm_position != "pre" || m.deepnorm || m.rope_pairing != cpu::rope_pairing::interleaved)
        fail("--peer-pytorch: {} models only pre-norm RoPE (pos default, interleaved pairs), found pos '{}', "
             "norm_position '{}'",
             script, m.pos, m.norm_position);
    return openblas_environment(coretype) + fmt::format(
        "{} {} --threads {} --steps {} --warmup {} --vocab-size {} --d-model {} --n-layer {} --n-head {} "
        "--n-head-kv {} --d-ff {} --n-ctx-train {} --rope-base {} --norm-eps {} --tie-embeddings {} "
        "--batch-size {} --lr {} --weight-decay {} --beta1 {} --beta2 {} --adam-eps {} --grad-clip {}",
        shell_quote(python), shell_quote(script), threads, steps, warmup, m.vocab_size, m.d_model, m.n_layer,
        m.n_head, m.n_head_kv, m.d_ff, m.n_ctx_train, m.rope_base, m.norm_eps, m.tie_embeddings ? 1 : 0,
        t.batch_size, t.lr, t.weight_decay, t.beta1, t.beta2, t.adam_eps, t.grad_clip);
}

openblas_choice fastest_openblas_core(const std::string& python, const std::string& script, const run_config& config,
                                      int threads) {
    openblas_choice choice;
    for (const char* coretype : candidate_coretypes) choice.probes.push_back({.coretype = coretype});
    // Two rounds through the candidates, the best of each kept: a load that comes and goes touches
    // all of them alike (as best_times does for stretch's own figures).
    for (int round = 0; round < 2; ++round)
        for (openblas_probe& probe : choice.probes) {
            try {
                const nlohmann::json answer = run_peer_script(
                    pytorch_command(python, script, config, threads, 0, 0, probe.coretype) + " --gemm-probe 0.5 2>/dev/null",
                    "--peer-pytorch", "its GEMM probe");
                probe.gemm_gflops = std::max(probe.gemm_gflops, answer.value("gemm_gflops", 0.0));
                probe.core = answer.value("openblas_core", std::string("?"));
            } catch (const error&) {
                // A core type this CPU cannot run (SIGILL): not a candidate.
            }
        }
    double best = 0;
    for (const openblas_probe& probe : choice.probes)
        if (probe.gemm_gflops > best) {
            best = probe.gemm_gflops;
            choice.coretype = probe.coretype;
        }
    if (best == 0) fail("--peer-pytorch: {}'s GEMM probe failed under every OPENBLAS_CORETYPE; expected a GFLOP/s figure", script);
    return choice;
}

pytorch_figure measure_pytorch_training(const std::string& python, const std::string& script,
                                        const run_config& config, int threads, std::int64_t steps,
                                        std::int64_t warmup, const std::string& coretype) {
    const std::string command = pytorch_command(python, script, config, threads, steps, warmup, coretype);
    const nlohmann::json answer = run_peer_script(
        command, "--peer-pytorch", "needs Debian's python3-torch: apt-get install python3-torch; --python names the interpreter");
    if (!answer.contains("tokens_per_s") || !answer.contains("parameters"))
        fail("--peer-pytorch: {} printed '{}', expected tokens_per_s and parameters", script,
             json_text(answer));
    pytorch_figure f{answer["tokens_per_s"].get<double>(), answer["parameters"].get<std::int64_t>(),
                     answer.value("torch", std::string()), answer.value("openblas_core", std::string())};
    if (f.parameters != config.model.n_parameters())
        fail("--peer-pytorch: {} built a model of {} parameters, expected stretch's {}", script, f.parameters,
             config.model.n_parameters());
    return f;
}

}  // namespace stretch
