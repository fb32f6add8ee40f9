// Matrix products with the weights left in their GGUF block format (Q8_0, Q4_0, Q4_1, Q5_0, Q4_K,
// Q6_K):
// y[M, N] = x[M, K] W[N, K]^T for inference. The design is llama.cpp's (ggml-cpu's vec_dot_q*_q8_*
// kernels): every row of x is first quantised to 8-bit blocks of 32 values (a scale d = max|x| / 127
// and the integer block sum, ggml's Q8_1, whose sum carries Q4_0's and Q5_0's offsets and Q4_1's /
// Q4_K's min term), then each output is a sum over blocks of integer dot products times the two scales.
// Hand-written integer kernels are what the field uses for this (ggml, llama.cpp, llamafile's
// tinyBLAS): no BLAS multiplies 4-bit by 8-bit integers. Three implementations of the block dot
// products, chosen at run time: AVX-512 VNNI (vpdpbusd, u8 x s8 -> s32), AVX2 (vpmaddubsw +
// vpmaddwd) and a portable scalar one.
// Activation quantisation is the only approximation: its relative error is at most 1/254 of each
// block's largest |x| per value (round to nearest on a grid of max|x|/127).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/gguf.h"

namespace stretch::cpu {

// A weight matrix [rows, cols] as its GGUF bytes: row-major, each row a whole number of blocks.
struct quantized_matrix {
    gguf::ggml_type type = gguf::ggml_type::q8_0;
    std::int64_t rows = 0, cols = 0;
    std::size_t row_bytes = 0;
    std::vector<std::byte> data;

    const std::byte* row(std::int64_t r) const { return data.data() + static_cast<std::size_t>(r) * row_bytes; }
};

// The types quantized_linear_forward multiplies directly.
bool can_multiply_quantized(gguf::ggml_type type);
// Copies `bytes` (rows x cols values of `type`); a type it cannot multiply, or cols not a whole
// number of blocks, is a stretch::error naming `name`.
quantized_matrix make_quantized_matrix(gguf::ggml_type type, std::int64_t rows, std::int64_t cols,
                                       const void* bytes, const std::string& name);

enum class quant_kernel { portable, avx2, avx512_vnni };
// Whether this CPU runs the kernel (portable: always).
bool quant_kernel_supported(quant_kernel kernel);
// The fastest supported: AVX-512 VNNI, else AVX2, else portable.
quant_kernel best_quant_kernel();
const char* quant_kernel_name(quant_kernel kernel);

// Integer operations (a u8 x s8 multiply-add counts 2) done by `iterations` rounds of a register-only
// loop of the kernel's dot instructions on 12 independent accumulators (vpdpbusd for avx512_vnni,
// vpmaddubsw + vpmaddwd for avx2):
// what `stretch bench` divides by the time to get the integer-dot peak, beside which it reports the
// products, as it reports f32 products beside the FMA peak. 0 for the portable kernel (no such
// instruction to measure).
double int8_dot_loop(quant_kernel kernel, std::int64_t iterations);

// y[M, N] = x[M, K] W^T with N = w.rows, K = w.cols, split over the thread pool by output rows of W:
// integer dot products for M < 48 (decode, short prompts), f32 sgemm on dequantised slabs of W from
// M = 48 on, where each weight is reused enough for the BLAS to win (measured: docs/performance.md).
void quantized_linear_forward(const float* x, const quantized_matrix& w, float* y, std::int64_t m);
// The two ways, for tests and benchmarks.
void quantized_linear_integer(const float* x, const quantized_matrix& w, float* y, std::int64_t m,
                              quant_kernel kernel = best_quant_kernel());
void quantized_linear_dequantized(const float* x, const quantized_matrix& w, float* y, std::int64_t m);

// dx[M, K] += dy[M, N] W[N, K]: the input's gradient of y = x W^T for a frozen quantised W (LoRA
// training keeps the base in its blocks, train/lora.h). Slabs of dequantised rows of W through the
// f32 sgemm, split over the thread pool by rows of dx, so each thread dequantises all of W once.
void quantized_linear_backward_input(const float* dy, const quantized_matrix& w, float* dx, std::int64_t m);

// Row `r` of W as f32 (an embedding lookup on a quantised table).
void dequantize_row(const quantized_matrix& w, std::int64_t r, float* out);

// ---- the pieces, shared by the two implementations -------------------------------------------

// x's rows quantised to blocks of 32: qs[row * K + i] in [-127, 127], and per block (row * K / 32 + b)
// its scale d and s = d * sum(qs of the block), interleaved: ds[2 (row * K / 32 + b)] = d, [... + 1] = s,
// so that one 128-bit load gives a pair of blocks' four factors (the AVX-512 kernel multiplies them
// by the weights' four at once).
struct q8_rows {
    std::int64_t rows = 0, cols = 0;
    std::vector<std::int8_t> qs;
    std::vector<float> ds;

