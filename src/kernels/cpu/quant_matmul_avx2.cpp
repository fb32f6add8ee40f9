// The AVX2 block dot products of quant_matmul.h, for x86-64 CPUs without AVX-512 VNNI (every x86-64
// CPU since 2013 has AVX2). Compiled with target attributes, so the file builds whatever -march says
// and runs only where best_quant_kernel() found the instructions.
// One block of 32 values per step: its weights as 32 unsigned (or, for Q8_0, absolute) bytes in one
// register, multiplied with the block's 32 activation bytes by vpmaddubsw (u8 x s8, pairs summed to
// s16) and vpmaddwd with ones (pairs of those summed to s32), as ggml's AVX2 mul_sum_us8_pairs does:
// the 16-bit pair sums cannot saturate (|w| <= 128 and |x| <= 127 give at most 32,512). Q6_K's scale
// per 16 values replaces vpmaddwd's ones (ggml's AVX2 ggml_vec_dot_q6_K_q8_K multiplies by its
// scales there too). The 8 s32 lanes are converted to f32 and scaled by the weight and activation
// scales. Terms that depend only
// on a block's activation sum (Q4_0's -8, Q5_0's -16, Q4_1's and Q4_K's mins) are added once per
// block from q8_rows::s.
#include "kernels/cpu/quant_matmul.h"

#include "core/error.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define STRETCH_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace stretch::cpu {

namespace {

using gguf::ggml_type;

// One block: 32 weights as bytes, the weight scale and the coefficient of the activation sum.
struct block {
    __m256i q;
    float scale, offset;
};

// A Q6_K block: as `block`, with the multipliers of vpmaddwd's 16 pair sums: pairs 0-7 cover values
// 0-15 and take the first sub-block's int8 scale, pairs 8-15 the second's.
struct sub_scaled_block {
    __m256i q;
    float scale, offset;
    __m256i pair_scales;
};

STRETCH_AVX2 inline float load_f16(const std::byte* p) {
    std::uint16_t h;
    __builtin_memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h);
}

// 16 bytes of nibbles -> [low nibbles | high nibbles]: values 0-15 and 16-31 of a Q4_0/Q4_1 block.
STRETCH_AVX2 inline __m256i unpack_q4(const std::byte* qs) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m128i nibble = _mm_set1_epi8(0x0f);
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(bytes, nibble)),
                                   _mm_and_si128(_mm_srli_epi16(bytes, 4), nibble), 1);
}

struct load_q8_0 {
    static constexpr bool is_signed = true;
    STRETCH_AVX2 static block at(const std::byte* w, std::int64_t b) {
        const std::byte* blk = w + b * 34;
        return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2)), load_f16(blk), 0.0f};
    }
};

struct load_q4_0 {
    static constexpr bool is_signed = false;
    STRETCH_AVX2 static block at(const std::byte* w, std::int64_t b) {
        const std::byte* blk = w + b * 18;
        const float d = load_f16(blk);
        return {unpack_q4(blk + 2), d, -8.0f * d};
    }
};

struct load_q4_1 {
    static constexpr bool is_signed = false;
    STRETCH_AVX2 static block at(const std::byte* w, std::int64_t b) {
        const std::byte* blk = w + b * 20;
        return {unpack_q4(blk + 4), load_f16(blk), load_f16(blk + 2)};
    }
};

// Q5_0: Q4_0's nibbles plus a fifth bit per value, bit i of the u32 qh for value i (ggml-common.h's
// block_q5_0). The 32 bits become 32 bytes, 0xff where the bit is set: byte i takes qh's byte i / 8
// (vpshufb within each 128-bit half, both halves holding the whole word) and is compared, under the
// mask 1 << (i % 8), with that mask; the set bytes add 16 to their nibble.
struct load_q5_0 {
    static constexpr bool is_signed = false;
    STRETCH_AVX2 static block at(const std::byte* w, std::int64_t b) {
        const std::byte* blk = w + b * 22;
        std::uint32_t qh;
        __builtin_memcpy(&qh, blk + 2, sizeof qh);
        const __m256i byte_of_bit = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
        const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(int(qh)), byte_of_bit);
        const __m256i bit = _mm256_set1_epi64x(std::int64_t(0x8040201008040201));
        const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
        const __m256i q = _mm256_or_si256(unpack_q4(blk + 6), _mm256_and_si256(set, _mm256_set1_epi8(16)));
        const float d = load_f16(blk);
        return {q, d, -16.0f * d};
    }
};

