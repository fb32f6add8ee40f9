// Dequantisation of GGUF tensor data to f32: F32, F16, BF16 and the ggml block formats Q8_0, Q5_0, Q4_0,
// Q4_1, Q4_K and Q6_K (issue 5). Block layouts and formulas are ggml's, transcribed from
// ggml/src/ggml-common.h (block_q8_0 ... block_q6_K) and ggml/src/ggml-quants.c (dequantize_row_*)
// of ggml-org/llama.cpp. Scalar code; rows are independent, so callers split work by rows.
#pragma once

#include <cstdint>

#include "io/gguf.h"

namespace stretch::cpu {

// Converts n values (n a multiple of the type's block size) of GGUF type `type` at `src` into f32.
// The results equal ggml's bit for bit (see dequant.cpp for why evaluation order cannot matter).
// `src` needs no alignment. A type can_dequantize rejects, or an n that is not a whole number of
// blocks, is a stretch::error; callers that know the file check can_dequantize first so that their
// message names it.
void dequantize(gguf::ggml_type type, const void* src, float* dst, std::int64_t n);
bool can_dequantize(gguf::ggml_type type);

}  // namespace stretch::cpu
