// The one loader behind every verb: any model stretch runs, with its tokenizer and its own position
// scaling — a GGUF file of any architecture of model/architecture.h (llama.cpp's files: Q8_0, Q4_0,
// Q4_1 and Q4_K matrices kept in their blocks, other types dequantised to f32; stretch's own, whose
// byte vocabulary is stored as io/tokenizer_byte.h writes it), a training output directory, or a
// llama2.c checkpoint with its tokenizer.bin. One model type serves all (model/transformer.h).
#pragma once

#include <memory>
#include <string>

#include "io/tokenizer.h"
#include "model/gguf_model.h"
#include "model/transformer.h"

namespace stretch {

struct loaded_model {
    std::unique_ptr<transformer> model;
    std::unique_ptr<tokenizer> tok;
    std::string path;
    std::string format;                 // "stretch", "gguf", "llama2.c"
    // The model's own position method as a --pos spec: what it was trained with (stretch.pos), else
    // the file's RoPE scaling; every verb's default.
    std::string positions = "default";
    std::string chat_template;          // GGUF tokenizer.chat_template; "" when none
};

// `tokenizer_path`: a llama2.c tokenizer.bin (default: tokenizer.bin beside the checkpoint). A GGUF
// file's quantised matrices stay quantised unless `weights` says dequantize (model/gguf_model.h).
loaded_model load_any_model(const std::string& path_or_dir, const std::string& tokenizer_path = "",
                            quantized_weights weights = quantized_weights::keep);

// The --pos spec for a GGUF file's rope scaling keys (<arch>.rope.scaling.type, .factor,
// .original_context_length, .yarn_*; legacy .rope.scale_linear), "default" when it has none, plus
// `attn_temp` when it carries an attention temperature (<arch>.attention.temperature_scale, with
// .attention.temperature_length or .rope.scaling.original_context_length).
std::string positions_from_gguf(const gguf::reader& in, const std::string& arch);

}  // namespace stretch
