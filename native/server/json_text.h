// Serialising JSON documents that may hold bytes from outside: request headers echoed in error
// messages, tensor names read from uploaded models. nlohmann::json throws on invalid UTF-8 by
// default, which would escape the handler and end the process; here such bytes become U+FFFD.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace wisp::server {

inline std::string JsonText(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace wisp::server
