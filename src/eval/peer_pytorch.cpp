#include "eval/peer_pytorch.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace stretch {

namespace {

// POSIX shell single quotes: nothing inside is special except the quote itself.
std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return out + "'";
}

}  // namespace

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
    FILE* pipe = popen(command.c_str(), "r");  // the script's stderr goes straight to ours
    if (pipe == nullptr) fail("--peer-pytorch: cannot start {}", command);
    std::string output;
    std::array<char, 4096> buffer{};
    while (std::fgets(buffer.data(), int(buffer.size()), pipe) != nullptr) output += buffer.data();
    const int status = pclose(pipe);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("--peer-pytorch: {} exited with status {}, expected 0 (needs Debian's python3-torch: "
             "apt-get install python3-torch; --python names the interpreter)",
             script, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    const nlohmann::json answer = nlohmann::json::parse(output, nullptr, false);
    if (!answer.is_object() || !answer.contains("tokens_per_s") || !answer.contains("parameters"))
        fail("--peer-pytorch: {} printed '{}', expected one JSON object with tokens_per_s and parameters", script,
             output);
    pytorch_figure f{answer["tokens_per_s"].get<double>(), answer["parameters"].get<std::int64_t>(),
                     answer.value("torch", std::string())};
    if (f.parameters != config.model.n_parameters())
        fail("--peer-pytorch: {} built a model of {} parameters, expected stretch's {}", script, f.parameters,
             config.model.n_parameters());
    return f;
}

}  // namespace stretch
