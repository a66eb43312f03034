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

// Range of the integer values of int8/uint8/int16; the int32 range for every other dtype.
int32_t DTypeMinValue(DType dtype);
int32_t DTypeMaxValue(DType dtype);

}  // namespace wisp
