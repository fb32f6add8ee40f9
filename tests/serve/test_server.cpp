// The HTTP server (serve/server.h) in this process on a loopback port, with a tiny model: bad
// input of every kind gets a 4xx JSON error naming the field and the server goes on serving; a full
// queue answers 503 with Retry-After; a client that leaves frees its slot; a slow client neither
// stalls others nor holds its connection past the I/O timeout.
#include "serve/server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace stretch::serve {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

class ServeServer : public ::testing::Test {
protected:
    void SetUp() override {
        model_ = load_any_model((fs::path(STRETCH_SOURCE_DIR) / "tests/fixtures/arch/llama.gguf").string());
        server_options o;
        o.port = 0;
        o.ctx_size = 4096;
        // One slot, no queue, one prompt token per step: a long prompt holds the slot for a while.
        o.engine = {.slots = 1, .queue = 0, .threads = 1, .prefill_chunk = 1, .prefill_budget = 1};
        o.max_body_bytes = 1 << 16;
        o.io_timeout_s = 1;
        server_ = std::make_unique<server>(model_, o);
        port_ = server_->bind();
        thread_ = std::thread([this] { server_->run(); });
    }
    void TearDown() override {
        server_->stop();
        thread_.join();
        server_.reset();
    }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(30, 0);
        return c;
    }
    // Status and the error's `param` of a completion request with this body.
    std::pair<int, std::string> post(const std::string& body, const std::string& path = "/v1/completions") const {
        auto res = client().Post(path, body, "application/json");
        if (!res) return {-1, ""};
        const json j = json::parse(res->body, nullptr, false);
        if (res->status == 200 || j.is_discarded() || !j.contains("error")) return {res->status, ""};
        EXPECT_TRUE(j["error"]["message"].is_string());
        return {res->status, j["error"]["param"].is_string() ? j["error"]["param"].get<std::string>() : ""};
    }

    loaded_model model_;
    std::unique_ptr<server> server_;
    std::thread thread_;
    int port_ = 0;
};

TEST_F(ServeServer, BadInputGets4xxNamingTheFieldAndServingGoesOn) {
    EXPECT_EQ(post(R"({"prompt":"hi","max_tokens":2,"temperature":0})"), (std::pair<int, std::string>{200, ""}));
    EXPECT_EQ(post(R"({"prompt":"hi",)"), (std::pair<int, std::string>{400, "body"}));
    EXPECT_EQ(post("{\"prompt\":\"\xc3\x28\"}"), (std::pair<int, std::string>{400, "body"}));  // invalid UTF-8
    EXPECT_EQ(post(R"({"prompt":"hi","max_tokens":"2"})"), (std::pair<int, std::string>{400, "max_tokens"}));
    EXPECT_EQ(post(R"({"prompt":"hi","max_tokens":-5})"), (std::pair<int, std::string>{400, "max_tokens"}));
    EXPECT_EQ(post(R"({"prompt":"hi","max_tokens":9223372036854775807})"),
              (std::pair<int, std::string>{400, "max_tokens"}));
    EXPECT_EQ(post(R"({"prompt":"hi","colour":"red"})"), (std::pair<int, std::string>{400, "colour"}));
    EXPECT_EQ(post(R"({"prompt":[1,2,999999]})"), (std::pair<int, std::string>{400, "prompt"}));
    EXPECT_EQ(post(R"({"prompt":"hi","pos":"bogus"})"), (std::pair<int, std::string>{400, "pos"}));
    EXPECT_EQ(post(R"({"prompt":"hi","pos":"longrope"})"), (std::pair<int, std::string>{400, "pos"}));
    EXPECT_EQ(post(json{{"prompt", std::vector<int>(4097, 3)}}.dump()), (std::pair<int, std::string>{400, "prompt"}));
    EXPECT_EQ(post(json{{"prompt", std::vector<int>(4090, 3)}, {"max_tokens", 10}}.dump()),
              (std::pair<int, std::string>{400, "max_tokens"}));
    EXPECT_EQ(post(std::string(70000, ' ')).first, 413);  // past --max-body
    EXPECT_EQ(post(R"({"messages":[{"role":"user"}]})", "/v1/chat/completions"),
              (std::pair<int, std::string>{400, "messages[0].content"}));
    EXPECT_EQ(post(R"({"tokens":[1,99999]})", "/detokenize"), (std::pair<int, std::string>{400, "tokens"}));
    EXPECT_EQ(post("{}", "/v1/nothing").first, 404);
    EXPECT_EQ(post(R"({"prompt":"hi","max_tokens":2})"), (std::pair<int, std::string>{200, ""}));
}

