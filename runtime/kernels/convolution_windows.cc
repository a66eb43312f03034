#include "runtime/kernels/convolution_windows.h"

#include <algorithm>

#include "runtime/core/noinline.h"

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

namespace {

// Tap rows held on the stack for the common path (a taller kernel takes the checked one).
constexpr int32_t kMaxRowTaps = 16;

// Table columns [j0, j1) with every tap checked: the columns in the left and right padding.
// This and BuildCheckedWindows are out of line (runtime/core/noinline.h) so that BuildRowWindows,
// run for every output row of every windowed convolution and depthwise layer, stays small: the
// engine's optimizing compile of it took 19-33 ms in a browser's cold start when they were inside.
WISP_NOINLINE const uint8_t** EdgeColumns(const ConvGeometry& g, const uint8_t* const* rows,
                                          int32_t j0, int32_t j1, const uint8_t* zero,
                                          const uint8_t** table) {
  for (int32_t j = j0; j < j1; ++j) {
    for (int32_t ky = 0; ky < g.kernel_h; ++ky)
      *table++ = PixelOrZero(g, rows[ky], j - g.pad_left, zero);
  }
  return table;
}

// Every pixel's kernel_h * kernel_w taps, each checked: dilation_w > 1 (no columns to share) or
// a kernel taller than kMaxRowTaps.
WISP_NOINLINE void BuildCheckedWindows(const ConvGeometry& g, const RowWindows& plan,
                                       const uint8_t* image, int32_t oy, const uint8_t* zero,
                                       const uint8_t** table) {
  if (g.dilation_w == 1) {
    const int32_t columns = static_cast<int32_t>(plan.pointers / g.kernel_h);
    for (int32_t j = 0; j < columns; ++j) {
      for (int32_t ky = 0; ky < g.kernel_h; ++ky) {
        *table++ = PixelOrZero(g, ImageRow(g, image, oy, ky), j - g.pad_left, zero);
      }
    }
    return;
  }
  for (int32_t ox = 0; ox < g.out_w; ++ox) {
    for (int32_t kx = 0; kx < g.kernel_w; ++kx) {
      const int32_t ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
      for (int32_t ky = 0; ky < g.kernel_h; ++ky) {
        *table++ = PixelOrZero(g, ImageRow(g, image, oy, ky), ix, zero);
      }
    }
  }
}

}  // namespace

void BuildRowWindows(const ConvGeometry& g, const RowWindows& plan, const uint8_t* image,
                     int32_t oy, const uint8_t* zero, const uint8_t** table) {
  if (g.dilation_w != 1 || g.kernel_h > kMaxRowTaps) {
    BuildCheckedWindows(g, plan, image, oy, zero, table);
    return;
  }
  const uint8_t* rows[kMaxRowTaps] = {};
  for (int32_t ky = 0; ky < g.kernel_h; ++ky) rows[ky] = ImageRow(g, image, oy, ky);
  // Columns inside the image: each tap row's pointer advances by a pixel per column (or stays on
  // the zero buffer for a padding row), so the bulk of the table is filled without checks.
  const int32_t columns = static_cast<int32_t>(plan.pointers / g.kernel_h);
  const int32_t first = std::min(std::max(g.pad_left, 0), columns);
  const int32_t last = std::max(first, std::min(columns, g.in_w + g.pad_left));
  table = EdgeColumns(g, rows, 0, first, zero, table);
  // One tap row at a time (strided stores): copying each column's kernel_h pointers as a block
  // makes GCC call memcpy per column.
  const size_t kh = static_cast<size_t>(g.kernel_h);
  const size_t count = static_cast<size_t>(last - first);
  const size_t pixel = static_cast<size_t>(g.in_c);
  for (size_t ky = 0; ky < kh; ++ky) {
    const uint8_t* p = rows[ky] ? rows[ky] + static_cast<size_t>(first - g.pad_left) * pixel : zero;
    const size_t step = rows[ky] ? pixel : 0;
    for (size_t j = 0; j < count; ++j, p += step) table[j * kh + ky] = p;
  }
  table += count * kh;
  EdgeColumns(g, rows, last, columns, zero, table);
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
