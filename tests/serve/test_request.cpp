// Request parsing (serve/request.h): every malformed body is a bad_request naming its field.
#include "serve/request.h"

#include <gtest/gtest.h>

namespace stretch::serve {
namespace {

// The field a body is refused for, and the message (which must name it).
std::pair<std::string, std::string> refusal(const std::string& body) {
    try {
        parse_completion_request(body);
    } catch (const bad_request& e) {
        return {e.param, e.what()};
    }
    return {"(accepted)", ""};
}

TEST(ServeRequest, ParsesOpenAICompletionFields) {
    const completion_request r = parse_completion_request(
        R"({"model":"m","prompt":["a",[1,2]],"max_tokens":5,"temperature":0,"top_p":0.5,"top_k":3,"min_p":0.1,
            "repetition_penalty":1.2,"seed":7,"stop":["x","y"],"echo":true,"logprobs":2,"pos":"auto","n":1,"user":"u"})");
    ASSERT_EQ(r.prompts.size(), 2u);
    EXPECT_EQ(std::get<std::string>(r.prompts[0]), "a");
    EXPECT_EQ(std::get<std::vector<std::int64_t>>(r.prompts[1]), (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(r.gen.max_tokens, 5);
    EXPECT_EQ(r.gen.temperature, 0);
    EXPECT_EQ(r.gen.top_k, 3);
    EXPECT_EQ(r.gen.seed, 7u);
    EXPECT_EQ(r.gen.stop, (std::vector<std::string>{"x", "y"}));
    EXPECT_TRUE(r.echo);
    EXPECT_EQ(r.logprobs, 2);
    EXPECT_EQ(r.gen.pos, "auto");
    EXPECT_EQ(std::get<std::vector<std::int64_t>>(parse_completion_request(R"({"prompt":[5,6,7]})").prompts[0]).size(), 3u);
}

TEST(ServeRequest, RefusalsNameTheField) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"prompt":"a",)", "body"},                          // malformed JSON
        {R"([1,2])", "body"},                                    // not an object
        {R"({"max_tokens":3})", "prompt"},                       // missing
        {R"({"prompt":7})", "prompt"},                           // wrong type
        {R"({"prompt":[]})", "prompt"},                          // empty
        {R"({"prompt":[1,-2]})", "prompt"},                      // negative id
        {R"({"prompt":[1,"a"]})", "prompt"},
        {R"({"prompt":["a",{}]})", "prompt[1]"},
        {R"({"prompt":"a","max_tokens":-1})", "max_tokens"},
        {R"({"prompt":"a","max_tokens":1.5})", "max_tokens"},
        {R"({"prompt":"a","max_tokens":"9"})", "max_tokens"},
        {R"({"prompt":"a","max_tokens":99999999999999999999})", "max_tokens"},
        {R"({"prompt":"a","temperature":-1})", "temperature"},
        {R"({"prompt":"a","top_p":2})", "top_p"},
        {R"({"prompt":"a","logprobs":21})", "logprobs"},
        {R"({"prompt":"a","logprobs":true})", "logprobs"},
        {R"({"prompt":"a","echo":1})", "echo"},
        {R"({"prompt":"a","stop":[1]})", "stop"},
        {R"({"prompt":"a","n":2})", "n"},
        {R"({"prompt":"a","pos":3})", "pos"},
        {R"({"prompt":"a","stream_options":{"x":1}})", "stream_options.x"},
        {R"({"prompt":"a","frobnicate":true})", "frobnicate"},  // unknown field
        {R"({"prompt":["a","b"],"stream":true})", "stream"},
        {"{\"prompt\":\"a\xff\"}", "body"},                      // invalid UTF-8
    };
    for (const auto& [body, field] : cases) {
        const auto [param, message] = refusal(body);
        EXPECT_EQ(param, field) << body;
        EXPECT_NE(message.find(field), std::string::npos) << body << " -> " << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
}

TEST(ServeRequest, ChatAndTokenizerBodies) {
    const chat_request c = parse_chat_request(
        R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]}],
            "max_completion_tokens":4,"logprobs":true,"top_logprobs":2,"stream":true})");
    ASSERT_EQ(c.messages.size(), 2u);
    EXPECT_EQ(c.messages[1].content, "hi");
    EXPECT_EQ(c.gen.max_tokens, 4);
    EXPECT_EQ(c.top_logprobs, 2);
    EXPECT_TRUE(c.gen.stream);
    const auto chat_refusal = [](const std::string& body) {
        try {
            parse_chat_request(body);
        } catch (const bad_request& e) {
            return e.param;
        }
        return std::string("(accepted)");
    };
    EXPECT_EQ(chat_refusal(R"({"messages":[]})"), "messages");
    EXPECT_EQ(chat_refusal(R"({"messages":[{"role":"robot","content":"x"}]})"), "messages[0].role");
    EXPECT_EQ(chat_refusal(R"({"messages":[{"role":"user","content":5}]})"), "messages[0].content");
    EXPECT_EQ(chat_refusal(R"({"messages":[{"role":"user","content":"x","extra":1}]})"), "messages[0].extra");
    EXPECT_EQ(chat_refusal(R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":2})"), "top_logprobs");

    const tokenize_request t = parse_tokenize_request(R"({"prompt":"hello","add_special_tokens":false})");
    EXPECT_EQ(t.prompt, "hello");
    EXPECT_FALSE(t.add_special_tokens);
    EXPECT_EQ(parse_detokenize_request(R"({"tokens":[3,4]})"), (std::vector<std::int64_t>{3, 4}));
    EXPECT_THROW(parse_detokenize_request(R"({"tokens":"3"})"), bad_request);
    EXPECT_THROW(parse_tokenize_request(R"({"text":"x"})"), bad_request);
}

}  // namespace
}  // namespace stretch::serve
