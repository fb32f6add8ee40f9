// `stretch train` as a user runs it: exact resume after SIGKILL, and one-line errors for bad input;
// under mpirun (tests named Mpi, left out of the sanitizer pass: scripts/test.sh), data-parallel
// training equal to one process, ZeRO-1 equal to the plain mean, a killed rank, and refusals.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "io/gguf.h"

#include "support/cli.h"
#include "support/training_run.h"

namespace stretch::test {

namespace {

std::string tiny_args(const std::string& out, int steps) {
    return "--preset tiny --threads 2 --data " + data_file("austen-emma.txt") + " --data " +
           data_file("austen-northangerabbey.txt") + " --val " + data_file("austen-persuasion.txt") +
           " --steps " + std::to_string(steps) + " --set checkpoint_every=25 --out " + out;
}

}  // namespace

// Plain RoPE, and random-position training (methods.md C7), whose positions are drawn with the data
// and must resume with it.
class CliTrainResume : public ::testing::TestWithParam<const char*> {};

TEST_P(CliTrainResume, KilledWithSigkillResumesBitIdentical) {
    constexpr int steps = 800;
    const std::string whole = fresh_dir("whole"), killed = fresh_dir("killed");
    const auto tiny_args = [](const std::string& out, int n) {
        return test::tiny_args(out, n) + " --set pos=" + GetParam();
    };
    ASSERT_EQ(run_command(stretch_binary() + " train " + tiny_args(whole, steps)).status, 0);

    // Start the same run, kill it once it has checkpointed and moved on, at whatever moment that is.
    ASSERT_TRUE(killed_after_checkpoint("train " + tiny_args(killed, steps), killed, 60))
        << "the run finished before it could be killed; make it longer";

    const auto resumed = run_command(stretch_binary() + " train " + tiny_args(killed, steps) + " --resume");
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_TRUE(same_log(whole, killed));
    EXPECT_EQ(read_file(whole + "/model.gguf"), read_file(killed + "/model.gguf"));
}

INSTANTIATE_TEST_SUITE_P(CliTrain, CliTrainResume, ::testing::Values("default", "random_pos:l_rand=256",
                                                                   "learned_sinks:init=0.5"));

TEST(CliTrain, MissingCorpusFileIsOneLineNamingIt) {
    const auto r = run_command(stretch_binary() + " train --preset tiny --data /nonexistent/corpus.txt --val " +
                               data_file("austen-persuasion.txt") + " --out " + fresh_dir("missing"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("--data /nonexistent/corpus.txt: cannot open file"), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST(CliTrain, UnknownConfigKeyNamesItAndTheValidKeys) {
    const std::string out = fresh_dir("badkey");
    const auto r = run_command(stretch_binary() + " train " + tiny_args(out, 5) + " --set d_modle=64");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("unknown config key 'd_modle', expected one of: arch, vocab_size, d_model"), std::string::npos)
        << r.output;

    const std::string config = out + "/config.json";
    std::ofstream(config) << R"({"n_layer": 2, "n_heads": 4})";
    const auto f = run_command(stretch_binary() + " train " + tiny_args(out, 5) + " --config " + config);
    EXPECT_EQ(f.status, 1);
    EXPECT_NE(f.output.find(config + ": unknown config key 'n_heads'"), std::string::npos) << f.output;

    const auto v = run_command(stretch_binary() + " train " + tiny_args(out, 5) + " --set n_layer=two");
    EXPECT_EQ(v.status, 1);
    EXPECT_TRUE(one_line_error(v, "--set n_layer: found 'two', expected an integer in [1, 65536]"));
}

TEST(CliTrain, TrainsWithAPositionVariantThatEvalThenUsesByDefault) {
    const std::string out = fresh_dir("trainpos");
    const auto r = run_command(stretch_binary() + " train " + tiny_args(out, 5) + " --set pos=alibi+window:w=16");
    ASSERT_EQ(r.status, 0) << r.output;
    const std::string json = out + "/eval.json";
    const auto e = run_command(stretch_binary() + " eval --threads 2 --model " + out + " --text " +
                               data_file("austen-persuasion.txt") + " --lengths 32 --tokens 64 --json " + json);
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_NE(read_file(json).find("\"pos\": \"alibi+window:w=16\""), std::string::npos) << read_file(json);
    const auto bad = run_command(stretch_binary() + " train " + tiny_args(fresh_dir("trainbadpos"), 5) + " --set pos=alibu");
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.output.find("stretch: error: model config: pos: unknown variant 'alibu'; expected one of: default, alibi,"),
              std::string::npos)
        << bad.output;
}

// GAU stacks (methods.md D4, D6) train from the command line and evaluate from their file: the loss
// falls over 40 steps (from ln 256 = 5.55 at a uniform start), and eval reads the block from the GGUF.
TEST(CliTrain, GauAndFlashModelsTrainAndEvaluate) {
    for (const auto& [flash, pos] : std::vector<std::pair<std::string, std::string>>{{"0", "relu2"}, {"16", "yarn"}}) {
        const std::string out = fresh_dir("traingau");
        const auto r = run_command(stretch_binary() + " train " + tiny_args(out, 40) + " --set block=gau --set pos=" +
                                   pos + " --set flash_chunk=" + flash);
        ASSERT_EQ(r.status, 0) << r.output;
        const auto log = read_log(out);
        ASSERT_EQ(log.size(), 40u);
        // Loss at step 1 is ~5.5; measured 3.91 (relu2) and 3.96 (FLASH) over the last 5 of 40 steps of
        // 4 x 32 bytes; a broken gradient leaves it near 5.5. Averages of 5 steps smooth the noise.
        double first = 0, last = 0;
        for (std::size_t i = 0; i < 5; ++i) {
            first += log[i]["loss"].get<double>() / 5;
            last += log[log.size() - 1 - i]["loss"].get<double>() / 5;
        }
        EXPECT_LT(last, first - 1.0) << "flash_chunk " << flash << ": " << first << " -> " << last;
        const std::string json = out + "/eval.json";
        const auto e = run_command(stretch_binary() + " eval --threads 2 --model " + out + " --text " +
                                   data_file("austen-persuasion.txt") + " --lengths 32,64 --tokens 128 --json " + json);
        ASSERT_EQ(e.status, 0) << e.output;
        EXPECT_NE(read_file(json).find("\"pos\": \"" + pos + "\""), std::string::npos) << read_file(json);
    }
    const auto bad = run_command(stretch_binary() + " train " + tiny_args(fresh_dir("traingaubad"), 5) +
                                 " --set block=gau --set gau_key_dim=24");
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.output.find("gau_expansion * d_model = 64 is not divisible by gau_key_dim = 24"), std::string::npos)
        << bad.output;
}

TEST(CliTrain, TruncatedOrCorruptCheckpointIsRefusedNamingTheFile) {
    const std::string out = fresh_dir("trunc");
    ASSERT_EQ(run_command(stretch_binary() + " train " + tiny_args(out, 5)).status, 0);
    const std::string checkpoint = out + "/checkpoint.gguf";
    const std::string bytes = read_file(checkpoint);

    std::ofstream(checkpoint, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size() / 2));
    const auto r = run_command(stretch_binary() + " train " + tiny_args(out, 10) + " --resume");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find(checkpoint + ": truncated"), std::string::npos) << r.output;

    std::string corrupt = bytes;
    corrupt[0] = 'X';  // the magic
    std::ofstream(checkpoint, std::ios::binary | std::ios::trunc).write(corrupt.data(), std::streamsize(corrupt.size()));
    const auto c = run_command(stretch_binary() + " train " + tiny_args(out, 10) + " --resume");
    EXPECT_EQ(c.status, 1);
    EXPECT_NE(c.output.find(checkpoint), std::string::npos) << c.output;
    EXPECT_NE(c.output.find("GGUF"), std::string::npos) << c.output;
}

