// Dequantisation, transcribed from ggml-org/llama.cpp ggml/src/ggml-quants.c (dequantize_row_q8_0,
// _q5_0, _q4_0, _q4_1, _q4_K, _q6_K and get_scale_min_k4) with the block layouts of ggml-common.h.
//
// Why the results are exact, whatever the compiler does: every product here is exact in f32. An f16
// scale has at most 11 significant bits; the integers it meets have at most 4 (Q4_0, Q4_1), 5 (Q5_0), 7
// (Q8_0's int8), 6 + 4 (Q4_K's 6-bit sub-scale, then its 4-bit quant) or 7 + 5 (Q6_K's int8
// sub-scale, then its quant in [-32, 31]) significant bits — at most 23 in all, within f32's 24 —
// and f16's range keeps the products clear of f32's subnormals and overflow. So each value is the
// exact expression with at most one rounding (Q4_1's + m, Q4_K's - m1): the same whether the
// compiler fuses it into an FMA or reorders the products, and the same as ggml's and gguf-py's.
#include "kernels/cpu/dequant.h"

#include <cstring>

#include "core/error.h"

namespace stretch::cpu {

namespace {

using byte = unsigned char;

// Blocks are packed (Q4_1's are 20 bytes), so the f16 fields may sit at any even offset.
float load_f16(const byte* p) {
    std::uint16_t h;
    std::memcpy(&h, p, sizeof h);
    return gguf::f16_to_f32(h);
}

void from_f16(const byte* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = load_f16(x + 2 * i);
}

void from_bf16(const byte* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, x + 2 * i, sizeof h);
        y[i] = gguf::bf16_to_f32(h);
    }
}

// block_q8_0 (34 bytes): f16 d; int8 qs[32]. y = qs * d.
void from_q8_0(const byte* x, float* y, std::int64_t nb) {
    for (std::int64_t i = 0; i < nb; ++i, x += 34, y += 32) {
        const float d = load_f16(x);
        const auto* qs = reinterpret_cast<const std::int8_t*>(x + 2);
        for (int j = 0; j < 32; ++j) y[j] = float(qs[j]) * d;
    }
}

// block_q4_0 (18 bytes): f16 d; uint8 qs[16]. Low nibbles are values 0..15, high nibbles 16..31;
// y = (q - 8) * d.
void from_q4_0(const byte* x, float* y, std::int64_t nb) {
    for (std::int64_t i = 0; i < nb; ++i, x += 18, y += 32) {
        const float d = load_f16(x);
        const byte* qs = x + 2;
        for (int j = 0; j < 16; ++j) {
            y[j] = float((qs[j] & 0x0f) - 8) * d;
            y[j + 16] = float((qs[j] >> 4) - 8) * d;
        }
    }
}

