#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/format/schema.h"

namespace wisp {

using DType = fb::DType;

// Bytes per element; 0 for an unknown dtype.
size_t DTypeSize(DType dtype);
const char* DTypeName(DType dtype);
bool IsQuantizedInteger(DType dtype);  // int8, uint8, int16

}  // namespace wisp
