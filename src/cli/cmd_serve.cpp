// `stretch serve -m MODEL [--pos SPEC] [--host 127.0.0.1] [--port 8080] [--parallel N] [--ctx-size N]
// [--threads N]`: the OpenAI-compatible server (serve/server.h). Loopback unless told otherwise;
// SIGTERM or SIGINT stops it cleanly (requests in flight are cancelled, the engine joined).
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include <unistd.h>

#include "cli/cache_options.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/position_options.h"
#include "core/error.h"
#include "model/load.h"
#include "serve/server.h"

namespace stretch::cli {

namespace {

struct serve_args {
    std::string model, tokenizer;
    serve::server_options options;
    std::shared_ptr<position_options> positions = std::make_shared<position_options>();
};

// SIGTERM and SIGINT write a byte to this pipe (async-signal-safe, whichever thread the signal
// lands on: libraries start threads of their own before main); a waiting thread reads it and stops
// the server.
int stop_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int) {
    const char byte = 1;
    [[maybe_unused]] const auto written = write(stop_pipe[1], &byte, 1);
}

void run(serve_args& a) {
    const loaded_model m = load_any_model(a.model, a.tokenizer);
    a.options.pos = a.positions->choose(m.positions, m.path, m.model->config(), {m.model->config().n_ctx_train}).text();
    if (pipe(stop_pipe) != 0) fail("serve: cannot make a pipe for signals");
    struct sigaction action{};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    std::signal(SIGPIPE, SIG_IGN);  // a client that leaves mid-write is the handler's to notice
    serve::server s(m, a.options);
    const int port = s.bind();
    std::printf("stretch serve: %s (%s, n_ctx_train %lld), context %lld tokens per request, %d slots, pos %s\n"
                "stretch serve: listening on http://%s:%d\n",
                m.path.c_str(), m.format.c_str(), (long long)m.model->config().n_ctx_train,
                (long long)s.context_size(), a.options.engine.slots, a.options.pos.c_str(), a.options.host.c_str(), port);
    std::fflush(stdout);
    std::thread waiter([&] {
        char byte = 0;
        while (read(stop_pipe[0], &byte, 1) < 0 && errno == EINTR) {
        }
        s.stop();
    });
    s.run();
    on_stop_signal(0);  // when run() ended on its own; after a signal the waiter is already done
    waiter.join();
    std::printf("stretch serve: stopped\n");
}

}  // namespace

void add_serve_command(CLI::App& app) {
    auto args = std::make_shared<serve_args>();
    serve::server_options& o = args->options;
    CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server (completions, chat, tokenizer, metrics)");
    add_model_options(cmd, args->model, args->tokenizer);
    cmd->add_option("--host", o.host, "address to listen on")->capture_default_str();
    cmd->add_option("--port", o.port, "port (0: any free one)")->capture_default_str()->check(CLI::Range(0, 65535));
    cmd->add_option("--parallel", o.engine.slots, "requests decoded together (slots)")->capture_default_str()
        ->check(CLI::Range(1, 1024));
    cmd->add_option("--queue", o.engine.queue, "requests that may wait for a slot before 503")->capture_default_str()
        ->check(CLI::Range(0, 1 << 20));
    cmd->add_option("-c,--ctx-size", o.ctx_size, "tokens one request may hold, prompt + max_tokens (0: training length)")
        ->capture_default_str()->check(CLI::Range(std::int64_t(0), std::int64_t(1) << 40));
    cmd->add_option("--threads", o.engine.threads, "compute threads (0: all cores)")->capture_default_str()
        ->check(CLI::Range(0, 4096));
    cmd->add_option("--prefill-chunk", o.engine.prefill_chunk, "prompt tokens per request per batch step")
        ->capture_default_str()->check(CLI::Range(std::int64_t(1), std::int64_t(1) << 20));
    cmd->add_option("--prefill-budget", o.engine.prefill_budget, "prompt tokens per batch step, all requests")
        ->capture_default_str()->check(CLI::Range(std::int64_t(1), std::int64_t(1) << 20));
    cmd->add_option("--timeout", o.request_timeout_s, "seconds a request may take, queueing included")
        ->capture_default_str()->check(CLI::Range(1, 1 << 30));
    cmd->add_option("--io-timeout", o.io_timeout_s, "seconds a read or write may stall before the connection is closed")
        ->capture_default_str()->check(CLI::Range(1, 3600));
    cmd->add_option("--max-body", o.max_body_bytes, "largest request body in bytes")->capture_default_str()
        ->check(CLI::Range(std::int64_t(1024), std::int64_t(1) << 32));
    add_position_options(cmd, args->positions);
    add_cache_type_options(cmd, o.engine.cache_types);
    cmd->callback([args] { run(*args); });
}

}  // namespace stretch::cli