// Overwrites every f32 of tensor `name` in a checkpoint with `value`, in place: a run whose state went
// bad, which no valid hyper-parameter produces any more (they are range-checked).
void poison_tensor(const std::string& checkpoint, const std::string& name, float value) {
    std::uint64_t at = 0, count = 0;
    {
        const auto in = gguf::reader::open(checkpoint);
        const gguf::tensor_info* info = in.find_tensor(name);
        ASSERT_NE(info, nullptr) << name;
        at = in.data_offset() + info->offset;
        count = std::uint64_t(info->numel());
    }
    std::fstream file(checkpoint, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(std::streamoff(at));
    for (std::uint64_t i = 0; i < count; ++i) file.write(reinterpret_cast<const char*>(&value), sizeof value);
}

TEST(CliTrain, NonFiniteLossStopsNamingTheTensorAndKeepsTheCheckpoint) {
    // A checkpoint holding infinite embeddings (one written before this check existed, or damaged).
    const std::string out = fresh_dir("nan");
    ASSERT_EQ(run_command(stretch_binary() + " train " + tiny_args(out, 2)).status, 0);
    poison_tensor(out + "/checkpoint.gguf", "token_embd.weight", std::numeric_limits<float>::infinity());
    const std::string poisoned = read_file(out + "/checkpoint.gguf");
    const auto r = run_command(stretch_binary() + " train " + tiny_args(out, 4) + " --resume");
    EXPECT_TRUE(one_line_error(r, "step 3: non-finite loss")) << r.output;
    EXPECT_TRUE(one_line_error(r, "first non-finite tensor in the forward: '")) << r.output;
    EXPECT_TRUE(one_line_error(r, "left as it was (step 2)")) << r.output;
    EXPECT_EQ(read_file(out + "/checkpoint.gguf"), poisoned);
}

// Nothing non-finite reaches a checkpoint: the parameters are checked after every update, before any
// save. A negative second moment (sqrt of it is NaN) makes the update itself non-finite while the loss
// and gradient of that step are finite.
TEST(CliTrain, AnUpdateThatGoesNonFiniteStopsBeforeTheSave) {
    const std::string out = fresh_dir("nanupdate");
    ASSERT_EQ(run_command(stretch_binary() + " train " + tiny_args(out, 2) + " --set checkpoint_every=1").status, 0);
    for (const char* tensor : {"optim.v.token_embd.weight", "optim.v.blk.1.ffn_up.weight", "optim.v.output_norm.weight"}) {
        const std::string dir = fresh_dir("nanupdate");
        std::filesystem::copy(out, dir, std::filesystem::copy_options::recursive);
        poison_tensor(dir + "/checkpoint.gguf", tensor, -1.0f);
        const std::string poisoned = read_file(dir + "/checkpoint.gguf");
        const auto r = run_command(stretch_binary() + " train " + tiny_args(dir, 4) + " --set checkpoint_every=1 --resume");
        const std::string parameter = std::string(tensor).substr(std::string("optim.v.").size());
        EXPECT_TRUE(one_line_error(r, "step 3: the update made '" + parameter + "' non-finite")) << tensor;
        EXPECT_TRUE(one_line_error(r, "checkpoint.gguf left as it was (step 2)")) << tensor;
        EXPECT_EQ(read_file(dir + "/checkpoint.gguf"), poisoned) << tensor << ": the checkpoint was overwritten";
    }
}

// Impossible hyper-parameters are refused when they are read, naming the key and the range.
TEST(CliTrain, ImpossibleHyperParametersAreRefusedAtParseTime) {
    const std::string out = fresh_dir("hyper");
    const std::pair<const char*, const char*> cases[] = {
        {"--set beta2=1", "--set beta2: found '1', expected a number in [0, 1)"},
        {"--set beta1=1", "--set beta1: found '1', expected a number in [0, 1)"},
        {"--set lr=1e39", "--set lr: found '1e39', expected a number in (0, 1]"},
        {"--set beta1=-0.1", "--set beta1: found '-0.1', expected a number in [0, 1)"},
        {"--set lr=0", "--set lr: found '0', expected a number in (0, 1]"},
        {"--set lr=nan", "--set lr: found 'nan', expected a number in (0, 1]"},
        {"--set adam_eps=0", "--set adam_eps: found '0', expected a number in (0, 1]"},
        {"--set steps=0", "--set steps: found '0', expected an integer in [1, 1099511627776]"},
        {"--set warmup_steps=-5", "--set warmup_steps: found '-5', expected an integer in [0, 1099511627776]"},
        {"--set seed=-1", "--set seed: found '-1', expected an integer in [0, 9007199254740992]"},
        {"--seed=-7", "--seed: found '-7', expected an integer in [0, 9007199254740992]"},
        {"--steps=-3", "--steps: found '-3', expected an integer in [1, 1099511627776]"},
        {"--set d_model=4611686018427387904", "--set d_model: found '4611686018427387904', expected an integer in [1, 16777216]"},
        {"--set eval_windows=0", "--set eval_windows: found '0', expected an integer in [1, 1048576]"},
        {"--set eval_every=-1", "--set eval_every: found '-1', expected an integer in [1, 1099511627776]"},
        {"--set n_ctx_train=3000000000", "--set n_ctx_train: found '3000000000', expected an integer in [1, 2147483647]"},
    };
    for (const auto& [flag, words] : cases) {
        const auto r = run_command(stretch_binary() + " train " + tiny_args(out, 5) + " " + flag);
        EXPECT_TRUE(one_line_error(r, words)) << flag;
    }
    // The same ranges hold for a config file, named in the error.
    const std::string config = out + "/config.json";
    std::ofstream(config) << R"({"lr": 0.001, "beta2": 1.5})";
    const auto f = run_command(stretch_binary() + " train " + tiny_args(out, 5) + " --config " + config);
    EXPECT_TRUE(one_line_error(f, config + ": beta2: found 1.5, expected a number in [0, 1)"));
    std::ofstream(config, std::ios::trunc) << R"({"seed": -3})";
    const auto g = run_command(stretch_binary() + " train " + tiny_args(out, 5) + " --config " + config);
    EXPECT_TRUE(one_line_error(g, config + ": seed: found -3, expected an integer in [0, 9007199254740992]"));
}

// What --resume keeps of the checkpoint instead of what --set, --config or --preset give is said.
TEST(CliTrain, ResumeSaysWhichGivenValuesTheCheckpointOverrides) {
    const std::string out = fresh_dir("overrides");
    ASSERT_EQ(run_command(stretch_binary() + " train " + tiny_args(out, 2)).status, 0);
    const auto r = run_command(stretch_binary() + " train " + tiny_args(out, 3) + " --set lr=0.01 --set d_ff=48 --resume");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("are ignored: d_ff = 64 (given 48), lr = 0.002 (given 0.01)"), std::string::npos) << r.output;
    const auto same = run_command(stretch_binary() + " train " + tiny_args(out, 4) + " --resume");
    ASSERT_EQ(same.status, 0) << same.output;
    EXPECT_EQ(same.output.find("ignored"), std::string::npos) << "nothing differs, nothing is said: " << same.output;
}

