// Sequence-classification data for stretch finetune (task = classify): a JSONL file, one object
// {"text": "...", "label": ...} per line, the label a string or an integer. The classes are the
// training files' distinct labels, sorted (numerically when every label is an integer); a held-out
// file may only use those. Each text is tokenised by the model's tokenizer (with BOS when the model
// asks for it) and cut to its first `context` tokens.
//
// As batches (train/data_loader.h) a passage is one row of `window` tokens, right-padded: a causal
// model's states of the passage's own tokens never see the padding, so the row's first `length`
// states are those of the passage alone. Its target row is -1 except the label at the passage's last
// token, which marks where its pooled span ends.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"
#include "io/tokenizer.h"
#include "train/data_loader.h"

namespace stretch {

struct labelled_passages {
    std::vector<std::string> classes;
    std::vector<std::vector<std::int32_t>> tokens;  // each 1 .. context tokens
    std::vector<std::int32_t> labels;               // indices into classes
    std::int64_t longest() const;
};

// Reads `paths` (errors name "FLAG FILE:LINE"); `classes` empty: taken from these files, else the
// labels must be among them.
labelled_passages read_labelled_passages(const std::vector<std::string>& paths, const char* what, const tokenizer& tok,
                                         std::int64_t context, std::vector<std::string> classes = {});

// The passages `picks` as a batch of rows of `window` tokens (window >= their lengths); `lengths`
// (empty: whole passages) keeps each pick's first lengths[row] tokens.
batch passage_rows(const labelled_passages& passages, std::span<const std::size_t> picks, std::int64_t window,
                   std::span<const std::int64_t> lengths = {});

// Training batches: passages drawn uniformly with replacement by a seeded generator (its state is
// the whole sampler state, so a resumed run draws what the uninterrupted one would have). With
// `prefixes`, each drawn passage is cut to a length drawn uniformly from 1 .. its length: a
// classifier of partial text, as FUDGE trains it (Yang & Klein 2021, arXiv 2104.05218).
class passage_sampler : public batch_source {
public:
    passage_sampler(labelled_passages passages, std::int64_t window, std::uint64_t seed, bool prefixes = false);

    std::int64_t window() const override { return window_; }
    batch next(std::int64_t rows, const position_draw& draw_positions) override;
    std::string state() const override { return generator_.state(); }
    void set_state(const std::string& text, const char* where) override { generator_.set_state(text, where); }
    std::string fingerprint() const override;

private:
    labelled_passages passages_;
    std::int64_t window_;
    rng generator_;
    bool prefixes_;
};

}  // namespace stretch
