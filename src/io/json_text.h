// Every JSON text stretch produces (reports, the training log, a checkpoint's config, values quoted
// in errors) is serialised here, so none can fail on text that is not valid UTF-8 — a path, a
// generated answer: each invalid byte is written as U+FFFD (nlohmann's error_handler_t::replace)
// instead of throwing from the middle of a report.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace stretch {

// `indent` < 0: one line.
std::string json_text(const nlohmann::json& value, int indent = -1);
// json_text(value, 2) and a newline, written atomically (io/atomic_file.h).
void write_json_atomic(const std::string& path, const nlohmann::json& value);

}  // namespace stretch