// Training data and vocabulary agree: a byte the model's vocabulary cannot hold is refused, in the
// training data, the validation text and an evaluated text, naming the file and the offset.
TEST(CliTrain, BytesOutsideTheVocabularyAreRefusedNamingFileAndOffset) {
    const std::string dir = fresh_dir("vocab");
    const std::string utf8 = dir + "/utf8.txt", low = dir + "/low.txt";
    write_file(utf8, read_file(data_file("austen-emma.txt")).substr(0, 4000) + "caf\xc3\xa9");
    write_file(low, std::string(2000, 'a') + "~" + std::string(100, 'b'));
    const std::string val = " --val " + data_file("austen-persuasion.txt");
    const auto a = run_command(stretch_binary() + " train --preset tiny --steps 2 --set vocab_size=128 --data " + utf8 + val +
                               " --out " + dir + "/a");
    EXPECT_TRUE(one_line_error(a, "--data " + utf8 + ": vocab_size 128: byte 195 (0xC3) at offset 4003 has no token; "
                                  "the vocabulary holds bytes 0x00..0x7F"));
    const auto b = run_command(stretch_binary() + " train --preset tiny --steps 2 --set vocab_size=100 --data " + low + val +
                               " --out " + dir + "/b");
    EXPECT_TRUE(one_line_error(b, "--data " + low + ": vocab_size 100: byte 126 (0x7E) at offset 2000 has no "
                                  "token"));
    const auto c = run_command(stretch_binary() + " train --preset tiny --steps 2 --set vocab_size=128 --data " + low +
                               " --val " + utf8 + " --out " + dir + "/c");
    EXPECT_TRUE(one_line_error(c, "--val " + utf8 + ": vocab_size 128: byte 195 (0xC3) at offset 4003 has no token"));
    // A model of 128 trained on ASCII evaluates ASCII, and refuses the text with a byte past it.
    ASSERT_EQ(run_command(stretch_binary() + " train --preset tiny --steps 2 --set vocab_size=128 --data " + low + " --val " +
                          low + " --out " + dir + "/m")
                  .status,
              0);
    const auto e = run_command(stretch_binary() + " eval --model " + dir + "/m --lengths 32 --text " + utf8);
    EXPECT_TRUE(one_line_error(e, "--text " + utf8 + ": " + dir + "/m/model.gguf: byte 195 (0xC3) at offset 4003 has no token"));
}

