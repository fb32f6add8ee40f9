// `stretch finetune` as a user runs it, on a tiny byte-level model trained for two steps: exact
// resume after SIGKILL for every method (full and LoRA language modelling, ladder side-tuning
// classification, a linear probe trained on passage prefixes), the files each writes,
// context-extension positions carried by model.gguf, and one-line errors for bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "support/cli.h"
#include "support/training_run.h"

namespace stretch::test {

namespace {

// A tiny model (d_model 32, 2 layers, n_ctx_train 32), trained once for the whole suite.
const std::string& base_model() {
    static const std::string dir = [] {
        const std::string out = fresh_dir("ftbase");
        const auto r = run_command(stretch_binary() + " train --preset tiny --threads 2 --steps 2 --data " +
                                   data_file("austen-emma.txt") + " --val " + data_file("austen-persuasion.txt") +
                                   " --out " + out);
        EXPECT_EQ(r.status, 0) << r.output;
        return out;
    }();
    return dir;
}

// Two classes of passages, 120 bytes each from two novels: 40 per class to train, 8 held out.
struct passage_files {
    std::string train, val;
};
const passage_files& passages() {
    static const passage_files files = [] {
        const std::string dir = fresh_dir("ftdata");
        passage_files f{dir + "/train.jsonl", dir + "/val.jsonl"};
        std::ostringstream train, val;
        for (const char* novel : {"emma", "persuasion"}) {
            const std::string text = read_file(data_file(std::string("austen-") + novel + ".txt"));
            for (int i = 0; i < 48; ++i) {
                const std::string passage = text.substr(20000 + std::size_t(i) * 500, 120);
                (i < 40 ? train : val) << nlohmann::json{{"text", passage}, {"label", novel}}.dump() << "\n";
            }
        }
        write_file(f.train, train.str());
        write_file(f.val, val.str());
        return f;
    }();
    return files;
}

struct finetune_case {
    const char* method;
    const char* task;
    const char* extra;
};

// `val`: the held-out file ("": the task's own).
std::string finetune_args(const finetune_case& c, const std::string& out, int steps, int context = 32,
                          const std::string& val = "") {
    const bool lm = std::string(c.task) == "lm";
    const std::string data = " --data " + (lm ? data_file("austen-emma.txt") : passages().train) + " --val " +
                             (!val.empty() ? val : lm ? data_file("austen-persuasion.txt") : passages().val);
    return "-m " + base_model() + " --threads 2 --method " + c.method + " --task " + c.task + data + " --context " +
           std::to_string(context) + " " +
           "--steps " + std::to_string(steps) + " --set batch_size=4 --set checkpoint_every=25 --set log_every=1 " +
           "--set eval_every=50 --set eval_windows=2 --set lr=1e-3 " + c.extra + " --out " + out;
}

}  // namespace

class CliFinetuneResume : public ::testing::TestWithParam<finetune_case> {};

// As tests/cli/test_cmd_train.cpp's: the killed and resumed run logs the uninterrupted run's losses
// bit for bit, and ends with byte-identical files. LST's checkpoint holds side-network and head
// tensors and their moments alone.
TEST_P(CliFinetuneResume, KilledWithSigkillResumesBitIdentical) {
    constexpr int steps = 100;
    const finetune_case c = GetParam();
    const std::string whole = fresh_dir("ftwhole"), killed = fresh_dir("ftkilled");
    const auto w = run_command(stretch_binary() + " finetune " + finetune_args(c, whole, steps));
    ASSERT_EQ(w.status, 0) << w.output;
    ASSERT_TRUE(killed_after_checkpoint("finetune " + finetune_args(c, killed, steps), killed, 30))
        << "the run finished before it could be killed; make it longer";
    ASSERT_LT(read_log(killed).size(), std::size_t(steps)) << "killed after its last step; make it longer";

    const auto resumed = run_command(stretch_binary() + " finetune " + finetune_args(c, killed, steps) + " --resume");
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_TRUE(same_log(whole, killed));
    const auto checkpoint = gguf::reader::open(whole + "/checkpoint.gguf");
    if (std::string(c.method) == "lst") {  // the backbone has no trained values and no optimizer state to save
        for (const auto& t : checkpoint.tensors()) {
            EXPECT_TRUE(t.name.starts_with("lst.") || t.name.starts_with("cls.") || t.name.starts_with("optim.m.lst.") ||
                        t.name.starts_with("optim.v.lst.") || t.name.starts_with("optim.m.cls.") ||
                        t.name.starts_with("optim.v.cls."))
                << t.name;
        }
    }
    for (const auto& entry : std::filesystem::directory_iterator(whole)) {
        const std::string name = entry.path().filename().string();
        if (name.ends_with(".gguf")) {
            EXPECT_EQ(read_file(whole + "/" + name), read_file(killed + "/" + name)) << name;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(CliFinetune, CliFinetuneResume,
                         ::testing::Values(finetune_case{"full", "lm", ""}, finetune_case{"lora", "lm", "--lora-rank 4"},
                                           finetune_case{"lst", "classify",
                                                         "--objective exact --set lst_width=16 --set lst_heads=2 "
                                                         "--set lst_ffn=32 --set lst_layers=2"},
                                           finetune_case{"probe", "classify", "--pooling mean --set prefixes=true"}),
                         [](const auto& info) { return std::string(info.param.method) + "_" + info.param.task; });

// LoRA language modelling writes the merged model (with the run's positions as its own: context
// extension at twice n_ctx_train) and llama.cpp's adapter; classification writes finetuned.gguf with
// its classes and logs the held-out accuracy.
TEST(CliFinetune, WritesEachMethodsFiles) {
    const std::string lora = fresh_dir("ftlora");
    const auto r = run_command(stretch_binary() + " finetune " +
                               finetune_args({"lora", "lm", "--pos linear:factor=2 --lora-targets q,v"}, lora, 3, 64));
    ASSERT_EQ(r.status, 0) << r.output;
    const auto model = gguf::reader::open(lora + "/model.gguf");
    EXPECT_EQ(model.get_string("stretch.pos"), "linear:factor=2");
    EXPECT_EQ(model.get_i64("stretch.n_ctx_train"), 32);
    const auto adapter = gguf::reader::open(lora + "/adapter.gguf");
    EXPECT_EQ(adapter.get_string("adapter.type"), "lora");
    EXPECT_EQ(adapter.tensors().size(), 2u * 2u * 2u);  // q and v of 2 layers, A and B
    const auto e = run_command(stretch_binary() + " eval --threads 2 --model " + lora + " --text " +
                               data_file("austen-persuasion.txt") + " --lengths 64 --tokens 128");
    EXPECT_EQ(e.status, 0) << e.output;
    const std::string yarn = fresh_dir("ftyarn");  // full fine-tuning at 2x with YaRN
    const auto y = run_command(stretch_binary() + " finetune " + finetune_args({"full", "lm", "--pos yarn:factor=2"}, yarn, 2, 64));
    ASSERT_EQ(y.status, 0) << y.output;
    EXPECT_EQ(gguf::reader::open(yarn + "/model.gguf").get_string("stretch.pos"), "yarn:factor=2");

    const std::string classify = fresh_dir("ftclassify");
    const auto c = run_command(stretch_binary() + " finetune " +
                               finetune_args({"full", "classify", "--objective hinge --pooling mean"}, classify, 3));
    ASSERT_EQ(c.status, 0) << c.output;
    const auto out = gguf::reader::open(classify + "/finetuned.gguf");
    EXPECT_EQ(out.get_array_string("stretch.finetune.classes"), (std::vector<std::string>{"emma", "persuasion"}));
    EXPECT_EQ(out.require_tensor("cls.weight").shape, (shape_t{2, 32}));
    const auto log = read_log(classify);
    ASSERT_FALSE(log.empty());
    EXPECT_TRUE(log.back().contains("val_accuracy")) << log.back().dump();

    const std::string probe = fresh_dir("ftprobe");  // a linear probe: the head is all it trains and saves
    const auto p = run_command(stretch_binary() + " finetune " + finetune_args({"probe", "classify", ""}, probe, 3));
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_NE(p.output.find("66 trainable parameters"), std::string::npos) << p.output;  // 2 x 32 + 2
    EXPECT_EQ(gguf::reader::open(probe + "/finetuned.gguf").tensors().size(), 2u);
}

TEST(CliFinetune, BadInputIsOneLine) {
    const std::string out = fresh_dir("ftbad");
    const finetune_case lm{"full", "lm", ""};
    const auto shape = run_command(stretch_binary() + " finetune " + finetune_args(lm, out, 2) + " --set d_model=64");
    EXPECT_TRUE(one_line_error(shape, "--set d_model: d_model is a key of the model's shape, which stretch finetune "
                                      "takes from -m"));
    const auto method = run_command(stretch_binary() + " finetune " + finetune_args({"qlora", "lm", ""}, out, 2));
    EXPECT_TRUE(one_line_error(method, "--method: found 'qlora', expected one of full, lora, lst, probe"));
    const auto objective =
        run_command(stretch_binary() + " finetune " + finetune_args({"full", "classify", "--objective mse"}, out, 2));
    EXPECT_TRUE(one_line_error(objective, "--objective: found 'mse', expected one of ce, hinge, exact, exact_log"));
    const auto targets = run_command(stretch_binary() + " finetune " + finetune_args(lm, out, 2) + " --lora-targets q,x");
    EXPECT_TRUE(one_line_error(targets, "--lora-targets: found 'x' in 'q,x', expected a comma-separated list of q, k, v"));
    const auto rank = run_command(stretch_binary() + " finetune " + finetune_args(lm, out, 2) + " --lora-rank 0");
    EXPECT_TRUE(one_line_error(rank, "--lora-rank: found '0', expected an integer in [1, 65536]"));

    const std::string bad_val = out + "/bad.jsonl";
    write_file(bad_val, "{\"text\": \"Once\", \"label\": \"emma\"}\n{\"text\": \"upon\", \"label\": \"mansfield\"}\n");
    const auto label =
        run_command(stretch_binary() + " finetune " + finetune_args({"full", "classify", ""}, out, 2, 32, bad_val));
    EXPECT_TRUE(one_line_error(label, "--val " + bad_val + ":2: label 'mansfield' is not one of the training data's "
                                      "classes: emma, persuasion"));
    write_file(bad_val, "{\"text\": \"Once\", \"label\": \"emma\"}\n{\"text\": \"upon\", \"label\": \"emma\"\n");
    const auto malformed =
        run_command(stretch_binary() + " finetune " + finetune_args({"full", "classify", ""}, out, 2, 32, bad_val));
    EXPECT_TRUE(one_line_error(malformed, "--val " + bad_val + ":2: not a JSON object; expected {\"text\": \"...\", "
                                          "\"label\": ...} on each line"));
    write_file(bad_val, "{\"text\": \"Once\"}\n");
    const auto missing =
        run_command(stretch_binary() + " finetune " + finetune_args({"full", "classify", ""}, out, 2, 32, bad_val));
    EXPECT_TRUE(one_line_error(missing, "--val " + bad_val + ":1: \"label\" is missing; expected a string or an integer"));

    const auto train = run_command(stretch_binary() + " train --preset tiny --steps 2 --data " + data_file("austen-emma.txt") +
                                   " --val " + data_file("austen-persuasion.txt") + " --set method=lora --out " +
                                   fresh_dir("ftkeys"));
    EXPECT_TRUE(one_line_error(train, "run config: the command line sets fine-tuning keys"));
}

// A resume must read the model the checkpoint was fine-tuned from.
TEST(CliFinetune, ResumeWithAnotherModelIsRefused) {
    const std::string out = fresh_dir("ftother");
    const finetune_case lm{"lora", "lm", ""};
    ASSERT_EQ(run_command(stretch_binary() + " finetune " + finetune_args(lm, out, 2)).status, 0);
    const std::string other = fresh_dir("ftotherbase");
    ASSERT_EQ(run_command(stretch_binary() + " train --preset tiny --threads 2 --steps 1 --set d_ff=48 --data " +
                          data_file("austen-emma.txt") + " --val " + data_file("austen-persuasion.txt") + " --out " + other)
                  .status,
              0);
    std::string args = finetune_args(lm, out, 4);
    args.replace(args.find(base_model()), base_model().size(), other);
    const auto r = run_command(stretch_binary() + " finetune " + args + " --resume");
    EXPECT_TRUE(one_line_error(r, "-m " + other + ": d_ff = 48, but " + out + "/checkpoint.gguf was fine-tuned from a "
                                  "model with d_ff = 64; resume with that model"));
}

}  // namespace stretch::test
