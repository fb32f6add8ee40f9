#include "serve/http_util.h"

#include <array>

#include <httplib.h>

namespace stretch::serve {

namespace {
thread_local std::chrono::steady_clock::time_point started;  // of the request this worker handles
}

std::string dump(const nlohmann::json& value) { return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

void send_error(httplib::Response& res, int status, const std::string& param, const std::string& message,
                const std::string& type) {
    res.status = status;
    const nlohmann::json body = {
        {"error", {{"message", message}, {"type", type}, {"param", param.empty() ? nlohmann::json() : nlohmann::json(param)},
                   {"code", status}}}};
    res.set_content(dump(body), "application/json");
}

std::string printable_path(const std::string& path) {
    return dump(nlohmann::json(path.size() > 100 ? path.substr(0, 100) + "..." : path));
}

std::string known_endpoint(const std::string& path) {
    static constexpr std::array known{"/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize",
                                      "/tokenizer_info", "/v1/models",           "/health",   "/metrics"};
    for (const char* k : known)
        if (path == k) return path;
    return "other";
}

void note_request_start(const httplib::Request&) { started = std::chrono::steady_clock::now(); }

std::chrono::steady_clock::time_point request_start(const httplib::Request&) { return started; }

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace stretch::serve