// One run per output folder: a second training into a folder another one is writing is refused.
TEST(CliTrain, ASecondRunIntoTheSameFolderIsRefused) {
    const std::string out = fresh_dir("twice");
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const std::string command = "exec " + stretch_binary() + " train " + tiny_args(out, 100000) + " > /dev/null 2>&1";
        execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!std::filesystem::exists(out + "/checkpoint.gguf") && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (const std::string& verb : {" train " + tiny_args(out, 5), " train " + tiny_args(out, 5) + " --resume"}) {
        const auto second = run_command(stretch_binary() + verb);
        EXPECT_TRUE(one_line_error(second, "--out " + out + ": another stretch run (pid " + std::to_string(child) +
                                               ") is writing into this folder; expected a folder of its own"));
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    // The kernel dropped the killed run's lock: the folder is free again, and resuming works.
    const auto resumed = run_command(stretch_binary() + " train " + tiny_args(out, 30) + " --resume");
    EXPECT_EQ(resumed.status, 0) << resumed.output;
}

// A killed atomic write leaves its temporary file; the next run into the folder removes it.
TEST(CliTrain, TemporariesOfAKilledWriteAreRemovedAtTheNextStart) {
    const std::string out = fresh_dir("stale");
    ASSERT_EQ(run_command(stretch_binary() + " train " + tiny_args(out, 2)).status, 0);
    for (const char* name : {"/checkpoint.gguf.tmp.99999.0", "/model.gguf.tmp.12345.3", "/log.jsonl.tmp.777.1"})
        write_file(out + name, "half a file");
    const auto r = run_command(stretch_binary() + " train " + tiny_args(out, 3) + " --resume");
    ASSERT_EQ(r.status, 0) << r.output;
    for (const auto& entry : std::filesystem::directory_iterator(out))
        EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

// A log write that fails (here the file-size limit, EFBIG; ENOSPC takes the same path) is an error,
// not a run that ends with exit 0 and a short log; and no signal (SIGXFSZ) ends the run.
TEST(CliTrain, AFailedLogWriteIsAnError) {
    const std::string out = fresh_dir("efbig");
    // 16 blocks of 512 bytes: the checkpoint (~110 KB) is only written at the end; the log passes
    // 8 KB after ~50 of its lines.
    const auto r = run_command("ulimit -f 16 && " + stretch_binary() + " train " + tiny_args(out, 400) +
                               " --set checkpoint_every=1000 --set log_every=1");
    EXPECT_TRUE(one_line_error(r, out + "/log.jsonl: write failed at step ")) << r.output;
    EXPECT_TRUE(one_line_error(r, ": File too large; training stopped before the first checkpoint")) << r.output;
}

// A file where the output folder should be, or a folder that cannot be made, is named.
TEST(CliTrain, AnOutputPathThatIsNotAFolderIsNamed) {
    const std::string dir = fresh_dir("outfile");
    write_file(dir + "/file", "x");
    for (const std::string& bad : {dir + "/file", dir + "/file/below"}) {
        const auto r = run_command(stretch_binary() + " train " + tiny_args(bad, 2));
        EXPECT_TRUE(one_line_error(r, "--out " + bad + ": cannot create the folder: Not a directory")) << bad;
    }
    const auto proc = run_command(stretch_binary() + " train " + tiny_args("/proc/stretch-out", 2));
    EXPECT_TRUE(one_line_error(proc, "--out /proc/stretch-out: cannot create the folder: "));
}

// ---- under mpirun ------------------------------------------------------------------------

namespace {

// One thread per rank, and one for the single process beside it: results are bit-identical for a
// given thread count (core/thread_pool.h), so the comparisons hold bit for bit.
std::string rank_args(const std::string& out, int steps) {
    return "--preset tiny --threads 1 --data " + data_file("austen-emma.txt") + " --data " +
           data_file("austen-northangerabbey.txt") + " --val " + data_file("austen-persuasion.txt") + " --steps " +
           std::to_string(steps) + " --set checkpoint_every=25 --out " + out;
}

// Every tensor of two checkpoints (weights and both moments), byte for byte.
void expect_same_tensors(const std::string& a_path, const std::string& b_path) {
    const auto a = gguf::reader::open(a_path), b = gguf::reader::open(b_path);
    ASSERT_EQ(a.tensors().size(), b.tensors().size());
    for (const auto& info : a.tensors()) {
        const auto x = a.tensor_bytes(info), y = b.tensor_bytes(b.require_tensor(info.name));
        ASSERT_EQ(x.size(), y.size()) << info.name;
        EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size()), 0) << info.name;
    }
}

}  // namespace