    const std::int8_t* qs_row(std::int64_t r) const { return qs.data() + r * cols; }
    const float* ds_row(std::int64_t r) const { return ds.data() + 2 * r * (cols / 32); }
};
// Quantises rows [r0, r1) of x [rows, cols] into out (sized by the caller: see quantized_linear_forward).
void quantize_rows_q8(const float* x, std::int64_t r0, std::int64_t r1, q8_rows& out);

// Q4_K's 6-bit scale and min of sub-block j (0..7) from its twelve scale bytes (ggml's
// get_scale_min_k4; dequant.cpp's layout comment).
inline void q4_k_scale_min(int j, const std::byte* scales, int& scale, int& min) {
    const auto q = [&](int i) { return std::to_integer<int>(scales[i]); };
    if (j < 4) {
        scale = q(j) & 63;
        min = q(j + 4) & 63;
    } else {
        scale = (q(j + 4) & 0x0f) | ((q(j - 4) >> 6) << 4);
        min = (q(j + 4) >> 4) | ((q(j) >> 6) << 4);
    }
}

// Where the 32 values 32j..32j+31 (j = 0..7) of a Q6_K block (210 bytes: ql[128], qh[64], int8
// scales[16], f16 d at 208; ggml-common.h's block_q6_K, dequant.cpp's from_q6_k) keep their bits:
// each half h = j / 4 of 128 values reads ql[64h..] and qh[32h..]; with k = j % 4, value i takes bits
// ql_shift..+3 of ql byte i (from offset ql) as its low four and bits qh_shift..+1 of qh byte i as
// its top two, and values 0-15 and 16-31 take the int8 scales at `scales` and `scales` + 1.
struct q6_k_values {
    int ql, ql_shift, qh, qh_shift, scales;
};
constexpr q6_k_values q6_k_values_of(int j) {
    const int h = j / 4, k = j % 4;
    return {64 * h + 32 * (k % 2), 4 * (k / 2), 128 + 32 * h, 2 * k, 192 + 2 * j};
}

// The dot product of one weight row with rows x_rows[0..count) of `x` (count <= 4), into out[0..count).
void dot_rows_portable(const quantized_matrix& w, std::int64_t w_row, const q8_rows& x, const std::int64_t* x_rows,
                       int count, float* out);
void dot_rows_avx512_vnni(const quantized_matrix& w, std::int64_t w_row, const q8_rows& x, const std::int64_t* x_rows,
                          int count, float* out);
void dot_rows_avx2(const quantized_matrix& w, std::int64_t w_row, const q8_rows& x, const std::int64_t* x_rows,
                   int count, float* out);
// The register-only loops of int8_dot_loop.
double int8_dot_loop_avx512_vnni(std::int64_t iterations);
double int8_dot_loop_avx2(std::int64_t iterations);
// The portable dot of blocks [b0, b1) of 32 values (the AVX-512 kernel's tail of an odd block count).
float dot_blocks_portable(gguf::ggml_type type, const std::byte* w_row, const q8_rows& x, std::int64_t x_row,
                          std::int64_t b0, std::int64_t b1);

}  // namespace stretch::cpu
