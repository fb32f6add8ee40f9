#include "io/json_text.h"

#include "io/atomic_file.h"

namespace stretch {

std::string json_text(const nlohmann::json& value, int indent) {
    return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_json_atomic(const std::string& path, const nlohmann::json& value) {
    write_text_atomic(path, json_text(value, 2) + "\n");
}

}  // namespace stretch
