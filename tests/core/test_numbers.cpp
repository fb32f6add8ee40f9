// core/numbers.h: every number a user writes is parsed whole, range-checked before use, and refused
// in one line naming what was written and the range accepted.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "core/numbers.h"

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

TEST(Numbers, IntegersInRangeParseAndOthersAreRefusedNamingTheRange) {
    const number_range tokens = integer_range(1, max_tokens);
    EXPECT_EQ(parse_integer("512", tokens, "-c"), 512);
    EXPECT_EQ(parse_integer("2147483648", tokens, "-c"), max_tokens);
    EXPECT_EQ(error_of([&] { parse_integer("4611686018427387904", tokens, "-c"); }),
              "-c: found '4611686018427387904', expected an integer in [1, 2147483648]");
    // Past int64, a float, an exponent, a sign, a space, nothing: each refused with the same words.
    for (const std::string bad : {"9223372036854775808", "1.5", "1e3", "-5", "0", " 5", "5 ", "", "0x10", "+-1", "abc"})
        EXPECT_EQ(error_of([&] { parse_integer(bad, tokens, "--bucket"); }),
                  "--bucket: found '" + bad + "', expected an integer in [1, 2147483648]")
            << bad;
    EXPECT_EQ(parse_integer("-5", integer_range(-10, 10), "x"), -5);
}

TEST(Numbers, RealsMustBeFiniteAndInsideOpenOrClosedBounds) {
    const number_range beta = real_range(0, 1, false, true);
    EXPECT_EQ(parse_real("0", beta, "beta1"), 0.0);
    EXPECT_EQ(parse_real("0.999", beta, "beta1"), 0.999);
    EXPECT_EQ(error_of([&] { parse_real("1", beta, "beta1"); }), "beta1: found '1', expected a number in [0, 1)");
    const number_range lr = real_range(0, 1, true);
    for (const std::string bad : {"0", "-1e-3", "1e39", "nan", "inf", "-inf", "1e400", "1.0.0", "0,5"})
        EXPECT_EQ(error_of([&] { parse_real(bad, lr, "lr"); }), "lr: found '" + bad + "', expected a number in (0, 1]")
            << bad;
    EXPECT_EQ(parse_real("1e-3", lr, "lr"), 1e-3);
    // An integer range takes no fraction or exponent even when the value would be whole.
    EXPECT_FALSE(parse_number("4.0", integer_range(0, 10)));
    // Integers are exact in double up to 2^53; a wider range never lets a rounded value through.
    EXPECT_FALSE(parse_number("9007199254740993", integer_range(0, max_exact_integer)));
}

TEST(Numbers, ParsedJsonValuesAreCheckedWithTheSameWords) {
    EXPECT_NO_THROW(check_in_range(16, integer_range(1, 64), "f.json: n_layer"));
    EXPECT_EQ(error_of([] { check_in_range(-3, integer_range(0, max_exact_integer), "f.json: seed"); }),
              "f.json: seed: found -3, expected an integer in [0, 9007199254740992]");
    EXPECT_EQ(error_of([] { check_in_range(2.5, integer_range(1, 64), "n"); }), "n: found 2.5, expected an integer in [1, 64]");
}

}  // namespace
}  // namespace stretch
