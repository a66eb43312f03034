// The .tflite importer: arbitrary bytes must import or fail with a status; whatever it produces
// must itself pass the .wisp verifier (an importer that writes unloadable files is a bug).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <utility>

#include "runtime/format/model.h"
#include "runtime/import/tflite_importer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wisp::ImportOptions options;
  options.record_sha256 = false;
  auto wisp_bytes = wisp::ImportTflite(data, size, options);
  if (!wisp_bytes.ok()) return 0;
  auto model = wisp::Model::Load(std::move(wisp_bytes.value()), wisp::LoadOptions{false});
  if (!model.ok()) std::abort();
  return 0;
}
