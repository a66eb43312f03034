// Indirection for convolutions without im2col copies: for one output row, the input pointer of
// every filter tap of every output pixel (XNNPACK's indirection buffer), with taps outside the
// input pointing at a zero buffer that holds the input zero point.
//
// Taps are ordered column by column (kx outer, ky inner), so that with dilation_w == 1 adjacent
// output pixels share pointers: pixel ox's window starts at column ox * stride_w and the table
// holds ((out_w - 1) * stride_w + kernel_w) columns of kernel_h pointers. With dilation_w > 1
// every pixel gets its own kernel_h * kernel_w pointers. Weights are packed in the same tap order
// (ColumnMajorTapOrder).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/kernels/convolution_params.h"

namespace wisp {

struct RowWindows {
  size_t pointers = 0;  // table size for one output row
  size_t stride = 0;    // pointers from one pixel's window to the next
};

RowWindows PlanRowWindows(const ConvGeometry& g);

// The row of `image` (one batch entry, NHWC, g.in_c bytes per pixel) that filter row ky of output
// row oy reads, or nullptr when it lies in the padding.
inline const uint8_t* ImageRow(const ConvGeometry& g, const uint8_t* image, int32_t oy,
                               int32_t ky) {
  const int32_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
  if (iy < 0 || iy >= g.in_h) return nullptr;
  return image + static_cast<size_t>(iy) * g.in_w * g.in_c;
}

// The pixel at column ix of an image row from ImageRow (pixels of g.in_c bytes), or `zero` when
// the row or the column is padding.
inline const uint8_t* PixelOrZero(const ConvGeometry& g, const uint8_t* row, int32_t ix,
                                  const uint8_t* zero) {
  if (row == nullptr || ix < 0 || ix >= g.in_w) return zero;
  return row + static_cast<size_t>(ix) * g.in_c;
}

// Fills `table` (plan.pointers entries) for output row oy of the image at `image` (one batch
// entry, NHWC with g.in_c bytes per pixel).
void BuildRowWindows(const ConvGeometry& g, const RowWindows& plan, const uint8_t* image,
                     int32_t oy, const uint8_t* zero, const uint8_t** table);

// tap_order[t] = the filter tap (ky * kernel_w + kx) that window tap t = kx * kernel_h + ky reads.
std::vector<int32_t> ColumnMajorTapOrder(int32_t kernel_h, int32_t kernel_w);

}  // namespace wisp
