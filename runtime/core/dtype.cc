#include "runtime/core/dtype.h"

#include <limits>

namespace wisp {

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::FLOAT32:
      return 4;
    case DType::INT8:
      return 1;
    case DType::UINT8:
      return 1;
    case DType::INT16:
      return 2;
    case DType::INT32:
      return 4;
    case DType::INT64:
      return 8;
    case DType::BOOL:
      return 1;
    case DType::FLOAT16:
      return 2;
  }
  return 0;
}

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::FLOAT32:
      return "float32";
    case DType::INT8:
      return "int8";
    case DType::UINT8:
      return "uint8";
    case DType::INT16:
      return "int16";
    case DType::INT32:
      return "int32";
    case DType::INT64:
      return "int64";
    case DType::BOOL:
      return "bool";
    case DType::FLOAT16:
      return "float16";
  }
  return "unknown";
}

bool IsQuantizedInteger(DType dtype) {
  return dtype == DType::INT8 || dtype == DType::UINT8 || dtype == DType::INT16;
}

int32_t DTypeMinValue(DType dtype) {
  switch (dtype) {
    case DType::INT8:
      return -128;
    case DType::UINT8:
      return 0;
    case DType::INT16:
      return -32768;
    default:
      return std::numeric_limits<int32_t>::min();
  }
}

int32_t DTypeMaxValue(DType dtype) {
  switch (dtype) {
    case DType::INT8:
      return 127;
    case DType::UINT8:
      return 255;
    case DType::INT16:
      return 32767;
    default:
      return std::numeric_limits<int32_t>::max();
  }
}

}  // namespace wisp
