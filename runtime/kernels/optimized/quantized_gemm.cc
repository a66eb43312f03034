// Register-blocked int8/uint8 GEMM for 1x1 convolutions (stride 1, no padding) and fully
// connected layers: out[r][c] = requantize(folded_bias[c] + sum_k x[r][k] * w[c][k]).
// Weights are packed in blocks of kGemmBlockN output channels with those channels innermost, so
// the innermost loop is a contiguous, fixed-length update the compiler vectorizes; kGemmBlockM
// rows share each weight load. Integer accumulation is exact, so results equal the reference
// kernels bit for bit.
#include <algorithm>

#include "runtime/kernels/convolution_params.h"

namespace wisp {

void PackGemmWeights(const int16_t* filter, int32_t out_c, int32_t in_c,
                     std::vector<int16_t>* packed) {
  const int32_t blocks = (out_c + kGemmBlockN - 1) / kGemmBlockN;
  packed->assign(static_cast<size_t>(blocks) * in_c * kGemmBlockN, 0);
  for (int32_t c = 0; c < out_c; ++c) {
    const int32_t block = c / kGemmBlockN, j = c % kGemmBlockN;
    for (int32_t k = 0; k < in_c; ++k) {
      (*packed)[(static_cast<size_t>(block) * in_c + k) * kGemmBlockN + j] =
          filter[static_cast<size_t>(c) * in_c + k];
    }
  }
}

namespace {

template <typename T, int kRows>
inline void GemmBlock(int32_t in_c, int32_t out_c, int32_t block, const T* x, const int16_t* w,
                      const QuantConvParams& p, T* out) {
  const int32_t c0 = block * kGemmBlockN;
  const int32_t n = std::min(kGemmBlockN, out_c - c0);
  // uint32: wraps like XNNPACK's int32 arithmetic instead of overflowing (hostile models).
  uint32_t acc[kRows][kGemmBlockN];
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < kGemmBlockN; ++j) {
      acc[r][j] = j < n ? static_cast<uint32_t>(p.folded_bias[c0 + j]) : 0;
    }
  }
  for (int32_t k = 0; k < in_c; ++k) {
    const int16_t* wk = w + static_cast<size_t>(k) * kGemmBlockN;
    for (int r = 0; r < kRows; ++r) {
      const int32_t xv = static_cast<int32_t>(x[static_cast<size_t>(r) * in_c + k]);
      for (int j = 0; j < kGemmBlockN; ++j) {
        acc[r][j] += static_cast<uint32_t>(xv * static_cast<int32_t>(wk[j]));
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    T* o = out + static_cast<size_t>(r) * out_c + c0;
    for (int j = 0; j < n; ++j)
      o[j] = static_cast<T>(RequantizeChannel(static_cast<int32_t>(acc[r][j]), p, c0 + j));
  }
}

template <typename T>
void QuantizedGemm(int32_t rows, int32_t in_c, int32_t out_c, const T* input, const int16_t* packed,
                   const QuantConvParams& p, T* output) {
  const int32_t blocks = (out_c + kGemmBlockN - 1) / kGemmBlockN;
  int32_t r = 0;
  for (; r + kGemmBlockM <= rows; r += kGemmBlockM) {
    const T* x = input + static_cast<size_t>(r) * in_c;
    T* out = output + static_cast<size_t>(r) * out_c;
    for (int32_t b = 0; b < blocks; ++b) {
      GemmBlock<T, kGemmBlockM>(in_c, out_c, b, x,
                                packed + static_cast<size_t>(b) * in_c * kGemmBlockN, p, out);
    }
  }
  for (; r < rows; ++r) {
    const T* x = input + static_cast<size_t>(r) * in_c;
    T* out = output + static_cast<size_t>(r) * out_c;
    for (int32_t b = 0; b < blocks; ++b) {
      GemmBlock<T, 1>(in_c, out_c, b, x, packed + static_cast<size_t>(b) * in_c * kGemmBlockN, p,
                      out);
    }
  }
}

}  // namespace

void QuantizedGemmInt8(int32_t rows, int32_t in_c, int32_t out_c, const int8_t* input,
                       const int16_t* packed, const QuantConvParams& p, int8_t* output) {
  QuantizedGemm(rows, in_c, out_c, input, packed, p, output);
}

void QuantizedGemmUint8(int32_t rows, int32_t in_c, int32_t out_c, const uint8_t* input,
                        const int16_t* packed, const QuantConvParams& p, uint8_t* output) {
  QuantizedGemm(rows, in_c, out_c, input, packed, p, output);
}

}  // namespace wisp