TEST_F(ServeServer, FullQueueAnswers503AndAClientThatLeavesFreesItsSlot) {
    // A 4000-token prompt, one token per step, streamed: it holds the only slot.
    int leaving = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(std::uint16_t(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(leaving, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string body = json{{"prompt", std::vector<int>(4000, 3)}, {"max_tokens", 4}, {"stream", true}}.dump();
    const std::string head = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body;
    ASSERT_EQ(send(leaving, head.data(), head.size(), 0), ssize_t(head.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // parsed and admitted
    auto busy = client().Post("/v1/completions", R"({"prompt":"hi","max_tokens":2})", "application/json");
    ASSERT_TRUE(busy);
    EXPECT_EQ(busy->status, 503);
    EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
    close(leaving);  // the client leaves mid-stream: its slot must come back
    int status = 0;
    for (int attempt = 0; attempt < 100 && status != 200; ++attempt) {
        status = post(R"({"prompt":"hi","max_tokens":2})").first;
        if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(status, 200);
    // The long request was cancelled in its prefill: the only tokens generated are the last request's 2.
    auto metrics = client().Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("stretch_generated_tokens_total 2\n"), std::string::npos) << metrics->body;
}

TEST_F(ServeServer, ASlowClientStallsNoOneAndIsCutOff) {
    int slow = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(std::uint16_t(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(slow, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string part = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"prompt\":";
    ASSERT_EQ(send(slow, part.data(), part.size(), 0), ssize_t(part.size()));
    EXPECT_EQ(post(R"({"prompt":"hi","max_tokens":2})").first, 200);  // served meanwhile
    // Past the 1 s I/O timeout the server gives up on the rest of the body and closes.
    timeval wait{5, 0};
    setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char buffer[512];
    ssize_t n = 0, total = 0;
    while ((n = recv(slow, buffer, sizeof buffer, 0)) > 0) total += n;
    EXPECT_EQ(n, 0) << "the connection was not closed";  // 0: closed by the server (not a receive timeout)
    close(slow);
    EXPECT_EQ(post(R"({"prompt":"hi","max_tokens":2})").first, 200);
}

TEST_F(ServeServer, TokenizerEndpointsAndMetrics) {
    auto info = client().Get("/tokenizer_info");
    ASSERT_TRUE(info);
    const json j = json::parse(info->body);
    EXPECT_TRUE(j.contains("eos_token"));
    auto tok = client().Post("/tokenize", R"({"prompt":"hello world","add_special_tokens":false})", "application/json");
    ASSERT_TRUE(tok);
    const auto ids = json::parse(tok->body)["tokens"].get<std::vector<std::int32_t>>();
    EXPECT_EQ(ids, model_.tok->encode("hello world", false));
    auto text = client().Post("/detokenize", json{{"tokens", ids}}.dump(), "application/json");
    ASSERT_TRUE(text);
    EXPECT_EQ(json::parse(text->body)["prompt"], model_.tok->decode(ids, true));
    // A response is counted once it has been sent: poll for it.
    std::string metrics;
    for (int attempt = 0; attempt < 50; ++attempt) {
        auto res = client().Get("/metrics");
        ASSERT_TRUE(res);
        metrics = res->body;
        if (metrics.find("stretch_requests_total{endpoint=\"/tokenize\",status=\"200\"} 1") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_NE(metrics.find("stretch_requests_total{endpoint=\"/tokenize\",status=\"200\"} 1"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("stretch_request_duration_seconds_count"), std::string::npos);
}

}  // namespace
}  // namespace stretch::serve
