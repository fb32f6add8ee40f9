// What the RULER tests share: the sources (wonderwords' lists, from the package scripts/setup.sh
// installs, and the essay haystack from the data folder), loaded once per test binary, and the
// tokenizers to size samples with (bytes; stories260K's tok512, a real SentencePiece-style vocabulary).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "eval/ruler.h"
#include "io/corpus.h"
#include "io/tokenizer.h"
#include "io/tokenizer_byte.h"
#include "support/cli.h"

namespace stretch::test {

inline const ruler_sources& shared_ruler_sources() {
    static const ruler_sources sources = [] {
        ruler_sources s;
        s.words = read_wonderwords(wonderwords_folder());
        const std::string essay = data_file("austen-persuasion.txt");
        s.essay = haystack_words(read_text_file(essay), essay);
        return s;
    }();
    return sources;
}

inline std::string shared_model(const std::string& name) {
    return (std::filesystem::path(STRETCH_SOURCE_DIR).parent_path() / "shared" / "models" / name).string();
}

inline const tokenizer& byte_tokenizer() {
    static const std::unique_ptr<tokenizer> tok = make_byte_tokenizer("bytes");
    return *tok;
}

inline const tokenizer& tok512() {
    static const std::unique_ptr<tokenizer> tok = load_llama2c_tokenizer(shared_model("tok512.bin"), 512);
    return *tok;
}

inline const ruler_task& ruler_task_named(std::string_view name) { return *parse_ruler_tasks(std::string(name)).front(); }

}  // namespace stretch::test
