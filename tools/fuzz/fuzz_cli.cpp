// libFuzzer target: what a user types, before any file is read. The first byte picks the surface,
// the rest is text:
//  0  a command line, one argument per line, through the real `stretch` app (cli/commands.h), stopped
//     before the verb's action: every flag's parser and range check (cli/number_options.h);
//  1  a --pos spec (variants/spec.h), resolved against a small model at a length from the input, and
//     its hooks run: frequencies, attention rules, absolute encodings;
//  2  run config assignments, one key=value per line (train/run_config.h), then the config's checks,
//     its parameter count and its memory estimate (model/memory_estimate.h); and the text as a JSON
//     config object;
//  3  the lists and rules eval's flags take (--lengths, --score) and the number parsers (core/numbers.h).
// A stretch::error (or CLI11's parse error) is the expected answer to bad input; anything else — a
// sanitizer report (an overflowing conversion or sum), an uncaught exception, an abort — is a bug.
// Seeds: tests/fixtures/fuzz/cli/ (tools/fuzz/make_seeds.py). docs/fuzzing.md.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/numbers.h"
#include "eval/by_length.h"
#include "fuzz_util.h"
#include "model/memory_estimate.h"
#include "train/run_config.h"
#include "variants/spec.h"

namespace {

using namespace stretch;

std::vector<std::string> lines(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        out.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

struct parsed {};  // thrown when a command line parsed: the verb's action is not run

CLI::App& app() {
    static CLI::App* instance = [] {
        auto* a = new CLI::App("stretch");
        for (const auto add : {cli::add_train_command, cli::add_bench_command, cli::add_sweep_command,
                               cli::add_zoo_command})
            add(*a, communicator{});  // the single process
        for (const auto add : {cli::add_eval_command, cli::add_variants_command, cli::add_ppl_command,
                               cli::add_passkey_command, cli::add_ruler_command, cli::add_generate_command,
                               cli::add_probe_command})
            add(*a);
        // Parse only: once a verb's options are converted and checked, stop before its action
        // (which reads models and files). Its own callback stays: it owns the options' variables.
        for (CLI::App* verb : a->get_subcommands({})) verb->parse_complete_callback([] { throw parsed{}; });
        return a;
    }();
    return *instance;
}

void command_line(std::string_view text) {
    std::vector<std::string> args = lines(text);
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    try {
        app().parse(args);
    } catch (const CLI::ParseError&) {
    } catch (const parsed&) {
    }
}

void spec(std::string_view text, std::uint8_t shape) {
    model_config c = preset("tiny").model;
    c.n_ctx_train = std::int64_t{8} << (shape % 8);
    const std::int64_t length = std::int64_t{1} << (shape / 8 % 32);  // 1 .. 2^31
    const auto spec = variants::parse_spec(std::string(text), "fuzz");
    const variants::position_setup setup(spec, c.position_context(length), "fuzz");
    (void)setup.frequencies(length);
    const std::int64_t rows = std::min<std::int64_t>(length, 8);
    (void)setup.rules(length - rows, rows, length);
    (void)setup.absolute(length - rows, rows);
}

void config(std::string_view text) {
    run_config c = preset("tiny");
    for (const std::string& line : lines(text)) apply_assignment(c, line);
    check_ranges(c, "fuzz");
    c.model.validate("fuzz");
    (void)c.model.n_parameters();
    (void)training_memory(c.model, c.train.batch_size, c.model.n_ctx_train);
    (void)inference_memory(c.model, c.model.n_ctx_train, c.model.n_ctx_train, 0, c.model.n_ctx_train);
}

void json_config(std::string_view text) {
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return;
    run_config c = preset("tiny");
    apply_json(c, j, "fuzz.json");
}

void numbers(std::string_view text) {
    if (const auto v = parse_number(text, integer_range(-max_exact_integer, max_exact_integer)))
        fuzz::require(*v == double(static_cast<std::int64_t>(*v)), "an integer parses exactly");
    (void)parse_number(text, real_range(0, 1, true, true));
}

// Runs one surface; a stretch::error is the expected answer to bad input and must say something.
template <class F>
void guarded(F&& surface) {
    try {
        surface();
    } catch (const error& e) {
        fuzz::require(!std::string_view(e.what()).empty(), "an error says something");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
    switch (data[0] % 4) {
        case 0: guarded([&] { command_line(text); }); break;
        case 1: guarded([&] { spec(text, data[1]); }); break;
        case 2:
            guarded([&] { config(text); });
            guarded([&] { json_config(text); });
            break;
        default:
            guarded([&] { (void)parse_lengths(std::string(text)); });
            guarded([&] { (void)parse_score_rule(std::string(text)); });
            guarded([&] { numbers(text); });
    }
    return 0;
}
