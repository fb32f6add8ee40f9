#include "model/config_fields.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "io/json_text.h"

namespace stretch {

namespace {

// Upper bounds that keep every product of two sizes inside int64 (2^24 * 2^31 < 2^63); what
// memory allows is checked later, against the machine.
constexpr double max_width = 1 << 24;
constexpr double max_count = 2147483647.0;  // 2^31 - 1: token ids and positions are int32

struct field_options {
    std::string_view gguf;
    bool required = false;
    double min = -std::numeric_limits<double>::infinity(), max = std::numeric_limits<double>::infinity();
    std::vector<std::string_view> choices;
    std::function<nlohmann::json(const model_config&)> gguf_value;
};

template <class Field>
config_field make_field(std::string_view key, std::string_view help, Field model_config::*member, field_options o = {}) {
    config_field f{.key = key, .help = help, .gguf = o.gguf, .required = o.required, .min = o.min, .max = o.max,
                   .choices = std::move(o.choices), .gguf_value = std::move(o.gguf_value)};
    if constexpr (std::is_same_v<Field, bool>)
        f.kind = field_kind::boolean;
    else if constexpr (std::is_same_v<Field, std::string> || std::is_same_v<Field, cpu::rope_pairing>)
        f.kind = field_kind::text;
    else if constexpr (std::is_integral_v<Field>)
        f.kind = field_kind::integer;
    else
        f.kind = field_kind::real;
    f.get = [member](const model_config& c) -> nlohmann::json {
        if constexpr (std::is_same_v<Field, cpu::rope_pairing>)
            return c.*member == cpu::rope_pairing::interleaved ? "interleaved" : "half";
        else
            return c.*member;
    };
    f.set = [member](model_config& c, const nlohmann::json& j) {
        if constexpr (std::is_same_v<Field, cpu::rope_pairing>)
            c.*member = j.get<std::string>() == "half" ? cpu::rope_pairing::half : cpu::rope_pairing::interleaved;
        else
            c.*member = j.get<Field>();
    };
    if (!f.gguf_value) f.gguf_value = f.get;
    return f;
}

// The llama.cpp key only where the model uses the feature.
nlohmann::json when_positive(std::int64_t v) { return v > 0 ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace

const std::vector<config_field>& model_fields() {
    using M = model_config;
    static const std::vector<config_field> table = {
        make_field("arch", "architecture (general.architecture): llama, gemma3, qwen2, qwen3", &M::arch),
        make_field("vocab_size", "vocabulary size (256: bytes)", &M::vocab_size,
                   {.gguf = "vocab_size", .min = 1, .max = max_count}),
        make_field("d_model", "model width C", &M::d_model,
                   {.gguf = "embedding_length", .required = true, .min = 1, .max = max_width}),
        make_field("n_layer", "number of Transformer blocks (block = gau: 2 n_layer GAU layers)", &M::n_layer,
                   {.gguf = "block_count", .required = true, .min = 1, .max = 65536}),
        make_field("n_head", "query heads", &M::n_head,
                   {.gguf = "attention.head_count", .required = true, .min = 1, .max = max_width}),
        make_field("n_head_kv", "key/value heads (< n_head: grouped-query attention)", &M::n_head_kv,
                   {.gguf = "attention.head_count_kv", .min = 1, .max = max_width}),
        make_field("head_dim", "width of a query/key/value head (0: d_model / n_head)", &M::head_dim,
                   {.gguf = "attention.key_length", .min = 0, .max = max_width,
                    .gguf_value = [](const M& c) -> nlohmann::json { return c.head_width(); }}),
        make_field("n_rot", "rotated dimensions of a head (0: all; fewer is partial rotary)", &M::n_rot,
                   {.gguf = "rope.dimension_count", .min = 0, .max = max_width,
                    .gguf_value = [](const M& c) -> nlohmann::json { return c.rotary_dim(); }}),
        make_field("d_ff", "FFN hidden width", &M::d_ff,
                   {.gguf = "feed_forward_length", .required = true, .min = 1, .max = max_width}),
        make_field("n_ctx_train", "training context length in tokens", &M::n_ctx_train,
                   {.gguf = "context_length", .required = true, .min = 1, .max = max_count}),
        make_field("rope_base", "RoPE base theta", &M::rope_base, {.gguf = "rope.freq_base", .min = 1, .max = 1e30}),
        make_field("rope_base_local", "RoPE base of the sliding-window layers", &M::rope_base_local,
                   {.gguf = "rope.freq_base_swa", .min = 1, .max = 1e30,
                    .gguf_value = [](const M& c) { return c.sliding_window > 0 ? nlohmann::json(c.rope_base_local) : nlohmann::json(); }}),
        make_field("rope_pairing", "RoPE pairing: interleaved (2i, 2i+1) or half (i, i+d/2)", &M::rope_pairing,
                   {.choices = {"interleaved", "half"}}),
        make_field("norm_eps", "RMSNorm epsilon", &M::norm_eps,
                   {.gguf = "attention.layer_norm_rms_epsilon", .min = 0, .max = 1}),
        make_field("tie_embeddings", "share the LM head with the token embedding", &M::tie_embeddings),
        make_field("ffn", "FFN: swiglu (silu gate) or geglu (tanh-GELU gate)", &M::ffn, {.choices = {"swiglu", "geglu"}}),
        make_field("attn_bias", "projections with a bias, letters of qkvo (Qwen2: qkv)", &M::attn_bias),
        make_field("qk_norm", "RMSNorm with learned gains on every query and key head", &M::qk_norm),
        make_field("embed_scale", "token embeddings are multiplied by this (Gemma: sqrt(d_model))", &M::embed_scale,
                   {.min = 0, .max = 1e30}),
        make_field("attn_scale", "attention logit scale (0: 1 / sqrt(head_dim))", &M::attn_scale, {.min = 0, .max = 1e30}),
        make_field("sliding_window", "keys a sliding-window layer sees, itself included (0: none)", &M::sliding_window,
                   {.gguf = "attention.sliding_window", .min = 0, .max = max_count,
                    .gguf_value = [](const M& c) { return when_positive(c.sliding_window); }}),
        make_field("global_every", "with sliding_window: every N-th layer attends globally (0: none does)",
                   &M::global_every, {.min = 0, .max = 65536}),
        make_field("nope_every", "every N-th layer does not rotate (NoPE; 0: all rotate)", &M::nope_every,
                   {.gguf = "no_rope_layer_step", .min = 0, .max = 65536,
                    .gguf_value = [](const M& c) { return when_positive(c.nope_every); }}),
        make_field("pos", "position/attention variant trained with and used by default (a --pos spec)", &M::pos),
        make_field("norm_position", "pre (Pre-LN), post (Post-LN) or sandwich (pre and post norms, Gemma)",
                   &M::norm_position, {.choices = {"pre", "post", "sandwich"}}),
        make_field("deepnorm", "DeepNorm: Post-LN with residual scale alpha and init gain beta (deepnorm_constants)",
                   &M::deepnorm),
        make_field("deepnorm_constants",
                   "paper: alpha (2N)^(1/4), beta (8N)^(-1/4) (DeepNet); adam: alpha (2N)^(1/2), beta (2N)^(-1/2) "
                   "(Su, post 8978)",
                   &M::deepnorm_constants, {.choices = {"paper", "adam"}}),
        make_field("block", "transformer (attention + FFN blocks) or gau (GAU layers, methods.md D4)", &M::block,
                   {.choices = {"transformer", "gau"}}),
        make_field("gau_expansion", "GAU: e = gau_expansion * d_model", &M::gau_expansion, {.min = 1, .max = 1024}),
        make_field("gau_key_dim", "GAU: s, the width of the single head's queries and keys", &M::gau_key_dim,
                   {.min = 1, .max = max_width}),
        make_field("flash_chunk", "GAU: FLASH mixed-chunk attention with chunks of this many tokens (0: off; D6)",
                   &M::flash_chunk, {.min = 0, .max = max_count}),
    };
    return table;
}

const config_field* find_model_field(std::string_view key) {
    for (const config_field& f : model_fields())
        if (f.key == key) return &f;
    return nullptr;
}

std::string field_expectation(const config_field& f) {
    switch (f.kind) {
        case field_kind::integer: return fmt::format("an integer in [{:.0f}, {:.0f}]", f.min, f.max);
        case field_kind::real: return fmt::format("a number in [{:g}, {:g}]", f.min, f.max);
        case field_kind::boolean: return "true or false";
        case field_kind::text:
            if (f.choices.empty()) return "a string";
            return fmt::format("one of {}", fmt::join(f.choices, ", "));
    }
    return "";
}

void set_field(model_config& config, const config_field& f, const nlohmann::json& value, const std::string& where) {
    bool ok = false;
    switch (f.kind) {
        case field_kind::integer: {
            const bool huge = value.is_number_unsigned() && value.get<std::uint64_t>() > std::uint64_t(INT64_MAX);
            ok = value.is_number_integer() && !huge && double(value.get<std::int64_t>()) >= f.min &&
                 double(value.get<std::int64_t>()) <= f.max;
            break;
        }
        case field_kind::real:
            ok = value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() >= f.min &&
                 value.get<double>() <= f.max;
            break;
        case field_kind::boolean: ok = value.is_boolean(); break;
        case field_kind::text:
            ok = value.is_string() &&
                 (f.choices.empty() || std::find(f.choices.begin(), f.choices.end(), value.get<std::string>()) != f.choices.end());
            break;
    }
    if (!ok)
        fail("{}: found {}, expected {}", where, json_text(value), field_expectation(f));
    f.set(config, value);
}

nlohmann::json parse_field_text(const config_field& f, const std::string& text, const std::string& where) {
    const auto bad = [&]() -> nlohmann::json { fail("{}: '{}' is not {}", where, text, field_expectation(f)); };
    switch (f.kind) {
        case field_kind::integer: {
            std::int64_t v = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || end != text.data() + text.size()) return bad();
            return v;
        }
        case field_kind::real: {
            double v = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) return bad();
            return v;
        }
        case field_kind::boolean:
            if (text == "true" || text == "1") return true;
            if (text == "false" || text == "0") return false;
            return bad();
        case field_kind::text: return text;
    }
    return bad();
}

}  // namespace stretch
