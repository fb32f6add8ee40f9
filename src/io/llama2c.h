// Reader for llama2.c's legacy ("version 0") checkpoint: the .bin files of karpathy/llama2.c
// (export.py legacy_export, read by run.c's read_checkpoint / memory_map_weights), e.g. the
// tinyllamas stories15M/42M/110M/260K models. Layout (little-endian): seven int32 (dim,
// hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means a
// separate classifier follows), then f32 arrays: token embedding, per-layer rms_att, wq, wk, wv, wo,
// rms_ffn, w1, w2, w3 (each for all layers in turn), rms_final, two unused freq_cis tables
// [seq_len, head_size/2], and the classifier when not shared. See ../shared/models/README.md.
//
// RoPE: llama2.c rotates adjacent pairs (2i, 2i+1) of each head — GGUF llama's "normal" rope and
// stretch's rope_pairing::interleaved — and its wq/wk are stored in that pairing, so they are used
// as they are. (llama.cpp's converter permutes only Hugging Face checkpoints, whose rotate_half
// pairs (i, i + d/2).)
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace stretch {

struct llama2c_checkpoint {
    std::int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;  // vocab_size > 0
    bool shared_classifier;  // output.weight is token_embd.weight
    // Weights as f32 tensors in file order, named with GGUF llama names, shapes outermost-first as
    // stretch::tensor: token_embd.weight [vocab, dim]; blk.N.attn_norm.weight [dim] (rms_att),
    // attn_q [dim, dim] (wq), attn_k / attn_v [kv_dim, dim] (wk, wv), attn_output [dim, dim] (wo),
    // ffn_norm [dim] (rms_ffn), ffn_gate [hidden, dim] (w1), ffn_down [dim, hidden] (w2),
    // ffn_up [hidden, dim] (w3); output_norm.weight [dim]; output.weight [vocab, dim] only if not
    // shared. kv_dim = dim / n_heads * n_kv_heads.
    std::vector<std::pair<std::string, tensor>> tensors;
};

// Validates the header (every field positive, n_heads divides dim with an even head size,
// n_kv_heads divides n_heads) and that the file is exactly as long as the header implies, then reads
// every weight. Errors are one line naming the file and the field, or the expected size.
llama2c_checkpoint read_llama2c(const std::string& path);

}  // namespace stretch
