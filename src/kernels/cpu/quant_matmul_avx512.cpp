// The AVX-512 VNNI block dot products of quant_matmul.h. Compiled with target attributes, so the
// file builds whatever -march says and runs only where best_quant_kernel() found the instructions.
// Each step takes 64 weights (two blocks of 32) into one register of unsigned bytes and multiplies
// it with 64 activation bytes by vpdpbusd (u8 x s8, four products summed into each s32 lane, as
// ggml's AVX-512 VNNI path does); lanes 0-7 then hold block A's partial sums and 8-15 block B's,
// converted to f32 and scaled by (weight scale x activation scale) of their block. Q8_0's and Q6_K's
// weights are signed: vpdpbusd takes |w| and x with w's sign (ggml's mul_sum_i8_pairs). Q6_K's scale
// per 16 values multiplies the four s32 lanes of those values after vpdpbusd. Terms that depend only on
// a block's activation sum (Q4_0's -8, Q5_0's -16, Q4_1's and Q4_K's mins) are added once per block
// from q8_rows's s.
// The per-block factors travel as one 128-bit vector per pair, so that a matrix-vector product
// (decode) spends its instructions on the weights' bytes rather than on scalar scale arithmetic.
#include "kernels/cpu/quant_matmul.h"

#include "core/error.h"

#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own undefined-register idiom (GCC
// bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#define STRETCH_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,f16c,fma")))

namespace stretch::cpu {

namespace {

using gguf::ggml_type;

// 64 weights as unsigned (or, for Q8_0, signed) bytes, and the pair's four factors
// [scale A, offset A, scale B, offset B]: the coefficients of each block's integer dot and of its
// activation sum, the order of q8_rows::ds's [d A, s A, d B, s B].
struct chunk {
    __m512i q;
    __m128 factors;
};

// A Q6_K chunk: as `chunk`, with the int8 scales of its four 16-value sub-blocks, each in the four
// s32 lanes that vpdpbusd sums its values into.
struct sub_scaled_chunk {
    __m512i q;
    __m128 factors;
    __m512i sub_scales;
};

// Two little-endian 32-bit words as the low half of a vector of eight f16, converted to four f32.
STRETCH_VNNI inline __m128 f16_pairs(const std::byte* a, const std::byte* b) {
    std::uint32_t wa, wb;
    __builtin_memcpy(&wa, a, sizeof wa);
    __builtin_memcpy(&wb, b, sizeof wb);
    return _mm_cvtph_ps(_mm_set_epi32(0, 0, int(wb), int(wa)));
}

STRETCH_VNNI inline float load_f16(const std::byte* p) {
    std::uint16_t h;
    __builtin_memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h);
}

// Two Q4_0/Q4_1 blocks' 16 nibble bytes each -> [low A | high A | low B | high B], the order of
// their 64 values.
STRETCH_VNNI inline __m512i unpack_q4_pair(const std::byte* qs_a, const std::byte* qs_b) {
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i*)qs_a)),
                                                 _mm_loadu_si128((const __m128i*)qs_b), 1);
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    const __m256i low = _mm256_and_si256(both, nibble);
    const __m256i high = _mm256_and_si256(_mm256_srli_epi16(both, 4), nibble);
    const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);  // [lowA lowB highA highB]
    return _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));
}

struct load_q8_0 {
    static constexpr bool is_signed = true;
    STRETCH_VNNI static chunk at(const std::byte* w, std::int64_t c) {
        const std::byte* a = w + 2 * c * 34;
        const std::byte* b = a + 34;
        const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i*)(a + 2))),
                                             _mm256_loadu_si256((const __m256i*)(b + 2)), 1);
        // Each 32-bit word is the block's f16 scale and its first two weights: masked to [d, 0].
        const __m128 f = f16_pairs(a, b);
        return {q, _mm_blend_ps(f, _mm_setzero_ps(), 0b1010)};
    }
};

struct load_q4_0 {
    static constexpr bool is_signed = false;
    STRETCH_VNNI static chunk at(const std::byte* w, std::int64_t c) {
        const std::byte* a = w + 2 * c * 18;
        const std::byte* b = a + 18;
        const __m128 d = _mm_set_ps(load_f16(b), load_f16(b), load_f16(a), load_f16(a));
        return {unpack_q4_pair(a + 2, b + 2), _mm_mul_ps(d, _mm_set_ps(-8.0f, 1.0f, -8.0f, 1.0f))};
    }
};

struct load_q4_1 {
    static constexpr bool is_signed = false;
    STRETCH_VNNI static chunk at(const std::byte* w, std::int64_t c) {
        const std::byte* a = w + 2 * c * 20;
        const std::byte* b = a + 20;
        return {unpack_q4_pair(a + 4, b + 4), f16_pairs(a, b)};  // each block opens with f16 d, f16 m
    }
};

