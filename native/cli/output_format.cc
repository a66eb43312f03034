#include "native/cli/output_format.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "runtime/kernels/microkernels/config.h"

namespace wisp::cli {
namespace {

double RawElement(const TensorDesc& t, const uint8_t* data, int64_t i) {
  switch (t.dtype) {
    case DType::FLOAT32: {
      float v;
      std::memcpy(&v, data + i * 4, 4);
      return v;
    }
    case DType::INT8:
      return static_cast<int8_t>(data[i]);
    case DType::UINT8:
      return data[i];
    case DType::INT16: {
      int16_t v;
      std::memcpy(&v, data + i * 2, 2);
      return v;
    }
    case DType::INT32: {
      int32_t v;
      std::memcpy(&v, data + i * 4, 4);
      return v;
    }
    case DType::INT64: {
      int64_t v;
      std::memcpy(&v, data + i * 8, 8);
      return static_cast<double>(v);
    }
    case DType::BOOL:
      return data[i] ? 1 : 0;
    default:
      return 0;
  }
}

}  // namespace

double ElementAsReal(const TensorDesc& t, const uint8_t* data, int64_t i) {
  const double raw = RawElement(t, data, i);
  if (t.quant.empty() || t.dtype == DType::FLOAT32) return raw;
  size_t c = 0;
  if (t.quant.per_channel()) {
    int64_t inner = 1;
    for (size_t d = t.quant.axis + 1; d < t.shape.size(); ++d) inner *= t.shape[d];
    c = static_cast<size_t>((i / inner) % t.shape[t.quant.axis]);
  }
  return (raw - t.quant.zero_point[c]) * static_cast<double>(t.quant.scale[c]);
}

std::vector<int64_t> TopK(const TensorDesc& t, const uint8_t* data, int k) {
  std::vector<int64_t> idx(static_cast<size_t>(t.num_elements));
  std::iota(idx.begin(), idx.end(), 0);
  const size_t kk = std::min<size_t>(static_cast<size_t>(std::max(k, 0)), idx.size());
  std::partial_sort(idx.begin(), idx.begin() + kk, idx.end(), [&](int64_t a, int64_t b) {
    const double va = RawElement(t, data, a), vb = RawElement(t, data, b);
    return va != vb ? va > vb : a < b;
  });
  idx.resize(kk);
  return idx;
}

std::string IsaLine() {
  std::string levels;
  for (const std::string& level : MicrokernelIsaLevels()) levels += " " + level;
  return Microkernels().isa + " (built:" + levels + "; WISP_ISA caps)";
}

}  // namespace wisp::cli
