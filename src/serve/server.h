// `stretch serve`: an OpenAI-compatible HTTP server (cpp-httplib, Debian's libcpp-httplib-dev) over
// one loaded model and its engine (serve/engine.h).
//   POST /v1/completions, /v1/chat/completions   OpenAI's schemas (serve/request.h), streaming as
//                                                server-sent events; echo + logprobs score the prompt
//   POST /tokenize, /detokenize; GET /tokenizer_info   what lm-evaluation-harness's remote tokenizer
//                                                reads (vLLM's field names)
//   GET /v1/models, /health, /metrics (Prometheus text)
// Every client error is a 4xx with OpenAI's error object {"error": {"message", "type", "param",
// "code"}} naming the field; a full queue is a 503 with Retry-After; no request can stop another.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "model/load.h"
#include "serve/engine.h"
#include "serve/metrics.h"
#include "variants/spec.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace stretch::serve {

struct server_options {
    std::string host = "127.0.0.1";
    int port = 8080;                      // 0: any free port (bind() returns it)
    std::int64_t ctx_size = 0;            // tokens one request may hold (prompt + max_tokens); 0: the training length
    std::string pos;                      // the default method; "": the model's own
    engine_options engine;
    std::int64_t max_body_bytes = 8 << 20;
    int request_timeout_s = 600;          // a request's time limit, queueing included
    int io_timeout_s = 10;                // a read or write that makes no progress for this long ends the connection
    int http_threads = 0;                 // 0: enough for every slot and queue place, plus 8
};

class server {
public:
    server(const loaded_model& model, server_options options);
    ~server();

    // Binds the listening socket; returns the port. Throws stretch::error when it cannot.
    int bind();
    // Serves until stop() (from any thread, e.g. a signal handler's).
    void run();
    void stop();

    std::int64_t context_size() const { return ctx_size_; }

private:
    struct prepared;
    void routes();
    void completions(const httplib::Request& req, httplib::Response& res, bool chat);
    void tokenize(const httplib::Request& req, httplib::Response& res) const;
    void detokenize(const httplib::Request& req, httplib::Response& res) const;
    std::string tokenizer_info() const;
    prepared prepare(std::vector<std::int32_t> prompt, std::int64_t max_tokens, const struct generation_fields& gen,
                     int logprobs, bool score_prompt, std::vector<std::int32_t> stop_tokens) const;
    std::vector<std::int32_t> check_ids(const std::vector<std::int64_t>& ids, const std::string& field) const;

    const loaded_model& model_;
    server_options options_;
    std::int64_t ctx_size_;
    std::string model_name_;
    variants::position_spec default_pos_;
    std::unique_ptr<engine> engine_;
    metrics metrics_;
    std::unique_ptr<httplib::Server> http_;
    int listening_socket_ = -1;  // the socket http_ made in bind()
    std::atomic<std::uint64_t> next_id_{0};
};

}  // namespace stretch::serve
