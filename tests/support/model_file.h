// Model files written directly (random weights, no training), for CLI tests that need a model of a
// given shape in milliseconds: a stretch model (what `stretch train` writes as OUT/model.gguf), and a
// llama.cpp-style Llama GGUF (no stretch.* keys, the tok512 SentencePiece tokenizer's metadata).
#pragma once

#include <functional>
#include <string>

#include "core/rng.h"
#include "io/gguf.h"
#include "model/gguf_model.h"
#include "train/run_config.h"

namespace stretch::test {

inline transformer random_model(const model_config& config) {
    transformer model(config, dtype::f32);
    rng generator(7);
    model.init(generator);
    return model;
}

// The "tiny" preset's model unless `config` says otherwise; returns the file's path.
inline std::string write_model_file(const std::string& path, const model_config& config = preset("tiny").model) {
    gguf::writer out;
    write_model_metadata(out, config);
    write_model_weights(out, random_model(config));
    out.write(path);
    return path;
}

// A Llama GGUF as llama.cpp's converter writes one (vocabulary 512); `keys` adds metadata (rope
// scaling, ...).
inline std::string write_llama_gguf(const std::string& path, const std::function<void(gguf::writer&)>& keys = {}) {
    model_config config = preset("tiny").model;
    config.vocab_size = 512;
    gguf::writer stretch_file, out;
    write_model_metadata(stretch_file, config);
    for (const auto& [key, value] : stretch_file.kv())
        if (!key.starts_with("stretch.")) out.set(key, value);
    const auto tokenizer = gguf::reader::open(std::string(STRETCH_SOURCE_DIR) + "/tests/fixtures/tokenizer/tok512_spm.gguf");
    for (const auto& [key, value] : tokenizer.kv())
        if (key.starts_with("tokenizer.")) out.set(key, value);
    if (keys) keys(out);
    write_model_weights(out, random_model(config));
    out.write(path);
    return path;
}

}  // namespace stretch::test
