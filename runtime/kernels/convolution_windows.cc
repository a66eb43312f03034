#include "runtime/kernels/convolution_windows.h"

#include <algorithm>

namespace wisp {

RowWindows PlanRowWindows(const ConvGeometry& g) {
  RowWindows plan;
  const size_t kh = static_cast<size_t>(g.kernel_h);
  if (g.dilation_w == 1) {
    plan.stride = static_cast<size_t>(g.stride_w) * kh;
    plan.pointers = (static_cast<size_t>(g.out_w - 1) * g.stride_w + g.kernel_w) * kh;
  } else {
    plan.stride = kh * g.kernel_w;
    plan.pointers = plan.stride * g.out_w;
  }
  return plan;
}

void BuildRowWindows(const ConvGeometry& g, const RowWindows& plan, const uint8_t* image,
                     int32_t oy, const uint8_t* zero, const uint8_t** table) {
  const int32_t iy0 = oy * g.stride_h - g.pad_top;
  const size_t pixel = static_cast<size_t>(g.in_c);
  // Input row of tap ky, or nullptr when it is padding.
  const uint8_t* rows[64];
  const uint8_t** row = g.kernel_h <= 64 ? rows : nullptr;
  auto row_of = [&](int32_t ky) -> const uint8_t* {
    const int32_t iy = iy0 + ky * g.dilation_h;
    if (iy < 0 || iy >= g.in_h) return nullptr;
    return image + static_cast<size_t>(iy) * g.in_w * pixel;
  };
  if (row) {
    for (int32_t ky = 0; ky < g.kernel_h; ++ky) row[ky] = row_of(ky);
  }
  auto tap = [&](int32_t ky, int32_t ix) -> const uint8_t* {
    const uint8_t* r = row ? row[ky] : row_of(ky);
    if (r == nullptr || ix < 0 || ix >= g.in_w) return zero;
    return r + static_cast<size_t>(ix) * pixel;
  };
  if (g.dilation_w == 1) {
    const int32_t columns = static_cast<int32_t>(plan.pointers / g.kernel_h);
    // Columns inside the image: each tap row's pointer advances by a pixel per column (or stays
    // on the zero buffer for a padding row), so the bulk of the table is filled without checks.
    const int32_t first = std::min(std::max(g.pad_left, 0), columns);
    const int32_t last = std::max(first, std::min(columns, g.in_w + g.pad_left));
    for (int32_t j = 0; j < first; ++j) {
      for (int32_t ky = 0; ky < g.kernel_h; ++ky) *table++ = tap(ky, j - g.pad_left);
    }
    if (row && first < last) {
      // One tap row at a time (strided stores): copying each column's kernel_h pointers as a
      // block makes GCC call memcpy per column.
      const size_t kh = static_cast<size_t>(g.kernel_h);
      const size_t count = static_cast<size_t>(last - first);
      for (size_t ky = 0; ky < kh; ++ky) {
        const uint8_t* p =
            row[ky] ? row[ky] + static_cast<size_t>(first - g.pad_left) * pixel : zero;
        const size_t step = row[ky] ? pixel : 0;
        for (size_t j = 0; j < count; ++j, p += step) table[j * kh + ky] = p;
      }
      table += count * kh;
    } else {
      for (int32_t j = first; j < last; ++j) {
        for (int32_t ky = 0; ky < g.kernel_h; ++ky) *table++ = tap(ky, j - g.pad_left);
      }
    }
    for (int32_t j = last; j < columns; ++j) {
      for (int32_t ky = 0; ky < g.kernel_h; ++ky) *table++ = tap(ky, j - g.pad_left);
    }
    return;
  }
  for (int32_t ox = 0; ox < g.out_w; ++ox) {
    for (int32_t kx = 0; kx < g.kernel_w; ++kx) {
      const int32_t ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
      for (int32_t ky = 0; ky < g.kernel_h; ++ky) *table++ = tap(ky, ix);
    }
  }
}

std::vector<int32_t> ColumnMajorTapOrder(int32_t kernel_h, int32_t kernel_w) {
  std::vector<int32_t> order;
  order.reserve(static_cast<size_t>(kernel_h) * kernel_w);
  for (int32_t kx = 0; kx < kernel_w; ++kx) {
    for (int32_t ky = 0; ky < kernel_h; ++ky) order.push_back(ky * kernel_w + kx);
  }
  return order;
}

}  // namespace wisp
