// Tests for io/gguf: round trips through our writer and reader, the type table, exact f16/bf16
// conversion (exhaustive, against an independent formula), a file written by llama.cpp's Python
// `gguf` package (tests/reference/make_gguf_fixture.py), and rejection of truncated or corrupt files
// with a one-line stretch::error naming the file. Hand-built corrupt files use a byte builder here,
// independent of the writer.
#include "io/gguf.h"

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stretch::gguf {
namespace {

namespace fs = std::filesystem;

// memcmp's pointers must be valid even for zero bytes, and an empty tensor's data() may be null.
bool same_bytes(const void* a, const void* b, std::size_t n) {
    return n == 0 || std::memcmp(a, b, n) == 0;
}

class GgufTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir = fs::temp_directory_path() / fmt::format("stretch_gguf_{}_{}_{}", ::getpid(), info->test_suite_name(), info->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string file(const std::string& name) const { return (dir / name).string(); }
    fs::path dir;
};

void write_bytes(const std::string& path, std::span<const std::byte> bytes) {
    // Unlink first: ext4 flushes a file truncated and rewritten in place on close (auto_da_alloc),
    // which made the loops below wait on the disk thousands of times.
    fs::remove(path);
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::byte> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string s{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::vector<std::byte> out(s.size());
    std::memcpy(out.data(), s.data(), s.size());
    return out;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const stretch::error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected stretch::error";
    return {};
}

// Little-endian byte builder for hand-made (often broken) files.
struct builder {
    std::vector<std::byte> out;
    template <class T> builder& put(T v) {
        auto at = out.size();
        out.resize(at + sizeof(T));
        std::memcpy(out.data() + at, &v, sizeof(T));
        return *this;
    }
    builder& u32(std::uint32_t v) { return put(v); }
    builder& u64(std::uint64_t v) { return put(v); }
    builder& str(std::string_view s) {
        u64(s.size());
        for (char c : s) out.push_back(static_cast<std::byte>(c));
        return *this;
    }
    builder& header(std::uint64_t n_tensors, std::uint64_t n_kv, std::uint32_t version = 3) {
        return u32(magic).u32(version).u64(n_tensors).u64(n_kv);
    }
    builder& info(std::string_view name, std::vector<std::uint64_t> ne, std::uint32_t type, std::uint64_t offset) {
        str(name).u32(static_cast<std::uint32_t>(ne.size()));
        for (auto d : ne) u64(d);
        return u32(type).u64(offset);
    }
    builder& pad(std::size_t alignment = 32) {
        out.resize((out.size() + alignment - 1) / alignment * alignment);
        return *this;
    }
    builder& zeros(std::size_t n) {
        out.resize(out.size() + n);
        return *this;
    }
};

// ---- types and conversions ------------------------------------------------------------------

TEST(GgufTypes, TableMatchesGgml) {
    struct row { ggml_type type; std::uint32_t id; std::int64_t block; std::size_t bytes; };
    for (auto [type, id, block, bytes] : {row{ggml_type::f32, 0, 1, 4}, row{ggml_type::f16, 1, 1, 2}, row{ggml_type::bf16, 30, 1, 2},
                                          row{ggml_type::f64, 28, 1, 8}, row{ggml_type::q4_0, 2, 32, 18}, row{ggml_type::q4_1, 3, 32, 20},
                                          row{ggml_type::q8_0, 8, 32, 34}, row{ggml_type::q4_k, 12, 256, 144}, row{ggml_type::q6_k, 14, 256, 210}}) {
        const ggml_type_traits* t = find_ggml_type(id);
        ASSERT_NE(t, nullptr) << id;
        EXPECT_EQ(t->type, type);
        EXPECT_EQ(t->block_size, block) << t->name;
        EXPECT_EQ(t->type_size, bytes) << t->name;
    }
    EXPECT_EQ(find_ggml_type(4), nullptr);  // Q4_2, removed from ggml
    EXPECT_EQ(find_ggml_type(1000), nullptr);
    EXPECT_STREQ(ggml_type_name(ggml_type::q6_k), "q6_k");
}

TEST(GgufTypes, F16ExhaustiveAgainstFormula) {
    for (std::uint32_t bits = 0; bits < 65536; ++bits) {
        std::uint32_t sign = bits >> 15, e = (bits >> 10) & 31, m = bits & 1023;
        float got = f16_to_f32(static_cast<std::uint16_t>(bits));
        if (e == 31) {
            EXPECT_TRUE(m == 0 ? std::isinf(got) : std::isnan(got)) << bits;
            EXPECT_EQ(std::signbit(got), sign == 1) << bits;
            continue;
        }
        // value = m * 2^-24 (subnormal) or (1024 + m) * 2^(e - 25): exact in double and in float.
        double magnitude = e == 0 ? std::ldexp(static_cast<double>(m), -24) : std::ldexp(1024.0 + m, static_cast<int>(e) - 25);
        double expected = sign ? -magnitude : magnitude;
        ASSERT_EQ(static_cast<double>(got), expected) << bits;
        ASSERT_EQ(std::signbit(got), sign == 1) << bits;  // -0 stays -0
    }
}

TEST(GgufTypes, Bf16ExhaustiveAgainstFormula) {
    for (std::uint32_t bits = 0; bits < 65536; ++bits) {
        std::uint32_t sign = bits >> 15, e = (bits >> 7) & 255, m = bits & 127;
        float got = bf16_to_f32(static_cast<std::uint16_t>(bits));
        if (e == 255) {
            EXPECT_TRUE(m == 0 ? std::isinf(got) : std::isnan(got)) << bits;
            continue;
        }
        double magnitude = e == 0 ? std::ldexp(static_cast<double>(m), -133) : std::ldexp(128.0 + m, static_cast<int>(e) - 134);
        ASSERT_EQ(static_cast<double>(got), sign ? -magnitude : magnitude) << bits;
        ASSERT_EQ(std::signbit(got), sign == 1) << bits;
    }
}

// ---- round trips ----------------------------------------------------------------------------

TEST_F(GgufTest, RoundTripEveryValueType) {
    writer w;
    w.set("k.u8", value(std::uint8_t{250}));
    w.set("k.i8", value(std::int8_t{-120}));
    w.set("k.u16", value(std::uint16_t{65000}));
    w.set("k.i16", value(std::int16_t{-32000}));
    w.set_u32("k.u32", 4294967295u);
    w.set_i32("k.i32", -2147483647 - 1);
    w.set_f32("k.f32", -0.1f);
    w.set_bool("k.bool", true);
    w.set_string("k.string", std::string("with\0nul and \xc3\xa9", 15));
    w.set_string("k.empty", "");
    w.set_u64("k.u64", std::numeric_limits<std::uint64_t>::max());
    w.set_i64("k.i64", std::numeric_limits<std::int64_t>::min());
    w.set_f64("k.f64", 1.0 / 3.0);
    std::vector<float> f32s{1.5f, -0.0f, 3e38f};
    std::vector<std::int32_t> i32s{-1, 0, 7};
    std::vector<std::uint32_t> u32s{1, 2};
    std::vector<std::uint64_t> u64s{0, std::numeric_limits<std::uint64_t>::max()};
    std::vector<std::string> strings{"a", "", "ccc"};
    w.set_array_f32("a.f32", f32s);
    w.set_array_i32("a.i32", i32s);
    w.set_array_u32("a.u32", u32s);
    w.set_array_u64("a.u64", u64s);
    w.set_array_string("a.string", strings);
    w.set_array_f32("a.empty", {});
    array nested{value_type::array, {array{value_type::i16, {std::int16_t{1}, std::int16_t{2}}}, array{value_type::i16, {}}}};
    w.set("a.nested", nested);
    w.set_u32("k.u32", 7);  // replacing keeps the first position
    w.write(file("kv.gguf"));

    reader r = reader::open(file("kv.gguf"));
    EXPECT_EQ(r.version(), 3u);
    EXPECT_EQ(r.alignment(), 32u);
    ASSERT_EQ(r.kv().size(), w.kv().size() + 1);  // + general.alignment, appended
    for (std::size_t i = 0; i < w.kv().size(); ++i) {
        EXPECT_EQ(r.kv().entries()[i].first, w.kv().entries()[i].first);
        EXPECT_TRUE(r.kv().entries()[i].second == w.kv().entries()[i].second) << r.kv().entries()[i].first;
    }
    EXPECT_EQ(r.kv().entries()[4].first, "k.u32");
    EXPECT_EQ(r.kv().entries().back().first, "general.alignment");
    EXPECT_EQ(r.get_u32("general.alignment"), 32u);
    EXPECT_EQ(r.get_array_f32("a.f32"), f32s);
    EXPECT_EQ(r.get_array_i32("a.i32"), i32s);
    EXPECT_EQ(r.get_array_u64("a.u64"), u64s);
    EXPECT_EQ(r.get_array_string("a.string"), strings);
    EXPECT_TRUE(r.get_array_f32("a.empty").empty());
    EXPECT_EQ(r.get_string("k.string").size(), 15u);
    EXPECT_EQ(type_name(*r.find("a.nested")), "array of array of i16");
    EXPECT_EQ(r.get_array("a.nested").items.size(), 2u);
}

TEST_F(GgufTest, RoundTripTensorsRank1To4AreByteIdentical) {
    std::mt19937 rng(7);
    std::normal_distribution<double> normal;
    writer w;
    std::vector<stretch::tensor> sources;
    const std::vector<shape_t> shapes{{5}, {3, 7}, {2, 3, 4}, {2, 1, 3, 5}, {4, 0}};
    for (dtype type : {dtype::f32, dtype::f64}) {
        for (const auto& shape : shapes) {
            stretch::tensor t(shape, type);
            for (std::int64_t i = 0; i < t.numel(); ++i) {
                if (type == dtype::f32) t.data<float>()[i] = static_cast<float>(normal(rng));
                else t.data<double>()[i] = normal(rng);
            }
            std::string name = fmt::format("t.{}.{}", dtype_name(type), sources.size());
            w.add_tensor(name, t);
            sources.push_back(t);
        }
    }
    w.write(file("t.gguf"));
    reader r = reader::open(file("t.gguf"));
    ASSERT_EQ(r.tensors().size(), sources.size());
    for (std::size_t i = 0; i < sources.size(); ++i) {
        const tensor_info& info = r.tensors()[i];
        const stretch::tensor& src = sources[i];
        EXPECT_EQ(info.shape, src.shape()) << info.name;
        EXPECT_EQ(info.type, src.type() == dtype::f32 ? ggml_type::f32 : ggml_type::f64);
        EXPECT_EQ(info.offset % 32, 0u);
        EXPECT_EQ((r.data_offset() + info.offset) % 32, 0u);
        auto bytes = r.tensor_bytes(info);
        ASSERT_EQ(bytes.size(), src.bytes());
        EXPECT_TRUE(same_bytes(bytes.data(), src.raw(), src.bytes())) << info.name;
        stretch::tensor back = r.read(info.name);
        EXPECT_EQ(back.type(), src.type());
        EXPECT_TRUE(same_bytes(back.raw(), src.raw(), src.bytes())) << info.name;
        stretch::tensor as_f32 = r.read_f32(info.name, src.shape());
        stretch::tensor expected = src.to(dtype::f32);
        EXPECT_TRUE(same_bytes(as_f32.raw(), expected.raw(), expected.bytes())) << info.name;
    }
    EXPECT_EQ(r.find_tensor("nope"), nullptr);
    EXPECT_EQ(r.find_tensor("t.f32.1"), &r.tensors()[1]);
}

TEST_F(GgufTest, WriterIsDeterministicAndSerializeMatchesWrite) {
    auto make = [] {
        writer w;
        w.set_string("general.architecture", "llama");
        w.set_f32("x", 2.5f);
        stretch::tensor t({3, 3});
        for (int i = 0; i < 9; ++i) t.data<float>()[i] = static_cast<float>(i) * 0.5f;
        w.add_tensor("w", t);
        return w;
    };
    make().write(file("a.gguf"));
    make().write(file("b.gguf"));
    auto a = read_bytes(file("a.gguf"));
    EXPECT_EQ(a, read_bytes(file("b.gguf")));
    EXPECT_EQ(a, make().serialize());
    EXPECT_EQ(a.size() % 32, 0u);
}

TEST_F(GgufTest, TypedGettersConvertOnlyLosslessly) {
    writer w;
    w.set_i32("i32.five", 5);
    w.set_i32("i32.minus", -1);
    w.set("u8", value(std::uint8_t{200}));
    w.set_f64("f64.tenth", 0.1);
    w.set_f64("f64.half", 0.5);
    w.set_u32("u32.big", 10000);
    w.set_string("s", "text");
    w.set_bool("b", false);
    std::vector<std::int32_t> ints{1, -2};
    w.set_array_i32("a.i32", ints);
    w.set("a.f64", array{value_type::f64, {0.25, 1e300}});
    w.write(file("g.gguf"));
    reader r = reader::open(file("g.gguf"));
    const std::string name = file("g.gguf");

    EXPECT_EQ(r.get_u64("i32.five"), 5u);
    EXPECT_EQ(r.get_i32("u8"), 200);
    EXPECT_EQ(r.get_f32("u32.big"), 10000.0f);
    EXPECT_EQ(r.get_f32("f64.half"), 0.5f);
    EXPECT_EQ(r.get_f64("f64.tenth"), 0.1);
    EXPECT_FALSE(r.get_bool("b"));
    EXPECT_EQ(r.get_u32_or("absent", 42), 42u);
    EXPECT_EQ(r.get_string_or("absent", "dflt"), "dflt");
    EXPECT_EQ(r.get_array_i64("a.i32"), (std::vector<std::int64_t>{1, -2}));
    EXPECT_EQ(r.get_array_f32("a.i32"), (std::vector<float>{1.0f, -2.0f}));

    EXPECT_EQ(error_of([&] { r.get_u32("i32.minus"); }), name + ": key 'i32.minus' has value -1 of type i32, which does not fit in u32");
    EXPECT_EQ(error_of([&] { r.get_u32("s"); }), name + ": key 's' has type string, expected u32");
    EXPECT_EQ(error_of([&] { r.get_u32("missing"); }), name + ": missing key 'missing'");
    EXPECT_EQ(error_of([&] { r.get_u32_or("s", 1); }), name + ": key 's' has type string, expected u32");
    EXPECT_NE(error_of([&] { r.get_f32("f64.tenth"); }).find("does not fit in f32"), std::string::npos);
    EXPECT_NE(error_of([&] { r.get_bool("i32.five"); }).find("has type i32, expected bool"), std::string::npos);
    EXPECT_EQ(error_of([&] { r.get_array_string("a.i32"); }), name + ": key 'a.i32' has type array of i32, expected array of string");
    EXPECT_EQ(error_of([&] { r.get_array_u32("a.i32"); }), name + ": key 'a.i32' element 1 has value -2 of type i32, which does not fit in u32");
    EXPECT_NE(error_of([&] { r.get_array_f32("a.f64"); }).find("element 1"), std::string::npos);
    EXPECT_EQ(r.get_array_f64("a.f64"), (std::vector<double>{0.25, 1e300}));
    EXPECT_EQ(error_of([&] { r.get_array_f32("s"); }), name + ": key 's' has type string, expected array of f32");
}

TEST_F(GgufTest, HalfPrecisionAndQuantisedTensors) {
    // Bits chosen independently of the converter: 1.0, -2.0, smallest subnormal, 65504 (f16);
    // 1.0, -3.0, 2^-133, pi-ish 3.140625 (bf16).
    const std::uint16_t f16_bits[] = {0x3c00, 0xc000, 0x0001, 0x7bff};
    const std::uint16_t bf16_bits[] = {0x3f80, 0xc040, 0x0001, 0x4049};
    std::vector<std::byte> q8(2 * 34);
    for (std::size_t i = 0; i < q8.size(); ++i) q8[i] = static_cast<std::byte>(i);
    writer w;
    w.add_tensor_bytes("h", {2, 2}, ggml_type::f16, std::as_bytes(std::span(f16_bits)));
    w.add_tensor_bytes("b", {4}, ggml_type::bf16, std::as_bytes(std::span(bf16_bits)));
    w.add_tensor_bytes("q", {2, 32}, ggml_type::q8_0, q8);
    EXPECT_NE(error_of([&] { w.add_tensor_bytes("bad", {2, 31}, ggml_type::q8_0, q8); }).find("multiple of 32"), std::string::npos);
    EXPECT_NE(error_of([&] { w.add_tensor_bytes("bad", {2, 32}, ggml_type::q8_0, std::span(q8).first(10)); }).find("expected 68"), std::string::npos);
    EXPECT_NE(error_of([&] { w.add_tensor_bytes("h", {1}, ggml_type::f32, std::span(q8).first(4)); }).find("duplicate"), std::string::npos);
    w.write(file("h.gguf"));

    reader r = reader::open(file("h.gguf"));
    stretch::tensor h = r.read_f32("h", {2, 2});
    EXPECT_EQ(h.data<float>()[0], 1.0f);
    EXPECT_EQ(h.data<float>()[1], -2.0f);
    EXPECT_EQ(h.data<float>()[2], std::ldexp(1.0f, -24));
    EXPECT_EQ(h.data<float>()[3], 65504.0f);
    stretch::tensor b = r.read_f32("b");
    EXPECT_EQ(b.data<float>()[0], 1.0f);
    EXPECT_EQ(b.data<float>()[1], -3.0f);
    EXPECT_EQ(b.data<float>()[2], std::ldexp(1.0f, -133));
    EXPECT_EQ(b.data<float>()[3], 3.140625f);
    const tensor_info& q = r.require_tensor("q");
    EXPECT_EQ(q.type, ggml_type::q8_0);
    EXPECT_EQ(q.n_bytes, 68u);
    EXPECT_EQ(std::memcmp(r.tensor_bytes(q).data(), q8.data(), q8.size()), 0);
    const std::string name = file("h.gguf");
    EXPECT_EQ(error_of([&] { r.read_f32("q"); }),
              name + ": tensor 'q' has type q8_0; reading it as f32 is not supported yet (f32, f16, bf16 and f64 are)");
    EXPECT_EQ(error_of([&] { r.read_f32("h", {4}); }), name + ": tensor 'h' has shape [2, 2], expected [4]");
    EXPECT_EQ(error_of([&] { r.read_f32("zz"); }), name + ": missing tensor 'zz'");

    reader moved = std::move(r);  // the mapping moves with it
    EXPECT_EQ(moved.read_f32("b").data<float>()[1], -3.0f);
}

TEST_F(GgufTest, WriterRejectsBadInput) {
    writer w;
    EXPECT_NE(error_of([&] { w.add_tensor(std::string(64, 'n'), stretch::tensor({1})); }).find("fewer than 64"), std::string::npos);
    EXPECT_NE(error_of([&] { w.add_tensor("r5", stretch::tensor({1, 1, 1, 1, 1})); }).find("at most 4"), std::string::npos);
    EXPECT_NE(error_of([&] { w.set("a", array{value_type::u32, {std::int32_t{1}}}); }).find("item 0 has type i32"), std::string::npos);
    w.set_f32("general.alignment", 32.0f);
    EXPECT_NE(error_of([&] { w.serialize(); }).find("general.alignment"), std::string::npos);
}

// ---- the independent implementation's file ----------------------------------------------------

TEST(GgufReference, ReadsFileWrittenByPythonPackage) {
    const std::string dir = std::string(STRETCH_SOURCE_DIR) + "/tests/fixtures/gguf/";
    std::ifstream json_in(dir + "reference_v3.json");
    ASSERT_TRUE(json_in) << "missing " << dir << "reference_v3.json";
    nlohmann::json doc = nlohmann::json::parse(json_in);
    reader r = reader::open(dir + "reference_v3.gguf");
    EXPECT_EQ(r.version(), doc["version"].get<std::uint32_t>());
    EXPECT_EQ(r.alignment(), doc["alignment"].get<std::uint64_t>());
    EXPECT_EQ(r.file_size(), doc["file_size"].get<std::uint64_t>());

    auto check = [](const value& v, const std::string& type, const nlohmann::json& j, const std::string& where) {
        ASSERT_EQ(value_type_name(type_of(v)), type) << where;
        std::visit(
            [&](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, array>) {
                    FAIL() << "nested arrays are not in the fixture";
                } else if constexpr (std::is_same_v<T, float>) {
                    EXPECT_EQ(x, static_cast<float>(j.get<double>())) << where;
                } else {
                    EXPECT_EQ(x, j.get<T>()) << where;
                }
            },
            v);
    };
    const auto& kv = doc["kv"];
    ASSERT_EQ(r.kv().size(), kv.size());
    for (std::size_t i = 0; i < kv.size(); ++i) {
        const auto& [key, v] = r.kv().entries()[i];
        ASSERT_EQ(key, kv[i]["key"].get<std::string>());
        const auto type = kv[i]["type"].get<std::string>();
        if (type != "array") {
            check(v, type, kv[i]["value"], key);
            continue;
        }
        const auto* a = std::get_if<array>(&v);
        ASSERT_NE(a, nullptr) << key;
        ASSERT_EQ(value_type_name(a->elem), kv[i]["elem"].get<std::string>()) << key;
        ASSERT_EQ(a->items.size(), kv[i]["value"].size()) << key;
        for (std::size_t k = 0; k < a->items.size(); ++k) check(a->items[k], kv[i]["elem"].get<std::string>(), kv[i]["value"][k], key);
    }
    EXPECT_EQ(r.get_array_string("test.array_string")[2], "g\xc3\xa4mma");

    const auto& tensors = doc["tensors"];
    ASSERT_EQ(r.tensors().size(), tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const tensor_info& info = r.tensors()[i];
        const auto& t = tensors[i];
        ASSERT_EQ(info.name, t["name"].get<std::string>());
        EXPECT_EQ(info.shape, t["shape"].get<shape_t>()) << info.name;
        EXPECT_EQ(ggml_type_name(info.type), t["type"].get<std::string>()) << info.name;
        EXPECT_EQ(r.data_offset() + info.offset, t["file_offset"].get<std::uint64_t>()) << info.name;
        stretch::tensor values = r.read_f32(info.name, t["shape"].get<shape_t>());
        auto expected = t["values"].get<std::vector<double>>();
        ASSERT_EQ(static_cast<std::size_t>(values.numel()), expected.size());
        for (std::size_t k = 0; k < expected.size(); ++k)
            EXPECT_EQ(values.data<float>()[k], static_cast<float>(expected[k])) << info.name << "[" << k << "]";
    }
}

TEST_F(GgufTest, CopyOfReferenceThroughOurWriterReadsTheSame) {
    reader src = reader::open(std::string(STRETCH_SOURCE_DIR) + "/tests/fixtures/gguf/reference_v3.gguf");
    writer w;
    for (const auto& [key, v] : src.kv()) w.set(key, v);
    for (const auto& info : src.tensors()) w.add_tensor_bytes(info.name, info.shape, info.type, src.tensor_bytes(info));
    w.write(file("copy.gguf"));
    reader copy = reader::open(file("copy.gguf"));
    ASSERT_EQ(copy.kv().size(), src.kv().size() + 1);  // + general.alignment
    for (std::size_t i = 0; i < src.kv().size(); ++i) EXPECT_TRUE(copy.kv().entries()[i] == src.kv().entries()[i]);
    ASSERT_EQ(copy.tensors().size(), src.tensors().size());
    for (std::size_t i = 0; i < src.tensors().size(); ++i) {
        auto a = src.tensor_bytes(src.tensors()[i]), b = copy.tensor_bytes(copy.tensors()[i]);
        ASSERT_EQ(a.size(), b.size());
        EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0);
        EXPECT_EQ(copy.tensors()[i].shape, src.tensors()[i].shape);
    }
}

// ---- truncated and corrupt files --------------------------------------------------------------

TEST_F(GgufTest, EveryTruncationThrows) {
    writer w;
    w.set_string("general.architecture", "llama");
    w.set_u32("n", 3);
    std::vector<std::string> strings{"x", "yy"};
    w.set_array_string("tokens", strings);
    w.set("nested", array{value_type::array, {array{value_type::u8, {std::uint8_t{1}}}}});
    stretch::tensor a({2, 4}), b({8}, dtype::f64);  // 32 and 64 bytes: no tail padding to cut harmlessly
    w.add_tensor("a", a);
    w.add_tensor("b", b);
    std::vector<std::byte> full = w.serialize();
    const std::string path = file("trunc.gguf");
    write_bytes(path, full);
    EXPECT_NO_THROW(reader::open(path));
    for (std::size_t n = 0; n < full.size(); ++n) {
        write_bytes(path, std::span(full).first(n));
        std::string message = error_of([&] { reader::open(path); });
        ASSERT_EQ(message.rfind(path + ": ", 0), 0u) << "length " << n << ": " << message;
        ASSERT_EQ(message.find('\n'), std::string::npos) << message;
    }
    write_bytes(path, std::span(full).first(100));
    EXPECT_EQ(error_of([&] { reader::open(path); }), path + ": truncated: kv 2 ('tokens') needs 4 bytes at offset 100, file has 100 bytes");
}

TEST_F(GgufTest, RandomByteCorruptionOpensOrThrowsNeverCrashes) {
    writer w;
    w.set_string("general.architecture", "llama");
    std::vector<std::string> strings{"ab", "c"};
    w.set_array_string("tokens", strings);
    w.set_u32("general.alignment", 32);
    w.add_tensor("a", stretch::tensor({3, 2}));
    w.add_tensor_bytes("h", {2}, ggml_type::f16, std::vector<std::byte>(4));
    const std::vector<std::byte> full = w.serialize();
    const std::string path = file("fuzz.gguf");
    std::mt19937 rng(99);
    int opened = 0;
    for (int iteration = 0; iteration < 3000; ++iteration) {
        std::vector<std::byte> bytes = full;
        for (int k = 0; k < 1 + iteration % 3; ++k) bytes[rng() % bytes.size()] = static_cast<std::byte>(rng());
        write_bytes(path, bytes);
        try {
            reader r = reader::open(path);
            ++opened;
            for (const auto& info : r.tensors()) {
                auto data = r.tensor_bytes(info);
                ASSERT_EQ(data.size(), info.n_bytes);
                try {
                    r.read_f32(info.name);
                } catch (const stretch::error&) {
                }
            }
        } catch (const stretch::error& e) {
            ASSERT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
        }
    }
    EXPECT_GT(opened, 0);  // corruptions inside tensor data or strings still open
}

TEST_F(GgufTest, CorruptFieldsThrowNamingTheFile) {
    const std::string path = file("bad.gguf");
    auto expect = [&](const builder& b, const std::string& needle) {
        write_bytes(path, b.out);
        std::string message = error_of([&] { reader::open(path); });
        EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
        EXPECT_NE(message.find(needle), std::string::npos) << "wanted '" << needle << "' in: " << message;
    };
    const std::uint64_t huge = std::uint64_t{1} << 62;
    auto one_tensor = [](std::vector<std::uint64_t> ne, std::uint32_t type, std::uint64_t offset, std::size_t data) {
        builder b;
        b.header(1, 0).info("w", std::move(ne), type, offset).pad().zeros(data);
        return b;
    };

    expect(builder().header(0, huge), "claims 4611686018427387904 key-value pairs");
    expect(builder().header(huge, 0), "claims 4611686018427387904 tensors");
    expect(builder().header(0, 1).u64(huge).zeros(16), "truncated: kv 0 key needs 4611686018427387904 bytes");
    expect(builder().header(0, 1).str("s").u32(8).u64(huge).zeros(8), "kv 0 ('s') needs 4611686018427387904 bytes");
    expect(builder().header(0, 1).str("a").u32(9).u32(0).u64(huge).zeros(8), "array of 4611686018427387904 u8 items");
    expect(builder().header(0, 1).str("a").u32(9).u32(9).u64(1).u32(4).u64(huge).zeros(8), "array of 4611686018427387904 u32 items");
    expect(builder().header(0, 1).str("v").u32(13).zeros(8), "unknown value type 13");
    expect(builder().header(0, 1).str("v").u32(9).u32(77).u64(0), "unknown array element type 77");
    expect(builder().header(0, 1).str("v").u32(7).put(std::uint8_t{2}), "bool byte 2");
    expect(builder().header(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2), "duplicate key 'k'");
    builder deep;
    deep.header(0, 1).str("d").u32(9);
    for (int i = 0; i < 20; ++i) deep.u32(9).u64(1);
    expect(deep, "nests arrays 9 deep");
    expect(builder().header(0, 1).str("general.alignment").u32(4).u32(48), "expected a power of two");
    expect(builder().header(0, 1).str("general.alignment").u32(10).u64(32), "has type u64, expected u32");

    expect(one_tensor({4}, 0, 1 << 20, 16), "tensor 'w' data needs 16 bytes");
    expect(one_tensor({4}, 0, 4, 64), "tensor 'w' has data offset 4, expected a multiple of the alignment 32");
    expect(one_tensor({1, 1, 1, 1, 1, 1, 1, 1, 1}, 0, 0, 64), "tensor 'w' has 9 dimensions, expected at most 4");
    expect(one_tensor({4}, 99, 0, 64), "tensor 'w' has unknown ggml type id 99");
    expect(one_tensor({huge, huge}, 0, 0, 64), "tensor 'w' has dimensions whose product overflows");
    expect(one_tensor({31}, 2, 0, 64), "rows of 31 elements, expected a multiple of the block size 32");
    builder twice;
    twice.header(2, 0).info("w", {1}, 0, 0).info("w", {1}, 0, 32).pad().zeros(64);
    expect(twice, "duplicate tensor name 'w'");

    expect(builder().u32(0x4c4d4747).u32(3).u64(0).u64(0), "bad magic 47 47 4d 4c");
    expect(builder().header(0, 0, 1), "version 1");
    expect(builder().header(0, 0, 0x03000000), "big-endian");
    expect(builder().header(0, 0, 4), "unsupported GGUF version 4");
    expect(builder(), "truncated: header needs 4 bytes at offset 0, file has 0 bytes");
    EXPECT_NE(error_of([&] { reader::open(file("absent.gguf")); }).find("No such file"), std::string::npos);

    // Version 2 has the same layout as 3 and is accepted; a file with no tensors needs no data section.
    write_bytes(path, builder().header(0, 1, 2).str("k").u32(8).str("v").out);
    EXPECT_EQ(reader::open(path).get_string("k"), "v");
}

// Regressions found by fuzzing (tools/fuzz/fuzz_gguf.cpp, docs/fuzzing.md). A zero dimension let
// the overflow check pass whatever the others were, so a shape could hold a negative extent (a
// dimension above 2^63 read as int64) or extents whose product overflows int64 in shape_numel's
// order; numel() then failed an invariant and read_f32 overflowed.
TEST_F(GgufTest, ZeroDimensionDoesNotHideHugeOnes) {
    const std::string dir = std::string(STRETCH_SOURCE_DIR) + "/tests/fixtures/fuzz/gguf/";
    std::string path = dir + "crash-zero-dim-negative.gguf";  // the fuzzer's input
    EXPECT_EQ(error_of([&] { reader::open(path); }),
              path + ": tensor 'rank4' has dimensions whose product overflows 64 bits (dimension 2 is 18443929323942445056)");
    path = dir + "crash-zero-dim-overflow.gguf";  // ne [0, 2^62, 4], made by hand
    EXPECT_EQ(error_of([&] { reader::open(path); }),
              path + ": tensor 'w' has dimensions whose product overflows 64 bits (dimension 2 is 4)");

    // Zeros still count as ones against the limit, and the tensor is empty.
    path = file("zero.gguf");
    write_bytes(path, builder().header(1, 0).info("w", {0, std::uint64_t{1} << 62}, 0, 0).pad().out);
    const reader r = reader::open(path);
    EXPECT_EQ(r.require_tensor("w").shape, (shape_t{std::int64_t{1} << 62, 0}));
    EXPECT_EQ(r.read_f32("w").numel(), 0);
}

}  // namespace
}  // namespace stretch::gguf
