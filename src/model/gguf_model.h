// A transformer in a GGUF file, in both directions. Metadata: `general.architecture` and the
// `<arch>.*` keys llama.cpp reads (model/config_fields.h names them), filled in by the
// architecture's table (model/architecture.h); a file stretch writes also stores every field
// exactly under `stretch.<key>`, which take precedence when read. Tensors: one per parameter under
// its GGUF name; a file's Q8_0, Q4_0, Q4_1 and Q4_K matrices can stay in their blocks.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "io/gguf.h"
#include "model/transformer.h"

namespace stretch {

void write_model_metadata(gguf::writer& out, const model_config& config);
// Every parameter under its name: f32 values, or the quantised blocks a loaded model kept; a name in
// `replacements` is written with that tensor instead (a fine-tuned matrix).
void write_model_weights(gguf::writer& out, const transformer& model,
                         const std::unordered_map<std::string, tensor>& replacements = {});

// Reads the model's shape; throws stretch::error naming the file and the key (as the file spells
// it, e.g. gemma3.block_count) that is missing or impossible.
model_config read_model_config(const gguf::reader& in);

// What loading does with a quantised weight matrix: dequantise it to f32 (training, comparisons), or
// keep its blocks for the quantised products of kernels/cpu/quant_matmul.h (inference; the
// parameter's f32 value is then left undefined). Types without quantised products are dequantised.
enum class quantized_weights { dequantize, keep };

// The model the file describes, with its weights. Before anything is allocated, every tensor the
// configuration implies is checked for presence, shape and type, and the memory it needs against
// what the machine has.
std::unique_ptr<transformer> read_model(const gguf::reader& in, quantized_weights mode = quantized_weights::dequantize);

// Every matrix a loader kept in its blocks, as f32 values instead (a model about to be trained whole).
void dequantize_weights(transformer& model);

// Copies every parameter of an existing f32 model from the file (a checkpoint being resumed).
void read_model_weights(const gguf::reader& in, transformer& model);

// A model file or a training output directory (model.gguf, else checkpoint.gguf inside it).
std::string resolve_model_path(const std::string& path_or_dir);

}  // namespace stretch
