// libFuzzer target: the tokenizers (io/tokenizer.h) and pre-tokenizers (io/pretokenizer.h) on
// arbitrary text, with vocabularies loaded once in LLVMFuzzerInitialize:
//  - tests/fixtures/tokenizer/tok512_spm.gguf: SentencePiece-style BPE (llama.cpp's spm);
//  - tests/fixtures/fuzz/gguf/bpe_tiny.gguf: GPT-2 byte-level BPE, every byte, a few merges;
//  - SmolLM2-135M-Instruct's byte-level BPE with its smollm pre-tokenizer, if the model is in
//    $STRETCH_CACHE or ~/.cache/stretch (scripts/get_smollm2.sh);
//  - llama2.c's tokenizer: ../shared/models/tok512.bin if present, else
//    tests/fixtures/fuzz/llama2c/tok_tiny.bin.
// Properties (tokenizer.h): encode throws only for a byte the vocabulary cannot express; every id is
// in range; decode(encode(x), special = true) gives x back exactly for byte-level BPE, and " " + x
// for SentencePiece and llama2.c (their dummy prefix) when x is not empty and holds no special
// token's text and, for SentencePiece, is valid UTF-8 without U+2581 (the escaped space, which
// decodes to ' '). SentencePiece (llama.cpp's spm) cuts characters by their lead byte alone, so in
// invalid UTF-8 a lead byte can swallow the first byte of an escaped space, which then falls back
// to bytes and decodes as U+2581: llama.cpp does the same, so that is not checked.
// Pre-tokenizers: every kind splits x into non-empty words that cover it exactly, in order.
// Seeds: tests/fixtures/fuzz/tokenizer/ (scripts/fuzz.sh). docs/fuzzing.md.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "fuzz_util.h"
#include "io/gguf.h"
#include "io/pretokenizer.h"
#include "io/tokenizer.h"