// The global batch cut into two ranks' slices and summed in rank order is the same arithmetic as one
// process summing two slices in turn (micro_batches = 2): bit-identical. Against one process with
// the batch in one piece it differs by float rounding only.
TEST(CliTrainMpi, TwoRanksEqualOneProcess) {
    if (mpirun(2).empty()) GTEST_SKIP() << without_mpi;
    const std::string two = fresh_dir("mpi2"), sliced = fresh_dir("mpisliced"), whole = fresh_dir("mpiwhole");
    const auto r = run_command(mpirun(2) + stretch_binary() + " train " + rank_args(two, 30));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("data-parallel: 2 ranks x 1 slice(s) of 2 sequences"), std::string::npos) << r.output;
    ASSERT_EQ(run_command(stretch_binary() + " train " + rank_args(sliced, 30) + " --set micro_batches=2").status, 0);
    ASSERT_EQ(run_command(stretch_binary() + " train " + rank_args(whole, 30)).status, 0);
    EXPECT_TRUE(same_log(two, sliced));
    expect_same_tensors(two + "/checkpoint.gguf", sliced + "/checkpoint.gguf");
    // One piece: the backward's GEMMs add the same products grouped otherwise (f32 rounding, ~1e-7),
    // and 30 AdamW steps carry it on. Measured 2.4e-7 at most; 1e-4 leaves 400x, while the loss of
    // another batch (a rank reading the wrong rows) differs by 1e-2 or more.
    const auto a = read_log(two), b = read_log(whole);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(), 1e-4) << "step " << a[i]["step"];
}