// Q5_0: Q4_0's nibbles plus a fifth bit per value, bit i of the block's u32 qh for value i
// (ggml-common.h's block_q5_0). The two qh words, A's low, are a byte mask over the chunk's 64 values
// in their order [A 0-31 | B 0-31]: one masked add puts 16 on the bytes whose bit is set.
struct load_q5_0 {
    static constexpr bool is_signed = false;
    STRETCH_VNNI static chunk at(const std::byte* w, std::int64_t c) {
        const std::byte* a = w + 2 * c * 22;
        const std::byte* b = a + 22;
        std::uint32_t qh_a, qh_b;
        __builtin_memcpy(&qh_a, a + 2, sizeof qh_a);
        __builtin_memcpy(&qh_b, b + 2, sizeof qh_b);
        const __mmask64 high = _cvtu64_mask64(std::uint64_t(qh_b) << 32 | qh_a);
        const __m512i nibbles = unpack_q4_pair(a + 6, b + 6);
        const __m512i q = _mm512_mask_add_epi8(nibbles, high, nibbles, _mm512_set1_epi8(16));
        // Each block's first 32-bit word is its f16 d and two bytes of qh: [d A, ., d B, .] -> [d A, d A, d B, d B].
        const __m128 d = _mm_moveldup_ps(f16_pairs(a, b));
        return {q, _mm_mul_ps(d, _mm_set_ps(-16.0f, 1.0f, -16.0f, 1.0f))};
    }
};

// Q4_K: chunk c is sub-blocks 2p, 2p+1 (p = c % 4) of the 256-value block c / 4, whose 32 bytes hold
// sub-block 2p in their low nibbles and 2p+1 in their high ones.
struct load_q4_k {
    static constexpr bool is_signed = false;
    STRETCH_VNNI static chunk at(const std::byte* w, std::int64_t c) {
        const std::byte* blk = w + (c / 4) * 144;
        const int p = int(c % 4);
        const __m256i v = _mm256_loadu_si256((const __m256i*)(blk + 16 + 32 * p));
        const __m256i nibble = _mm256_set1_epi8(0x0f);
        const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, nibble)),
                                             _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble), 1);
        const float d = load_f16(blk), dmin = load_f16(blk + 2);
        int sa, ma, sb, mb;
        q4_k_scale_min(2 * p, blk + 4, sa, ma);
        q4_k_scale_min(2 * p + 1, blk + 4, sb, mb);
        return {q, _mm_set_ps(-dmin * float(mb), d * float(sb), -dmin * float(ma), d * float(sa))};
    }
};

// Q6_K: chunk c is values 64p..64p+63 (p = c % 4) of the 256-value block c / 4, its 32-value
// pieces j = 2p and 2p + 1 (q6_k_values_of): both read the same 64 bytes of ql through the same shift
// and the same 32 bytes of qh, B's two bits above A's, and their four scales are consecutive.
// The weights q - 32 are signed, as Q8_0's.
struct load_q6_k {
    static constexpr bool is_signed = true;
    STRETCH_VNNI static sub_scaled_chunk at(const std::byte* w, std::int64_t c) {
        const std::byte* blk = w + (c / 4) * 210;
        const q6_k_values a = q6_k_values_of(2 * int(c % 4));
        const __m512i ql = _mm512_srl_epi16(_mm512_loadu_si512(blk + a.ql), _mm_cvtsi32_si128(a.ql_shift));
        const __m256i qh = _mm256_srl_epi16(_mm256_loadu_si256((const __m256i*)(blk + a.qh)), _mm_cvtsi32_si128(a.qh_shift));
        const __m512i top = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
        const __m512i q = _mm512_or_si512(_mm512_and_si512(ql, _mm512_set1_epi8(0x0f)),
                                          _mm512_slli_epi16(_mm512_and_si512(top, _mm512_set1_epi8(3)), 4));
        std::uint32_t scales;
        __builtin_memcpy(&scales, blk + a.scales, sizeof scales);
        const __m128i per_lane = _mm_shuffle_epi8(_mm_cvtsi32_si128(int(scales)),
                                                  _mm_set_epi8(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0));
        const float d = load_f16(blk + 208);
        return {_mm512_sub_epi8(q, _mm512_set1_epi8(32)), _mm_set_ps(0.0f, d, 0.0f, d), _mm512_cvtepi8_epi32(per_lane)};
    }
};

