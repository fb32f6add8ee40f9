// train/run_config.h's key table holds each key's range: a value outside it is refused wherever it
// comes from (--set, a config file, a checkpoint's stored config, a config built in code), naming
// the key and the range, before any training arithmetic sees it.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "train/run_config.h"

namespace stretch {
namespace {

std::string error_of(auto&& f) {
    try {
        f();
    } catch (const error& e) {
        return e.what();
    }
    return "";
}

TEST(RunConfig, AssignmentsOutsideAKeysRangeAreRefused) {
    run_config c = preset("tiny");
    EXPECT_EQ(error_of([&] { apply_assignment(c, "beta2=1"); }), "--set beta2: found '1', expected a number in [0, 1)");
    EXPECT_EQ(error_of([&] { apply_assignment(c, "lr=1e39"); }), "--set lr: found '1e39', expected a number in (0, 1]");
    EXPECT_EQ(error_of([&] { apply_assignment(c, "n_layer=4611686018427387904"); }),
              "--set n_layer: found '4611686018427387904', expected an integer in [1, 65536]");
    EXPECT_EQ(error_of([&] { apply_assignment(c, "tie_embeddings=maybe"); }), "--set tie_embeddings: found 'maybe', expected true or false");
    apply_assignment(c, "beta2=0.999");
    EXPECT_EQ(c.train.beta2, 0.999);
    EXPECT_EQ(to_json(preset("tiny")), to_json(preset("tiny")));  // nothing above touched a preset
}

TEST(RunConfig, JsonValuesAreHeldToTheSameRanges) {
    run_config c = preset("tiny");
    EXPECT_EQ(error_of([&] { apply_json(c, {{"seed", -1}}, "f.json"); }),
              "f.json: seed: found -1, expected an integer in [0, 9007199254740992]");
    EXPECT_EQ(error_of([&] { apply_json(c, {{"warmup_steps", 18446744073709551615ull}}, "f.json"); }),
              "f.json: warmup_steps: found 1.844674407e+19, expected an integer in [0, 1099511627776]");
    EXPECT_EQ(error_of([&] { apply_json(c, {{"eval_windows", 0}}, "ckpt.gguf (stretch.config)"); }),
              "ckpt.gguf (stretch.config): eval_windows: found 0, expected an integer in [1, 1048576]");
    EXPECT_EQ(error_of([&] { apply_json(c, {{"lr", "0.1"}}, "f.json"); }), "f.json: lr: found \"0.1\", expected a number in (0, 1]");
}

TEST(RunConfig, ConfigsBuiltInCodeAreCheckedByTheSameTable) {
    run_config c = preset("default");
    EXPECT_NO_THROW(check_ranges(c, "run config"));
    c.train.beta1 = 1.0;
    EXPECT_EQ(error_of([&] { check_ranges(c, "run config"); }), "run config: beta1: found 1, expected a number in [0, 1)");
    c = preset("default");
    c.model.d_ff = -3;
    EXPECT_EQ(error_of([&] { check_ranges(c, "zoo entry 'x'"); }), "zoo entry 'x': d_ff: found -3, expected an integer in [1, 16777216]");
}

}  // namespace
}  // namespace stretch
