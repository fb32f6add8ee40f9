#include "serve/server.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "serve/http_util.h"
#include "serve/request.h"

namespace stretch::serve {

using json = nlohmann::json;

server::server(const loaded_model& model, server_options options)
    : model_(model), options_(std::move(options)),
      ctx_size_(options_.ctx_size > 0 ? options_.ctx_size : model.model->config().n_ctx_train),
      model_name_(std::filesystem::path(model.path).filename().string()),
      default_pos_(variants::parse_spec(options_.pos.empty() ? model.positions : options_.pos, "--pos")) {
    if (ctx_size_ < 1) fail("--ctx-size: found {}, expected a positive number of tokens", ctx_size_);
    // The default method must resolve for this model (checked at start rather than per request).
    model_.model->positions(default_pos_, ctx_size_, "--pos");
    engine_ = std::make_unique<engine>(*model_.model, options_.engine);
    http_ = std::make_unique<httplib::Server>();
    const int threads = options_.http_threads > 0
                            ? options_.http_threads
                            : int(options_.engine.slots + options_.engine.queue + 8);
    http_->new_task_queue = [threads] { return new httplib::ThreadPool(std::size_t(threads)); };
    http_->set_socket_options([this](socket_t sock) {
        httplib::default_socket_options(sock);
        listening_socket_ = sock;
    });
    http_->set_payload_max_length(std::size_t(options_.max_body_bytes));
    http_->set_read_timeout(options_.io_timeout_s, 0);
    http_->set_write_timeout(options_.io_timeout_s, 0);
    http_->set_keep_alive_timeout(options_.io_timeout_s);
    routes();
}

server::~server() {
    stop();
    engine_.reset();
}

int server::bind() {
    const int port = options_.port == 0 ? http_->bind_to_any_port(options_.host)
                                        : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
    if (port <= 0)
        fail("--host {} --port {}: cannot listen there (in use, or not an address of this machine)", options_.host,
             options_.port);
    // Debian's cpp-httplib is a compiled library that listens with a backlog of 5 pending connections:
    // 64 clients connecting at once on a busy 2-core machine overflowed it (the kernel logged
    // "Possible SYN flooding" and 17 of 1000 requests were reset: docs/serve.md). Listening again on
    // the bound socket raises the backlog to the kernel's maximum (SOMAXCONN, capped by
    // net.core.somaxconn), so the accept thread can catch up instead.
    if (::listen(listening_socket_, SOMAXCONN) != 0)
        fail("--host {} --port {}: cannot raise the listen backlog: {}", options_.host, options_.port, std::strerror(errno));
    return port;
}

void server::run() { http_->listen_after_bind(); }

void server::stop() {
    if (http_) http_->stop();
}

void server::routes() {
    // Every response is counted in /metrics by endpoint and status, with its latency.
    http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        const double seconds = seconds_since(request_start(req));
        metrics_.count_request(known_endpoint(req.path), res.status, seconds);
    });
    http_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        if (res.status == 413) send_error(res, 413, "body", "body: larger than the server accepts (--max-body)");
        else if (res.status == 404) send_error(res, 404, "path", "path: no endpoint " + printable_path(req.path));
        else if (res.status == 405) send_error(res, 405, "method", "method: not allowed on " + printable_path(req.path));
        else send_error(res, res.status, "", "the request could not be read");
    });
    http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        send_error(res, 500, "", what, "server_error");
    });
    http_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
        note_request_start(req);
        return httplib::Server::HandlerResponse::Unhandled;
    });
    http_->Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) { completions(req, res, false); });
    http_->Post("/v1/chat/completions",
                [this](const httplib::Request& req, httplib::Response& res) { completions(req, res, true); });
    http_->Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) { tokenize(req, res); });
    http_->Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) { detokenize(req, res); });
    http_->Get("/tokenizer_info", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(tokenizer_info(), "application/json");
    });
    http_->Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
        const json models = {{"object", "list"},
                             {"data", {{{"id", model_name_}, {"object", "model"}, {"created", std::time(nullptr)},
                                        {"owned_by", "stretch"}, {"max_model_len", ctx_size_}}}}};
        res.set_content(dump(models), "application/json");
    });
    http_->Get("/health", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(R"({"status":"ok"})", "application/json");
    });
    http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(metrics_.render(engine_->counts()), "text/plain; version=0.0.4");
    });
}

std::vector<std::int32_t> server::check_ids(const std::vector<std::int64_t>& ids, const std::string& field) const {
    std::vector<std::int32_t> out;
    const std::int64_t vocab = model_.tok->vocab_size();
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] >= vocab)
            throw bad_request(field, fmt::format("{}[{}]: token id {}, expected an id below the vocabulary size {}", field,
                                                 i, ids[i], vocab));
        out.push_back(std::int32_t(ids[i]));
    }
    return out;
}

void server::tokenize(const httplib::Request& req, httplib::Response& res) const {
    try {
        const tokenize_request r = parse_tokenize_request(req.body);
        const std::vector<std::int32_t> ids =
            model_.tok->encode(r.prompt, r.add_special_tokens && model_.tok->add_bos_default());
        res.set_content(dump({{"tokens", ids}, {"count", ids.size()}, {"max_model_len", ctx_size_}}), "application/json");
    } catch (const bad_request& e) {
        send_error(res, 400, e.param, e.what());
    } catch (const error& e) {  // a byte the vocabulary cannot express
        send_error(res, 400, "prompt", std::string("prompt: ") + e.what());
    }
}

void server::detokenize(const httplib::Request& req, httplib::Response& res) const {
    try {
        const std::vector<std::int32_t> ids = check_ids(parse_detokenize_request(req.body), "tokens");
        res.set_content(dump({{"prompt", model_.tok->decode(ids, true)}}), "application/json");
    } catch (const bad_request& e) {
        send_error(res, 400, e.param, e.what());
    }
}

std::string server::tokenizer_info() const {
    const tokenizer& tok = *model_.tok;
    const auto text_of = [&](std::int32_t id) { return id >= 0 ? json(tok.token_text(id)) : json(); };
    return dump({{"tokenizer_class", "stretch"},
                 {"bos_token", text_of(tok.bos())},
                 {"eos_token", text_of(tok.eos())},
                 {"pad_token", json()},
                 {"add_bos_token", tok.add_bos_default()},
                 {"vocab_size", tok.vocab_size()},
                 {"model_max_length", ctx_size_},
                 {"chat_template", model_.chat_template.empty() ? json() : json(model_.chat_template)}});
}

}  // namespace stretch::serve
