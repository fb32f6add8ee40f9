#include "model/gguf_model.h"

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "kernels/cpu/dequant.h"
#include "kernels/cpu/quant_matmul.h"

namespace stretch {

void write_model_metadata(gguf::writer& out, const model_config& c) {
    out.set_string("general.architecture", "llama");
    out.set_string("general.name", "stretch");
    out.set_u32("general.file_type", 0);  // all F32
    out.set_u32("llama.vocab_size", static_cast<std::uint32_t>(c.vocab_size));
    out.set_u32("llama.context_length", static_cast<std::uint32_t>(c.n_ctx_train));
    out.set_u32("llama.embedding_length", static_cast<std::uint32_t>(c.d_model));
    out.set_u32("llama.block_count", static_cast<std::uint32_t>(c.n_layer));
    out.set_u32("llama.feed_forward_length", static_cast<std::uint32_t>(c.d_ff));
    out.set_u32("llama.attention.head_count", static_cast<std::uint32_t>(c.n_head));
    out.set_u32("llama.attention.head_count_kv", static_cast<std::uint32_t>(c.n_head_kv));
    out.set_u32("llama.rope.dimension_count", static_cast<std::uint32_t>(c.rotary_dim()));
    out.set_f32("llama.rope.freq_base", static_cast<float>(c.rope_base));
    out.set_f32("llama.attention.layer_norm_rms_epsilon", static_cast<float>(c.norm_eps));
    // Exact values and what llama.* cannot express.
    out.set_f64("stretch.rope_base", c.rope_base);
    out.set_f64("stretch.norm_eps", c.norm_eps);
    out.set_string("stretch.rope_pairing", c.rope_pairing == cpu::rope_pairing::interleaved ? "interleaved" : "half");
    out.set_bool("stretch.tie_embeddings", c.tie_embeddings);
    out.set_string("stretch.pos", c.pos);
    out.set_string("stretch.norm_position", c.norm_position);
    out.set_bool("stretch.deepnorm", c.deepnorm);
    out.set_string("stretch.deepnorm_constants", c.deepnorm_constants);
    out.set_string("stretch.block", c.block);
    if (c.is_gau()) {  // blk.0 .. blk.{2 n_layer - 1} are GAU layers (model/gau_block.h)
        out.set_u32("stretch.gau_expansion", static_cast<std::uint32_t>(c.gau_expansion));
        out.set_u32("stretch.gau_key_dim", static_cast<std::uint32_t>(c.gau_key_dim));
        out.set_u32("stretch.flash_chunk", static_cast<std::uint32_t>(c.flash_chunk));
    }
}

void write_model_weights(gguf::writer& out, const transformer& model) {
    for (const auto& [name, v] : model.parameters()) out.add_tensor(name, v->value);
}

model_config read_model_config(const gguf::reader& in) {
    const std::string arch = in.get_string("general.architecture");
    if (arch != "llama") fail("{}: general.architecture = '{}', expected 'llama'", in.path(), arch);
    model_config c;
    // Older converters leave llama.vocab_size out; the embedding's rows are the vocabulary then.
    const gguf::tensor_info* embedding = in.find_tensor("token_embd.weight");
    if (embedding == nullptr) fail("{}: no tensor token_embd.weight; expected a Llama model's embedding", in.path());
    c.vocab_size = in.get_u32_or("llama.vocab_size", static_cast<std::uint32_t>(embedding->shape.at(0)));
    c.n_ctx_train = in.get_u32("llama.context_length");
    c.d_model = in.get_u32("llama.embedding_length");
    c.n_layer = in.get_u32("llama.block_count");
    c.d_ff = in.get_u32("llama.feed_forward_length");
    c.n_head = in.get_u32("llama.attention.head_count");
    c.n_head_kv = in.get_u32_or("llama.attention.head_count_kv", static_cast<std::uint32_t>(c.n_head));
    c.rope_base = in.get_f64_or("stretch.rope_base", in.get_f32_or("llama.rope.freq_base", 10000.0f));
    c.norm_eps = in.get_f64_or("stretch.norm_eps", in.get_f32_or("llama.attention.layer_norm_rms_epsilon", 1e-5f));
    const std::string pairing = in.get_string_or("stretch.rope_pairing", "interleaved");
    if (pairing != "interleaved" && pairing != "half")
        fail("{}: stretch.rope_pairing = '{}', expected interleaved or half", in.path(), pairing);
    c.rope_pairing = pairing == "half" ? cpu::rope_pairing::half : cpu::rope_pairing::interleaved;
    c.tie_embeddings = in.get_bool_or("stretch.tie_embeddings", in.find_tensor("output.weight") == nullptr);
    c.pos = in.get_string_or("stretch.pos", "default");
    c.norm_position = in.get_string_or("stretch.norm_position", "pre");
    c.deepnorm = in.get_bool_or("stretch.deepnorm", false);
    c.deepnorm_constants = in.get_string_or("stretch.deepnorm_constants", "paper");
    c.block = in.get_string_or("stretch.block", "transformer");
    if (c.is_gau()) {
        c.gau_expansion = in.get_u32("stretch.gau_expansion");
        c.gau_key_dim = in.get_u32("stretch.gau_key_dim");
        c.flash_chunk = in.get_u32("stretch.flash_chunk");
    }
    c.validate(in.path().c_str());
    const auto n_rot = in.get_u32_or("llama.rope.dimension_count", static_cast<std::uint32_t>(c.rotary_dim()));
    if (n_rot != c.rotary_dim())
        fail("{}: llama.rope.dimension_count = {}; expected the head dimension {} (partial rotary is not supported)",
             in.path(), n_rot, c.rotary_dim());
    return c;
}

void read_model_weights(const gguf::reader& in, transformer& model, quantized_weights mode) {
    for (const auto& [name, v] : model.parameters()) {
        const gguf::tensor_info* info = in.find_tensor(name);
        if (info == nullptr || info->type == gguf::ggml_type::f32 || info->type == gguf::ggml_type::f64) {
            tensor t = in.read_f32(name, v->value.shape());  // names the missing tensor or wrong shape
            std::memcpy(v->value.raw(), t.raw(), t.bytes());
            continue;
        }
        if (info->shape != v->value.shape())
            fail("{}: tensor {} has shape {}; expected {}", in.path(), name, gguf::detail::shape_text(info->shape),
                 gguf::detail::shape_text(v->value.shape()));
        if (!cpu::can_dequantize(info->type))
            fail("{}: tensor {} has type {}; expected F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K or Q6_K", in.path(), name,
                 gguf::ggml_type_name(info->type));
        if (mode == quantized_weights::keep && v->value.rank() == 2 && cpu::can_multiply_quantized(info->type)) {
            v->quantized = std::make_shared<const cpu::quantized_matrix>(cpu::make_quantized_matrix(
                info->type, info->shape[0], info->shape[1], in.tensor_bytes(*info).data(), in.path() + ": " + name));
            v->value = tensor();
            continue;
        }
        cpu::dequantize(info->type, in.tensor_bytes(*info).data(), v->value.data<float>(), info->numel());
    }
}

std::string resolve_model_path(const std::string& path_or_dir) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(path_or_dir)) {
        if (!fs::exists(path_or_dir)) fail("--model {}: no such file or directory", path_or_dir);
        return path_or_dir;
    }
    for (const char* name : {"model.gguf", "checkpoint.gguf"}) {
        fs::path p = fs::path(path_or_dir) / name;
        if (fs::exists(p)) return p.string();
    }
    fail("--model {}: directory holds neither model.gguf nor checkpoint.gguf", path_or_dir);
}

std::unique_ptr<transformer> load_model(const std::string& path_or_dir) {
    auto in = gguf::reader::open(resolve_model_path(path_or_dir));
    auto model = std::make_unique<transformer>(read_model_config(in));
    read_model_weights(in, *model);
    return model;
}

}  // namespace stretch
