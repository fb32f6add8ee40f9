// Passkey retrieval (methods.md G5), with llama.cpp's examples/passkey prompt: an instruction, a
// filler sentence repeated n_junk times with the needle "The pass key is N. Remember it. N is the
// pass key." inserted before filler copy i_pos, and the question " What is the pass key? The pass
// key is"; greedy decoding of 16 tokens; success iff the first integer of the answer is N. The
// sweep picks n_junk so the prompt has about L tokens, i_pos = round(depth * (n_junk - 1)) (so depth
// 1 is the last copy, which llama.cpp's i_pos = n_junk would skip), and N uniform in 1..50000 per
// trial from a seeded generator.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "io/tokenizer.h"
#include "model/transformer.h"
#include "variants/spec.h"

namespace stretch {

// The prompt of passkey.cpp for these values (byte-identical).
std::string passkey_prompt(std::int64_t n_junk, std::int64_t i_pos, std::int64_t key);
// The first run of decimal digits in `text` as a number, or -1 when there is none.
std::int64_t first_integer(std::string_view text);

struct passkey_request {
    std::vector<std::int64_t> lengths;  // prompt tokens aimed at
    std::vector<double> depths{0, 0.25, 0.5, 0.75, 1};
    std::int64_t trials = 10;
    std::uint64_t seed = 0;
    variants::position_spec positions = variants::parse_spec("default", "--pos");
    kv_cache_types cache_types;  // every trial's cache
};

struct passkey_cell {
    std::int64_t length = 0, n_junk = 0, prompt_tokens = 0, trials = 0, correct = 0;
    double depth = 0, seconds = 0;
    std::string last_answer;  // the decoded answer of the cell's last trial, for the log
};

std::vector<passkey_cell> run_passkey(const transformer& model, const tokenizer& tok, const passkey_request& request,
                                      const std::function<void(const passkey_cell&)>& progress = {});

}  // namespace stretch
