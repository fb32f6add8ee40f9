#include "model/load.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "io/llama2c.h"
#include "io/tokenizer_byte.h"
#include "model/gguf_model.h"

namespace stretch {

namespace {

namespace fs = std::filesystem;

loaded_model load_llama2c(const std::string& path, const std::string& tokenizer_path) {
    llama2c_checkpoint ck = read_llama2c(path);
    model_config c;
    c.vocab_size = ck.vocab_size;
    c.d_model = ck.dim;
    c.n_layer = ck.n_layers;
    c.n_head = ck.n_heads;
    c.n_head_kv = ck.n_kv_heads;
    c.d_ff = ck.hidden_dim;
    c.n_ctx_train = ck.seq_len;
    c.rope_base = 10000.0;  // run.c hard-codes it
    c.norm_eps = 1e-5;      // run.c's rmsnorm
    c.tie_embeddings = ck.shared_classifier;
    c.rope_pairing = cpu::rope_pairing::interleaved;
    loaded_model m;
    m.model = std::make_unique<transformer>(c);
    for (const auto& [name, value] : ck.tensors) {
        bool found = false;
        for (const auto& [pname, p] : m.model->parameters())
            if (pname == name) {
                STRETCH_ASSERT(p->value.shape() == value.shape());
                p->value = value;
                found = true;
            }
        STRETCH_ASSERT(found);
    }
    const std::string tok = tokenizer_path.empty() ? (fs::path(path).parent_path() / "tokenizer.bin").string() : tokenizer_path;
    if (!fs::exists(tok))
        fail("--tokenizer: {} does not exist; a llama2.c model needs its tokenizer.bin (--tokenizer FILE)", tok);
    m.tok = load_llama2c_tokenizer(tok, ck.vocab_size);
    m.format = "llama2.c";
    return m;
}

// The position variant of <arch>.rope.scaling.* (legacy .rope.scale_linear).
std::string rope_scaling_spec(const gguf::reader& in, const std::string& arch) {
    const std::string key = arch + ".rope.scaling.";
    const std::string type = in.get_string_or(key + "type", "none");
    const double factor = in.get_f32_or(key + "factor", 0.0f);
    const double legacy_linear = in.get_f32_or(arch + ".rope.scale_linear", 0.0f);
    if (type == "none" || type.empty()) return legacy_linear > 0 ? fmt::format("linear:factor={:g}", legacy_linear) : "default";
    if (factor <= 0) fail("{}: {}type = '{}' without a positive {}factor", in.path(), key, type, key);
    if (type == "linear") return fmt::format("linear:factor={:g}", factor);
    if (type == "yarn") {
        std::string spec = fmt::format("yarn:factor={:g}", factor);
        if (in.find(key + "original_context_length") != nullptr)
            spec += fmt::format(",original_max_position_embeddings={}", in.get_u32(key + "original_context_length"));
        for (const auto& [gguf_key, ours] : {std::pair{"yarn_beta_fast", "beta_fast"}, {"yarn_beta_slow", "beta_slow"},
                                             {"yarn_ext_factor", "ext_factor"}})
            if (in.find(key + gguf_key) != nullptr) spec += fmt::format(",{}={:g}", ours, in.get_f32_or(key + gguf_key, 0.0f));
        return spec;
    }
    fail("{}: {}type = '{}'; expected none, linear or yarn (the scaling types stretch reads from GGUF)", in.path(), key,
         type);
}

// The attention temperature (variants/attention/attn_temp.cpp) of <arch>.attention.temperature_scale,
// stepping every .attention.temperature_length positions, else every .rope.scaling.original_context_length
// (llama.cpp: Mistral Large 3 and DeepSeek 2 read the first, Mistral 3 the second); "" when the file
// has no scale or a zero one (llama.cpp's own switch).
std::string temperature_spec(const gguf::reader& in, const std::string& arch) {
    const std::string scale_key = arch + ".attention.temperature_scale";
    const double beta = in.get_f32_or(scale_key, 0.0f);
    if (beta == 0.0) return "";
    if (!(beta > 0.0) || !std::isfinite(beta))
        fail("{}: {} = {:g}; expected a finite number >= 0", in.path(), scale_key, beta);
    const std::string length_key = arch + ".attention.temperature_length";
    const std::string original_key = arch + ".rope.scaling.original_context_length";
    const std::uint32_t floor_len = in.get_u32_or(length_key, in.get_u32_or(original_key, 0));
    if (floor_len == 0)
        fail("{}: {} = {:g} without a positive {} or {}; expected the positions per temperature step", in.path(),
             scale_key, beta, length_key, original_key);
    return fmt::format("attn_temp:beta={:g},floor_len={},offset=0", beta, floor_len);
}

}  // namespace

std::string positions_from_gguf(const gguf::reader& in, const std::string& arch) {
    const std::string scaling = rope_scaling_spec(in, arch), temperature = temperature_spec(in, arch);
    if (temperature.empty()) return scaling;
    return scaling == "default" ? temperature : scaling + "+" + temperature;
}

loaded_model load_any_model(const std::string& path_or_dir, const std::string& tokenizer_path,
                            quantized_weights weights) {
    if (!fs::is_directory(path_or_dir) && fs::path(path_or_dir).extension() == ".bin") {
        if (!fs::exists(path_or_dir)) fail("--model {}: no such file", path_or_dir);
        loaded_model m = load_llama2c(path_or_dir, tokenizer_path);
        m.path = path_or_dir;
        return m;
    }
    loaded_model m;
    m.path = resolve_model_path(path_or_dir);
    auto in = gguf::reader::open(m.path);
    m.model = read_model(in, weights);
    const model_config& c = m.model->config();
    const bool bytes = is_byte_vocabulary(in);
    m.format = in.find("stretch.pos") != nullptr ? "stretch" : "gguf";
    if (bytes && c.vocab_size > 256)
        fail("{}: the file has no tokenizer (tokenizer.ggml.model) for its {} tokens; expected one, or a byte-level "
             "vocabulary of at most 256",
             m.path, c.vocab_size);
    m.tok = bytes ? make_byte_tokenizer(m.path, c.vocab_size) : tokenizer_from_gguf(in);
    m.positions = c.pos != "default" ? c.pos : positions_from_gguf(in, c.arch);
    // Resolved once here, so that a scaling the file declares but cannot have is blamed on the file.
    const std::string where = fmt::format("{}: the model's own positions", m.path);
    layer_positions(c, variants::parse_spec(m.positions, where), c.n_ctx_train, where);
    m.chat_template = in.get_string_or("tokenizer.chat_template", "");
    if (m.tok->vocab_size() != c.vocab_size)
        fail("{}: the tokenizer has {} tokens; expected the model's vocabulary of {}", m.path, m.tok->vocab_size(),
             c.vocab_size);
    return m;
}

}  // namespace stretch
