// kernels/cpu/dequant against llama.cpp's Python gguf package (gguf-py), an implementation
// independent of ggml's C code and of stretch: every supported type on fixed data
// (tests/reference/make_dequant_fixture.py), rows of the real SmolLM2-135M Q4_1 model (Q8_0 and
// Q4_1 tensors), a hand-built Q4_0 block (the nibble order), unaligned input, and the errors.
// Comparisons are bit-exact: every product in a dequantisation is exact in f32, leaving at most one
// rounding per value, so no evaluation order or FMA contraction can change a bit (dequant.cpp).
#include "kernels/cpu/dequant.h"

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stretch {
namespace {

using gguf::ggml_type;

std::string fixture(const std::string& name) { return std::string(STRETCH_SOURCE_DIR) + "/tests/fixtures/dequant/" + name; }

std::vector<unsigned char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << path;
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> read_f32(const std::string& path) {
    auto bytes = read_bytes(path);
    std::vector<float> out(bytes.size() / sizeof(float));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
    return out;
}

// Index of the first value whose bits differ, or -1.
std::int64_t first_difference(const std::vector<float>& got, const float* want) {
    for (std::size_t i = 0; i < got.size(); ++i)
        if (std::bit_cast<std::uint32_t>(got[i]) != std::bit_cast<std::uint32_t>(want[i])) return std::int64_t(i);
    return -1;
}

const std::vector<ggml_type> supported = {ggml_type::f32,  ggml_type::f16,  ggml_type::bf16, ggml_type::q8_0,
                                          ggml_type::q5_0, ggml_type::q4_0, ggml_type::q4_1, ggml_type::q4_k,
                                          ggml_type::q6_k};

TEST(Dequant, EveryTypeMatchesGgufPy) {
    for (ggml_type type : supported) {
        const auto& traits = gguf::traits(type);
        SCOPED_TRACE(traits.name);
        const auto raw = read_bytes(fixture(std::string(traits.name) + ".bin"));
        const auto want = read_f32(fixture(std::string(traits.name) + ".expected.f32"));
        const auto n = std::int64_t(want.size());
        ASSERT_EQ(n, 512);
        ASSERT_EQ(raw.size(), std::size_t(n / traits.block_size) * traits.type_size);

        std::vector<float> got(want.size());
        cpu::dequantize(type, raw.data(), got.data(), n);
        const auto at = first_difference(got, want.data());
        EXPECT_EQ(at, -1) << "value " << at << ": " << got[std::size_t(std::max<std::int64_t>(at, 0))] << ", gguf-py "
                          << want[std::size_t(std::max<std::int64_t>(at, 0))];

        // Blocks are independent: each 256-value row alone, and from an odd address.
        const std::size_t row_bytes = raw.size() / 2;
        for (std::size_t row = 0; row < 2; ++row) {
            std::vector<unsigned char> shifted(row_bytes + 1);
            std::memcpy(shifted.data() + 1, raw.data() + row * row_bytes, row_bytes);
            std::vector<float> part(256);
            cpu::dequantize(type, shifted.data() + 1, part.data(), 256);
            EXPECT_EQ(first_difference(part, want.data() + row * 256), -1) << "row " << row;
        }
    }
}

// Q4_0 by hand: the low nibbles are the first 16 values, the high nibbles the last 16.
TEST(Dequant, Q40NibbleOrder) {
    unsigned char block[18] = {0x00, 0x38};  // f16 0.5
    for (int j = 0; j < 16; ++j) block[2 + j] = static_cast<unsigned char>(j | ((15 - j) << 4));
    std::vector<float> y(32);
    cpu::dequantize(ggml_type::q4_0, block, y.data(), 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[std::size_t(j)], float(j - 8) * 0.5f) << j;
        EXPECT_EQ(y[std::size_t(j + 16)], float(7 - j) * 0.5f) << j;
    }
}

TEST(Dequant, SupportedTypesAndErrors) {
    for (ggml_type type : supported) EXPECT_TRUE(cpu::can_dequantize(type)) << gguf::ggml_type_name(type);
    for (ggml_type type : {ggml_type::q5_1, ggml_type::q5_k, ggml_type::q2_k, ggml_type::iq2_xxs, ggml_type::f64,
                           ggml_type::i8, ggml_type::mxfp4})
        EXPECT_FALSE(cpu::can_dequantize(type)) << gguf::ggml_type_name(type);

    float y[256];
    const unsigned char zeros[210] = {};
    try {
        cpu::dequantize(ggml_type::q5_k, zeros, y, 256);
        ADD_FAILURE() << "expected stretch::error";
    } catch (const stretch::error& e) {
        EXPECT_STREQ(e.what(),
                     "dequantize: tensor type q5_k is not supported; f32, f16, bf16, q8_0, q5_0, q4_0, q4_1, q4_k and q6_k "
                     "are");
    }
    try {
        cpu::dequantize(ggml_type::q6_k, zeros, y, 128);
        ADD_FAILURE() << "expected stretch::error";
    } catch (const stretch::error& e) {
        EXPECT_STREQ(e.what(), "dequantize: 128 values of type q6_k, expected a multiple of its block size 256");
    }
    cpu::dequantize(ggml_type::q4_0, zeros, y, 0);  // nothing to do, not an error
}

// $STRETCH_CACHE or ~/.cache/stretch, where scripts/get_smollm2.sh and get_gemma3.sh put the models.
std::string cached_model(const std::string& file) {
    const char* cache = std::getenv("STRETCH_CACHE");
    const char* home = std::getenv("HOME");
    const std::string dir = cache ? cache : std::string(home ? home : "") + "/.cache/stretch";
    return dir + "/" + file;
}

// Rows of a real model's tensors, and their sums, against gguf-py's dequantisation.
void expect_rows_match_gguf_py(const std::string& file, const std::string& fixture_name, const char* script) {
    const std::string path = cached_model(file);
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found; " << script << " fetches it";
    const auto model = gguf::reader::open(path);
    std::ifstream manifest_file(fixture(fixture_name + ".json"));
    const auto manifest = nlohmann::json::parse(manifest_file);
    const auto want = read_f32(fixture(fixture_name + ".f32"));

    for (const auto& entry : manifest["tensors"]) {
        const auto name = entry["tensor"].get<std::string>();
        SCOPED_TRACE(name);
        const auto& info = model.require_tensor(name);
        ASSERT_EQ(gguf::ggml_type_name(info.type), entry["type"].get<std::string>());
        ASSERT_EQ(info.shape, entry["shape"].get<shape_t>());
        const std::int64_t cols = info.shape[1];
        const auto& traits = gguf::traits(info.type);
        const std::size_t row_bytes = std::size_t(cols / traits.block_size) * traits.type_size;
        const auto bytes = model.tensor_bytes(info);

        std::vector<float> row(std::size_t(cols), 0.0f);
        const auto offset = entry["offset"].get<std::size_t>();
        const auto rows = entry["rows"].get<std::vector<std::int64_t>>();
        for (std::size_t k = 0; k < rows.size(); ++k) {
            cpu::dequantize(info.type, bytes.data() + std::size_t(rows[k]) * row_bytes, row.data(), cols);
            const auto at = first_difference(row, want.data() + offset + k * std::size_t(cols));
            EXPECT_EQ(at, -1) << "row " << rows[k] << " column " << at;
        }

        // The whole tensor, by its sums: gguf-py sums pairwise and this sequentially, so they agree
        // to ~1e-15 of the sum of |x|, far inside 1e-9; one value off by its typical size (the mean
        // |x|) moves them by 1/numel of it, >= 3.5e-8 for these tensors.
        double sum = 0, sum_abs = 0;
        for (std::int64_t r = 0; r < info.shape[0]; ++r) {
            cpu::dequantize(info.type, bytes.data() + std::size_t(r) * row_bytes, row.data(), cols);
            for (float v : row) {
                sum += v;
                sum_abs += std::abs(v);
            }
        }
        const double scale = entry["sum_abs"].get<double>();
        EXPECT_NEAR(sum, entry["sum"].get<double>(), 1e-9 * scale);
        EXPECT_NEAR(sum_abs, scale, 1e-9 * scale);
    }
}

TEST(Dequant, SmolLM2RowsMatchGgufPy) {
    expect_rows_match_gguf_py("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2_rows", "scripts/get_smollm2.sh");
}

// Gemma-3-270M's Q5_0, Q8_0, Q4_K and Q6_K tensors.
TEST(Dequant, Gemma3RowsMatchGgufPy) {
    expect_rows_match_gguf_py("gemma-3-270m-q4_k_m.gguf", "gemma3_rows", "scripts/get_gemma3.sh");
}

}  // namespace
}  // namespace stretch
