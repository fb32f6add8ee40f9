// The variant registry (architecture.md "Variants are data, not branches"). A variant is one
// source file under variants/position or variants/attention that registers a `variant_def`: its
// name, a parameter schema, and the hooks it fills. The hooks are called once per forward (per
// position or per layer), never per score: they produce the data the generic attention kernel
// reads (kernels/cpu/attention.h) — frequencies and attention factor (methods.md eq. 0.2: theta',
// m), far-branch positions of two-score methods (rho), a mask (window, sinks) and a per-query
// logit scale (c_i). Everything that lists variants (CLI help, `stretch variants`, spec parsing,
// config files) reads this registry; nothing lists them by hand.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/numbers.h"
#include "core/rng.h"
#include "kernels/cpu/attention.h"

namespace stretch::variants {

// What a variant knows of the model and the run it applies to.
struct model_context {
    std::int64_t n_ctx_train = 0;    // L_train
    std::int64_t n_rot = 0;          // rotary dimensions d of a head
    double base = 10000.0;           // RoPE base of the model
    std::int64_t target_length = 0;  // the length the run plans for (eval: the window; generate: prompt + new)
    std::int64_t n_head = 1;         // query heads (ALiBi gives each its slope)
    std::int64_t d_model = 0;        // model width C (absolute encodings are C wide)
    std::int64_t n_layer = 1;        // blocks (HWFA gives them different variants)
    bool training = false;           // the run trains the model (random_pos draws positions then)
};

enum class param_type { integer, real, text, real_list };

struct param_spec {
    std::string name;
    param_type type = param_type::real;
    // As written in a spec; "auto" = computed by `automatic` from the model context.
    std::string default_value;
    std::string help;
    // Inclusive range of numbers; registration narrows it to core/numbers.h's limits (an integer to
    // [-max_tokens, max_tokens], a real to [-max_real, max_real]), so every value fits what uses it.
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    std::vector<std::string> choices;  // allowed values of a text parameter
    std::function<double(const model_context&)> automatic;
    number_range range() const { return {min, max, type == param_type::integer}; }
};

// Parameter values of one variant, resolved (defaults filled, ranges checked).
class param_values {
public:
    using value = std::variant<double, std::string, std::vector<double>>;
    double real(std::string_view name) const;
    std::int64_t integer(std::string_view name) const;
    const std::string& text(std::string_view name) const;
    const std::vector<double>& list(std::string_view name) const;
    void set(const std::string& name, value v) { values_[name] = std::move(v); }

private:
    const value& at(std::string_view name) const;
    std::map<std::string, value, std::less<>> values_;
};

// Rotation of a position variant: theta'_t for t = 0 .. d/2 - 1 and the attention factor m.
struct rotation {
    std::vector<double> inv_freq;
    double mscale = 1.0;
};

// The far branch of a two-score variant: the query at position i scores the keys j < first_near(i)
// as RoPE(q_i, query(i)) . RoPE(k_j, key(j)), i.e. at effective relative position query(i) - key(j),
// and the others with plain RoPE. first_near never decreases with i: the far keys are a prefix.
// An empty first_near: no far branch.
struct far_branch {
    std::function<std::int64_t(std::int64_t)> first_near;
    std::function<double(std::int64_t)> query;
    std::function<double(std::int64_t)> key;
};

enum class variant_kind { position, modifier };

struct variant_def {
    std::string name;
    variant_kind kind = variant_kind::position;
    std::string summary;  // one line for `stretch variants`
    std::string source;   // methods.md section and the post or paper
    std::vector<param_spec> params;

    // Position variants. `length`: tokens in the context now (prompt + generated so far). Without this
    // hook the rotation is plain RoPE (methods.md A1).
    std::function<rotation(const param_values&, const model_context&, std::int64_t length)> frequencies;
    // Two-score variants (and sinks in cache-position mode).
    std::function<far_branch(const param_values&, const model_context&)> far;
    // Modifiers: visibility, and the logit scale c_i of the query at `position` that sees `n_visible`
    // keys (after the mask) with `length` tokens in the context.
    std::function<void(const param_values&, const model_context&, cpu::attention_rules&)> mask;
    std::function<double(const param_values&, const model_context&, std::int64_t position, std::int64_t n_visible,
                         std::int64_t length)>
        query_scale;
    // Absolute encodings (sinusoidal): the vector added to the token embedding at `position` [C].
    std::function<std::vector<double>(const param_values&, const model_context&, std::int64_t position)> absolute;
    // Learned absolute encodings: the rows L_max of the trained table position_embd.weight [L_max, C]
    // the model adds to its embedding; a position >= L_max is an error.
    std::function<std::int64_t(const param_values&, const model_context&)> learned_rows;
    // The relu^2 normaliser (D5): n_i of query i that sees n_visible keys of `length` in context.
    std::function<double(const param_values&, const model_context&, std::int64_t n_visible, std::int64_t length)>
        relu2_divisor;
    // KeyNorm: the epsilon of the L2 normalisation of every key head (0: keys as they are).
    std::function<double(const param_values&)> key_norm_eps;
    // RoPE + q/k bias (C8): the model trains a bias on the query and key projections, added before
    // the rotation.
    bool qk_bias = false;
    // Learned attention sinks (gpt-oss): the model trains one logit s_h per query head and layer
    // (blk.N.attn_sinks.weight [H], llama.cpp's name) added to the softmax's denominator; the hook
    // gives its initial value. The logits are the model's, so they apply whatever spec a run uses.
    std::function<double(const param_values&)> learned_sink_init;
    // Score-bias variants (ALiBi): the slope of each of the n_head heads.
    std::function<std::vector<double>(const param_values&, const model_context&)> head_slopes;
    // Layer-wise variants (HWFA): the spec of block il of n_layer (a variant of its own, resolved
    // against the same model context).
    std::function<std::string(const param_values&, const model_context&, std::int64_t il)> layer_spec;
    // Random-position training (C7): the positions of one training sequence of `length` tokens, drawn
    // from the trainer's generator (so a resumed run draws the same ones); the forward rotates each
    // sequence by its own positions with the variant's training-time frequencies.
    std::function<std::vector<double>(const param_values&, const model_context&, rng&, std::int64_t length)>
        train_positions;
    // Cross-parameter checks against the model (e.g. window < L_train); throws stretch::error.
    std::function<void(const param_values&, const model_context&)> validate;
    // When the rotation changes with the context length (LongRoPE's long/short switch), a KV cache
    // written with the old one is recomputed from its tokens, as HF's Phi-3 re-prefills (methods.md
    // B8). Otherwise cached keys keep the rotation of the step that wrote them (`dynamic`, hf mode).
    bool refill_cache_on_rotation_change = false;
    // Meaningful only for a model trained with it (methods.md C): left out of "every method" sweeps.
    bool needs_training = false;
};

// Registration from a variant's own file: `const registrar reg{variant_def{...}};`.
struct registrar {
    explicit registrar(variant_def def);
};

// Every registered variant, positions first, each kind sorted by name.
std::vector<const variant_def*> all_variants();
// Throws stretch::error listing the valid names when `name` is not registered.
const variant_def& find_variant(std::string_view name, std::string_view where);

// Named compositions (methods.md B13: the "super baseline" is window + logn).
struct alias {
    std::string name, expansion, summary;
};
const std::vector<alias>& aliases();

}  // namespace stretch::variants