// Q4_K: block b is sub-block j = b % 8 of the 256-value block b / 8; sub-blocks 2p and 2p + 1 share
// 32 bytes, the first in their low nibbles.
struct load_q4_k {
    static constexpr bool is_signed = false;
    STRETCH_AVX2 static block at(const std::byte* w, std::int64_t b) {
        const std::byte* blk = w + (b / 8) * 144;
        const int j = int(b % 8);
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * (j / 2)));
        const __m256i q = _mm256_and_si256(j % 2 == 0 ? v : _mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
        int sc, m;
        q4_k_scale_min(j, blk + 4, sc, m);
        return {q, load_f16(blk) * float(sc), -load_f16(blk + 2) * float(m)};
    }
};

// Q6_K: block b is values 32j..32j+31 (j = b % 8) of the 256-value block b / 8, two 16-value
// sub-blocks with their own int8 scales (q6_k_values_of). Its weights q - 32 are signed, as Q8_0's.
struct load_q6_k {
    static constexpr bool is_signed = true;
    STRETCH_AVX2 static sub_scaled_block at(const std::byte* w, std::int64_t b) {
        const std::byte* blk = w + (b / 8) * 210;
        const q6_k_values v = q6_k_values_of(int(b % 8));
        const __m256i ql = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + v.ql));
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + v.qh));
        const __m256i low = _mm256_and_si256(_mm256_srl_epi16(ql, _mm_cvtsi32_si128(v.ql_shift)), _mm256_set1_epi8(0x0f));
        const __m256i top = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(v.qh_shift)), _mm256_set1_epi8(3));
        const __m256i q = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(top, 4)), _mm256_set1_epi8(32));
        // The two int8 scales, each repeated over eight bytes, widened to 16 bits.
        std::uint16_t scales;
        __builtin_memcpy(&scales, blk + v.scales, sizeof scales);
        const __m128i repeated = _mm_shuffle_epi8(_mm_cvtsi32_si128(scales), _mm_set_epi64x(0x0101010101010101, 0));
        return {q, load_f16(blk + 208), 0.0f, _mm256_cvtepi8_epi16(repeated)};
    }
};

// u8 x s8 products summed four at a time into 8 s32 lanes.
STRETCH_AVX2 inline __m256i dot_u8_s8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// A block's 32 weight bytes `u` against 32 activation bytes: dot_u8_s8, with Q6_K's sub-block scales
// weighting the pair sums (at most 2 x 32 x 127 x 128 per lane: no overflow).
template <class Block>
STRETCH_AVX2 inline __m256i block_dot(const Block& blk, __m256i u, __m256i s) {
    if constexpr (requires { blk.pair_scales; })
        return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), blk.pair_scales);
    else
        return dot_u8_s8(u, s);
}

STRETCH_AVX2 inline float sum_lanes(__m256 v) {
    const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 pairs = _mm_add_ps(half, _mm_movehl_ps(half, half));
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
}

