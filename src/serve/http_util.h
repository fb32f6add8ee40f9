// Small pieces of the server's HTTP handling: OpenAI's error object, JSON that is always valid
// UTF-8 (bytes that are not become U+FFFD), and the arrival time of the request a worker thread is
// handling (cpp-httplib runs a request from routing to logging on one thread).
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace stretch::serve {

std::string dump(const nlohmann::json& value);
// {"error": {"message", "type", "param", "code"}} with the status; type invalid_request_error by default.
void send_error(httplib::Response& res, int status, const std::string& param, const std::string& message,
                const std::string& type = "invalid_request_error");
// The path as safe text for a message (at most 100 bytes).
std::string printable_path(const std::string& path);
// The path if it is one of the server's endpoints, else "other" (bounded metric labels).
std::string known_endpoint(const std::string& path);

void note_request_start(const httplib::Request& req);
std::chrono::steady_clock::time_point request_start(const httplib::Request& req);
double seconds_since(std::chrono::steady_clock::time_point t);

}  // namespace stretch::serve
