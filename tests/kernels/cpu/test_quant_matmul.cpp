// kernels/cpu/quant_matmul against a float64 product of the dequantised weights (kernels/cpu/dequant
// is bit-exact against gguf-py, test_dequant.cpp) and the f64 activations, for every type, every
// kernel, M = 1..9 (the four-row tiles and their remainders), odd block counts and thread splits
// that do not divide the rows. Random weight blocks: random quant bytes, scales of random f16 bits.
#include "kernels/cpu/quant_matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/dequant.h"
#include "support/kernel_compare.h"

namespace stretch {
namespace {

using gguf::ggml_type;

// A positive normal f16 in [2^-7, 2^-3): scales of the size real files have.
std::uint16_t random_f16_scale(std::mt19937_64& engine) {
    return std::uint16_t(((8 + engine() % 4) << 10) | (engine() % 1024));
}

cpu::quantized_matrix random_matrix(ggml_type type, std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
    std::mt19937_64 engine(seed);
    const auto& t = gguf::traits(type);
    const std::int64_t blocks = rows * cols / t.block_size;
    std::vector<std::byte> bytes(std::size_t(blocks) * t.type_size);
    for (auto& b : bytes) b = std::byte(engine() & 0xff);
    // The f16 fields: d at the block start for Q8_0/Q4_0/Q5_0, d and m (Q4_1), d and dmin (Q4_K); Q6_K's d
    // is its last two bytes.
    const int n_f16 = type == ggml_type::q4_1 || type == ggml_type::q4_k ? 2 : 1;
    const std::size_t first_f16 = type == ggml_type::q6_k ? 208 : 0;
    for (std::int64_t b = 0; b < blocks; ++b)
        for (int f = 0; f < n_f16; ++f) {
            std::uint16_t h = random_f16_scale(engine);
            if (type == ggml_type::q4_1 && f == 1 && engine() % 2) h |= 0x8000;  // Q4_1's min is usually negative
            std::memcpy(bytes.data() + std::size_t(b) * t.type_size + first_f16 + 2 * std::size_t(f), &h, 2);
        }
    return cpu::make_quantized_matrix(type, rows, cols, bytes.data(), "test");
}

struct reference {
    ref::vec y;            // x W^T in f64
    ref::vec quantisation;  // the most activation quantisation can move each output (see below)
    ref::vec rounding;      // the most f32 accumulation can
};

// Each x_i is replaced by a multiple of d = amax / 127 of its block: |x_i - x^_i| <= amax / 254, so
// |y_j - y^_j| <= sum_i |w_ji| amax(i) / 254. f32 accumulation of K terms adds K * 2^-24 * sum|w x|
// at worst; 1e-5 of sum|w x^| covers it for K <= 100.
reference reference_product(const cpu::quantized_matrix& w, const ref::vec& x, std::int64_t m) {
    const std::int64_t n = w.rows, k = w.cols;
    std::vector<float> wf(std::size_t(n * k));
    for (std::int64_t j = 0; j < n; ++j) cpu::dequantize_row(w, j, wf.data() + j * k);
    std::vector<double> amax(std::size_t(m * k / 32), 0.0);
    for (std::int64_t i = 0; i < m * k; ++i) amax[std::size_t(i / 32)] = std::max(amax[std::size_t(i / 32)], std::abs(x[std::size_t(i)]));
    reference r{ref::vec(std::size_t(m * n)), ref::vec(std::size_t(m * n)), ref::vec(std::size_t(m * n))};
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
            double sum = 0, quant = 0, magnitude = 0;
            for (std::int64_t c = 0; c < k; ++c) {
                const double wv = wf[std::size_t(j * k + c)], xv = x[std::size_t(i * k + c)];
                sum += wv * xv;
                quant += std::abs(wv) * amax[std::size_t((i * k + c) / 32)] / 254.0;
                magnitude += std::abs(wv) * (std::abs(xv) + amax[std::size_t((i * k + c) / 32)] / 254.0);
            }
            r.y[std::size_t(i * n + j)] = sum;
            r.quantisation[std::size_t(i * n + j)] = quant;
            r.rounding[std::size_t(i * n + j)] = 1e-5 * magnitude;
        }
    return r;
}

// Every kernel this CPU runs.
std::vector<cpu::quant_kernel> kernels() {
    std::vector<cpu::quant_kernel> all;
    for (const auto k : {cpu::quant_kernel::portable, cpu::quant_kernel::avx2, cpu::quant_kernel::avx512_vnni})
        if (cpu::quant_kernel_supported(k)) all.push_back(k);
    return all;
}

struct product_case {
    ggml_type type;
    std::int64_t m, k, n;
};

TEST(QuantMatmul, WithinTheActivationQuantisationBoundOfTheF64Product) {
    test::thread_count_guard guard;
    const std::vector<product_case> cases = {
        {ggml_type::q8_0, 1, 96, 5},  {ggml_type::q8_0, 7, 64, 13},  {ggml_type::q8_0, 9, 160, 3},
        {ggml_type::q4_0, 1, 32, 7},  {ggml_type::q4_0, 5, 96, 11},  {ggml_type::q4_0, 8, 128, 4},
        {ggml_type::q4_1, 1, 96, 13}, {ggml_type::q4_1, 7, 160, 5},  {ggml_type::q4_1, 4, 64, 9},
        {ggml_type::q5_0, 1, 96, 7},  {ggml_type::q5_0, 5, 160, 11}, {ggml_type::q5_0, 8, 64, 4},
        {ggml_type::q4_k, 1, 256, 5}, {ggml_type::q4_k, 7, 512, 3},  {ggml_type::q4_k, 3, 256, 10},
        {ggml_type::q6_k, 1, 256, 5}, {ggml_type::q6_k, 6, 512, 3},  {ggml_type::q6_k, 3, 256, 10},
        // Matrix-vector products (decode) over more rows than threads, with the row prefetch.
        {ggml_type::q8_0, 1, 64, 17}, {ggml_type::q4_0, 1, 96, 10},  {ggml_type::q4_1, 1, 160, 23},
        {ggml_type::q5_0, 1, 224, 19}, {ggml_type::q4_k, 1, 512, 9},  {ggml_type::q6_k, 1, 512, 11},
    };
    std::uint64_t seed = 1;
    for (const auto& c : cases)
        for (int threads : {1, 3}) {
            set_threads(threads);
            const auto w = random_matrix(c.type, c.n, c.k, ++seed);
            const ref::vec x = test::random_vec(c.m * c.k, ++seed);
            const reference want = reference_product(w, x, c.m);
            const std::vector<float> xf = test::as<float>(x);
            for (const auto kernel : kernels()) {
                std::vector<float> y(std::size_t(c.m * c.n), -1.0f);
                cpu::quantized_linear_integer(xf.data(), w, y.data(), c.m, kernel);
                for (std::size_t i = 0; i < y.size(); ++i)
                    ASSERT_LE(std::abs(double(y[i]) - want.y[i]), want.quantisation[i] + want.rounding[i])
                        << gguf::ggml_type_name(c.type) << " " << cpu::quant_kernel_name(kernel) << " m=" << c.m
                        << " k=" << c.k << " n=" << c.n << " threads=" << threads << " output " << i;
            }
        }
}

// Activations already on the 8-bit grid (integers with 127 in every block, so d = 1) are quantised
// exactly: then only f32 rounding separates the product from the f64 one (1e-5 of sum |w x|).
TEST(QuantMatmul, ExactOnActivationsThatAreAlreadyOnTheGrid) {
    test::thread_count_guard guard;
    set_threads(2);
    std::mt19937_64 engine(7);
    for (const ggml_type type :
         {ggml_type::q8_0, ggml_type::q4_0, ggml_type::q4_1, ggml_type::q5_0, ggml_type::q4_k, ggml_type::q6_k}) {
        const std::int64_t m = 6, k = 256, n = 9;
        const auto w = random_matrix(type, n, k, 11);
        ref::vec x(std::size_t(m * k));
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = i % 32 == 5 ? 127.0 : double(int(engine() % 255) - 127);
        const reference want = reference_product(w, x, m);
        const std::vector<float> xf = test::as<float>(x);
        for (const auto kernel : kernels()) {
            std::vector<float> y(std::size_t(m * n));
            cpu::quantized_linear_integer(xf.data(), w, y.data(), m, kernel);
            for (std::size_t i = 0; i < y.size(); ++i)
                ASSERT_LE(std::abs(double(y[i]) - want.y[i]), want.rounding[i])
                    << gguf::ggml_type_name(type) << " " << cpu::quant_kernel_name(kernel) << " output " << i;
        }
    }
}

// The prefill path multiplies f32 x by the dequantised weights: only f32 rounding, for every type,
// from M = 48 on through quantized_linear_forward, on a thread split that leaves slabs part-full.
TEST(QuantMatmul, DequantizedPathIsTheF32ProductForManyRows) {
    test::thread_count_guard guard;
    set_threads(3);
    std::uint64_t seed = 40;
    for (const ggml_type type :
         {ggml_type::q8_0, ggml_type::q4_0, ggml_type::q4_1, ggml_type::q5_0, ggml_type::q4_k, ggml_type::q6_k})
        for (const std::int64_t m : {48, 55}) {
            const std::int64_t k = 256, n = 70;
            const auto w = random_matrix(type, n, k, ++seed);
            const ref::vec x = test::random_vec(m * k, ++seed);
            const reference want = reference_product(w, x, m);
            const std::vector<float> xf = test::as<float>(x);
            std::vector<float> y(std::size_t(m * n));
            cpu::quantized_linear_forward(xf.data(), w, y.data(), m);
            for (std::size_t i = 0; i < y.size(); ++i)
                ASSERT_LE(std::abs(double(y[i]) - want.y[i]), want.rounding[i])
                    << gguf::ggml_type_name(type) << " m=" << m << " output " << i;
        }
}

// The input gradient through a frozen quantised W (LoRA training): dx += dy W against the f64 product
// of dy and the dequantised rows, accumulated onto what dx held; bound: f32 accumulation of N terms,
// N 2^-24 sum |dy w| at worst, 1e-5 of that sum as above (N = 70), on a thread split of dx's rows.
TEST(QuantMatmul, BackwardInputIsTheProductWithTheDequantisedWeights) {
    test::thread_count_guard guard;
    set_threads(3);
    std::uint64_t seed = 60;
    for (const ggml_type type : {ggml_type::q8_0, ggml_type::q4_1, ggml_type::q5_0, ggml_type::q4_k, ggml_type::q6_k}) {
        const std::int64_t m = 7, k = 256, n = 70;
        const auto w = random_matrix(type, n, k, ++seed);
        std::vector<float> wf(std::size_t(n * k));
        for (std::int64_t j = 0; j < n; ++j) cpu::dequantize_row(w, j, wf.data() + j * k);
        const std::vector<float> dy = test::as<float>(test::random_vec(m * n, ++seed));
        const std::vector<float> start = test::as<float>(test::random_vec(m * k, ++seed));
        std::vector<float> dx = start;
        cpu::quantized_linear_backward_input(dy.data(), w, dx.data(), m);
        for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t c = 0; c < k; ++c) {
                double want = start[std::size_t(i * k + c)], magnitude = std::abs(want);
                for (std::int64_t j = 0; j < n; ++j) {
                    const double term = double(dy[std::size_t(i * n + j)]) * double(wf[std::size_t(j * k + c)]);
                    want += term;
                    magnitude += std::abs(term);
                }
                ASSERT_LE(std::abs(double(dx[std::size_t(i * k + c)]) - want), 1e-5 * magnitude)
                    << gguf::ggml_type_name(type) << " dx[" << i << ", " << c << "]";
            }
    }
}

TEST(QuantMatmul, RejectsTypesAndShapesItCannotMultiply) {
    std::vector<std::byte> bytes(1024);
    EXPECT_THROW(cpu::make_quantized_matrix(ggml_type::q5_1, 1, 256, bytes.data(), "blk.0.ffn_up.weight"), error);
    EXPECT_THROW(cpu::make_quantized_matrix(ggml_type::q4_1, 2, 48, bytes.data(), "blk.0.ffn_up.weight"), error);
    try {
        cpu::make_quantized_matrix(ggml_type::q4_k, 1, 128, bytes.data(), "blk.0.ffn_up.weight");
        FAIL();
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("blk.0.ffn_up.weight"), std::string::npos) << e.what();
    }
}

TEST(QuantMatmul, DequantizedRowIsTheDequantisationOfThatRow) {
    const auto w = random_matrix(ggml_type::q4_1, 3, 64, 5);
    std::vector<float> all(3 * 64), row(64);
    cpu::dequantize(w.type, w.data.data(), all.data(), 3 * 64);
    cpu::dequantize_row(w, 2, row.data());
    EXPECT_EQ(row, std::vector<float>(all.begin() + 128, all.end()));
}

}  // namespace
}  // namespace stretch
