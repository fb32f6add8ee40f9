// libFuzzer target: the GGUF reader (io/gguf.h) on arbitrary bytes, then what a loader does with
// a file it opened: every metadata value through every typed getter, every tensor info, read_f32 /
// read of the float tensors, cpu::dequantize of every type it knows (compared with read_f32 where
// both apply) and, when the file has tokenizer metadata, tokenizer_from_gguf and an encode/decode.
// Seeds: tests/fixtures/fuzz/gguf/ (tiny models of every architecture among them) and the GGUF test
// fixtures (scripts/fuzz.sh). docs/fuzzing.md.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "fuzz_util.h"
#include "io/gguf.h"
#include "io/tokenizer.h"
#include "kernels/cpu/dequant.h"

namespace {

using namespace stretch;
using fuzz::require;

// Tensors with more values than this are listed but not converted (the input's size bounds the
// rest: the reader checks every tensor's bytes lie inside the file).
constexpr std::int64_t max_values = std::int64_t{1} << 20;

template <class F>
void expect_ok_or_error(F&& f) {
    try {
        f();
    } catch (const stretch::error&) {
        // A key of the wrong kind or a value that does not fit: the getters' documented errors.
        // Their messages quote the caller's key as given, so they are not checked for one line here.
    }
}

void walk_metadata(const gguf::reader& r) {
    for (const auto& entry : r.kv()) {
        const std::string& key = entry.first;  // not a structured binding: clang 14 cannot capture those
        const gguf::value& v = entry.second;
        (void)gguf::type_name(v);
        (void)gguf::to_string(v);
        require(r.find(key) == &v, "metadata::find returns the entry being listed");
        expect_ok_or_error([&] { (void)r.get_u32(key); });
        expect_ok_or_error([&] { (void)r.get_i32(key); });
        expect_ok_or_error([&] { (void)r.get_u64(key); });
        expect_ok_or_error([&] { (void)r.get_i64(key); });
        expect_ok_or_error([&] { (void)r.get_f32(key); });
        expect_ok_or_error([&] { (void)r.get_f64(key); });
        expect_ok_or_error([&] { (void)r.get_bool(key); });
        expect_ok_or_error([&] { (void)r.get_string(key); });
        if (!std::holds_alternative<gguf::array>(v)) continue;
        expect_ok_or_error([&] { (void)r.get_array(key); });
        expect_ok_or_error([&] { (void)r.get_array_u32(key); });
        expect_ok_or_error([&] { (void)r.get_array_i32(key); });
        expect_ok_or_error([&] { (void)r.get_array_u64(key); });
        expect_ok_or_error([&] { (void)r.get_array_i64(key); });
        expect_ok_or_error([&] { (void)r.get_array_f32(key); });
        expect_ok_or_error([&] { (void)r.get_array_f64(key); });
        expect_ok_or_error([&] { (void)r.get_array_string(key); });
    }
}

bool is_float_type(gguf::ggml_type t) {
    return t == gguf::ggml_type::f32 || t == gguf::ggml_type::f16 || t == gguf::ggml_type::bf16 || t == gguf::ggml_type::f64;
}

void walk_tensors(const gguf::reader& r) {
    for (const auto& info : r.tensors()) {
        require(r.find_tensor(info.name) == &info, "tensor names are unique and indexed");
        const std::int64_t n = info.numel();
        require(n >= 0, "numel is not negative");
        (void)gguf::detail::shape_text(info.shape);
        const auto bytes = r.tensor_bytes(info);
        require(bytes.size() == info.n_bytes, "tensor_bytes has n_bytes bytes");
        if (n > max_values) continue;
        if (is_float_type(info.type)) {
            const stretch::tensor t = r.read_f32(info.name, info.shape);
            require(t.shape() == info.shape && t.numel() == n, "read_f32 gives the tensor's shape");
            const stretch::tensor exact = r.read(info.name);
            require(exact.numel() == n, "read gives the tensor's size");
            if (cpu::can_dequantize(info.type)) {  // f32, f16, bf16: the two paths agree bit for bit
                std::vector<float> out(static_cast<std::size_t>(n));
                cpu::dequantize(info.type, bytes.data(), out.data(), n);
                require(n == 0 || std::memcmp(out.data(), t.data<float>(), out.size() * sizeof(float)) == 0,
                        "dequantize equals read_f32");
            }
            continue;
        }
        try {
            (void)r.read_f32(info.name);
            require(false, "read_f32 of a quantised tensor is an error");
        } catch (const stretch::error& e) {
            fuzz::require_one_line(e);
        }
        if (cpu::can_dequantize(info.type)) {
            std::vector<float> out(static_cast<std::size_t>(n));
            cpu::dequantize(info.type, bytes.data(), out.data(), n);
        }
    }
}

// Special tokens, bytes the small vocabularies lack, UTF-8 of every length, a lone continuation byte.
constexpr std::string_view sample_text =
    "Once upon a time, <s> the </s> <|endoftext|> caf\xC3\xA9 \xE4\xB8\x96 \xF0\x9F\x98\x80 12345 don't\n\t \x80\xFF";

void try_tokenizer(const gguf::reader& r) {
    if (r.find("tokenizer.ggml.model") == nullptr) return;
    std::unique_ptr<tokenizer> tok;
    try {
        tok = tokenizer_from_gguf(r);
    } catch (const stretch::error& e) {
        fuzz::require_one_line(e);
        return;
    }
    std::vector<std::int32_t> ids;
    try {
        ids = tok->encode(sample_text, true);
    } catch (const stretch::error& e) {
        fuzz::require_one_line(e);  // a byte the vocabulary cannot express
        return;
    }
    for (const std::int32_t id : ids) require(id >= 0 && id < tok->vocab_size(), "encode gives ids in range");
    (void)tok->decode(ids, true);
    (void)tok->decode(ids, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = fuzz::scratch().write(data, size);
    try {
        const gguf::reader r = gguf::reader::open(path);
        require(r.file_size() == size, "file_size is the input's size");
        walk_metadata(r);
        walk_tensors(r);
        try_tokenizer(r);
    } catch (const stretch::error& e) {
        fuzz::require_one_line(e);
    }
    return 0;
}
