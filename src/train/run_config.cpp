#include "train/run_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>

#include <fmt/format.h>

#include "core/error.h"
#include "core/numbers.h"
#include "io/corpus.h"
#include "io/json_text.h"
#include "model/config_fields.h"
#include "train/adamw.h"

namespace stretch {

namespace {

enum class kind { integer, number, boolean, spec };

struct key {
    std::string name;
    kind type;
    std::string help;
    number_range range;  // integer and number keys
    std::vector<std::string> choices;  // text keys: the allowed values (empty: any)
    bool list = false;                 // a comma-separated list of distinct choices
    std::function<nlohmann::json(const run_config&)> get;
    std::function<void(run_config&, const nlohmann::json&)> set;
    const config_field* model = nullptr;  // a model field: checked and parsed by its table entry
    bool finetune = false;
};

template <class Section, class Field>
key make_key(const char* name, const char* help, Section run_config::*section, Field Section::*field,
             number_range range = {}) {
    kind type;
    if constexpr (std::is_same_v<Field, bool>)
        type = kind::boolean;
    else if constexpr (std::is_same_v<Field, std::string>)
        type = kind::spec;
    else if constexpr (std::is_integral_v<Field>)
        type = kind::integer;
    else
        type = kind::number;
    return key{name, type, help, range, {}, false,
               [=](const run_config& c) -> nlohmann::json { return c.*section.*field; },
               [=](run_config& c, const nlohmann::json& j) { c.*section.*field = j.get<Field>(); }, nullptr,
               std::is_same_v<Section, finetune_config>};
}

// A text key that takes one of `choices` (or, `list`, distinct ones separated by commas).
key text_key(const char* name, const char* help, std::string finetune_config::*field, std::vector<std::string> choices,
             bool list = false) {
    key k = make_key(name, help, &run_config::finetune, field);
    k.choices = std::move(choices);
    k.list = list;
    return k;
}

const std::vector<key>& keys() {
    using T = train_config;
    using F = finetune_config;
    auto t = &run_config::train;
    auto f = &run_config::finetune;
    static const std::vector<key> table = [&] {
        std::vector<key> all;
        // The model's fields, from their one table (with their ranges); numbers and booleans are
        // parsed and checked here like the training keys, text by the table (its choices).
        for (const config_field& f : model_fields()) {
            const kind type = f.kind == field_kind::integer ? kind::integer
                              : f.kind == field_kind::real  ? kind::number
                              : f.kind == field_kind::boolean ? kind::boolean
                                                              : kind::spec;
            all.push_back(key{std::string(f.key), type, std::string(f.help), {f.min, f.max, f.kind == field_kind::integer},
                              {}, false, [&f](const run_config& c) { return f.get(c.model); },
                              [&f](run_config& c, const nlohmann::json& j) { f.set(c.model, j); }, &f});
        }
        // Ranges: what each key can mean (a negative seed, beta >= 1 or lr <= 0 cannot), and counts
        // small enough that the trainer's arithmetic stays in int64 (core/numbers.h).
        const number_range count = integer_range(1, std::int64_t{1} << 40);
        for (key k : {
                 make_key("steps", "optimizer steps", t, &T::steps, count),
                 make_key("batch_size", "sequences per step, over all ranks", t, &T::batch_size,
                          integer_range(1, 1 << 20)),
                 make_key("micro_batches",
                          "split each rank's share of the batch into this many slices run one after another "
                          "(gradient accumulation: the memory of one slice)",
                          t, &T::micro_batches, integer_range(1, 1 << 20)),
                 make_key("zero", "ZeRO-1 under mpirun: shard the AdamW moments over the ranks", t, &T::zero),
                 make_key("lr", "peak learning rate", t, &T::lr, adamw_ranges::lr),
                 make_key("min_lr_ratio", "final learning rate as a fraction of lr (cosine)", t, &T::min_lr_ratio,
                          real_range(0, 1)),
                 make_key("warmup_steps", "linear warm-up steps", t, &T::warmup_steps,
                          integer_range(0, std::int64_t{1} << 40)),
                 make_key("weight_decay", "decoupled weight decay on matrices", t, &T::weight_decay,
                          adamw_ranges::weight_decay),
                 make_key("beta1", "Adam beta1", t, &T::beta1, adamw_ranges::beta),
                 make_key("beta2", "Adam beta2", t, &T::beta2, adamw_ranges::beta),
                 make_key("adam_eps", "Adam epsilon", t, &T::adam_eps, adamw_ranges::eps),
                 make_key("grad_clip", "clip the global gradient L2 norm to this (0: off)", t, &T::grad_clip,
                          real_range(0, max_real)),
                 make_key("eval_every", "validation loss every N steps", t, &T::eval_every, count),
                 make_key("eval_windows", "validation windows of n_ctx_train tokens", t, &T::eval_windows,
                          integer_range(1, 1 << 20)),
                 make_key("checkpoint_every", "checkpoint every N steps", t, &T::checkpoint_every, count),
                 make_key("log_every", "log a line every N steps", t, &T::log_every, count),
                 make_key("seed", "random seed (initialisation and data order)", t, &T::seed,
                          integer_range(0, max_exact_integer)),
             text_key("method", "finetune: what trains (full: every weight; lora: low-rank adapters; lst: a ladder "
                                "side network beside the frozen model; probe: a classifier's head alone)",
                      &F::method, {"full", "lora", "lst", "probe"}),
             text_key("task", "finetune: lm (next-token cross-entropy) or classify (a head on a pooled hidden state, "
                              "from JSONL {\"text\", \"label\"})",
                      &F::task, {"lm", "classify"}),
             text_key("objective", "finetune classify: ce, hinge (Crammer-Singer), exact (expected accuracy) or "
                                   "exact_log (-log of it)",
                      &F::objective, {"ce", "hinge", "exact", "exact_log"}),
             text_key("pooling", "finetune classify: the hidden state the head reads (last token, or the mean)",
                      &F::pooling, {"last", "mean"}),
             make_key("prefixes", "finetune classify: train on a random-length prefix of each passage (1 token to "
                      "all), the classifier of partial text that classifier guidance asks for (FUDGE)", f, &F::prefixes),
             make_key("context", "finetune: tokens per sequence (lm) or passage (classify; longer ones are cut); 0: "
                                 "the model's n_ctx_train",
                      f, &F::context, integer_range(0, max_tokens)),
             make_key("lora_rank", "finetune lora: the adapters' rank r", f, &F::lora_rank, integer_range(1, 1 << 16)),
             make_key("lora_alpha", "finetune lora: the update is (alpha / r) B A", f, &F::lora_alpha,
                      real_range(0, max_real, true)),
             text_key("lora_targets", "finetune lora: the matrices that get adapters, comma-separated", &F::lora_targets,
                      {"q", "k", "v", "o", "gate", "up", "down"}, true),
             make_key("lst_layers", "finetune lst: side-network layers", f, &F::lst_layers, integer_range(1, 1 << 10)),
             make_key("lst_width", "finetune lst: side-network width", f, &F::lst_width, integer_range(1, 1 << 16)),
             make_key("lst_heads", "finetune lst: side-network attention heads", f, &F::lst_heads,
                      integer_range(1, 1 << 10)),
             make_key("lst_ffn", "finetune lst: side-network FFN width", f, &F::lst_ffn, integer_range(1, 1 << 20)),
             make_key("exact_margin", "finetune exact: clip mu_y - mu_i at this margin (0: none)", f, &F::exact_margin,
                      real_range(0, max_real)),
             make_key("exact_variance", "finetune exact: the noise variance sigma^2 at the first step", f,
                      &F::exact_variance, real_range(0, max_real, true)),
             make_key("exact_min_variance", "finetune exact: sigma^2 at the last step (log-linear from exact_variance)",
                      f, &F::exact_min_variance, real_range(0, max_real, true)),
             })
            all.push_back(std::move(k));
        return all;
    }();
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
        case kind::spec: return "a string";
    }
    return "";
}

bool is_number(const key& k) { return k.type == kind::integer || k.type == kind::number; }

// A text key's value is one of its choices, or (a list) distinct ones separated by commas.
void check_choices(const key& k, const std::string& text, const std::string& what) {
    const std::string choices = fmt::format("{}", fmt::join(k.choices, ", "));
    const auto known = [&](const std::string& item) {
        return std::find(k.choices.begin(), k.choices.end(), item) != k.choices.end();
    };
    if (!k.list) {
        if (!known(text)) fail("{}: found '{}', expected one of {}", what, text, choices);
        return;
    }
    std::vector<std::string> seen;
    for (std::size_t start = 0;;) {
        const std::size_t comma = text.find(',', start);
        const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!known(item))
            fail("{}: found '{}' in '{}', expected a comma-separated list of {}", what, item, text, choices);
        if (std::find(seen.begin(), seen.end(), item) != seen.end()) fail("{}: '{}' is listed twice in '{}'", what, item, text);
        seen.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
}

// Checks that a JSON value has the key's type, and a number its range, before assigning it; `what`
// names the source and the key ("f.json: lr").
void set_checked(run_config& config, const key& k, const nlohmann::json& value, const std::string& what) {
    if (k.model != nullptr && !is_number(k)) return set_field(config.model, *k.model, value, what);
    bool ok = false;
    switch (k.type) {
        case kind::integer: ok = value.is_number_integer(); break;
        case kind::number: ok = value.is_number(); break;
        case kind::boolean: ok = value.is_boolean(); break;
        case kind::spec: ok = value.is_string(); break;
    }
    if (!ok) fail("{}: found {}, expected {}", what, json_text(value), is_number(k) ? k.range.text() : kind_name(k.type));
    if (is_number(k)) check_in_range(value.get<double>(), k.range, what);
    if (!k.choices.empty()) check_choices(k, value.get<std::string>(), what);
    k.set(config, value);
}

// Parses the text of `key=value` into the JSON value the key expects.
nlohmann::json parse_value(const key& k, const std::string& text, const std::string& what) {
    switch (k.type) {
        case kind::integer: return parse_integer(text, k.range, what);
        case kind::number: return parse_real(text, k.range, what);
        case kind::boolean:
            if (text == "true" || text == "1") return true;
            if (text == "false" || text == "0") return false;
            fail("{}: found '{}', expected {}", what, text, kind_name(k.type));
        case kind::spec: break;
    }
    return k.model != nullptr ? parse_field_text(*k.model, text, what) : nlohmann::json(text);
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

run_config finetune_preset() {
    // A pretrained model moves little: a small learning rate, no decay pulling it towards zero, and
    // short runs checked often.
    run_config c;
    c.train.steps = 200;
    c.train.batch_size = 8;
    c.train.lr = 1e-4;
    c.train.warmup_steps = 20;
    c.train.weight_decay = 0;
    c.train.eval_every = 50;
    c.train.eval_windows = 8;
    c.train.checkpoint_every = 50;
    c.train.log_every = 10;
    return c;
}

void apply_json(run_config& config, const nlohmann::json& object, const std::string& where) {
    if (!object.is_object()) fail("{}: expected a JSON object of config keys, found {}", where, object.type_name());
    for (const auto& [name, value] : object.items())
        set_checked(config, find_key(name, where), value, fmt::format("{}: {}", where, name));
}

void apply_assignment(run_config& config, const std::string& assignment, const std::string& where) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        fail("{} {}: expected key=value", where, assignment);
    const std::string name = assignment.substr(0, eq);
    const key& k = find_key(name, where);
    const std::string what = where + " " + name;
    set_checked(config, k, parse_value(k, assignment.substr(eq + 1), what), what);
}

void apply_value(run_config& config, const std::string& name, const std::string& text, const std::string& where) {
    const key& k = find_key(name, where);
    set_checked(config, k, parse_value(k, text, where), where);
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

void check_ranges(const run_config& config, const std::string& where) {
    for (const auto& k : keys())
        if (is_number(k)) check_in_range(k.get(config).get<double>(), k.range, fmt::format("{}: {}", where, k.name));
}

nlohmann::json to_json(const run_config& config) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& k : keys()) object[k.name] = k.get(config);
    return object;
}

number_range key_range(const std::string& name) {
    const key& k = find_key(name, "key_range");
    STRETCH_ASSERT(is_number(k));
    return k.range;
}

std::vector<config_key_info> config_keys() {
    std::vector<config_key_info> out;
    for (const auto& k : keys()) out.push_back({k.name, k.help, k.model != nullptr, k.finetune});
    return out;
}

}  // namespace stretch
