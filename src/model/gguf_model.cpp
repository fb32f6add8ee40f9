#include "model/gguf_model.h"

#include <cstring>
#include <filesystem>
#include <string_view>
#include <unordered_set>

#include "core/error.h"
#include "core/memory.h"
#include "kernels/cpu/dequant.h"
#include "kernels/cpu/quant_matmul.h"
#include "model/architecture.h"
#include "model/config_fields.h"

namespace stretch {

namespace {

std::string arch_key(const model_config& c, const config_field& f) { return c.arch + "." + std::string(f.gguf); }

// A field's value as the GGUF key holds it, as JSON (what set_field checks).
nlohmann::json read_value(const gguf::reader& in, const std::string& key, field_kind kind) {
    switch (kind) {
        case field_kind::integer: return in.get_i64(key);
        case field_kind::real: return in.get_f64(key);
        case field_kind::boolean: return in.get_bool(key);
        case field_kind::text: return in.get_string(key);
    }
    return {};
}

// The file's defaults that are not keys: the embedding's rows for an older converter's missing
// vocab_size, n_head for head_count_kv, and a tied head where the file has no output.weight.
void file_defaults(const gguf::reader& in, model_config& c) {
    const gguf::tensor_info* embedding = in.find_tensor("token_embd.weight");
    if (embedding == nullptr) fail("{}: no tensor token_embd.weight; expected the model's token embedding", in.path());
    c.vocab_size = embedding->shape.at(0);
    c.tie_embeddings = in.find_tensor("output.weight") == nullptr;
}

}  // namespace

void write_model_metadata(gguf::writer& out, const model_config& c) {
    out.set_string("general.architecture", c.arch);
    out.set_string("general.name", "stretch");
    out.set_u32("general.file_type", 0);  // all F32
    for (const config_field& f : model_fields()) {
        const nlohmann::json exact = f.get(c);
        const std::string key = "stretch." + std::string(f.key);
        switch (f.kind) {
            case field_kind::integer: out.set_i64(key, exact.get<std::int64_t>()); break;
            case field_kind::real: out.set_f64(key, exact.get<double>()); break;
            case field_kind::boolean: out.set_bool(key, exact.get<bool>()); break;
            case field_kind::text: out.set_string(key, exact.get<std::string>()); break;
        }
        if (f.gguf.empty()) continue;
        // llama.cpp's key, in the type its converters write (u32, f32).
        const nlohmann::json theirs = f.gguf_value(c);
        if (theirs.is_null()) continue;
        if (f.kind == field_kind::integer)
            out.set_u32(arch_key(c, f), static_cast<std::uint32_t>(theirs.get<std::int64_t>()));
        else
            out.set_f32(arch_key(c, f), static_cast<float>(theirs.get<double>()));
    }
    // llama.cpp reads the value heads' width separately; stretch's heads are as wide as the keys.
    out.set_u32(c.arch + ".attention.value_length", static_cast<std::uint32_t>(c.head_width()));
}

void write_model_weights(gguf::writer& out, const transformer& model,
                         const std::unordered_map<std::string, tensor>& replacements) {
    for (const auto& [name, v] : model.parameters()) {
        if (const auto found = replacements.find(name); found != replacements.end())
            out.add_tensor(name, found->second);
        else if (v->quantized)
            out.add_tensor_bytes(name, {v->quantized->rows, v->quantized->cols}, v->quantized->type, v->quantized->data);
        else
            out.add_tensor(name, v->value);
    }
}

model_config read_model_config(const gguf::reader& in) {
    const std::string arch = in.get_string("general.architecture");
    const architecture& a = find_architecture(arch, in.path());
    model_config c;
    c.arch = arch;
    file_defaults(in, c);
    const auto where = [&](const std::string& key) { return fmt::format("{}: {}", in.path(), key); };
    for (const auto& [key, value] : a.fixed) set_field(c, *find_model_field(key), value, where("architecture " + arch));
    const bool stretch_file = in.find("stretch.d_model") != nullptr || in.find("stretch.rope_pairing") != nullptr;
    for (const config_field& f : model_fields()) {
        if (f.gguf.empty()) continue;
        const std::string key = arch_key(c, f);
        if (in.find(key) != nullptr)
            set_field(c, f, read_value(in, key, f.kind), where(key));
        else if (f.required && !stretch_file)
            fail("{}: missing key {} ({}); expected {}", in.path(), key, f.help, field_expectation(f));
    }
    if (in.find(arch + ".attention.head_count_kv") == nullptr && in.find("stretch.n_head_kv") == nullptr)
        c.n_head_kv = c.n_head;
    const std::string value_length = arch + ".attention.value_length";
    if (in.find(value_length) != nullptr && in.get_i64(value_length) != c.head_width())
        fail("{}: {} = {}; expected the key heads' width {} (stretch's value heads are as wide as its keys)", in.path(),
             value_length, in.get_i64(value_length), c.head_width());
    if (a.derive) a.derive(c);
    // A file stretch wrote holds every field exactly; older ones hold some of them.
    for (const config_field& f : model_fields()) {
        const std::string key = "stretch." + std::string(f.key);
        if (in.find(key) != nullptr) set_field(c, f, read_value(in, key, f.kind), where(key));
    }
    c.validate(in.path().c_str());
    return c;
}

std::unique_ptr<transformer> read_model(const gguf::reader& in, quantized_weights mode) {
    const model_config config = read_model_config(in);
    const auto keeps_blocks = [&](const gguf::tensor_info& info) {
        return mode == quantized_weights::keep && info.shape.size() == 2 && cpu::can_multiply_quantized(info.type);
    };
    // Everything the configuration implies is in the file, before anything is allocated: a wrong
    // block_count or width fails here, naming the tensor, instead of after gigabytes of zeros.
    std::uint64_t bytes = 0;
    const auto parameters = transformer::parameter_shapes(config);
    for (const auto& [name, shape] : parameters) {
        const gguf::tensor_info* info = in.find_tensor(name);
        if (info == nullptr)
            fail("{}: no tensor {}; expected one of shape {} for {} ({})", in.path(), name, gguf::detail::shape_text(shape),
                 config.arch, config.shape_text());
        if (info->shape != shape)
            fail("{}: tensor {} has shape {}; expected {} for {} ({})", in.path(), name,
                 gguf::detail::shape_text(info->shape), gguf::detail::shape_text(shape), config.arch, config.shape_text());
        if (!cpu::can_dequantize(info->type))
            fail("{}: tensor {} has type {}; expected F32, F16, BF16, Q8_0, Q5_0, Q4_0, Q4_1, Q4_K or Q6_K", in.path(),
                 name, gguf::ggml_type_name(info->type));
        bytes += keeps_blocks(*info) ? info->n_bytes : std::uint64_t(info->numel()) * sizeof(float);
    }
    // A tensor the model would not read (Llama 3.1's rope_freqs, an output bias) means the file
    // describes a different network: refused rather than run without it. Checkpoints also hold the
    // optimizer's moments.
    std::unordered_set<std::string_view> expected;
    for (const auto& p : parameters) expected.insert(p.first);
    for (const gguf::tensor_info& info : in.tensors())
        if (!expected.contains(info.name) && !info.name.starts_with("optim."))
            fail("{}: tensor {} is not part of a {} model as stretch builds it ({}); expected only its parameters",
                 in.path(), gguf::detail::printable(info.name), config.arch, config.shape_text());
    require_memory(bytes, fmt::format("{}: the weights of {} ({})", in.path(), config.arch, config.shape_text()));
    return std::make_unique<transformer>(config, dtype::f32, [&](const std::string& name, const shape_t& shape) {
        const gguf::tensor_info& info = *in.find_tensor(name);
        ag::var v = ag::make_var(tensor(), name, true);
        if (keeps_blocks(info)) {
            v->quantized = std::make_shared<const cpu::quantized_matrix>(cpu::make_quantized_matrix(
                info.type, info.shape[0], info.shape[1], in.tensor_bytes(info).data(), in.path() + ": " + name));
            return v;
        }
        v->value = tensor(shape, dtype::f32);
        cpu::dequantize(info.type, in.tensor_bytes(info).data(), v->value.data<float>(), info.numel());
        return v;
    });
}

void dequantize_weights(transformer& model) {
    for (const auto& [name, v] : model.parameters()) {
        if (!v->quantized) continue;
        const cpu::quantized_matrix& q = *v->quantized;
        v->value = tensor({q.rows, q.cols});
        for (std::int64_t r = 0; r < q.rows; ++r) cpu::dequantize_row(q, r, v->value.data<float>() + r * q.cols);
        v->quantized.reset();
    }
}

void read_model_weights(const gguf::reader& in, transformer& model) {
    for (const auto& [name, v] : model.parameters()) {
        tensor t = in.read_f32(name, v->value.shape());  // names the missing tensor or wrong shape
        std::memcpy(v->value.raw(), t.raw(), t.bytes());
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

}  // namespace stretch
