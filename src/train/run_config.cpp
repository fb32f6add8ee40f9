#include "train/run_config.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>

#include <fmt/format.h>

#include "core/error.h"
#include "io/corpus.h"

namespace stretch {

namespace {

enum class kind { integer, number, boolean, pairing, spec };

struct key {
    const char* name;
    kind type;
    const char* help;
    std::function<nlohmann::json(const run_config&)> get;
    std::function<void(run_config&, const nlohmann::json&)> set;
};

template <class Section, class Field>
key make_key(const char* name, const char* help, Section run_config::*section, Field Section::*field) {
    kind type;
    if constexpr (std::is_same_v<Field, bool>)
        type = kind::boolean;
    else if constexpr (std::is_same_v<Field, std::string>)
        type = kind::spec;
    else if constexpr (std::is_same_v<Field, cpu::rope_pairing>)
        type = kind::pairing;
    else if constexpr (std::is_integral_v<Field>)
        type = kind::integer;
    else
        type = kind::number;
    return key{name, type, help,
               [=](const run_config& c) -> nlohmann::json {
                   const Field& v = c.*section.*field;
                   if constexpr (std::is_same_v<Field, cpu::rope_pairing>)
                       return v == cpu::rope_pairing::interleaved ? "interleaved" : "half";
                   else
                       return v;
               },
               [=](run_config& c, const nlohmann::json& j) {
                   if constexpr (std::is_same_v<Field, cpu::rope_pairing>)
                       c.*section.*field = j.get<std::string>() == "half" ? cpu::rope_pairing::half
                                                                          : cpu::rope_pairing::interleaved;
                   else
                       c.*section.*field = j.get<Field>();
               }};
}

const std::vector<key>& keys() {
    using M = model_config;
    using T = train_config;
    auto m = &run_config::model;
    auto t = &run_config::train;
    static const std::vector<key> table = {
        make_key("vocab_size", "vocabulary size (256: bytes)", m, &M::vocab_size),
        make_key("d_model", "model width C", m, &M::d_model),
        make_key("n_layer", "number of Transformer blocks (block = gau: 2 n_layer GAU layers)", m, &M::n_layer),
        make_key("n_head", "query heads", m, &M::n_head),
        make_key("n_head_kv", "key/value heads (< n_head: grouped-query attention)", m, &M::n_head_kv),
        make_key("d_ff", "SwiGLU hidden width", m, &M::d_ff),
        make_key("n_ctx_train", "training context length in tokens", m, &M::n_ctx_train),
        make_key("rope_base", "RoPE base theta", m, &M::rope_base),
        make_key("rope_pairing", "RoPE pairing: interleaved (2i, 2i+1) or half (i, i+d/2)", m, &M::rope_pairing),
        make_key("norm_eps", "RMSNorm epsilon", m, &M::norm_eps),
        make_key("tie_embeddings", "share the LM head with the token embedding", m, &M::tie_embeddings),
        make_key("pos", "position/attention variant trained with and used by default (a --pos spec)", m, &M::pos),
        make_key("norm_position", "pre (Pre-LN) or post (Post-LN)", m, &M::norm_position),
        make_key("deepnorm", "DeepNorm: Post-LN with residual scale alpha and init gain beta (deepnorm_constants)", m,
                 &M::deepnorm),
        make_key("deepnorm_constants",
                 "paper: alpha (2N)^(1/4), beta (8N)^(-1/4) (DeepNet); adam: alpha (2N)^(1/2), beta (2N)^(-1/2) (Su, post 8978)",
                 m, &M::deepnorm_constants),
        make_key("block", "transformer (attention + SwiGLU blocks) or gau (GAU layers, methods.md D4)", m, &M::block),
        make_key("gau_expansion", "GAU: e = gau_expansion * d_model", m, &M::gau_expansion),
        make_key("gau_key_dim", "GAU: s, the width of the single head's queries and keys", m, &M::gau_key_dim),
        make_key("flash_chunk", "GAU: FLASH mixed-chunk attention with chunks of this many tokens (0: off; D6)", m,
                 &M::flash_chunk),
        make_key("steps", "optimizer steps", t, &T::steps),
        make_key("batch_size", "sequences per step", t, &T::batch_size),
        make_key("lr", "peak learning rate", t, &T::lr),
        make_key("min_lr_ratio", "final learning rate as a fraction of lr (cosine)", t, &T::min_lr_ratio),
        make_key("warmup_steps", "linear warm-up steps", t, &T::warmup_steps),
        make_key("weight_decay", "decoupled weight decay on matrices", t, &T::weight_decay),
        make_key("beta1", "Adam beta1", t, &T::beta1),
        make_key("beta2", "Adam beta2", t, &T::beta2),
        make_key("adam_eps", "Adam epsilon", t, &T::adam_eps),
        make_key("grad_clip", "clip the global gradient L2 norm to this (0: off)", t, &T::grad_clip),
        make_key("eval_every", "validation loss every N steps", t, &T::eval_every),
        make_key("eval_windows", "validation windows of n_ctx_train tokens", t, &T::eval_windows),
        make_key("checkpoint_every", "checkpoint every N steps", t, &T::checkpoint_every),
        make_key("log_every", "log a line every N steps", t, &T::log_every),
        make_key("seed", "random seed (initialisation and data order)", t, &T::seed),
    };
    return table;
}

std::string key_names() {
    std::string names;
    for (const auto& k : keys()) names += (names.empty() ? "" : ", ") + std::string(k.name);
    return names;
}

const key& find_key(const std::string& name, const std::string& where) {
    for (const auto& k : keys())
        if (name == k.name) return k;
    fail("{}: unknown config key '{}', expected one of: {}", where, name, key_names());
}

const char* kind_name(kind type) {
    switch (type) {
        case kind::integer: return "an integer";
        case kind::number: return "a number";
        case kind::boolean: return "true or false";
        case kind::pairing: return "interleaved or half";
        case kind::spec: return "a string";
    }
    return "";
}

// Checks that a JSON value has the key's type before assigning it.
void set_checked(run_config& config, const key& k, const nlohmann::json& value, const std::string& where) {
    bool ok = false;
    switch (k.type) {
        case kind::integer: ok = value.is_number_integer(); break;
        case kind::number: ok = value.is_number(); break;
        case kind::boolean: ok = value.is_boolean(); break;
        case kind::pairing: ok = value.is_string() && (value == "interleaved" || value == "half"); break;
        case kind::spec: ok = value.is_string(); break;
    }
    if (!ok) fail("{}: key '{}' = {}, expected {}", where, k.name, value.dump(), kind_name(k.type));
    k.set(config, value);
}

// Parses the text of `key=value` into the JSON value the key expects.
nlohmann::json parse_value(const key& k, const std::string& text, const std::string& where) {
    auto bad = [&]() -> nlohmann::json { fail("{}: '{}' is not {}", where, text, kind_name(k.type)); };
    switch (k.type) {
        case kind::integer: {
            std::int64_t v = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || end != text.data() + text.size()) return bad();
            return v;
        }
        case kind::number: {
            try {
                std::size_t used = 0;
                double v = std::stod(text, &used);
                if (used != text.size() || !std::isfinite(v)) return bad();
                return v;
            } catch (const std::exception&) {
                return bad();
            }
        }
        case kind::boolean:
            if (text == "true" || text == "1") return true;
            if (text == "false" || text == "0") return false;
            return bad();
        case kind::pairing:
        case kind::spec: return text;
    }
    return bad();
}

}  // namespace