namespace {

using namespace stretch;
using fuzz::require;
namespace fs = std::filesystem;

enum class round_trip { exact, dummy_prefix, dummy_prefix_utf8_no_u2581 };

struct subject {
    std::string name;
    std::unique_ptr<tokenizer> tok;
    round_trip promise;
    std::vector<std::string> specials;  // texts split_special cuts out (control, user-defined, unknown)
};

std::vector<subject>* subjects = nullptr;

std::vector<std::string> special_texts(const tokenizer& tok) {
    std::vector<std::string> out;
    for (std::int32_t id = 0; id < tok.vocab_size(); ++id) {
        const token_type t = tok.type(id);
        if ((t == token_type::control || t == token_type::user_defined || t == token_type::unknown) && !tok.token_text(id).empty())
            out.push_back(tok.token_text(id));
    }
    return out;
}

void add(std::string name, std::unique_ptr<tokenizer> tok, round_trip promise, bool llama2c = false) {
    // llama2.c's encode parses no special tokens, so their texts are ordinary text there, but a
    // merge may still produce one (it would decode to itself with special = true, so no exclusion).
    std::vector<std::string> specials = llama2c ? std::vector<std::string>{} : special_texts(*tok);
    std::fprintf(stderr, "fuzz_tokenizer: %s (%d tokens)\n", name.c_str(), tok->vocab_size());
    subjects->push_back({std::move(name), std::move(tok), promise, std::move(specials)});
}

fs::path smollm2_path() {
    const char* cache = std::getenv("STRETCH_CACHE");
    const char* home = std::getenv("HOME");
    const fs::path dir = cache ? fs::path(cache) : fs::path(home ? home : "") / ".cache" / "stretch";
    return dir / "SmolLM2-135M-Instruct.Q4_1.gguf";
}

std::unique_ptr<tokenizer> from_gguf(const fs::path& path) { return tokenizer_from_gguf(gguf::reader::open(path.string())); }

std::int32_t first_int32(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::int32_t x = 0;
    in.read(reinterpret_cast<char*>(&x), sizeof x);
    return x;
}

bool contains_any(std::string_view text, const std::vector<std::string>& needles) {
    for (const auto& n : needles)
        if (text.find(n) != std::string_view::npos) return true;
    return false;
}

// Lead bytes followed by the continuation bytes they announce (the structure the tokenizers cut by;
// overlong forms and surrogates pass).
bool is_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        const std::size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0 || text.size() - i < n) return false;
        for (std::size_t j = 1; j < n; ++j)
            if ((static_cast<unsigned char>(text[i + j]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

void check_pretokenizers(std::string_view text) {
    for (const pretokenizer kind : {pretokenizer::default_bpe, pretokenizer::gpt2, pretokenizer::smollm}) {
        const char* at = text.data();
        for (const std::string_view word : pretokenize(text, kind)) {
            require(!word.empty() && word.data() == at, "pre-tokenizer words are non-empty and contiguous");
            at += word.size();
        }
        require(at == text.data() + text.size(), "pre-tokenizer words cover the text");
    }
}

void check(const subject& s, std::string_view text) {
    std::vector<std::int32_t> ids;
    try {
        ids = s.tok->encode(text, false);
    } catch (const stretch::error& e) {
        fuzz::require_one_line(e);
        require(std::string_view(e.what()).find("cannot be encoded") != std::string_view::npos,
                "encode fails only for a byte the vocabulary cannot express");
        return;
    }
    for (const std::int32_t id : ids) require(id >= 0 && id < s.tok->vocab_size(), "encode gives ids in range");
    const std::string back = s.tok->decode(ids, true);
    switch (s.promise) {
        case round_trip::exact:
            require(back == text, "byte-level BPE: decode(encode(x)) == x");
            break;
        case round_trip::dummy_prefix_utf8_no_u2581:
            if (!is_utf8(text) || text.find("\xE2\x96\x81") != std::string_view::npos) break;
            [[fallthrough]];
        case round_trip::dummy_prefix:
            if (text.empty() || contains_any(text, s.specials)) break;
            if (back != " " + std::string(text)) {
                std::fprintf(stderr, "fuzz_tokenizer: %s: decode(encode(x)) = [%s]\n", s.name.c_str(), back.c_str());
                require(false, "SentencePiece / llama2.c: decode(encode(x)) == \" \" + x");
            }
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    const fs::path root = STRETCH_SOURCE_DIR;
    subjects = new std::vector<subject>;  // lives for the process, like the fuzzer
    try {
        add("tok512_spm.gguf (SentencePiece)", from_gguf(root / "tests/fixtures/tokenizer/tok512_spm.gguf"),
            round_trip::dummy_prefix_utf8_no_u2581);
        add("bpe_tiny.gguf (byte-level BPE)", from_gguf(root / "tests/fixtures/fuzz/gguf/bpe_tiny.gguf"), round_trip::exact);
        if (fs::exists(smollm2_path()))
            add("SmolLM2-135M (byte-level BPE, smollm)", from_gguf(smollm2_path()), round_trip::exact);
        else
            std::fprintf(stderr, "fuzz_tokenizer: %s not found, SmolLM2 not fuzzed\n", smollm2_path().c_str());
        fs::path tok512 = root.parent_path() / "shared/models/tok512.bin";
        if (!fs::exists(tok512)) tok512 = root / "tests/fixtures/fuzz/llama2c/tok_tiny.bin";
        // tok_tiny.bin's first int32 is its token count (tools/fuzz/make_seeds.py)
        const std::int32_t vocab = tok512.filename() == "tok_tiny.bin" ? first_int32(tok512) : 512;
        add(tok512.filename().string() + " (llama2.c)", load_llama2c_tokenizer(tok512.string(), vocab), round_trip::dummy_prefix,
            true);
    } catch (const stretch::error& e) {
        std::fprintf(stderr, "fuzz_tokenizer: cannot load a vocabulary: %s\n", e.what());
        std::exit(1);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_pretokenizers(text);
    for (const subject& s : *subjects) check(s, text);
    return 0;
}
