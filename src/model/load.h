// Any model stretch runs, with its tokenizer and its own position scaling: a stretch-trained GGUF
// (byte-level, no tokenizer file), a pretrained Llama-architecture GGUF (llama.cpp's files: Q8_0,
// Q4_0, Q4_1 and Q4_K matrices kept in their blocks, other types up to Q6_K dequantised to f32; its
// tokenizer from the metadata), or a llama2.c checkpoint with its tokenizer.bin. One model type serves all three (model/transformer.h).
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
    std::string positions = "default";  // the file's own RoPE scaling as a --pos spec
    std::string chat_template;          // GGUF tokenizer.chat_template; "" when none
};

// `tokenizer_path`: a llama2.c tokenizer.bin (default: tokenizer.bin beside the checkpoint). A GGUF
// file's quantised matrices stay quantised unless `weights` says dequantize (model/gguf_model.h).
loaded_model load_any_model(const std::string& path_or_dir, const std::string& tokenizer_path = "",
                            quantized_weights weights = quantized_weights::keep);

// The --pos spec for a GGUF file's rope scaling keys (<arch>.rope.scaling.type, .factor,
// .original_context_length, .yarn_*; legacy .rope.scale_linear), "default" when it has none.
std::string positions_from_gguf(const gguf::reader& in, const std::string& arch);

}  // namespace stretch
