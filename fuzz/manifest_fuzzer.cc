// Manifests as the client receives them from a server: the signature check parses arbitrary JSON
// and must refuse anything not signed by the pinned key, without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "native/client/client.h"

namespace {
// Base64 of 32 arbitrary bytes: no fuzzed manifest can carry a valid signature for it.
constexpr const char* kPinnedKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string manifest(reinterpret_cast<const char*>(data), size);
  if (wisp::client::VerifyManifestSignature(manifest, kPinnedKey).ok()) std::abort();
  return 0;
}
