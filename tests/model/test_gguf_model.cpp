// A stretch model written to GGUF and read back is the same model: every field of the model's one
// table (model/config_fields.h) survives the round trip (a key the writer forgets would rebuild a
// different network: a Post-LN model loaded as Pre-LN looks for a final norm it never had), and the
// logits are bit-identical. Bad files are refused in one line naming the file, the key as the file
// spells it, and what was expected.
#include "model/gguf_model.h"
#include "model/config_fields.h"
#include "model/load.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>

#include "support/cli.h"
#include "support/tiny_model.h"

namespace stretch {
namespace {

// `model` written as stretch writes its models (metadata of `config`, then the weights) and read back
// by the one loader.
loaded_model written_and_loaded(const transformer& model, const model_config& config, const std::string& tag) {
    gguf::writer out;
    write_model_metadata(out, config);
    write_model_weights(out, model);
    const std::string path = test::fresh_dir(tag) + "/model.gguf";
    out.write(path);
    return load_any_model(path);
}

void expect_round_trip(const model_config& config) {
    transformer model(config, dtype::f32);
    rng generator(5);
    model.init(generator);
    const auto loaded = written_and_loaded(model, config, "ggufmodel").model;
    const model_config& c = loaded->config();
    for (const config_field& f : model_fields()) EXPECT_EQ(f.get(c), f.get(config)) << f.key;
    EXPECT_EQ(c.n_parameters(), config.n_parameters());

    const std::vector<std::int32_t> tokens = {1, 5, 2, 7, 7, 3, 0, 12, 4, 9};
    const auto spec = variants::parse_spec(config.pos, "test");
    ag::context ctx;
    const auto setup = model.positions(spec, 10, "test");
    const ag::var a = model.forward(ctx, tokens, 1, 10, setup);
    const ag::var b = loaded->forward(ctx, tokens, 1, 10, setup);
    ASSERT_EQ(a->value.numel(), b->value.numel());
    for (std::int64_t i = 0; i < a->value.numel(); ++i) ASSERT_EQ(a->value.data<float>()[i], b->value.data<float>()[i]) << i;
}

TEST(GgufModel, PreLnRoundTrip) { expect_round_trip(test::tiny_config()); }

TEST(GgufModel, PostLnAndDeepNormRoundTrip) {
    model_config c = test::tiny_config();
    c.norm_position = "post";
    expect_round_trip(c);
    c.deepnorm = true;
    expect_round_trip(c);
    c.deepnorm_constants = "adam";  // alpha = sqrt(2N): a model loaded with the paper's alpha would differ
    expect_round_trip(c);
}

// Every field at a value other than its default, in one model that stays valid: the round trip
// then covers the whole table, and a field added to it without a value here fails this test.
TEST(GgufModel, EveryFieldRoundTrips) {
    model_config c = test::tiny_config();
    c.arch = "qwen3";
    c.vocab_size = 17;
    c.d_model = 24;
    c.n_layer = 3;
    c.n_head = 4;
    c.n_head_kv = 2;
    c.head_dim = 8;
    c.n_rot = 6;
    c.d_ff = 20;
    c.n_ctx_train = 12;
    c.rope_base = 500.5;
    c.rope_base_local = 321.25;
    c.rope_pairing = cpu::rope_pairing::half;
    c.norm_eps = 3e-6;
    c.tie_embeddings = false;
    c.ffn = "geglu";
    c.attn_bias = "qkvo";
    c.qk_norm = true;
    c.embed_scale = 1.5;
    c.attn_scale = 0.3;
    c.sliding_window = 5;
    c.global_every = 2;
    c.nope_every = 3;
    c.pos = "yarn:factor=2+logn";
    c.norm_position = "sandwich";
    c.deepnorm_constants = "adam";
    c.gau_expansion = 3;
    c.gau_key_dim = 4;
    // Fields that only a GAU stack or Post-LN may use are covered by the GAU and DeepNorm tests;
    // here they differ from the default without being used.
    const model_config defaults;
    for (const config_field& f : model_fields()) {
        if (f.key != "deepnorm" && f.key != "block" && f.key != "flash_chunk") {
            EXPECT_NE(f.get(c), f.get(defaults)) << f.key << " keeps its default: give it another value here";
        }
    }
    expect_round_trip(c);
}

// What llama.cpp reads: the writer's <arch>.* keys hold the resolved values (head_dim 0 written as
// d_model / n_head), and a file stretch wrote but without its stretch.* keys reads back the same shape.
TEST(GgufModel, LlamaCppKeysAloneDescribeTheModel) {
    model_config c = test::tiny_config();
    gguf::writer out;
    write_model_metadata(out, c);
    EXPECT_EQ(std::get<std::uint32_t>(*out.kv().find("llama.attention.key_length")), 8u);
    EXPECT_EQ(std::get<std::uint32_t>(*out.kv().find("llama.rope.dimension_count")), 8u);
    EXPECT_EQ(out.kv().find("llama.attention.sliding_window"), nullptr);  // not used: not written
    gguf::writer theirs;
    for (const auto& [key, value] : out.kv())
        if (!key.starts_with("stretch.")) theirs.set(key, value);
    transformer model(c, dtype::f32);
    write_model_weights(theirs, model);
    const std::string path = test::fresh_dir("llamakeys") + "/model.gguf";
    theirs.write(path);
    const model_config back = read_model_config(gguf::reader::open(path));
    for (const char* key : {"vocab_size", "d_model", "n_layer", "n_head", "n_head_kv", "d_ff", "n_ctx_train", "rope_base",
                            "tie_embeddings"})
        EXPECT_EQ(find_model_field(key)->get(back), find_model_field(key)->get(c)) << key;
    EXPECT_EQ(back.norm_eps, double(float(c.norm_eps)));  // llama.cpp's keys are f32
}

// One line naming the file, the key as the file spells it (not stretch's name for it) and what
// was expected.
std::string load_error(const std::function<void(gguf::writer&)>& edit, const model_config& c = test::tiny_config()) {
    gguf::writer out;
    write_model_metadata(out, c);
    transformer model(c, dtype::f32);
    write_model_weights(out, model);
    gguf::writer edited;
    for (const auto& [key, value] : out.kv())
        if (!key.starts_with("stretch.")) edited.set(key, value);
    for (const auto& [name, v] : model.parameters()) edited.add_tensor(name, v->value);
    edit(edited);
    const std::string path = test::fresh_dir("badgguf") + "/model.gguf";
    edited.write(path);
    try {
        load_any_model(path);
    } catch (const error& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        return e.what();
    }
    return "(loaded)";
}

TEST(GgufModel, BadFilesAreRefusedNamingTheKey) {
    using testing::HasSubstr;
    EXPECT_THAT(load_error([](gguf::writer& w) { w.set_string("general.architecture", "mamba"); }),
                HasSubstr("general.architecture = 'mamba'; expected one of: llama ("));
    // A file's string with a newline in it is quoted escaped: the error stays one line (load_error checks).
    EXPECT_THAT(load_error([](gguf::writer& w) { w.set_string("general.architecture", "mam\nba"); }),
                HasSubstr("general.architecture = 'mam\\x0aba'; expected one of"));
    EXPECT_THAT(load_error([](gguf::writer& w) { w.set_u32("llama.block_count", 4294967295u); }),
                HasSubstr("llama.block_count: found 4294967295, expected an integer in [1, 65536]"));
    EXPECT_THAT(load_error([](gguf::writer& w) { w.set_u32("llama.block_count", 3); }),
                HasSubstr("no tensor blk.2.attn_norm.weight; expected one of shape [16] for llama"));
    EXPECT_THAT(load_error([](gguf::writer& w) { w.set_f32("llama.rope.freq_base", -1.0f); }),
                HasSubstr("llama.rope.freq_base: found -1.0, expected a number in [1, 1e+30]"));
    EXPECT_THAT(load_error([](gguf::writer& w) { w.set_string("llama.embedding_length", "wide"); }),
                HasSubstr("key 'llama.embedding_length' has type string"));
    EXPECT_THAT(load_error([](gguf::writer& w) { w.set_u32("llama.feed_forward_length", 25); }),
                HasSubstr("tensor blk.0.ffn_gate.weight has shape [24, 16]; expected [25, 16]"));
    EXPECT_THAT(load_error([](gguf::writer& w) { w.add_tensor("rope_freqs.weight", tensor({4})); }),
                HasSubstr("tensor rope_freqs.weight is not part of a llama model as stretch builds it"));
    // A tokenizer that does not fit the model's vocabulary.
    EXPECT_THAT(load_error([](gguf::writer& w) {
                    const std::vector<std::string> tokens = {"a", "b", "c"};
                    w.set_string("tokenizer.ggml.model", "gpt2");
                    w.set_array_string("tokenizer.ggml.tokens", tokens);
                    w.set_array_string("tokenizer.ggml.merges", std::vector<std::string>{});
                }),
                HasSubstr("the tokenizer has 3 tokens; expected the model's vocabulary of 13"));
}

// A stretch model missing a required key of a file from another tool: llama.cpp's own name.
TEST(GgufModel, MissingRequiredKeyNamesIt) {
    gguf::writer out;
    out.set_string("general.architecture", "qwen2");
    out.add_tensor("token_embd.weight", tensor({8, 4}));
    const std::string path = test::fresh_dir("nokey") + "/model.gguf";
    out.write(path);
    try {
        read_model_config(gguf::reader::open(path));
        FAIL();
    } catch (const error& e) {
        EXPECT_THAT(std::string(e.what()), testing::HasSubstr("missing key qwen2.embedding_length (model width C); expected an integer"));
    }
}

TEST(GgufModel, LearnedSinksRoundTripUnderLlamaCppsName) {
    // Distinct sink logits per head and layer, written as blk.N.attn_sinks.weight (f32 [n_head], the
    // tensor gpt-oss GGUF files carry) and read back bit for bit, with the same logits.
    model_config c = test::tiny_config();
    c.pos = "learned_sinks";
    expect_round_trip(c);
    transformer model(c, dtype::f32);
    rng generator(5);
    model.init(generator);
    float next = -1.25f;
    for (const auto& [name, p] : model.parameters())
        if (name.ends_with("attn_sinks.weight"))
            for (std::int64_t h = 0; h < p->value.numel(); ++h) p->value.data<float>()[h] = (next += 0.75f);
    const auto loaded = written_and_loaded(model, c, "ggufsinks").model;
    std::map<std::string, ag::var> written(model.parameters().begin(), model.parameters().end());
    int found = 0;
    for (const auto& [name, p] : loaded->parameters()) {
        if (!name.ends_with("attn_sinks.weight")) continue;
        const ag::var& original = written.at(name);
        ASSERT_EQ(p->value.shape(), shape_t{c.n_head}) << name;
        for (std::int64_t h = 0; h < c.n_head; ++h) EXPECT_EQ(p->value.data<float>()[h], original->value.data<float>()[h]);
        ++found;
    }
    EXPECT_EQ(found, c.n_layer);
    EXPECT_EQ(found, 2);
}

TEST(GgufModel, TrainedPositionsRoundTrip) {
    model_config c = test::tiny_config();
    c.pos = "learned";
    expect_round_trip(c);
    c.pos = "alibi+keynorm";
    expect_round_trip(c);
}

}  // namespace
}  // namespace stretch