// block_q5_0 (22 bytes): f16 d; uint8 qh[4], the fifth bits as one little-endian u32; uint8 qs[16],
// nibbles as Q4_0. Value j takes bit j of qh above its nibble; y = (q - 16) * d, q in 0..31.
void from_q5_0(const byte* x, float* y, std::int64_t nb) {
    for (std::int64_t i = 0; i < nb; ++i, x += 22, y += 32) {
        const float d = load_f16(x);
        const std::uint32_t qh = std::uint32_t(x[2]) | std::uint32_t(x[3]) << 8 | std::uint32_t(x[4]) << 16 |
                                 std::uint32_t(x[5]) << 24;
        const byte* qs = x + 6;
        for (int j = 0; j < 16; ++j) {
            const int low = (qs[j] & 0x0f) | int((qh >> j) & 1) << 4;
            const int high = (qs[j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
            y[j] = float(low - 16) * d;
            y[j + 16] = float(high - 16) * d;
        }
    }
}

// block_q4_1 (20 bytes): f16 d, m; uint8 qs[16], nibbles as Q4_0; y = q * d + m.
void from_q4_1(const byte* x, float* y, std::int64_t nb) {
    for (std::int64_t i = 0; i < nb; ++i, x += 20, y += 32) {
        const float d = load_f16(x);
        const float m = load_f16(x + 2);
        const byte* qs = x + 4;
        for (int j = 0; j < 16; ++j) {
            y[j] = float(qs[j] & 0x0f) * d + m;
            y[j + 16] = float(qs[j] >> 4) * d + m;
        }
    }
}

// Q4_K's twelve scale bytes hold eight 6-bit scales and eight 6-bit mins: sub-blocks 0-3 in the low
// six bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 take their low four bits from the
// nibbles of bytes 8-11 and their top two from the spare high bits of bytes 0-7 (get_scale_min_k4).
void scale_min_k4(int j, const byte* q, float& scale, float& min) {
    if (j < 4) {
        scale = float(q[j] & 63);
        min = float(q[j + 4] & 63);
    } else {
        scale = float((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        min = float((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// block_q4_K (144 bytes, 256 values): f16 d, dmin; uint8 scales[12]; uint8 qs[128]. Eight
// sub-blocks of 32; each 32 bytes of qs hold two sub-blocks, low nibbles first.
// y = (d * scale) * q - dmin * min.
void from_q4_k(const byte* x, float* y, std::int64_t nb) {
    for (std::int64_t i = 0; i < nb; ++i, x += 144) {
        const float d = load_f16(x);
        const float dmin = load_f16(x + 2);
        const byte* scales = x + 4;
        const byte* q = x + 16;
        for (int is = 0; is < 8; is += 2, q += 32, y += 64) {
            float sc, m;
            scale_min_k4(is, scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            scale_min_k4(is + 1, scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) y[l] = d1 * float(q[l] & 0x0f) - m1;
            for (int l = 0; l < 32; ++l) y[l + 32] = d2 * float(q[l] >> 4) - m2;
        }
    }
}

// block_q6_K (210 bytes, 256 values): uint8 ql[128] (low four bits), qh[64] (high two bits),
// int8 scales[16] (one per 16 values), f16 d. Each half of 128 values reads 64 bytes of ql and 32
// of qh: value l + 32k takes a nibble of ql[l + 32(k % 2)] (low for k < 2) and bits 2k..2k+1 of
// qh[l]. y = d * scale * (q - 32).
void from_q6_k(const byte* x, float* y, std::int64_t nb) {
    for (std::int64_t i = 0; i < nb; ++i, x += 210) {
        const float d = load_f16(x + 208);
        const byte* ql = x;
        const byte* qh = x + 128;
        const auto* sc = reinterpret_cast<const std::int8_t*>(x + 192);
        for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, y += 128) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * float(sc[is + 0]) * float(q1);
                y[l + 32] = d * float(sc[is + 2]) * float(q2);
                y[l + 64] = d * float(sc[is + 4]) * float(q3);
                y[l + 96] = d * float(sc[is + 6]) * float(q4);
            }
        }
    }
}

}  // namespace

bool can_dequantize(gguf::ggml_type type) {
    using enum gguf::ggml_type;
    switch (type) {
        case f32: case f16: case bf16: case q8_0: case q5_0: case q4_0: case q4_1: case q4_k: case q6_k: return true;
        default: return false;
    }
}

void dequantize(gguf::ggml_type type, const void* src, float* dst, std::int64_t n) {
    if (!can_dequantize(type))
        fail("dequantize: tensor type {} is not supported; f32, f16, bf16, q8_0, q5_0, q4_0, q4_1, q4_k and q6_k are",
             gguf::ggml_type_name(type));
    const auto& traits = gguf::traits(type);
    if (n < 0 || n % traits.block_size != 0)
        fail("dequantize: {} values of type {}, expected a multiple of its block size {}", n, traits.name,
             traits.block_size);
    const auto* x = static_cast<const byte*>(src);
    const std::int64_t nb = n / traits.block_size;
    switch (type) {
        case gguf::ggml_type::f32: if (n > 0) std::memcpy(dst, x, static_cast<std::size_t>(n) * sizeof(float)); break;
        case gguf::ggml_type::f16: from_f16(x, dst, n); break;
        case gguf::ggml_type::bf16: from_bf16(x, dst, n); break;
        case gguf::ggml_type::q8_0: from_q8_0(x, dst, nb); break;
        case gguf::ggml_type::q5_0: from_q5_0(x, dst, nb); break;
        case gguf::ggml_type::q4_0: from_q4_0(x, dst, nb); break;
        case gguf::ggml_type::q4_1: from_q4_1(x, dst, nb); break;
        case gguf::ggml_type::q4_k: from_q4_k(x, dst, nb); break;
        case gguf::ggml_type::q6_k: from_q6_k(x, dst, nb); break;
        default: STRETCH_ASSERT(false);  // can_dequantize admitted it
    }
}

}  // namespace stretch::cpu