// ZeRO-1 (reduce-scatter, each rank's AdamW on its shard, all-gather of the parameters) makes the
// plain mean's element-wise arithmetic on the same numbers: every loss, weight and moment is equal,
// the moments gathered from both ranks into rank 0's checkpoint included.
TEST(CliTrainMpi, ZeroOneEqualsThePlainMean) {
    if (mpirun(2).empty()) GTEST_SKIP() << without_mpi;
    const std::string plain = fresh_dir("mpiplain"), zero = fresh_dir("mpizero");
    ASSERT_EQ(run_command(mpirun(2) + stretch_binary() + " train " + rank_args(plain, 30)).status, 0);
    const auto r = run_command(mpirun(2) + stretch_binary() + " train " + rank_args(zero, 30) + " --set zero=1");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("AdamW moments sharded (ZeRO-1)"), std::string::npos) << r.output;
    EXPECT_TRUE(same_log(plain, zero));
    expect_same_tensors(plain + "/checkpoint.gguf", zero + "/checkpoint.gguf");
}

// A rank killed with SIGKILL: OpenMPI ends the whole job (no rank left waiting in a collective), the
// last checkpoint rank 0 wrote loads, and resuming it (ZeRO-1: the moments scattered back to the
// ranks) gives every later loss and the final model of an uninterrupted run, bit for bit.
TEST(CliTrainMpi, AKilledRankStopsTheJobAndTheResumedRunMatchesAnUninterruptedOne) {
    if (mpirun(2).empty()) GTEST_SKIP() << without_mpi;
    constexpr int steps = 120;
    const std::string whole = fresh_dir("mpiuninterrupted"), killed = fresh_dir("mpikilled");
    const std::string args = " --set zero=1 --set log_every=1";
    ASSERT_EQ(run_command(mpirun(2) + stretch_binary() + " train " + rank_args(whole, steps) + args).status, 0);

    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t launcher = fork();
    ASSERT_GE(launcher, 0);
    if (launcher == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        const std::string command = "exec " + mpirun(2) + stretch_binary() + " train " + rank_args(killed, steps) + args;
        execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    close(fds[1]);
    // Once a checkpoint is written and training has moved on, kill rank 1: the process whose command
    // line names this run's folder and whose environment says it is rank 1 (a child of mpirun in
    // Open MPI 4, of its daemon in Open MPI 5).
    pid_t rank1 = -1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (rank1 < 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        if (!std::filesystem::exists(killed + "/checkpoint.gguf") || read_log(killed).size() < 30) continue;
        for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
            const std::string name = entry.path().filename().string();
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            const std::string command = read_file(entry.path().string() + "/cmdline");
            const std::string environment = read_file(entry.path().string() + "/environ");
            if (command.find(stretch_binary()) == 0 && command.find(killed) != std::string::npos &&
                environment.find(std::string("OMPI_COMM_WORLD_RANK=1\0", 23)) != std::string::npos)
                rank1 = pid_t(std::stol(name));
        }
    }
    ASSERT_GT(rank1, 0) << "rank 1 was not found";
    kill(rank1, SIGKILL);
    std::string output;
    std::array<char, 4096> buffer{};
    for (ssize_t n; (n = read(fds[0], buffer.data(), buffer.size())) > 0;) output.append(buffer.data(), std::size_t(n));
    close(fds[0]);
    int status = 0;
    waitpid(launcher, &status, 0);  // returns: the job ended instead of hanging
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << output;
    EXPECT_NE(output.find("exited on signal 9"), std::string::npos) << output;
    ASSERT_LT(read_log(killed).size(), std::size_t(steps)) << "the run finished before it could be killed; make it longer";

    EXPECT_NO_THROW(gguf::reader::open(killed + "/checkpoint.gguf"));
    const auto resumed = run_command(mpirun(2) + stretch_binary() + " train " + rank_args(killed, steps) + args + " --resume");
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_TRUE(same_log(whole, killed));
    EXPECT_EQ(read_file(whole + "/model.gguf"), read_file(killed + "/model.gguf"));
}

