// -m/--model and --tokenizer, as every verb that reads a model has them: model/load.h's
// load_any_model reads each kind of file the help names.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace stretch::cli {

inline void add_model_options(CLI::App* cmd, std::string& model, std::string& tokenizer) {
    cmd->add_option("-m,--model", model, "GGUF model, llama2.c checkpoint, or training output directory")->required();
    cmd->add_option("--tokenizer", tokenizer, "llama2.c tokenizer.bin (default: beside the model)");
}

}  // namespace stretch::cli
