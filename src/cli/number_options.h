// Every numeric flag of every verb carries `in_range` (tests/cli/test_main.cpp checks each one's
// --help shows a range): CLI11 runs it on the text before converting it, so a value that is not a
// number of the flag's kind, or lies outside its range, is refused in one line naming the flag and
// the range, before any arithmetic ("--n-predict: found '1e30', expected an integer in [0,
// 2147483648]"; core/numbers.h). The ranges shared by several verbs are here.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "core/numbers.h"

namespace stretch::cli {

inline CLI::Validator in_range(const number_range& range) {
    return CLI::Validator(
        [range](std::string& text) { return parse_number(text, range) ? std::string() : refusal(text, range); },
        range.interval());
}

inline const number_range thread_range = integer_range(1, max_threads);
inline const number_range token_range = integer_range(1, max_tokens);             // lengths, contexts, budgets
inline const number_range seed_range = integer_range(0, max_exact_integer);       // a negative seed means nothing
inline const number_range step_range = integer_range(1, std::int64_t{1} << 40);  // optimizer steps

// --threads, as every verb has it (0, the default, is all cores and cannot be written).
inline void add_threads_option(CLI::App* cmd, int& threads) {
    cmd->add_option("--threads", threads, "threads (default: all cores)")->check(in_range(thread_range));
}

}  // namespace stretch::cli
