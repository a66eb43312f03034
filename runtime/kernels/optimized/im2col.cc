// Patch gathering for CONV_2D as a GEMM: each output pixel's receptive field (kh * kw * in_c
// values, in the filter's [kh, kw, in_c] order) becomes one GEMM row. Padded taps take the input
// zero point, which the folded bias cancels exactly as it does for the reference kernel's padding
// row, so the GEMM result equals the reference bit for bit.
#include <cstring>

#include "runtime/kernels/convolution_params.h"

namespace wisp {
namespace {

template <typename T>
void Im2Col(const ConvGeometry& g, const T* input, int64_t first_pixel, int32_t count, T pad_value,
            T* patches) {
  const int64_t pixels_per_image = static_cast<int64_t>(g.out_h) * g.out_w;
  const size_t tap_bytes = static_cast<size_t>(g.in_c) * sizeof(T);
  for (int32_t i = 0; i < count; ++i) {
    const int64_t p = first_pixel + i;
    const int64_t b = p / pixels_per_image;
    const int32_t oy = static_cast<int32_t>(p % pixels_per_image / g.out_w);
    const int32_t ox = static_cast<int32_t>(p % g.out_w);
    const T* image = input + b * g.in_h * g.in_w * g.in_c;
    const int32_t iy0 = oy * g.stride_h - g.pad_top;
    const int32_t ix0 = ox * g.stride_w - g.pad_left;
    for (int32_t ky = 0; ky < g.kernel_h; ++ky) {
      const int32_t iy = iy0 + ky * g.dilation_h;
      for (int32_t kx = 0; kx < g.kernel_w; ++kx) {
        const int32_t ix = ix0 + kx * g.dilation_w;
        if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) {
          std::memset(patches, static_cast<unsigned char>(pad_value), tap_bytes);
        } else {
          std::memcpy(patches, image + (static_cast<int64_t>(iy) * g.in_w + ix) * g.in_c,
                      tap_bytes);
        }
        patches += g.in_c;
      }
    }
  }
}

}  // namespace

void Im2ColInt8(const ConvGeometry& g, const int8_t* input, int64_t first_pixel, int32_t count,
                int8_t pad_value, int8_t* patches) {
  Im2Col(g, input, first_pixel, count, pad_value, patches);
}

void Im2ColUint8(const ConvGeometry& g, const uint8_t* input, int64_t first_pixel, int32_t count,
                 uint8_t pad_value, uint8_t* patches) {
  Im2Col(g, input, first_pixel, count, pad_value, patches);
}

}  // namespace wisp
