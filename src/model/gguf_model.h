// A stretch-trained transformer in a GGUF file: Llama-architecture metadata (`llama.*` keys, as
// llama.cpp reads them) plus `stretch.*` keys for what Llama metadata cannot say, and one F32 tensor
// per parameter under its GGUF name. Loading real pretrained GGUF models (tokenizers, quantised
// types, rope scaling metadata) is a separate loader.
#pragma once

#include <memory>

#include "io/gguf.h"
#include "model/transformer.h"

namespace stretch {

void write_model_metadata(gguf::writer& out, const model_config& config);
void write_model_weights(gguf::writer& out, const transformer& model);

// Reads the model's shape; throws stretch::error naming the file and the key that is missing or
// impossible.
model_config read_model_config(const gguf::reader& in);
// What loading does with a quantised weight matrix: dequantise it to f32 (training, comparisons), or
// keep its blocks for the quantised products of kernels/cpu/quant_matmul.h (inference; the
// parameter's f32 value is then left undefined). Types without quantised products are dequantised.
enum class quantized_weights { dequantize, keep };

// Copies every parameter from the file, checking each tensor's presence and shape.
void read_model_weights(const gguf::reader& in, transformer& model,
                        quantized_weights mode = quantized_weights::dequantize);

// A model file or a training output directory (model.gguf, else checkpoint.gguf inside it).
std::unique_ptr<transformer> load_model(const std::string& path_or_dir);
std::string resolve_model_path(const std::string& path_or_dir);

}  // namespace stretch
