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

}  // namespace wisp::cli