// One weight row against R activation rows.
template <class Load, int R>
STRETCH_AVX2 void dot_tile(const std::byte* w, const q8_rows& x, const std::int64_t* x_rows, float* out,
                           std::int64_t n_blocks) {
    const std::int8_t* xq[R];
    const float* xds[R];
    __m256 acc[R];
    float offset[R];
    for (int r = 0; r < R; ++r) {
        xq[r] = x.qs_row(x_rows[r]);
        xds[r] = x.ds_row(x_rows[r]);
        acc[r] = _mm256_setzero_ps();
        offset[r] = 0;
    }
    for (std::int64_t b = 0; b < n_blocks; ++b) {
        const auto blk = Load::at(w, b);
        const __m256i wq = Load::is_signed ? _mm256_abs_epi8(blk.q) : blk.q;
        for (int r = 0; r < R; ++r) {
            __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[r] + 32 * b));
            if constexpr (Load::is_signed) v = _mm256_sign_epi8(v, blk.q);  // x with w's sign (0 where w is)
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_dot(blk, wq, v)), _mm256_set1_ps(blk.scale * xds[r][2 * b]), acc[r]);
            offset[r] += blk.offset * xds[r][2 * b + 1];
        }
    }
    for (int r = 0; r < R; ++r) out[r] = sum_lanes(acc[r]) + offset[r];
}

template <class Load>
STRETCH_AVX2 void dot_rows_of(const std::byte* w, const q8_rows& x, const std::int64_t* x_rows, int count, float* out,
                              std::int64_t n_blocks) {
    switch (count) {
        case 1: dot_tile<Load, 1>(w, x, x_rows, out, n_blocks); break;
        case 2: dot_tile<Load, 2>(w, x, x_rows, out, n_blocks); break;
        case 3: dot_tile<Load, 3>(w, x, x_rows, out, n_blocks); break;
        case 4: dot_tile<Load, 4>(w, x, x_rows, out, n_blocks); break;
        default: STRETCH_ASSERT(false);
    }
}

}  // namespace

void dot_rows_avx2(const quantized_matrix& w, std::int64_t w_row, const q8_rows& x, const std::int64_t* x_rows,
                   int count, float* out) {
    const std::byte* row = w.row(w_row);
    const std::int64_t n_blocks = w.cols / 32;
    switch (w.type) {
        case ggml_type::q8_0: dot_rows_of<load_q8_0>(row, x, x_rows, count, out, n_blocks); break;
        case ggml_type::q4_0: dot_rows_of<load_q4_0>(row, x, x_rows, count, out, n_blocks); break;
        case ggml_type::q4_1: dot_rows_of<load_q4_1>(row, x, x_rows, count, out, n_blocks); break;
        case ggml_type::q5_0: dot_rows_of<load_q5_0>(row, x, x_rows, count, out, n_blocks); break;
        case ggml_type::q4_k: dot_rows_of<load_q4_k>(row, x, x_rows, count, out, n_blocks); break;
        case ggml_type::q6_k: dot_rows_of<load_q6_k>(row, x, x_rows, count, out, n_blocks); break;
        default: STRETCH_ASSERT(false);  // make_quantized_matrix admits only these
    }
}

STRETCH_AVX2 double int8_dot_loop_avx2(std::int64_t iterations) {
    // 12 accumulators cover the pair's latency (vpmaddubsw + vpmaddwd, ~10 cycles) times its ports.
    __m256i acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_epi32(i);
    const __m256i u = _mm256_set1_epi8(3), s = _mm256_set1_epi8(-2);
    for (std::int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < 12; ++i) acc[i] = _mm256_add_epi32(acc[i], dot_u8_s8(u, s));
    __m256i sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm256_add_epi32(sum, acc[i]);
    volatile std::int32_t sink = _mm256_extract_epi32(sum, 0);
    (void)sink;
    return double(iterations) * 12 * 32 * 2;
}

}  // namespace stretch::cpu

#else

namespace stretch::cpu {

void dot_rows_avx2(const quantized_matrix&, std::int64_t, const q8_rows&, const std::int64_t*, int, float*) {
    STRETCH_ASSERT(false);  // best_quant_kernel() never picks it off x86-64
}

double int8_dot_loop_avx2(std::int64_t) {
    STRETCH_ASSERT(false);  // best_quant_kernel() never picks it off x86-64
    return 0;
}

}  // namespace stretch::cpu

#endif
