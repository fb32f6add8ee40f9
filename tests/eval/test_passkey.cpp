// Passkey retrieval (eval/passkey.h): the prompt is byte-identical to llama.cpp's
// examples/passkey/passkey.cpp for the same n_junk, i_pos and key (the expected text below is that
// program's string concatenation written out), the answer parser, and the sweep's choice of n_junk
// for a target length.
#include "eval/passkey.h"

#include <gtest/gtest.h>

#include "io/tokenizer_byte.h"

namespace stretch {
namespace {

TEST(Passkey, PromptIsLlamaCppsPasskeyPrompt) {
    const std::string junk = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
    const std::string want =
        "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz "
        "you about the important information there." +
        junk + " The pass key is 4217. Remember it. 4217 is the pass key." + junk + junk +
        " What is the pass key? The pass key is";
    EXPECT_EQ(passkey_prompt(3, 1, 4217), want);
    // The needle appears exactly once, also at the last copy.
    const std::string last = passkey_prompt(3, 2, 99);
    EXPECT_EQ(last.find("The pass key is 99."), last.rfind("The pass key is 99."));
    EXPECT_NE(last.find("99 is the pass key." + junk + " What"), std::string::npos);
}

TEST(Passkey, FirstIntegerOfTheAnswer) {
    EXPECT_EQ(first_integer(" 4217. Remember it."), 4217);
    EXPECT_EQ(first_integer(" is 007, or 8"), 7);
    EXPECT_EQ(first_integer(" unknown"), -1);
}

TEST(Passkey, JunkCountFitsTheTargetLength) {
    model_config c;
    c.d_model = 16;
    c.n_layer = 1;
    c.n_head = 2;
    c.n_head_kv = 1;
    c.d_ff = 16;
    c.n_ctx_train = 64;
    transformer model(c);  // zero weights: the answers are meaningless, the prompt sizes are not
    const auto tok = make_byte_tokenizer("bytes");
    passkey_request request;
    request.lengths = {1000};
    request.depths = {0, 1};
    request.trials = 1;
    const auto cells = run_passkey(model, *tok, request);
    ASSERT_EQ(cells.size(), 2u);
    const std::int64_t junk_bytes = 90;  // one filler copy
    for (const auto& cell : cells) {
        EXPECT_LE(cell.prompt_tokens, 1000);
        EXPECT_GT(cell.prompt_tokens, 1000 - junk_bytes);
        EXPECT_EQ(cell.trials, 1);
    }
}

}  // namespace
}  // namespace stretch
