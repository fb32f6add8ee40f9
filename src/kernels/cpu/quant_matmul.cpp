// Quantised products: activation quantisation, the portable block dot products, the run-time
// choice of kernel and the threading. Block layouts as in dequant.cpp (ggml-common.h); the dot
// products are ggml-quants.c's ggml_vec_dot_q8_0_q8_0, _q4_0_q8_0, _q4_1_q8_1, _q5_0_q8_0, _q4_K_q8_K
// and _q6_K_q8_K regrouped by blocks of 32 (Q4_K's sub-blocks are 32 values and Q6_K's 16, so one
// activation block per 32 values replaces Q8_K's blocks of 256 and is the more accurate of the two).
#include "kernels/cpu/quant_matmul.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dequant.h"
#include "kernels/cpu/gemm.h"

namespace stretch::cpu {

namespace {

using gguf::ggml_type;

float load_f16(const std::byte* p) {
    std::uint16_t h;
    std::memcpy(&h, p, sizeof h);
    return gguf::f16_to_f32(h);
}

std::int32_t dot_nibbles(const std::byte* qs, bool high, const std::int8_t* x) {
    std::int32_t sum = 0;
    for (int i = 0; i < 32; ++i) {
        const auto b = std::to_integer<int>(qs[i]);
        sum += (high ? b >> 4 : b & 0x0f) * x[i];
    }
    return sum;
}

// Q4_0 and Q4_1 keep a block's 32 nibbles in 16 bytes: low nibbles are values 0..15, high 16..31.
std::int32_t dot_q4_block(const std::byte* qs, const std::int8_t* x) {
    std::int32_t sum = 0;
    for (int i = 0; i < 16; ++i) {
        const auto b = std::to_integer<int>(qs[i]);
        sum += (b & 0x0f) * x[i] + (b >> 4) * x[i + 16];
    }
    return sum;
}

// Q5_0 adds a fifth bit to Q4_0's nibbles: bit i of the block's little-endian u32 qh is the high
// bit of value i (ggml-quants.c's dequantize_row_q5_0).
std::int32_t dot_q5_block(const std::byte* qh_bytes, const std::byte* qs, const std::int8_t* x) {
    std::uint32_t qh;
    std::memcpy(&qh, qh_bytes, sizeof qh);  // host order is little-endian (io/gguf.cpp asserts it)
    std::int32_t sum = 0;
    for (int i = 0; i < 16; ++i) {
        const auto b = std::to_integer<int>(qs[i]);
        sum += ((b & 0x0f) | int((qh >> i) & 1) << 4) * x[i] + ((b >> 4) | int((qh >> (i + 16)) & 1) << 4) * x[i + 16];
    }
    return sum;
}

// Values 32j..32j+31 (j = 0..7) of a Q6_K block against 32 activations: sum of sc (q - 32) x over
// its two 16-value sub-blocks, the layout of q6_k_values in quant_matmul.h.
std::int32_t dot_q6_k_block(const std::byte* blk, int j, const std::int8_t* x) {
    const q6_k_values v = q6_k_values_of(j);
    const std::byte* ql = blk + v.ql;
    const std::byte* qh = blk + v.qh;
    std::int32_t half[2] = {0, 0};
    for (int i = 0; i < 32; ++i) {
        const int low = (std::to_integer<int>(ql[i]) >> v.ql_shift) & 0x0f;
        const int high = (std::to_integer<int>(qh[i]) >> v.qh_shift) & 3;
        half[i / 16] += ((low | high << 4) - 32) * x[i];
    }
    const auto* sc = reinterpret_cast<const std::int8_t*>(blk + v.scales);
    return sc[0] * half[0] + sc[1] * half[1];
}

}  // namespace

bool can_multiply_quantized(ggml_type type) {
    return type == ggml_type::q8_0 || type == ggml_type::q4_0 || type == ggml_type::q4_1 || type == ggml_type::q5_0 ||
           type == ggml_type::q4_k || type == ggml_type::q6_k;
}

quantized_matrix make_quantized_matrix(ggml_type type, std::int64_t rows, std::int64_t cols, const void* bytes,
                                       const std::string& name) {
    if (!can_multiply_quantized(type))
        fail("{}: type {}; expected Q8_0, Q4_0, Q4_1, Q5_0, Q4_K or Q6_K for a quantised product", name, gguf::ggml_type_name(type));
    const auto& traits = gguf::traits(type);
    if (rows <= 0 || cols <= 0 || cols % traits.block_size != 0)
        fail("{}: shape [{}, {}]; expected rows of a whole number of {}-value {} blocks", name, rows, cols,
             traits.block_size, gguf::ggml_type_name(type));
    quantized_matrix w{type, rows, cols, static_cast<std::size_t>(cols / traits.block_size) * traits.type_size, {}};
    w.data.resize(static_cast<std::size_t>(rows) * w.row_bytes);
    std::memcpy(w.data.data(), bytes, w.data.size());
    return w;
}

bool quant_kernel_supported(quant_kernel kernel) {
#if defined(__x86_64__) && defined(__GNUC__)
    // The kernels also convert half-precision scales (F16C), which every AVX2 CPU has; clang 14's
    // __builtin_cpu_supports cannot name "f16c" (the fuzz build compiles this file with clang).
    static const bool avx512_vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    switch (kernel) {
        case quant_kernel::avx512_vnni: return avx512_vnni;
        case quant_kernel::avx2: return avx2;
        case quant_kernel::portable: return true;
    }
#endif
    return kernel == quant_kernel::portable;
}

quant_kernel best_quant_kernel() {
    for (const quant_kernel k : {quant_kernel::avx512_vnni, quant_kernel::avx2})
        if (quant_kernel_supported(k)) return k;
    return quant_kernel::portable;
}

const char* quant_kernel_name(quant_kernel kernel) {
    switch (kernel) {
        case quant_kernel::avx512_vnni: return "avx512_vnni";
        case quant_kernel::avx2: return "avx2";
        case quant_kernel::portable: break;
    }
    return "portable";
}

double int8_dot_loop(quant_kernel kernel, std::int64_t iterations) {
    switch (kernel) {
        case quant_kernel::avx512_vnni: return int8_dot_loop_avx512_vnni(iterations);
        case quant_kernel::avx2: return int8_dot_loop_avx2(iterations);
        case quant_kernel::portable: break;
    }
    return 0.0;
}

void quantize_rows_q8(const float* x, std::int64_t r0, std::int64_t r1, q8_rows& out) {
    const std::int64_t k = out.cols, nb = k / 32;
    for (std::int64_t r = r0; r < r1; ++r)
        for (std::int64_t b = 0; b < nb; ++b) {
            const float* v = x + r * k + b * 32;
            float amax = 0;
            for (int i = 0; i < 32; ++i) amax = std::max(amax, std::abs(v[i]));
            const float d = amax / 127.0f, inv = d > 0 ? 1.0f / d : 0.0f;
            std::int8_t* q = out.qs.data() + r * k + b * 32;
            std::int32_t sum = 0;
            for (int i = 0; i < 32; ++i) {
                q[i] = static_cast<std::int8_t>(std::nearbyint(v[i] * inv));  // to nearest, ties to even
                sum += q[i];
            }
            out.ds[std::size_t(2 * (r * nb + b))] = d;
            out.ds[std::size_t(2 * (r * nb + b) + 1)] = d * float(sum);
        }
}

float dot_blocks_portable(ggml_type type, const std::byte* w, const q8_rows& x, std::int64_t x_row, std::int64_t b0,
                          std::int64_t b1) {
    const std::int8_t* xq = x.qs_row(x_row);
    const float* ds = x.ds_row(x_row);
    float sum = 0;
    for (std::int64_t b = b0; b < b1; ++b) {
        const std::int8_t* q = xq + b * 32;
        const float xd = ds[2 * b], xs = ds[2 * b + 1];
        switch (type) {
            case ggml_type::q8_0: {  // w = d qs
                const std::byte* blk = w + b * 34;
                const auto* qs = reinterpret_cast<const std::int8_t*>(blk + 2);
                std::int32_t dot = 0;
                for (int i = 0; i < 32; ++i) dot += qs[i] * q[i];
                sum += load_f16(blk) * xd * float(dot);
                break;
            }
            case ggml_type::q4_0: {  // w = d (q - 8): d dx sum(q x) - 8 d (dx sum(x))
                const std::byte* blk = w + b * 18;
                const float d = load_f16(blk);
                sum += d * xd * float(dot_q4_block(blk + 2, q)) - 8.0f * d * xs;
                break;
            }
            case ggml_type::q4_1: {  // w = d q + m: d dx sum(q x) + m (dx sum(x))
                const std::byte* blk = w + b * 20;
                sum += load_f16(blk) * xd * float(dot_q4_block(blk + 4, q)) + load_f16(blk + 2) * xs;
                break;
            }
            case ggml_type::q5_0: {  // w = d (q - 16), q in 0..31: as Q4_0 with offset 16
                const std::byte* blk = w + b * 22;
                const float d = load_f16(blk);
                sum += d * xd * float(dot_q5_block(blk + 2, blk + 6, q)) - 16.0f * d * xs;
                break;
            }
            case ggml_type::q4_k: {  // sub-block j of a 256-value block: w = d sc_j q - dmin m_j
                const std::byte* blk = w + (b / 8) * 144;
                const int j = int(b % 8);
                int sc, m;
                q4_k_scale_min(j, blk + 4, sc, m);
                const std::int32_t dot = dot_nibbles(blk + 16 + 32 * (j / 2), j % 2 == 1, q);
                sum += load_f16(blk) * float(sc) * xd * float(dot) - load_f16(blk + 2) * float(m) * xs;
                break;
            }
            case ggml_type::q6_k: {  // values 32j.. of a 256-value block: w = d sc (q - 32), sc per 16 values
                const std::byte* blk = w + (b / 8) * 210;
                sum += load_f16(blk + 208) * xd * float(dot_q6_k_block(blk, int(b % 8), q));
                break;
            }
            default: STRETCH_ASSERT(false);  // make_quantized_matrix admits only these
        }
    }
    return sum;
}

void dot_rows_portable(const quantized_matrix& w, std::int64_t w_row, const q8_rows& x, const std::int64_t* x_rows,
                       int count, float* out) {
    for (int i = 0; i < count; ++i) out[i] = dot_blocks_portable(w.type, w.row(w_row), x, x_rows[i], 0, w.cols / 32);
}

namespace {

// Many rows of x (a prefill) reuse every weight many times: then the BLAS's f32 sgemm on slabs of
// dequantised weight rows beats the integer dot products, and the dequantisation, once per slab,
// costs a few percent. `stretch bench --model M --prefill R` measures both on layer 0's ffn_up: on
// a Zen 4 the integer products won at 16 and 32 rows on SmolLM2 (Q4_1) and Gemma-3 (Q5_0), the two
// were within 15 % of each other at 48 and 64, and the sgemm won from 128 (docs/performance.md).
constexpr std::int64_t min_rows_for_sgemm = 48;
constexpr std::int64_t slab_rows = 64;  // 64 x K f32 weights: well inside L2 for K up to 4096

}  // namespace

void quantized_linear_dequantized(const float* x, const quantized_matrix& w, float* y, std::int64_t m) {
    const std::int64_t k = w.cols, n = w.rows;
    pool().parallel_for(n, [&](std::int64_t j0, std::int64_t j1, int) {
        thread_local std::vector<float> slab;  // this worker's own
        for (std::int64_t jb = j0; jb < j1; jb += slab_rows) {
            const std::int64_t rows = std::min(slab_rows, j1 - jb);
            slab.resize(std::size_t(rows * k));
            for (std::int64_t r = 0; r < rows; ++r) dequantize_row(w, jb + r, slab.data() + r * k);
            gemm<float>(false, true, m, rows, k, 1.0f, x, k, slab.data(), k, 0.0f, y + jb, n);
        }
    });
}

void quantized_linear_backward_input(const float* dy, const quantized_matrix& w, float* dx, std::int64_t m) {
    const std::int64_t k = w.cols, n = w.rows;
    pool().parallel_for(m, [&](std::int64_t i0, std::int64_t i1, int) {
        thread_local std::vector<float> slab;  // this worker's own
        for (std::int64_t jb = 0; jb < n; jb += slab_rows) {
            const std::int64_t rows = std::min(slab_rows, n - jb);
            slab.resize(std::size_t(rows * k));
            for (std::int64_t r = 0; r < rows; ++r) dequantize_row(w, jb + r, slab.data() + r * k);
            gemm<float>(false, false, i1 - i0, k, rows, 1.0f, dy + i0 * n + jb, n, slab.data(), k, 1.0f, dx + i0 * k, k);
        }
    });
}

void quantized_linear_integer(const float* x, const quantized_matrix& w, float* y, std::int64_t m,
                              quant_kernel kernel) {
    const std::int64_t k = w.cols, n = w.rows;
    // Reused across calls (decode makes hundreds of small products per token); workers reach it
    // through this reference, never as their own thread_local.
    thread_local q8_rows buffer;
    q8_rows& xq = buffer;
    xq.rows = m;
    xq.cols = k;
    xq.qs.resize(std::size_t(m * k));
    xq.ds.resize(std::size_t(2 * m * k / 32));
    auto& tp = pool();
    if (m == 1)
        quantize_rows_q8(x, 0, 1, xq);
    else
        tp.parallel_for(m, [&](std::int64_t r0, std::int64_t r1, int) { quantize_rows_q8(x, r0, r1, xq); });
    const auto dot_rows = kernel == quant_kernel::avx512_vnni ? dot_rows_avx512_vnni
                          : kernel == quant_kernel::avx2      ? dot_rows_avx2
                                                              : dot_rows_portable;
    // Output rows of W split over threads; each weight row meets the activation rows four at a time,
    // so its blocks are unpacked once per four rows of x.
    tp.parallel_for(n, [&](std::int64_t j0, std::int64_t j1, int) {
        std::int64_t rows[4];
        float out[4];
        for (std::int64_t j = j0; j < j1; ++j) {
            if (j + 4 < j1)
                for (std::size_t b = 0; b < w.row_bytes; b += 64) __builtin_prefetch(w.row(j + 4) + b);
            for (std::int64_t i0 = 0; i0 < m; i0 += 4) {
                const int count = int(std::min<std::int64_t>(4, m - i0));
                for (int i = 0; i < count; ++i) rows[i] = i0 + i;
                dot_rows(w, j, xq, rows, count, out);
                for (int i = 0; i < count; ++i) y[(i0 + i) * n + j] = out[i];
            }
        }
    });
}

void quantized_linear_forward(const float* x, const quantized_matrix& w, float* y, std::int64_t m) {
    if (m >= min_rows_for_sgemm)
        quantized_linear_dequantized(x, w, y, m);
    else
        quantized_linear_integer(x, w, y, m);
}

void dequantize_row(const quantized_matrix& w, std::int64_t r, float* out) {
    STRETCH_ASSERT(r >= 0 && r < w.rows);
    dequantize(w.type, w.row(r), out, w.cols);
}

}  // namespace stretch::cpu
