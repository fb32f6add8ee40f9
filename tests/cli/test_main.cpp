// cli/main.cpp as a user meets it: whatever goes wrong ends in one line, "stretch: error: ...", and
// exit status 1 — never an abort or a signal (docs/reliability.md); and the rule that every numeric
// flag of every verb carries its range.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include <nlohmann/json.hpp>

#include "support/cli.h"
#include "support/model_file.h"

namespace stretch::test {

namespace {

const char* const verbs[] = {"train", "finetune", "eval", "bench", "variants", "sweep", "zoo", "ppl", "passkey", "ruler", "generate",
                             "probe"};

}  // namespace

// The rule behind every range check of a flag: each option that takes a number shows its range in
// --help (cli/number_options.h), so a flag added without one fails here.
TEST(CliMain, EveryNumericFlagOfEveryVerbHasARange) {
    const std::regex numeric(R"((--[a-z-]+)\s+(INT|UINT|FLOAT)\b(:[\[(][^\]\)]*[\])])?)");
    int flags = 0;
    for (const char* verb : verbs) {
        const auto help = run_command(stretch_binary() + " " + verb + " --help");
        ASSERT_EQ(help.status, 0) << help.output;
        for (std::sregex_iterator it(help.output.begin(), help.output.end(), numeric), end; it != end; ++it, ++flags)
            EXPECT_TRUE((*it)[3].matched) << verb << " " << (*it)[1] << " takes a number without a range";
    }
    EXPECT_GE(flags, 40) << "the help format changed; this test no longer sees the flags";
}

// Cause 1: any exception, not only stretch's own, ends in one line and status 1.
TEST(CliMain, EveryExceptionEndsInOneLine) {
    const std::string dir = fresh_dir("exceptions");
    const std::string text = " --text " + data_file("austen-persuasion.txt");
    std::filesystem::create_symlink("loop", dir + "/loop");  // the issue's example: a symlink to itself
    EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " eval --model " + dir + "/loop" + text),
                               "Too many levels of symbolic links"));
    EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " generate -p x -m " + dir + "/loop"),
                               "Too many levels of symbolic links"));
    EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " ppl -f x -m " + dir + "/loop"),
                               "Too many levels of symbolic links"));
    // A symlink loop under a training folder, and a training folder that is a file.
    std::filesystem::create_directory(dir + "/run");
    std::filesystem::create_symlink("model.gguf", dir + "/run/model.gguf");
    EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " eval --model " + dir + "/run" + text),
                               "Too many levels of symbolic links"));
    write_file(dir + "/a-file", "x");
    EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " train --preset tiny --data x --val x --out " + dir + "/a-file"),
                               "--out " + dir + "/a-file: cannot create the folder"));
    EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " eval --threads 100000 --model x" + text),
                               "--threads: found '100000', expected an integer in [1, 512]"));
    const std::string model = write_model_file(dir + "/model.gguf");
    EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " eval --model " + model + " --text /dev/zero"),
                               "--text /dev/zero: is a character device; expected a regular file"));
    // An unreadable model (root reads it anyway).
    if (geteuid() != 0) {
        const std::string locked = write_model_file(dir + "/locked.gguf");
        chmod(locked.c_str(), 0);
        EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " eval --model " + locked + text),
                                   locked + ": cannot open file: Permission denied"));
    }
    // A bad flag is one line too (CLI11's own errors, not its usage text).
    EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " eval --model x --text y --modle z"),
                               "The following arguments were not expected: z --modle"));
    EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " eval"), "--model is required"));
    EXPECT_TRUE(one_line_error(run_command(stretch_binary()), "A subcommand is required"));
}

// A value quoted in the error that holds a newline still gives one line.
TEST(CliMain, AnErrorQuotingANewlineIsStillOneLine) {
    const auto r = run_command(stretch_binary() + " eval --model x --text y --tokens \"$(printf '12\\n34')\"");
    EXPECT_TRUE(one_line_error(r, "--tokens: found '12\\n34', expected an integer in [1, 2147483648]")) << r.output;
    const std::string model = write_model_file(fresh_dir("newline") + "/model.gguf");
    const auto s = run_command(stretch_binary() + " generate -m " + model + " -p y --pos \"$(printf 'yarn\\001')\"");
    EXPECT_TRUE(one_line_error(s, "unknown variant 'yarn\\x01'")) << s.output;
}

// Cause 2: a path or a generated text that is not valid UTF-8 never breaks the JSON output.
TEST(CliMain, NonUtf8PathsAndTextsAreWrittenNotFatal) {
    const std::string dir = fresh_dir("utf8");
    const std::string model = write_model_file(dir + "/m\xfe.gguf");
    const std::string text = dir + "/p\xff.txt";  // the issue's example
    write_file(text, read_file(data_file("austen-persuasion.txt")).substr(0, 20000));
    const auto check = [&](const std::string& command, const std::string& json, const std::string& key) {
        const auto r = run_command(command);
        ASSERT_EQ(r.status, 0) << r.output;
        ASSERT_EQ(r.signal, 0);
        const auto report = nlohmann::json::parse(read_file(json));
        EXPECT_NE(report.dump().find("\xef\xbf\xbd"), std::string::npos) << key << ": " << report.dump();  // U+FFFD
    };
    check(stretch_binary() + " eval --model '" + model + "' --text '" + text + "' --lengths 32 --tokens 64 --json '" + dir +
              "/e\xff.json'",
          dir + "/e\xff.json", "eval");
    check(stretch_binary() + " ppl -m '" + model + "' -f '" + text + "' -c 64 --chunks 2 --json " + dir + "/p.json",
          dir + "/p.json", "ppl");
    check(stretch_binary() + " sweep --model '" + model + "' --text '" + text + "' --method default --lengths 32 --tokens 64 "
                                                                                    "--out " + dir + "/sweep",
          dir + "/sweep/results.json", "sweep");
    // passkey prints the model's answers, which a byte-level model gives as arbitrary bytes.
    const auto p = run_command(stretch_binary() + " passkey -m '" + model + "' --lengths 64 --depths 0 --trials 2 --json " + dir +
                               "/k.json");
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_NO_THROW((void)nlohmann::json::parse(read_file(dir + "/k.json")));
}

// A reader that goes away (a closed pipe) ends the run with one line, not SIGPIPE.
TEST(CliMain, AClosedPipeIsAnErrorNotASignal) {
    const std::string dir = fresh_dir("pipe");
    const std::string model = write_model_file(dir + "/model.gguf");
    const auto r = run_command("(" + stretch_binary() + " generate -m " + model + " -p x -n 100000 --temp 1 2> " + dir +
                               "/err.txt; echo $? > " + dir + "/rc.txt) | head -c 1 > /dev/null");
    EXPECT_EQ(read_file(dir + "/rc.txt"), "1\n");  // 141 would be SIGPIPE
    EXPECT_NE(read_file(dir + "/err.txt").find("stretch: error: standard output: Broken pipe"), std::string::npos)
        << read_file(dir + "/err.txt");
}

}  // namespace stretch::test
