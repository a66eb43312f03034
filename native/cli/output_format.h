#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/format/model.h"

namespace wisp::cli {

// Real value of element i of a tensor (dequantized when quantized).
double ElementAsReal(const TensorDesc& t, const uint8_t* data, int64_t i);

// Indices of the k largest raw values; ties go to the lower index (as in the goldens).
std::vector<int64_t> TopK(const TensorDesc& t, const uint8_t* data, int k);

// The microkernel level in use and the levels this build has, e.g.
// "avx512vnni (built: scalar sse2 avx2 avxvnni avx512vnni; WISP_ISA caps)".
std::string IsaLine();

}  // namespace wisp::cli