run_config preset(const std::string& name) {
    run_config c;
    if (name == "default") {
        // About 3 M parameters; trains in ~12 minutes on 2 Zen 4 cores (README).
        c.model = model_config{};
        c.model.n_head_kv = 4;
        return c;
    }
    if (name == "tiny") {
        c.model.d_model = 32;
        c.model.n_layer = 2;
        c.model.n_head = 4;
        c.model.n_head_kv = 2;
        c.model.d_ff = 64;
        c.model.n_ctx_train = 32;
        c.model.gau_key_dim = 16;  // block = gau: e = 64, four value heads
        c.train.steps = 40;
        c.train.batch_size = 4;
        c.train.warmup_steps = 5;
        c.train.eval_every = 10;
        c.train.eval_windows = 4;
        c.train.checkpoint_every = 10;
        c.train.log_every = 1;
        return c;
    }
    fail("--preset: unknown preset '{}', expected tiny or default", name);
}

void apply_json(run_config& config, const nlohmann::json& object, const std::string& where) {
    if (!object.is_object()) fail("{}: expected a JSON object of config keys, found {}", where, object.type_name());
    for (const auto& [name, value] : object.items()) set_checked(config, find_key(name, where), value, where);
}

void apply_assignment(run_config& config, const std::string& assignment) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        fail("--set {}: expected key=value", assignment);
    const std::string name = assignment.substr(0, eq);
    const std::string where = "--set " + assignment;
    const key& k = find_key(name, "--set");
    set_checked(config, k, parse_value(k, assignment.substr(eq + 1), where), where);
}

void apply_config_file(run_config& config, const std::string& path) {
    const std::string text = read_text_file(path);
    nlohmann::json object;
    try {
        object = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        fail("{}: not valid JSON (byte {}), expected a flat object of config keys", path, e.byte);
    }
    apply_json(config, object, path);
}

nlohmann::json to_json(const run_config& config) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& k : keys()) object[k.name] = k.get(config);
    return object;
}

std::vector<config_key_info> config_keys() {
    std::vector<config_key_info> out;
    for (const auto& k : keys()) out.push_back({k.name, k.help});
    return out;
}

}  // namespace stretch