// One weight row against R activation rows. Per chunk and row, one 128-bit product of the weights'
// factors with the activations' [d A, s A, d B, s B] gives both blocks' scales (spread over their
// eight lanes each by one permute) and both offset terms (summed in the odd lanes of `offset`).
template <class Load, int R>
STRETCH_VNNI void dot_tile(ggml_type type, const std::byte* w, const q8_rows& x, const std::int64_t* x_rows,
                           float* out, std::int64_t n_blocks) {
    const std::int8_t* xq[R];
    const float* xds[R];
    __m512 acc[R];
    __m128 offset[R];
    for (int r = 0; r < R; ++r) {
        xq[r] = x.qs_row(x_rows[r]);
        xds[r] = x.ds_row(x_rows[r]);
        acc[r] = _mm512_setzero_ps();
        offset[r] = _mm_setzero_ps();
    }
    const __m512i spread = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);  // lanes 8-15 <- 2
    const std::int64_t n_chunks = n_blocks / 2;
    for (std::int64_t c = 0; c < n_chunks; ++c) {
        const auto ch = Load::at(w, c);
        const __m512i wq = Load::is_signed ? _mm512_abs_epi8(ch.q) : ch.q;
        const __mmask64 negative = Load::is_signed ? _mm512_movepi8_mask(ch.q) : 0;
        for (int r = 0; r < R; ++r) {
            __m512i v = _mm512_loadu_si512(xq[r] + 64 * c);
            if constexpr (Load::is_signed) v = _mm512_mask_sub_epi8(v, negative, _mm512_setzero_si512(), v);
            __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, v);
            if constexpr (requires { ch.sub_scales; }) dot = _mm512_mullo_epi32(dot, ch.sub_scales);
            const __m128 product = _mm_mul_ps(ch.factors, _mm_loadu_ps(xds[r] + 4 * c));
            const __m512 scale = _mm512_permutexvar_ps(spread, _mm512_zextps128_ps512(product));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[r]);
            offset[r] = _mm_add_ps(offset[r], product);
        }
    }
    for (int r = 0; r < R; ++r) {
        const __m128 odd = _mm_movehdup_ps(offset[r]);  // [o1, o1, o3, o3]
        out[r] = _mm512_reduce_add_ps(acc[r]) + _mm_cvtss_f32(odd) + _mm_cvtss_f32(_mm_movehl_ps(odd, odd));
        if (n_blocks % 2 == 1) out[r] += dot_blocks_portable(type, w, x, x_rows[r], n_blocks - 1, n_blocks);
    }
}

template <class Load>
STRETCH_VNNI void dot_rows_of(ggml_type type, const std::byte* w, const q8_rows& x, const std::int64_t* x_rows,
                              int count, float* out, std::int64_t n_blocks) {
    switch (count) {
        case 1: dot_tile<Load, 1>(type, w, x, x_rows, out, n_blocks); break;
        case 2: dot_tile<Load, 2>(type, w, x, x_rows, out, n_blocks); break;
        case 3: dot_tile<Load, 3>(type, w, x, x_rows, out, n_blocks); break;
        case 4: dot_tile<Load, 4>(type, w, x, x_rows, out, n_blocks); break;
        default: STRETCH_ASSERT(false);
    }
}

}  // namespace

void dot_rows_avx512_vnni(const quantized_matrix& w, std::int64_t w_row, const q8_rows& x, const std::int64_t* x_rows,
                          int count, float* out) {
    const std::byte* row = w.row(w_row);
    const std::int64_t n_blocks = w.cols / 32;
    switch (w.type) {
        case ggml_type::q8_0: dot_rows_of<load_q8_0>(w.type, row, x, x_rows, count, out, n_blocks); break;
        case ggml_type::q4_0: dot_rows_of<load_q4_0>(w.type, row, x, x_rows, count, out, n_blocks); break;
        case ggml_type::q4_1: dot_rows_of<load_q4_1>(w.type, row, x, x_rows, count, out, n_blocks); break;
        case ggml_type::q5_0: dot_rows_of<load_q5_0>(w.type, row, x, x_rows, count, out, n_blocks); break;
        case ggml_type::q4_k: dot_rows_of<load_q4_k>(w.type, row, x, x_rows, count, out, n_blocks); break;
        case ggml_type::q6_k: dot_rows_of<load_q6_k>(w.type, row, x, x_rows, count, out, n_blocks); break;
        default: STRETCH_ASSERT(false);  // make_quantized_matrix admits only these
    }
}

STRETCH_VNNI double int8_dot_loop_avx512_vnni(std::int64_t iterations) {
    // 12 accumulators cover vpdpbusd's latency (5 cycles) times its ports (up to 2) with room to spare.
    __m512i acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_epi32(i);
    const __m512i u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-2);
    for (std::int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], u, s);
    __m512i sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm512_add_epi32(sum, acc[i]);
    alignas(64) std::int32_t lanes[16];
    _mm512_store_si512(lanes, sum);  // not _mm512_reduce_add_epi32: GCC 12's trips -Wuninitialized (bug 105593)
    volatile std::int32_t sink = lanes[0];
    (void)sink;
    return double(iterations) * 12 * 64 * 2;
}

}  // namespace stretch::cpu

#else

namespace stretch::cpu {

void dot_rows_avx512_vnni(const quantized_matrix&, std::int64_t, const q8_rows&, const std::int64_t*, int, float*) {
    STRETCH_ASSERT(false);  // best_quant_kernel() never picks it off x86-64
}

double int8_dot_loop_avx512_vnni(std::int64_t) {
    STRETCH_ASSERT(false);  // best_quant_kernel() never picks it off x86-64
    return 0;
}

}  // namespace stretch::cpu

#endif
