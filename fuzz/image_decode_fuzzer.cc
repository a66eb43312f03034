// The image decoders (BMP, PNG, JPEG, PNM), chosen by magic bytes as for files given to the CLI.
// A decoded image must be consistent: the promised size and pixel bytes agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "native/image/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto image = wisp::DecodeImage(data, size);
  if (image.ok() && !image.value().IsValid()) std::abort();
  return 0;
}
