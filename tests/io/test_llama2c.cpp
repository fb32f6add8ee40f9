// io/llama2c against an independent numpy reading of the llama2.c stories260K checkpoint
// (tests/reference/make_llama2c_fixture.py): header, tensor names, order and shapes, sampled values
// and a checksum over every value. A small hand-built file covers the unshared classifier and the
// skipped freq_cis tables; truncated and corrupted copies give one-line errors naming the file and
// the field or the expected size.
#include "io/llama2c.h"

#include <unistd.h>

#include <array>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stretch {
namespace {

namespace fs = std::filesystem;

// ../shared/models beside the source tree, where the project keeps its pretrained models.
std::string stories260k() {
    return (fs::path(STRETCH_SOURCE_DIR).parent_path() / "shared" / "models" / "stories260K.bin").string();
}

std::vector<char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const stretch::error& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "expected stretch::error";
    return {};
}

class Llama2c : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir = fs::temp_directory_path() / fmt::format("stretch_llama2c_{}_{}", ::getpid(), info->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string file(const std::string& name) const { return (dir / name).string(); }
    fs::path dir;
};

TEST_F(Llama2c, Stories260KMatchesNumpy) {
    if (!fs::exists(stories260k())) GTEST_SKIP() << stories260k() << " not found (../shared/models)";
    std::ifstream fixture_file(std::string(STRETCH_SOURCE_DIR) + "/tests/fixtures/llama2c/stories260K.json");
    const auto fixture = nlohmann::json::parse(fixture_file);
    const auto c = read_llama2c(stories260k());

    EXPECT_EQ(c.dim, 64);
    EXPECT_EQ(c.hidden_dim, 172);
    EXPECT_EQ(c.n_layers, 5);
    EXPECT_EQ(c.n_heads, 8);
    EXPECT_EQ(c.n_kv_heads, 4);
    EXPECT_EQ(c.vocab_size, 512);
    EXPECT_EQ(c.seq_len, 512);
    EXPECT_TRUE(c.shared_classifier);
    const auto& h = fixture["header"];
    EXPECT_EQ(c.dim, h["dim"].get<int>());
    EXPECT_EQ(c.hidden_dim, h["hidden_dim"].get<int>());
    EXPECT_EQ(c.n_kv_heads, h["n_kv_heads"].get<int>());
    EXPECT_EQ(c.shared_classifier, h["shared_classifier"].get<bool>());

    const auto& want = fixture["tensors"];
    ASSERT_EQ(c.tensors.size(), want.size());
    ASSERT_EQ(c.tensors.size(), 1 + 9 * 5 + 1u);  // no output.weight: the classifier is shared
    for (std::size_t i = 0; i < want.size(); ++i) {
        const auto& [name, t] = c.tensors[i];
        SCOPED_TRACE(name);
        EXPECT_EQ(name, want[i]["name"].get<std::string>());
        EXPECT_EQ(t.shape(), want[i]["shape"].get<shape_t>());
        const float* x = t.data<float>();
        for (const auto& sample : want[i]["samples"])
            EXPECT_EQ(x[sample[0].get<std::int64_t>()], sample[1].get<float>()) << "index " << sample[0];
        std::uint64_t bits_sum = 0;
        for (std::int64_t k = 0; k < t.numel(); ++k) bits_sum += std::bit_cast<std::uint32_t>(x[k]);
        EXPECT_EQ(bits_sum, want[i]["bits_sum"].get<std::uint64_t>());
    }
    EXPECT_EQ(c.tensors[0].second.shape(), (shape_t{512, 64}));
    EXPECT_EQ(c.tensors[1 + 2 * 5].second.shape(), (shape_t{32, 64}));  // blk.0.attn_k: kv_dim 4 heads x 8
    EXPECT_EQ(c.tensors[1 + 7 * 5].second.shape(), (shape_t{64, 172}));  // blk.0.ffn_down
}

