// libFuzzer target: llama2.c's two file formats (io/llama2c.h, io/tokenizer.h) on the same bytes.
//  - read_llama2c: the checkpoint; what it returns must match its header.
//  - load_llama2c_tokenizer: the input as a tokenizer.bin for a vocabulary size taken from its
//    first int32 (max_token_length, which the loader skips): itself when in [259, 4096), else
//    259 + (it mod 256); then an encode and decode of a fixed text with the vocabulary it read.
// Seeds: tests/fixtures/fuzz/llama2c/ (tiny checkpoints; a tokenizer whose first int32 is its
// size) and ../shared/models/tok512.bin when present (scripts/fuzz.sh). docs/fuzzing.md.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "fuzz_util.h"
#include "io/llama2c.h"
#include "io/tokenizer.h"

namespace {

using namespace stretch;
using fuzz::require;

void check_checkpoint(const llama2c_checkpoint& c) {
    require(c.dim > 0 && c.hidden_dim > 0 && c.n_layers > 0 && c.n_heads > 0 && c.n_kv_heads > 0 && c.vocab_size > 0 &&
                c.seq_len > 0,
            "header fields are positive");
    const std::size_t expected = 2 + 9 * static_cast<std::size_t>(c.n_layers) + (c.shared_classifier ? 0 : 1);
    require(c.tensors.size() == expected, "one tensor per array in the file");
    require(c.tensors.front().first == "token_embd.weight" &&
                c.tensors.front().second.shape() == shape_t{c.vocab_size, c.dim},
            "token_embd.weight is [vocab, dim]");
}

constexpr std::string_view sample_text = "Once upon a time, the \xC3\xA9 \xE4\xB8\x96 <s> \xF0\x9F\x98\x80\x80\xFF\n";

void try_tokenizer(const std::string& path, const std::uint8_t* data, std::size_t size) {
    std::uint32_t first = 0;
    std::memcpy(&first, data, size < 4 ? size : 4);
    const auto vocab_size = static_cast<std::int32_t>(first >= 259 && first < 4096 ? first : 259 + first % 256);
    std::unique_ptr<tokenizer> tok;
    try {
        tok = load_llama2c_tokenizer(path, vocab_size);
    } catch (const stretch::error& e) {
        fuzz::require_one_line(e);
        return;
    }
    require(tok->vocab_size() == vocab_size, "the tokenizer has the vocabulary size asked for");
    // llama2.c's encode never fails: a character that is no token falls back to byte ids 3..258.
    const std::vector<std::int32_t> ids = tok->encode(sample_text, true);
    require(!ids.empty() && ids.front() == 1, "encode with BOS starts with id 1");
    for (const std::int32_t id : ids) require(id >= 0 && id < vocab_size, "encode gives ids in range");
    (void)tok->decode(ids, true);
    (void)tok->decode(ids, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = fuzz::scratch().write(data, size);
    try {
        check_checkpoint(read_llama2c(path));
    } catch (const stretch::error& e) {
        fuzz::require_one_line(e);
    }
    try_tokenizer(path, data, size);
    return 0;
}
