// Per-length evaluation of a language model (methods.md G1–G3): for each length L, windows of
// L + 1 tokens, the model reads the first L and predicts the next L; loss (nats/token), perplexity,
// bits per byte (of the UTF-8 bytes the scored tokens stand for) and per-token accuracy (argmax ==
// next token), token-weighted over every scored position of every window, accumulated in double.
// A model whose vocabulary adds BOS reads it in place of each window's first token (as
// llama-perplexity does), which leaves the targets unchanged.
//   plain:    consecutive non-overlapping windows of the held-out text (window k starts at k L).
//   repeated: window k is the span of n_ctx_train tokens starting at k n_ctx_train, tiled until it
//             is L + 1 tokens long (later copies can be predicted by copying; methods.md G2).
//   mixed:    the two alternately, half the windows each (Su's repeated set mixes tiled samples
//             with natural ones; its share is not published, G2 takes 50/50): window 2k is plain
//             window k, window 2k + 1 repeated window k.
//   score all | last:N | beyond: score every position, only the last N of each window, or only
//             the positions at or past L_train (G1). last:N is G3 (bojone's eval_loss.py): the text
//             is cut into samples of S = L_max + 1 tokens and every length reads each sample's last
//             L + 1 tokens (windows aligned at their end), so every L scores the same targets, and
//             the loss falls with L iff the model uses the longer context; the result carries a
//             hash of the scored targets to prove it. Plain text only.
//   buckets:  the loss and accuracy of the scored positions in buckets of `bucket` positions
//             (G1: where along the window a method breaks).
//   apply always | beyond_train: the method runs at every length, or only past the training
//             length, the model running as trained (its own encoding) up to L_train (G1) — how
//             the GAU tables were evaluated (published-tables.md: their training-free rows repeat
//             the baseline's number in the train column).
// Every length scores about the same number of tokens (`token_budget`), so lengths are comparable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/tokenizer.h"
#include "model/transformer.h"
#include "variants/spec.h"

namespace stretch {

enum class eval_mode { plain, repeated, mixed };
enum class apply_rule { always, beyond_train };

struct score_rule {
    std::int64_t last_n = 0;  // 0: score all positions (or, with beyond, those past L_train)
    bool beyond = false;
    std::string text() const;
};

struct bucket_result {  // scored positions first <= i < end of every window (i predicts token i + 1)
    std::int64_t first = 0, end = 0;
    double loss = 0, accuracy = 0;
    std::int64_t tokens = 0;
};

struct length_result {
    std::int64_t length = 0;
    eval_mode mode = eval_mode::plain;
    score_rule score;
    double loss = 0;      // nats per token
    double ppl = 0;
    double bpb = 0;       // bits per byte of the scored targets
    double accuracy = 0;
    std::int64_t tokens = 0;   // scored tokens
    std::int64_t windows = 0;
    std::int64_t bytes = 0;    // UTF-8 bytes of the scored targets
    std::uint64_t targets_hash = 0;  // FNV-1a of the scored target ids, in order
    std::vector<bucket_result> buckets;  // those with scored tokens, in order
    double seconds = 0;
};

// "256,512,1024" -> lengths; throws stretch::error naming the item that is not a positive integer.
std::vector<std::int64_t> parse_lengths(const std::string& text);
eval_mode parse_eval_mode(const std::string& text);
score_rule parse_score_rule(const std::string& text);
apply_rule parse_apply_rule(const std::string& text);
const char* eval_mode_name(eval_mode mode);
const char* apply_rule_name(apply_rule rule);

struct eval_request {
    std::vector<std::int64_t> lengths;
    eval_mode mode = eval_mode::plain;
    score_rule score;
    std::int64_t token_budget = 16384;  // scored tokens per length (at least one window)
    std::int64_t bucket = 256;          // positions per bucket
    // The position/attention variant, resolved per length (its automatic defaults follow L).
    variants::position_spec positions = variants::parse_spec("default", "--pos");
    std::string positions_where = "--pos";  // names the flag or config key in errors
    apply_rule apply = apply_rule::always;
    // What the model runs at L <= L_train under beyond_train: the encoding it was trained with.
    variants::position_spec trained = variants::parse_spec("default", "--pos");
    // G3's sample length S (score last:N); 0: the longest length + 1.
    std::int64_t sample_tokens = 0;
    // Bytes each token id stands for [V] (bits per byte); empty: one byte per token (byte-level).
    std::vector<std::int32_t> token_bytes;
    std::int32_t bos = -1;  // >= 0: read in place of every window's first token
    kv_cache_types cache_types;  // not f32: each window is read through a cache of these types
};

// FNV-1a 64 of token ids, folded in one at a time: the scored-targets hash of G3.
std::uint64_t fnv1a(std::uint64_t hash, std::int32_t token);
inline constexpr std::uint64_t fnv1a_start = 14695981039346656037ull;

// The request's bytes per token (bits per byte) and the BOS a window starts with, from the model's
// tokenizer.
void use_tokenizer(eval_request& request, const tokenizer& tok);

// Fails, naming the flag, on a score rule or bucket width that no length of the request can take
// (evaluate_by_length checks the same before its first window).
void check_eval_request(const eval_request& request, std::int64_t n_ctx_train);

// `text_tokens`: the held-out text in the model's tokens; `text_name` for errors.
std::vector<length_result> evaluate_by_length(const transformer& model, const std::vector<std::int32_t>& text_tokens,
                                              const std::string& text_name, const eval_request& request);

struct sweep_result {    // one cell of a sweep
    std::string method;  // the row label: the canonical method spec, e.g. "rerope:window=64+logn"
    length_result result;
};

// Every method x mode of a sweep (the request's lengths, score rule and budget), one stderr line
// per cell; `labels[i]` names method i in the results and the progress lines.
std::vector<sweep_result> evaluate_methods(const transformer& model, const std::vector<std::int32_t>& text_tokens,
                                           const std::string& text_name, const eval_request& base,
                                           const std::vector<variants::position_spec>& methods,
                                           const std::vector<std::string>& labels, const std::vector<eval_mode>& modes);

}  // namespace stretch
