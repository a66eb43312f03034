#include "runtime/kernels/float_conv.h"

#include <algorithm>
#include <string>

#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/parallel.h"
#include "runtime/kernels/shared_weights.h"

namespace wisp {
namespace {

constexpr int kMaxMr = 8;

size_t Taps(const ConvGeometry& g) { return static_cast<size_t>(g.kernel_h) * g.kernel_w; }

// Pointers one output row's windows take: kernel_h * kernel_w per pixel.
size_t WindowPointers(const ConvGeometry& g) { return static_cast<size_t>(g.out_w) * Taps(g); }

// Whether output pixel ox's window reaches into the left or right padding.
bool TouchesSidePadding(const ConvGeometry& g, int32_t ox) {
  const int32_t ix0 = ox * g.stride_w - g.pad_left;
  return ix0 < 0 || ix0 + (g.kernel_w - 1) * g.dilation_w >= g.in_w;
}

// The windows of output row oy of `image` (one batch entry, NHWC): pixel ox's taps at
// table[ox * taps + ky * kernel_w + kx], the reference's order (not the column-major order of
// convolution_windows.h, which lets quantized kernels share pointers between pixels: their
// integer sums do not depend on the order, float sums do). Taps outside the image point at
// `zero`, as the reference reads its padding row.
void BuildRowMajorWindows(const ConvGeometry& g, const float* image, int32_t oy, const float* zero,
                          const float** table) {
  const size_t in_c = static_cast<size_t>(g.in_c);
  for (int32_t ky = 0; ky < g.kernel_h; ++ky) {
    const int32_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
    const float* row =
        iy >= 0 && iy < g.in_h ? image + static_cast<size_t>(iy) * g.in_w * in_c : nullptr;
    const float** dst = table + static_cast<size_t>(ky) * g.kernel_w;
    const size_t taps = Taps(g);
    if (row == nullptr) {
      for (int32_t ox = 0; ox < g.out_w; ++ox, dst += taps) std::fill(dst, dst + g.kernel_w, zero);
      continue;
    }
    // Pixels whose window lies inside the row: no per-tap bounds checks (the table is rebuilt for
    // every output row, and with few channels building it costs as much as the kernel).
    const size_t step = static_cast<size_t>(g.dilation_w) * in_c;
    for (int32_t ox = 0; ox < g.out_w; ++ox, dst += taps) {
      const int32_t ix0 = ox * g.stride_w - g.pad_left;
      if (!TouchesSidePadding(g, ox)) {
        const float* p = row + static_cast<size_t>(ix0) * in_c;
        for (int32_t kx = 0; kx < g.kernel_w; ++kx, p += step) dst[kx] = p;
        continue;
      }
      for (int32_t kx = 0; kx < g.kernel_w; ++kx) {
        const int32_t ix = ix0 + kx * g.dilation_w;
        dst[kx] = ix >= 0 && ix < g.in_w ? row + static_cast<size_t>(ix) * in_c : zero;
      }
    }
  }
}

// The merged windows of output row oy (F32GemmPlan::merged_, dilation_w == 1): pixel ox's row ky
// at table[ox * kernel_h + ky], pointing at kernel_w * in_c consecutive floats: the input row
// itself, `zero` above and below the image, or for a window touching the side padding a copy in
// `edges` (kernel_h * kernel_w * in_c floats per such pixel) with zeros for the padding pixels.
void BuildMergedWindows(const ConvGeometry& g, const float* image, int32_t oy, const float* zero,
                        const float** table, float* edges) {
  const size_t in_c = static_cast<size_t>(g.in_c);
  const size_t span = static_cast<size_t>(g.kernel_w) * in_c;
  for (int32_t ky = 0; ky < g.kernel_h; ++ky) {
    const int32_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
    const float* row =
        iy >= 0 && iy < g.in_h ? image + static_cast<size_t>(iy) * g.in_w * in_c : nullptr;
    // Edge pixel e's copy of filter row ky: edges + (e * kernel_h + ky) * span.
    float* edge = edges + static_cast<size_t>(ky) * span;
    for (int32_t ox = 0; ox < g.out_w; ++ox) {
      const float** dst = table + static_cast<size_t>(ox) * g.kernel_h + ky;
      const int32_t ix0 = ox * g.stride_w - g.pad_left;
      if (row == nullptr || !TouchesSidePadding(g, ox)) {
        *dst = row != nullptr ? row + static_cast<size_t>(ix0) * in_c : zero;
        continue;
      }
      for (int32_t kx = 0; kx < g.kernel_w; ++kx) {
        const int32_t ix = ix0 + kx;
        float* seg = edge + static_cast<size_t>(kx) * in_c;
        if (ix >= 0 && ix < g.in_w) {
          std::copy(row + static_cast<size_t>(ix) * in_c, row + static_cast<size_t>(ix + 1) * in_c,
                    seg);
        } else {
          std::fill(seg, seg + in_c, 0.0f);
        }
      }
      *dst = edge;
      edge += static_cast<size_t>(g.kernel_h) * span;
    }
  }
}

size_t ImageFloats(const ConvGeometry& g) { return static_cast<size_t>(g.in_h) * g.in_w * g.in_c; }

// Window tables a plan keeps for all its output rows, at most this many bytes (beyond it the
// rows' tables are built on every run, as they fit in the per-task scratch).
constexpr size_t kMaxKeptWindowBytes = size_t{2} << 20;

}  // namespace

// ---- GEMM ---------------------------------------------------------------------------------------

void F32GemmPlan::Prepare(KernelContext& ctx, const ConvGeometry& g, const FloatFilter& f) {
  g_ = g;
  const F32GemmKernelInfo* k = Microkernels().f32_gemm;
  name_ = k->name;
  fn_ = k->fn;
  mr_ = k->mr;
  nr_ = k->nr;
  params_ = {f.act_min, f.act_max};
  pointwise_ = g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 &&
               g.pad_top == 0 && g.pad_left == 0 && g.out_h == g.in_h && g.out_w == g.in_w;
  const size_t ks = Taps(g);
  const size_t kc = static_cast<size_t>(g.in_c);
  // The filter [out_c][ky][kx][in_c] already lists each channel's taps in window order.
  packed_ = Shared<std::vector<float>>(ctx, name_, [&] {
    return PackF32Gemm(nr_, static_cast<size_t>(g.out_c), ks, kc, f.weights, f.bias);
  });
  max_tasks_ = MaxTasks(ctx) * kTasksPerThread;
  if (!pointwise_) {
    // The packed weights are the same either way ([tap][in_c] flattened), and the kernel adds
    // a patch's values in the same order as the taps', so the results are identical.
    // Only for a mono input: there each tap's gather is one value and its kernel overhead was the
    // cost (kws_float's 10x4 first layer). With 3 channels and few outputs (vww_float: 3 -> 8)
    // the gather cost as much as it saved (bench/profile_browser.mjs: 157 us vs LiteRT's whole
    // model at 490 us), so those keep the windowed path.
    patches_ = ks > 1 && kc == 1;
    merged_ = !patches_ && g.kernel_w > 1 && g.dilation_w == 1;
    zero_.assign(merged_ ? static_cast<size_t>(g.kernel_w) * kc : kc, 0.0f);
    edge_pixels_ = 0;
    if (merged_) {
      for (int32_t ox = 0; ox < g.out_w; ++ox) edge_pixels_ += TouchesSidePadding(g, ox);
    }
    scratch_ = ctx.RequestScratch(TaskScratchBytes() * max_tasks_);
  }
}

size_t F32GemmPlan::TablePointers() const {
  return merged_ ? static_cast<size_t>(g_.out_w) * g_.kernel_h : WindowPointers(g_);
}

size_t F32GemmPlan::TaskScratchBytes() const {
  const size_t table = TablePointers() * sizeof(const float*);
  // The patches, or the merged windows' copies of side-padding windows.
  const size_t patches = patches_  ? kMaxMr * Taps(g_) * static_cast<size_t>(g_.in_c)
                         : merged_ ? static_cast<size_t>(edge_pixels_) * Taps(g_) * g_.in_c
                                   : 0;
  // Patches follow the table, and each task's share starts, on a cache line.
  return (table + 63) / 64 * 64 + (patches * sizeof(float) + 63) / 64 * 64;
}

void F32GemmPlan::Run(const KernelContext& ctx, const float* input, float* output) const {
  if (pointwise_) {
    RunPointwise(ctx, input, output);
  } else {
    RunWindows(ctx, input, output);
  }
}

void F32GemmPlan::RunPointwise(const KernelContext& ctx, const float* input, float* output) const {
  ThreadPool* pool = ctx.thread_pool();
  const int64_t m = static_cast<int64_t>(g_.batch) * g_.in_h * g_.in_w;
  const size_t k = static_cast<size_t>(g_.in_c);
  const size_t n = static_cast<size_t>(g_.out_c);
  const int64_t m_tiles = (m + mr_ - 1) / mr_;
  const int64_t n_blocks = static_cast<int64_t>((n + nr_ - 1) / nr_);
  const size_t block_floats = static_cast<size_t>(nr_) * (1 + k);
  const int tasks =
      Tasks(pool, std::max(m_tiles, n_blocks), m * static_cast<int64_t>(k * n), max_tasks_);
  ParallelFor(pool, tasks, [&](int t) {
    const auto [t0, t1, b0, b1] = SplitGemm(pool, m_tiles, n_blocks, tasks, t);
    if (t1 <= t0 || b1 <= b0) return;
    const size_t n0 = static_cast<size_t>(b0) * nr_;
    const size_t nc = std::min<size_t>(static_cast<size_t>(b1) * nr_, n) - n0;
    const float* w = packed_->data() + block_floats * static_cast<size_t>(b0);
    const float* rows[kMaxMr];
    F32Window windows[kMaxMr];
    for (int r = 0; r < kMaxMr; ++r) windows[r] = &rows[r];
    for (int64_t tile = t0; tile < t1; ++tile) {
      const int64_t m0 = tile * mr_;
      const size_t rows_here = static_cast<size_t>(std::min<int64_t>(mr_, m - m0));
      for (size_t r = 0; r < rows_here; ++r) rows[r] = input + (m0 + r) * k;
      fn_(rows_here, nc, k, 1, windows, w, output + m0 * n + n0, n, &params_);
    }
  });
}

void F32GemmPlan::RunWindows(const KernelContext& ctx, const float* input, float* output) const {
  const int64_t out_rows = static_cast<int64_t>(g_.batch) * g_.out_h;
  const size_t ks = Taps(g_);
  const int64_t macs = out_rows * g_.out_w * static_cast<int64_t>(ks) * g_.in_c * g_.out_c;
  const int tasks = Tasks(ctx.thread_pool(), out_rows, macs, max_tasks_);
  const size_t out_row = static_cast<size_t>(g_.out_w) * g_.out_c;
  uint8_t* scratch = static_cast<uint8_t*>(ctx.scratch(scratch_));
  const size_t task_bytes = TaskScratchBytes();
  const size_t kc = static_cast<size_t>(g_.in_c);
  const size_t patch = ks * kc;
  // What the kernel is called with: taps and values per tap.
  const size_t call_ks = merged_ ? static_cast<size_t>(g_.kernel_h) : ks;
  const size_t call_kc = merged_ ? static_cast<size_t>(g_.kernel_w) * kc : kc;
  const size_t pointers = TablePointers();
  ParallelFor(ctx.thread_pool(), tasks, [&](int t) {
    uint8_t* mine = scratch + task_bytes * t;
    auto** table = reinterpret_cast<const float**>(mine);
    float* patches =
        reinterpret_cast<float*>(mine + (pointers * sizeof(const float*) + 63) / 64 * 64);
    const float* patch_rows[kMaxMr];
    F32Window windows[kMaxMr];
    for (int64_t row = out_rows * t / tasks; row < out_rows * (t + 1) / tasks; ++row) {
      const int64_t b = row / g_.out_h;
      const int32_t oy = static_cast<int32_t>(row % g_.out_h);
      if (merged_) {
        BuildMergedWindows(g_, input + ImageFloats(g_) * b, oy, zero_.data(), table, patches);
      } else {
        BuildRowMajorWindows(g_, input + ImageFloats(g_) * b, oy, zero_.data(), table);
      }
      float* out = output + out_row * row;
      for (int32_t ox = 0; ox < g_.out_w; ox += mr_) {
        const size_t rows_here = static_cast<size_t>(std::min(mr_, g_.out_w - ox));
        if (patches_) {
          for (size_t r = 0; r < rows_here; ++r) {
            const float* const* taps = table + (ox + r) * ks;
            float* dst = patches + r * patch;
            for (size_t tap = 0; tap < ks; ++tap, dst += kc) {
              for (size_t c = 0; c < kc; ++c) dst[c] = taps[tap][c];
            }
            patch_rows[r] = patches + r * patch;
            windows[r] = &patch_rows[r];
          }
          fn_(rows_here, static_cast<size_t>(g_.out_c), patch, 1, windows, packed_->data(),
              out + static_cast<size_t>(ox) * g_.out_c, g_.out_c, &params_);
          continue;
        }
        for (size_t r = 0; r < rows_here; ++r) windows[r] = table + (ox + r) * call_ks;
        fn_(rows_here, static_cast<size_t>(g_.out_c), call_kc, call_ks, windows, packed_->data(),
            out + static_cast<size_t>(ox) * g_.out_c, g_.out_c, &params_);
      }
    }
  });
}

// ---- Depthwise ----------------------------------------------------------------------------------

void F32DwconvPlan::Prepare(KernelContext& ctx, const ConvGeometry& g, const FloatFilter& f) {
  g_ = g;
  const F32DwconvKernelInfo* k = Microkernels().f32_dwconv;
  name_ = k->name;
  fn_ = k->fn;
  params_ = {f.act_min, f.act_max};
  // The filter [ky][kx][channel] is already [tap][channel] in window order.
  packed_ = Shared<std::vector<float>>(ctx, name_, [&] {
    return PackF32Dwconv(k->channel_tile, static_cast<size_t>(g.out_c), Taps(g), f.weights, f.bias);
  });
  zero_.assign(static_cast<size_t>(g.in_c), 0.0f);
  max_tasks_ = MaxTasks(ctx) * kTasksPerThread;
  const size_t kept = static_cast<size_t>(g.batch) * g.out_h * WindowPointers(g);
  windows_input_ = nullptr;
  if (kept * sizeof(const float*) <= kMaxKeptWindowBytes) {
    windows_.assign(kept, nullptr);
    scratch_ = -1;
  } else {
    windows_.clear();
    scratch_ = ctx.RequestScratch(WindowPointers(g) * sizeof(const float*) * max_tasks_);
  }
}

void F32DwconvPlan::Run(const KernelContext& ctx, const float* input, float* output) const {
  const int64_t out_rows = static_cast<int64_t>(g_.batch) * g_.out_h;
  const int64_t pixels = out_rows * g_.out_w;
  const size_t taps = Taps(g_);
  const int64_t macs = pixels * static_cast<int64_t>(taps) * g_.out_c;
  const int tasks = Tasks(ctx.thread_pool(), pixels, macs, max_tasks_);
  const size_t channels = static_cast<size_t>(g_.out_c);
  const size_t row_pointers = WindowPointers(g_);
  const bool kept = !windows_.empty();
  auto build = [&](int64_t row, const float** table) {
    BuildRowMajorWindows(g_, input + ImageFloats(g_) * (row / g_.out_h),
                         static_cast<int32_t>(row % g_.out_h), zero_.data(), table);
  };
  if (kept && windows_input_ != input) {
    for (int64_t row = 0; row < out_rows; ++row) build(row, windows_.data() + row_pointers * row);
    windows_input_ = input;
  }
  auto** tables = kept ? nullptr : static_cast<const float**>(ctx.scratch(scratch_));
  // Tasks take equal runs of output pixels, which may start or end inside a row (as the
  // quantized plan); a row's windows are built for the whole row either way.
  ParallelFor(ctx.thread_pool(), tasks, [&](int t) {
    const int64_t p0 = pixels * t / tasks, p1 = pixels * (t + 1) / tasks;
    for (int64_t row = p0 / g_.out_w; row * g_.out_w < p1; ++row) {
      const int64_t x0 = std::max<int64_t>(p0 - row * g_.out_w, 0);
      const int64_t x1 = std::min<int64_t>(p1 - row * g_.out_w, g_.out_w);
      const float** table;
      if (kept) {
        table = windows_.data() + row_pointers * row;
      } else {
        table = tables + row_pointers * t;
        build(row, table);
      }
      fn_(channels, static_cast<size_t>(x1 - x0), taps, table + taps * x0, taps, packed_->data(),
          output + (row * g_.out_w + x0) * channels, &params_);
    }
  });
}

}  // namespace wisp
