// Reading fields of JSON documents that come from a server (manifests, error bodies).
// nlohmann::json's value() and get() throw type_error when a field has another type than asked
// for; a malformed or hostile reply must give a clear error instead of ending the program.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

namespace wisp::client {

// `j[key]` when `j` is an object holding `key` with a value of type T (a string, or an integer
// that fits T's signedness), else `fallback`.
template <typename T>
T FieldOr(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return fallback;
  } else if constexpr (std::is_unsigned_v<T>) {
    if (!it->is_number_unsigned()) return fallback;
  } else {
    static_assert(std::is_integral_v<T>, "FieldOr reads strings and integers");
    if (!it->is_number_integer()) return fallback;
  }
  return it->template get<T>();
}

}  // namespace wisp::client
