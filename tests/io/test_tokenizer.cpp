// Tests for io/tokenizer: token ids compared exactly with independent implementations
// (tests/reference/make_tokenizer_fixture.py wrote them): Hugging Face `tokenizers` (and
// llama-cpp-python) for SmolLM2's byte-level BPE under three pre-tokenizers, `sentencepiece` for a
// GGUF SentencePiece vocabulary made of llama2.c's tok512 pieces, and a Python transcription of
// llama2.c run.c's encode for tok512.bin itself. Also round trips through decode, special tokens,
// the pre-tokenizers on hand-checked inputs, and one-line errors for malformed files.
// SmolLM2 comes from scripts/get_smollm2.sh (skipped without it); tok512.bin from ../shared/models.
#include "io/tokenizer.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/pretokenizer.h"

namespace stretch {
namespace {

namespace fs = std::filesystem;
using ids = std::vector<std::int32_t>;

const fs::path fixtures = fs::path(STRETCH_SOURCE_DIR) / "tests" / "fixtures" / "tokenizer";

nlohmann::json read_json(const fs::path& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

// STRETCH_CACHE, else ~/.cache/stretch: where scripts/get_smollm2.sh puts the model.
fs::path smollm2_path() {
    const char* cache = std::getenv("STRETCH_CACHE");
    const char* home = std::getenv("HOME");
    const fs::path dir = cache ? fs::path(cache) : fs::path(home ? home : "") / ".cache" / "stretch";
    return dir / "SmolLM2-135M-Instruct.Q4_1.gguf";
}

fs::path gemma3_path() {
    const char* cache = std::getenv("STRETCH_CACHE");
    const char* home = std::getenv("HOME");
    const fs::path dir = cache ? fs::path(cache) : fs::path(home ? home : "") / ".cache" / "stretch";
    return dir / "gemma-3-270m-q4_k_m.gguf";
}

// ../shared/models beside the source tree, where the project keeps its pretrained models.
fs::path tok512_path() { return fs::path(STRETCH_SOURCE_DIR).parent_path() / "shared" / "models" / "tok512.bin"; }

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const stretch::error& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "not one line: " << e.what();
        return e.what();
    }
    ADD_FAILURE() << "expected stretch::error";
    return {};
}

class TokenizerTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir = fs::temp_directory_path() / fmt::format("stretch_tok_{}_{}_{}", ::getpid(), info->test_suite_name(), info->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string file(const std::string& name) const { return (dir / name).string(); }
    fs::path dir;
};

// Every fixture case encodes to its ids (no BOS) and decodes back to round_trip(text); special
// tokens decode to their text, so chat markup comes back too.
void expect_cases(const tokenizer& tok, const nlohmann::json& cases,
                  const std::function<std::string(const std::string&)>& round_trip) {
    ASSERT_FALSE(cases.empty());
    for (const auto& c : cases) {
        const std::string text = c.at("text");
        const ids expected = c.at("ids");
        const ids got = tok.encode(text, false);
        EXPECT_EQ(got, expected) << c.at("name");
        EXPECT_EQ(tok.decode(got, true), round_trip(text)) << c.at("name");
    }
}

// ---- Gemma 3: SentencePiece with user-defined whitespace runs, no space prefix -----------------

// llama.cpp's ids (BOS added, special tokens parsed) for texts that stress Gemma's vocabulary:
// runs of spaces, newlines and tabs that are user-defined tokens (split out of the raw text
// before SentencePiece, longest first), byte fallback, CJK, emoji, chat markup.
TEST(TokenizerGemma3, IdsMatchLlamaCpp) {
    if (!fs::exists(gemma3_path()))
        GTEST_SKIP() << gemma3_path() << " not found: run scripts/get_gemma3.sh (or set STRETCH_CACHE)";
    const auto tok = tokenizer_from_gguf(gguf::reader::open(gemma3_path().string()));
    const auto fixture = read_json(fixtures / "gemma3.json");
    EXPECT_EQ(tok->vocab_size(), 262144);
    EXPECT_TRUE(tok->add_bos_default());
    for (const auto& c : fixture.at("cases")) {
        const std::string text = c.at("text");
        EXPECT_EQ(tok->encode(text, true), c.at("ids").get<ids>()) << c.at("name");
    }
}

// ---- SmolLM2: GPT-2 byte-level BPE -----------------------------------------------------------

class TokenizerSmolLM2 : public TokenizerTest {
protected:
    void SetUp() override {
        TokenizerTest::SetUp();
        if (!fs::exists(smollm2_path()))
            GTEST_SKIP() << smollm2_path() << " not found: run scripts/get_smollm2.sh (or set STRETCH_CACHE)";
        fixture = read_json(fixtures / "smollm2.json");
    }
    // The model's tokenizer metadata in a new GGUF with tokenizer.ggml.pre replaced.
    std::string with_pre(const gguf::reader& model, const std::string& pre) {
        gguf::writer w;
        for (const auto& [key, value] : model.kv())
            if (key.starts_with("tokenizer.ggml.")) w.set(key, key == "tokenizer.ggml.pre" ? gguf::value(pre) : value);
        const std::string path = file(pre + ".gguf");
        w.write(path);
        return path;
    }
    nlohmann::json fixture;
};

std::string same(const std::string& text) { return text; }

TEST_F(TokenizerSmolLM2, IdsMatchHuggingFaceTokenizers) {
    const auto tok = tokenizer_from_gguf(gguf::reader::open(smollm2_path().string()));
    expect_cases(*tok, fixture.at("cases").at("smollm"), same);
}

TEST_F(TokenizerSmolLM2, GptTwoAndDefaultPretokenizersMatchHuggingFace) {
    const auto model = gguf::reader::open(smollm2_path().string());
    for (const std::string pre : {"gpt-2", "default"}) {
        SCOPED_TRACE(pre);
        const auto tok = tokenizer_from_gguf(gguf::reader::open(with_pre(model, pre)));
        expect_cases(*tok, fixture.at("cases").at(pre), same);
    }
}

TEST_F(TokenizerSmolLM2, SpecialTokensAndMetadata) {
    const auto tok = tokenizer_from_gguf(gguf::reader::open(smollm2_path().string()));
    EXPECT_EQ(tok->vocab_size(), 49152);
    EXPECT_EQ(tok->bos(), 1);
    EXPECT_EQ(tok->eos(), 2);
    EXPECT_FALSE(tok->add_bos_default());  // tokenizer.ggml.add_bos_token = false
    EXPECT_EQ(tok->find("<|im_end|>"), 2);
    EXPECT_EQ(tok->find("no such token"), std::nullopt);
    EXPECT_EQ(tok->type(1), token_type::control);
    EXPECT_EQ(tok->token_bytes(1), "");
    EXPECT_EQ(tok->token_bytes(1, true), "<|im_start|>");
    const ids chat = tok->encode("<|im_start|>user\nHi<|im_end|>", true);
    EXPECT_EQ(chat.front(), 1);  // BOS, which is also <|im_start|> here
    EXPECT_EQ(chat[1], 1);
    EXPECT_EQ(chat.back(), 2);
    EXPECT_EQ(tok->decode(chat), "user\nHi");
    EXPECT_EQ(tok->decode(chat, true), "<|im_start|><|im_start|>user\nHi<|im_end|>");
    // GPT-2's alphabet maps back to bytes: "Ġ" is a space, "Ċ" a newline.
    EXPECT_EQ(tok->token_bytes(*tok->find("\xC4\xA0the")), " the");
    EXPECT_EQ(tok->token_bytes(*tok->find("\xC4\x8A")), "\n");
    EXPECT_NE(error_of([&] { (void)tok->token_bytes(49152); }).find("token id 49152 out of range [0, 49152)"), std::string::npos);
}

TEST_F(TokenizerSmolLM2, ByteWithoutTokenIsAnError) {
    // SmolLM2 has no token for 0xC0 (never in valid UTF-8); dropping it would change the text.
    const auto tok = tokenizer_from_gguf(gguf::reader::open(smollm2_path().string()));
    const std::string message = error_of([&] { (void)tok->encode("ab\xC0", false); });
    EXPECT_NE(message.find(smollm2_path().string()), std::string::npos) << message;
    EXPECT_NE(message.find("byte 0xC0 (text offset 2)"), std::string::npos) << message;
}

// ---- tok512: llama2.c's encode and llama.cpp's SentencePiece BPE --------------------------------

// llama2.c's and SentencePiece's dummy prefix: a space before any non-empty text.
std::string prefixed(const std::string& text) { return text.empty() ? text : " " + text; }

class TokenizerLlama2c : public TokenizerTest {
protected:
    void SetUp() override {
        TokenizerTest::SetUp();
        if (!fs::exists(tok512_path())) GTEST_SKIP() << tok512_path() << " not found (../shared/models)";
    }
};

TEST_F(TokenizerLlama2c, IdsMatchTranscriptionOfRunC) {
    const auto tok = load_llama2c_tokenizer(tok512_path().string(), 512);
    expect_cases(*tok, read_json(fixtures / "tok512_llama2c.json").at("cases"), prefixed);
}

TEST_F(TokenizerLlama2c, BosEosAndControlTokens) {
    const auto tok = load_llama2c_tokenizer(tok512_path().string(), 512);
    EXPECT_EQ(tok->bos(), 1);
    EXPECT_EQ(tok->eos(), 2);
    EXPECT_TRUE(tok->add_bos_default());
    EXPECT_EQ(tok->encode("", true), ids{1});
    EXPECT_EQ(tok->encode("", false), ids{});
    const ids once = tok->encode("Once upon a time", true);
    EXPECT_EQ(once.front(), 1);
    EXPECT_EQ(tok->decode(once), " Once upon a time");
    EXPECT_EQ(tok->token_bytes(1), "");
    EXPECT_EQ(tok->token_bytes(1, true), "\n<s>\n");  // as llama2.c's export wrote it
    EXPECT_EQ(tok->token_bytes(3 + 0xE4), "\xE4");    // <0xE4>
    // No special tokens are parsed: "<unk>" is plain text here.
    const ids unk = tok->encode("<unk>", false);
    EXPECT_EQ(std::count(unk.begin(), unk.end(), 0), 0);
}

// The file cut inside token 100's bytes, and with a negative length.
TEST_F(TokenizerLlama2c, MalformedFileErrorsNameFileOffsetAndToken) {
    std::ifstream in(tok512_path(), std::ios::binary);
    const std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::size_t at = 4;  // after max_token_length
    auto length_at = [&](std::size_t offset) {
        std::int32_t n;
        std::memcpy(&n, data.data() + offset, 4);
        return n;
    };
    for (int i = 0; i < 100; ++i) at += 8 + static_cast<std::size_t>(length_at(at + 4));
    const std::size_t bytes_of_100 = at + 8;
    ASSERT_GT(length_at(at + 4), 1);

    const std::string cut = file("cut.bin");
    std::ofstream(cut, std::ios::binary).write(data.data(), static_cast<std::streamsize>(bytes_of_100 + 1));
    std::string message = error_of([&] { (void)load_llama2c_tokenizer(cut, 512); });
    EXPECT_NE(message.find(cut), std::string::npos) << message;
    EXPECT_NE(message.find(fmt::format("truncated at byte {} reading the bytes of token 100", bytes_of_100)), std::string::npos)
        << message;

    const std::string header_only = file("header.bin");
    std::ofstream(header_only, std::ios::binary).write(data.data(), 2);
    message = error_of([&] { (void)load_llama2c_tokenizer(header_only, 512); });
    EXPECT_NE(message.find("truncated at byte 0 reading max_token_length"), std::string::npos) << message;

    std::string negative = data;
    const std::int32_t minus_one = -1;
    std::memcpy(negative.data() + at + 4, &minus_one, 4);
    const std::string bad = file("negative.bin");
    std::ofstream(bad, std::ios::binary).write(negative.data(), static_cast<std::streamsize>(negative.size()));
    message = error_of([&] { (void)load_llama2c_tokenizer(bad, 512); });
    EXPECT_NE(message.find(fmt::format("token 100 has length -1 (at byte {})", at + 4)), std::string::npos) << message;

    message = error_of([&] { (void)load_llama2c_tokenizer(tok512_path().string(), 100); });
    EXPECT_NE(message.find("expected at least 259"), std::string::npos) << message;
    message = error_of([&] { (void)load_llama2c_tokenizer(file("missing.bin"), 512); });
    EXPECT_NE(message.find("missing.bin: cannot open file"), std::string::npos) << message;
}

class TokenizerSpm : public TokenizerTest {};

TEST_F(TokenizerSpm, IdsMatchSentencepiece) {
    const auto tok = tokenizer_from_gguf(gguf::reader::open((fixtures / "tok512_spm.gguf").string()));
    expect_cases(*tok, read_json(fixtures / "tok512_spm.json").at("cases"), prefixed);
    EXPECT_TRUE(tok->add_bos_default());
    EXPECT_EQ(tok->encode("Hi", true).front(), 1);
    EXPECT_EQ(tok->token_bytes(0), "");  // <unk>
    EXPECT_EQ(tok->token_bytes(*tok->find("\xE2\x96\x81the")), " the");
}

TEST_F(TokenizerSpm, SpecialTokensSplitTextAndRestartTheSpacePrefix) {
    const auto tok = tokenizer_from_gguf(gguf::reader::open((fixtures / "tok512_spm.gguf").string()));
    ids expected = tok->encode("Tom ran", false);
    expected.push_back(2);  // </s>
    const ids after = tok->encode("home", false);  // with its own space prefix, as llama.cpp does
    expected.insert(expected.end(), after.begin(), after.end());
    EXPECT_EQ(tok->encode("Tom ran</s>home", false), expected);
}

// ---- byte-level BPE on a hand-made vocabulary (runs without SmolLM2) -----------------------------

class TokenizerBpe : public TokenizerTest {
protected:
    // Printable ASCII, "Ġ" (GPT-2's space), a control and a user-defined token, three merges.
    std::string write_vocab(const std::vector<std::string>& merges, const std::string& pre = "gpt-2") {
        std::vector<std::string> tokens{"<|end|>", "<tool>"};
        std::vector<std::int32_t> types{3, 4};
        for (char c = '!'; c <= '~'; ++c) tokens.emplace_back(1, c), types.push_back(1);
        for (const char* t : {"\xC4\xA0", "\xC4\xA0t", "he", "\xC4\xA0the"}) tokens.emplace_back(t), types.push_back(1);
        gguf::writer w;
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string("tokenizer.ggml.pre", pre);
        w.set_array_string("tokenizer.ggml.tokens", tokens);
        w.set_array_i32("tokenizer.ggml.token_type", types);
        w.set_array_string("tokenizer.ggml.merges", merges);
        w.set_u32("tokenizer.ggml.eos_token_id", 0);
        const std::string path = file("vocab.gguf");
        w.write(path);
        return path;
    }
};

TEST_F(TokenizerBpe, MergesByRankAndCutsSpecialTokens) {
    const auto tok = tokenizer_from_gguf(gguf::reader::open(write_vocab({"\xC4\xA0 t", "h e", "\xC4\xA0t he"})));
    const std::int32_t the = *tok->find("\xC4\xA0the"), t = *tok->find("t"), he = *tok->find("he"), x = *tok->find("x");
    EXPECT_EQ(tok->encode(" the", false), ids{the});
    EXPECT_EQ(tok->encode("the", false), (ids{t, he}));
    EXPECT_EQ(tok->encode(" the<|end|>x<tool>", false), (ids{the, 0, x, 1}));
    EXPECT_EQ(tok->bos(), -1);
    EXPECT_EQ(tok->encode("x", true), ids{x});  // no BOS in this vocabulary
    EXPECT_EQ(tok->decode(tok->encode(" the<|end|>x<tool>", false)), " thex<tool>");
    EXPECT_EQ(tok->decode(tok->encode(" the<|end|>x<tool>", false), true), " the<|end|>x<tool>");
    const std::string message = error_of([&] { (void)tok->encode("a\nb", false); });
    EXPECT_NE(message.find("byte 0x0A (text offset 1) has no token"), std::string::npos) << message;
}

TEST_F(TokenizerBpe, MalformedMetadataErrorsNameFileAndKey) {
    std::string path = write_vocab({"\xC4\xA0 t", "ab"});
    std::string message = error_of([&] { (void)tokenizer_from_gguf(gguf::reader::open(path)); });
    EXPECT_NE(message.find(path + ": tokenizer.ggml.merges[1] = 'ab', expected 'LEFT RIGHT'"), std::string::npos) << message;

    path = write_vocab({"t h"});
    message = error_of([&] { (void)tokenizer_from_gguf(gguf::reader::open(path)); });
    EXPECT_NE(message.find("tokenizer.ggml.merges[0] = 't h': 'th' is not a token"), std::string::npos) << message;

    path = write_vocab({}, "llama3");
    message = error_of([&] { (void)tokenizer_from_gguf(gguf::reader::open(path)); });
    EXPECT_NE(message.find("tokenizer.ggml.pre = 'llama3', expected one of: default, gpt-2"), std::string::npos) << message;

    gguf::writer w;
    w.set_string("tokenizer.ggml.model", "bert");
    w.write(path);
    message = error_of([&] { (void)tokenizer_from_gguf(gguf::reader::open(path)); });
    EXPECT_NE(message.find("tokenizer.ggml.model = 'bert', expected 'llama'"), std::string::npos) << message;

    const std::vector<std::string> tokens{"a", "b", "a"};
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_array_string("tokenizer.ggml.tokens", tokens);
    w.write(path);
    message = error_of([&] { (void)tokenizer_from_gguf(gguf::reader::open(path)); });
    EXPECT_NE(message.find("tokenizer.ggml.tokens[2] = 'a' repeats tokenizer.ggml.tokens[0]"), std::string::npos) << message;

    const std::vector<std::int32_t> types{1, 1};
    w.set_array_i32("tokenizer.ggml.token_type", types);
    w.write(path);
    message = error_of([&] { (void)tokenizer_from_gguf(gguf::reader::open(path)); });
    EXPECT_NE(message.find("tokenizer.ggml.token_type has 2 entries, expected 3 (one per token)"), std::string::npos) << message;

    const std::vector<std::string> distinct{"a", "b", "<0xZZ>"};
    const std::vector<std::int32_t> byte_types{1, 1, 6};
    w.set_array_string("tokenizer.ggml.tokens", distinct);
    w.set_array_i32("tokenizer.ggml.token_type", byte_types);
    w.write(path);
    message = error_of([&] { (void)tokenizer_from_gguf(gguf::reader::open(path)); });
    EXPECT_NE(message.find("tokenizer.ggml.tokens[2] = '<0xZZ>' has token_type 6 (byte), expected the form <0xXX>"), std::string::npos)
        << message;
}

// ---- pre-tokenizers, on inputs worked out by hand from llama.cpp's rules -------------------------

using words = std::vector<std::string_view>;

TEST(TokenizerPretokenize, GptTwoPattern) {
    EXPECT_EQ(pretokenize("Hello  world's 42!?", pretokenizer::gpt2), (words{"Hello", " ", " world", "'s", " 42", "!?"}));
    // A run of spaces before text leaves its last space to the text; at the end it is taken whole.
    EXPECT_EQ(pretokenize("a\t\t b   ", pretokenizer::gpt2), (words{"a", "\t\t", " b", "   "}));
    EXPECT_EQ(pretokenize("x\n\ny", pretokenizer::gpt2), (words{"x", "\n", "\n", "y"}));  // only U+0020 joins a word
    EXPECT_EQ(pretokenize("DON'T don't", pretokenizer::gpt2), (words{"DON", "'", "T", " don", "'t"}));  // case-sensitive
    EXPECT_EQ(pretokenize("caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87", pretokenizer::gpt2),  // letters: Ll, Lo
              (words{"caf\xC3\xA9", " \xE4\xB8\xAD\xE6\x96\x87"}));
    EXPECT_EQ(pretokenize("a\xFF\xFE b", pretokenizer::gpt2), (words{"a", "\xFF\xFE", " b"}));  // invalid UTF-8: "other"
    EXPECT_EQ(pretokenize("", pretokenizer::gpt2), words{});
}

TEST(TokenizerPretokenize, Qwen2Pattern) {
    // Contractions in either case; a space before a digit stands alone (digits are single); a
    // symbol run keeps the newlines after it; a blank run before text leaves one space to it.
    EXPECT_EQ(pretokenize("I'm 2024 ok!!\n\n  hi", pretokenizer::qwen2),
              (words{"I", "'m", " ", "2", "0", "2", "4", " ok", "!!\n\n", " ", " hi"}));
    EXPECT_EQ(pretokenize("DON'T (x)\tyes", pretokenizer::qwen2), (words{"DON", "'T", " (", "x", ")", "\tyes"}));
    // \s*[\r\n]+ takes a blank run up to its last newline; what follows goes on from there.
    EXPECT_EQ(pretokenize("a \n \n  b", pretokenizer::qwen2), (words{"a", " \n \n", " ", " b"}));
    EXPECT_EQ(pretokenize("end  ", pretokenizer::qwen2), (words{"end", "  "}));
}

TEST(TokenizerPretokenize, SmolLMIsolatesEveryDigit) {
    EXPECT_EQ(pretokenize("in 2024, x\xC2\xB2", pretokenizer::smollm),  // U+00B2 is No: a number too
              (words{"in", " ", "2", "0", "2", "4", ",", " x", "\xC2\xB2"}));
}

TEST(TokenizerPretokenize, DefaultCascade) {
    EXPECT_EQ(pretokenize("a+b=\"12345\"", pretokenizer::default_bpe), (words{"a", "+", "b", "=\"", "123", "45", "\""}));
    EXPECT_EQ(find_pretokenizer("smollm"), pretokenizer::smollm);
    EXPECT_EQ(find_pretokenizer("gpt2"), std::nullopt);  // llama.cpp spells it "gpt-2"
}

}  // namespace
}  // namespace stretch