// What cannot be honoured under mpirun is refused in one line: a resume with another rank count
// (either way), a batch that does not cut into the ranks' slices, a verb that runs as one process.
TEST(CliTrainMpi, RefusalsAreOneErrorLine) {
    if (mpirun(2).empty()) GTEST_SKIP() << without_mpi;
    const std::string two = fresh_dir("mpicount2"), one = fresh_dir("mpicount1");
    ASSERT_EQ(run_command(mpirun(2) + stretch_binary() + " train " + rank_args(two, 3)).status, 0);
    const auto alone = run_command(stretch_binary() + " train " + rank_args(two, 5) + " --resume");
    EXPECT_TRUE(one_line_error(alone, two + "/checkpoint.gguf was written by 2 rank(s), this run has 1; resume with the "
                                      "same count (mpirun -np 2)"));
    ASSERT_EQ(run_command(stretch_binary() + " train " + rank_args(one, 3)).status, 0);
    const auto ranks = run_command(mpirun(2) + stretch_binary() + " train " + rank_args(one, 5) + " --resume");
    EXPECT_TRUE(one_error_of_the_job(ranks, "was written by 1 rank(s), this run has 2; resume with the same count "
                                            "(one process, without mpirun)"));

    const auto three = run_command(mpirun(3) + stretch_binary() + " train " + rank_args(fresh_dir("mpi3"), 3));
    EXPECT_TRUE(one_error_of_the_job(three, "batch_size = 4: does not cut into 3 rank(s) x micro_batches 1 = 3 equal "
                                            "slices; expected a multiple of 3"));
    const auto eval = run_command(mpirun(2) + stretch_binary() + " eval --model " + two + " --text " +
                                  data_file("austen-persuasion.txt"));
    EXPECT_TRUE(one_error_of_the_job(eval, "stretch eval: runs as one process; under mpirun only train, sweep, zoo and "
                                           "bench spread over the ranks"));
}

// A stretch without MPI started by a launcher as one of several ranks would run the whole job on
// each; it refuses instead (the variables are Open MPI's mpirun's).
TEST(CliTrain, LaunchedAsSeveralRanksWithoutMpiIsRefused) {
    if (!mpirun(2).empty()) GTEST_SKIP() << "stretch has MPI: CliTrainMpi tests run it under mpirun";
    const auto r = run_command("env OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 " + stretch_binary() + " train " +
                               rank_args(fresh_dir("nompi"), 3));
    EXPECT_TRUE(one_line_error(r, "started by an MPI launcher as one of 2 ranks, but this stretch was built without MPI"));
}

}  // namespace stretch::test
