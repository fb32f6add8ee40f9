// Per-length evaluation of a language model (methods.md G1–G3): for each length L, windows of
// L + 1 tokens, the model reads the first L and predicts the next L; loss (nats/token), perplexity,
// bits per byte and per-token accuracy (argmax == next token), token-weighted over every scored
// position of every window, accumulated in double.
//   plain:    consecutive non-overlapping windows of the held-out text (window k starts at k L).
//   repeated: window k is the span of n_ctx_train tokens starting at k n_ctx_train, tiled until it
//             is L + 1 tokens long (later copies can be predicted by copying; methods.md G2).
//   mixed:    the two alternately, half the windows each (Su's repeated set mixes tiled samples
//             with natural ones; its share is not published, G2 takes 50/50): window 2k is plain
//             window k, window 2k + 1 repeated window k.
//   score all | last:N | beyond: score every position, only the last N of each window (G3), or
//             only the positions at or past L_train (G1).
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
};

// Fails, naming the flag, on a score rule or bucket width that no length of the request can take
// (evaluate_by_length checks the same before its first window).
void check_eval_request(const eval_request& request, std::int64_t n_ctx_train);

// `text_tokens`: byte-level tokens of the held-out text; `text_name` for errors.
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