// A tiny file with a separate classifier: dim 4, hidden 6, 1 layer, 2 heads, 1 KV head, vocab 3,
// seq_len 2; every float is its index in the file, so each tensor's first value shows where it was
// read from, and the freq_cis tables (2 x 2 x 1 floats) must be skipped.
TEST_F(Llama2c, SeparateClassifierAndSkippedTables) {
    const std::array<std::int32_t, 7> header = {4, 6, 1, 2, 1, -3, 2};
    const std::int64_t n_floats = 12 + 4 + 16 + 8 + 8 + 16 + 4 + 24 + 24 + 24 + 4 + 4 + 12;
    std::vector<char> bytes(28 + 4 * std::size_t(n_floats));
    std::memcpy(bytes.data(), header.data(), 28);
    for (std::int64_t i = 0; i < n_floats; ++i) {
        const float v = float(i);
        std::memcpy(bytes.data() + 28 + 4 * i, &v, 4);
    }
    write_bytes(file("tiny.bin"), bytes);
    const auto c = read_llama2c(file("tiny.bin"));
    EXPECT_EQ(c.vocab_size, 3);
    EXPECT_FALSE(c.shared_classifier);
    const std::vector<std::pair<std::string, shape_t>> want = {
        {"token_embd.weight", {3, 4}},     {"blk.0.attn_norm.weight", {4}},   {"blk.0.attn_q.weight", {4, 4}},
        {"blk.0.attn_k.weight", {2, 4}},   {"blk.0.attn_v.weight", {2, 4}},   {"blk.0.attn_output.weight", {4, 4}},
        {"blk.0.ffn_norm.weight", {4}},    {"blk.0.ffn_gate.weight", {6, 4}}, {"blk.0.ffn_down.weight", {4, 6}},
        {"blk.0.ffn_up.weight", {6, 4}},   {"output_norm.weight", {4}},       {"output.weight", {3, 4}}};
    ASSERT_EQ(c.tensors.size(), want.size());
    std::int64_t at = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        const auto& [name, t] = c.tensors[i];
        EXPECT_EQ(name, want[i].first);
        EXPECT_EQ(t.shape(), want[i].second) << name;
        if (name == "output.weight") at += 4;  // the two freq_cis tables
        for (std::int64_t k = 0; k < t.numel(); ++k) ASSERT_EQ(t.data<float>()[k], float(at + k)) << name;
        at += t.numel();
    }
    EXPECT_EQ(at, n_floats);
}

TEST_F(Llama2c, CorruptCopiesGiveOneLineErrors) {
    if (!fs::exists(stories260k())) GTEST_SKIP() << stories260k() << " not found (../shared/models)";
    const auto good = read_bytes(stories260k());
    ASSERT_EQ(good.size(), 1056540u);
    const std::string header = "dim 64, hidden_dim 172, n_layers 5, n_heads 8, n_kv_heads 4, vocab_size 512 "
                               "(shared classifier), seq_len 512";
    const std::string p = file("copy.bin");
    // The first `size` bytes of the good file (zero-padded), header fields set to `edits` {index, value}.
    auto variant = [&](std::size_t size, std::vector<std::pair<int, std::int32_t>> edits = {}) {
        std::vector<char> bytes(good.begin(), good.begin() + std::ptrdiff_t(std::min(size, good.size())));
        bytes.resize(size, 0);
        for (const auto& [field, value] : edits) std::memcpy(bytes.data() + 4 * field, &value, 4);
        write_bytes(p, bytes);
        return error_of([&] { read_llama2c(p); });
    };

    EXPECT_EQ(variant(20), p + ": file is 20 bytes, expected at least the 28-byte llama2.c header");
    EXPECT_EQ(variant(1000000), p + ": file is 1000000 bytes, expected 1056540 from the header (" + header +
                                    "); it ends inside blk.4.ffn_up.weight");
    EXPECT_EQ(variant(good.size() - 4), p + ": file is 1056536 bytes, expected 1056540 from the header (" + header +
                                            "); it ends inside freq_cis_imag");
    EXPECT_EQ(variant(good.size() + 8), p + ": file is 1056548 bytes, expected 1056540 from the header (" + header +
                                            "); 8 bytes follow the last array");
    // A negative vocab_size promises a separate classifier the file does not have.
    EXPECT_EQ(variant(good.size(), {{5, -512}}),
              p + ": file is 1056540 bytes, expected 1187612 from the header (dim 64, hidden_dim 172, n_layers 5, "
                  "n_heads 8, n_kv_heads 4, vocab_size 512 (separate classifier), seq_len 512); it ends inside output.weight");
    EXPECT_EQ(variant(good.size(), {{0, 0}}), p + ": header field dim is 0, expected a positive value");
    EXPECT_EQ(variant(good.size(), {{6, -1}}), p + ": header field seq_len is -1, expected a positive value");
    EXPECT_EQ(variant(good.size(), {{5, 0}}),
              p + ": header field vocab_size is 0, expected a nonzero value whose sign marks a separate classifier");
    EXPECT_EQ(variant(good.size(), {{3, 7}}), p + ": header field n_heads is 7, expected a divisor of dim 64");
    EXPECT_EQ(variant(good.size(), {{4, 3}}), p + ": header field n_kv_heads is 3, expected a divisor of n_heads 8");
    EXPECT_EQ(variant(good.size(), {{3, 64}}),
              p + ": header fields dim 64 and n_heads 64 give head size 1, expected an even head size (RoPE rotates pairs)");
    // dim 2^30 with hidden_dim and n_layers at 2^31 - 1: ~2^94 bytes, rejected before any arithmetic overflows.
    EXPECT_NE(variant(good.size(), {{0, 1 << 30}, {1, 2147483647}, {2, 2147483647}}).find("expected at most 2^62"),
              std::string::npos);
    EXPECT_EQ(error_of([&] { read_llama2c(file("missing.bin")); }),
              file("missing.bin") + ": cannot open file: No such file or directory");
}

}  // namespace
}  // namespace stretch
