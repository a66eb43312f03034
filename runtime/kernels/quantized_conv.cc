#include "runtime/kernels/quantized_conv.h"

#include <algorithm>
#include <cstring>

#include "runtime/core/flip_bytes.h"
#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/parallel.h"
#include "runtime/kernels/shared_weights.h"

namespace wisp {
namespace {

constexpr int kMaxMr = 8;
constexpr int32_t kMaxPatchRows = 16;  // filter rows of a directly gathered patch

// Kernels read up to one register block past the last input value they use (a k group, a
// channel tile): the zero buffer covers that too.
constexpr size_t kZeroSlack = 64;

size_t InputBytes(const ConvGeometry& g) {
  return static_cast<size_t>(g.batch) * g.in_h * g.in_w * g.in_c;
}

// A row tap that touches padding is assembled in scratch: up to 16 values (int8/uint8, or int16
// for a kernel's int16-input entry), then the slack a kernel may read past them.
size_t EdgeTapBytes(bool int16) { return 16 * (int16 ? sizeof(int16_t) : 1) + kZeroSlack; }

// dst[0, 16) = src[0, 16), the bytes' top bits flipped if `flip`.
void CopyOrFlip16(const uint8_t* src, bool flip, uint8_t* dst) {
  if (flip) {
    FlipBytes(src, 16, dst);
  } else {
    std::memcpy(dst, src, 16);
  }
}

// The input tensor flipped into `flipped` (bytes long), split over `tasks`; returns `flipped`.
const uint8_t* FlipImage(const KernelContext& ctx, const uint8_t* input, size_t bytes, int tasks,
                         uint8_t* flipped) {
  ParallelFor(ctx.thread_pool(), tasks, [&](int t) {
    const size_t b0 = bytes * t / tasks / 8 * 8;
    const size_t b1 = t + 1 == tasks ? bytes : bytes * (t + 1) / tasks / 8 * 8;
    FlipBytes(input + b0, b1 - b0, flipped + b0);
  });
  return flipped;
}

// The input tensor widened to int16 (sign-extended int8, zero-extended uint8) into `wide`, split
// over `tasks`; returns `wide` as bytes. Plain loops: the compiler vectorises them.
const uint8_t* WidenImage(const KernelContext& ctx, const uint8_t* input, size_t count, bool uint8,
                          int tasks, int16_t* wide) {
  ParallelFor(ctx.thread_pool(), tasks, [&](int t) {
    const size_t i0 = count * t / tasks, i1 = count * (t + 1) / tasks;
    if (uint8) {
      for (size_t i = i0; i < i1; ++i) wide[i] = input[i];
    } else {
      const int8_t* x = reinterpret_cast<const int8_t*>(input);
      for (size_t i = i0; i < i1; ++i) wide[i] = x[i];
    }
  });
  return reinterpret_cast<const uint8_t*>(wide);
}

}  // namespace

// ---- GEMM ---------------------------------------------------------------------------------------

void QuantGemmPlan::Prepare(KernelContext& ctx, const ConvGeometry& g, const QuantFilter& f) {
  g_ = g;
  const MicrokernelConfig& config = Microkernels();
  const GemmKernelInfo* k = config.gemm;
  // Weights used by a single row tile, or too many to stay in a core's cache (1 MB and less)
  // between row tiles, stream from memory on every pass: there the level's 8-bit packing, if it
  // has one, halves the bytes that an int16 packing reads (gemm.h, pack.h).
  const int64_t rows = int64_t{g.batch} * g.out_h * g.out_w;
  const int64_t int16_weight_bytes =
      int64_t{g.out_c} * g.kernel_h * g.kernel_w * g.in_c * int64_t{2};
  if (config.gemm_streamed_weights != nullptr &&
      (rows <= k->layout.mr || int16_weight_bytes > config.streamed_weight_bytes)) {
    k = config.gemm_streamed_weights;
  }
  name_ = k->name;
  layout_ = k->layout;
  fn_ = f.uint8 ? k->qu8 : k->qs8;
  input_shift_ = layout_.weight_bytes == 1 ? layout_.input_shift[f.uint8 ? 1 : 0] : 0;
  epilogue_ = f.epilogue;
  pointwise_ = g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 &&
               g.pad_top == 0 && g.pad_left == 0 && g.out_h == g.in_h && g.out_w == g.in_w;
  const int32_t ks = g.kernel_h * g.kernel_w;
  // Few input channels (an RGB or mono first layer): a window's taps would each fill a k group
  // of the kernel with mostly padding, so each output pixel's patch is gathered into one
  // contiguous row of kh * kw * in_c values instead, in the filter's own order.
  const int32_t kr = layout_.kr;
  patches_ = !pointwise_ && ks > 1 && g.in_c <= 4 &&
             (g.in_c + kr - 1) / kr * kr * ks > (ks * g.in_c + kr - 1) / kr * kr;
  // Patches whose filter rows are adjacent pixels (one 16-byte copy covers a row's taps) come
  // straight from the image rows, without the pointer table. When the kernel takes the input as
  // it is (no flipped copy needed) and its k groups are short, nothing is gathered at all: each
  // filter row is one tap of kw * in_c values that the kernel reads in the image itself (a 3x3
  // RGB filter: 3 taps of 9, 12 values each with kr = 4, where a gathered patch has 28), and
  // only taps that touch padding are assembled in scratch.
  const bool direct =
      patches_ && g.dilation_w == 1 && g.kernel_w * g.in_c <= 16 && g.kernel_h <= kMaxPatchRows;
  row_taps_ =
      direct && kr <= 4 &&
      (f.uint8 || k->qs8_flipped_input == nullptr || k->free_input_flip || g.out_c <= layout_.nr);
  direct_patches_ = direct && !row_taps_;
  if (row_taps_) patches_ = false;
  const std::vector<int32_t> order = ColumnMajorTapOrder(g.kernel_h, g.kernel_w);
  GemmWeightsSource src;
  src.n = g.out_c;
  src.ks = patches_ ? 1 : row_taps_ ? g.kernel_h : ks;
  src.kc = patches_ ? ks * g.in_c : row_taps_ ? g.kernel_w * g.in_c : g.in_c;
  src.weights = f.weights;
  // Filter order (ky, kx, channel) is already patch order and row-tap order.
  src.tap_order = patches_ || row_taps_ ? nullptr : order.data();
  src.w_zp = f.w_zp;
  src.weights_uint8 = f.weights_uint8;
  src.bias = f.bias;
  src.scale = f.scale;
  src.input_zero_point = f.input_zero_point;
  src.input_uint8 = f.uint8;
  const char* mode = patches_ ? "/patches" : row_taps_ ? "/row_taps" : "";
  packed_ =
      Shared<PackedGemm>(ctx, std::string(name_) + mode, [&] { return PackGemm(layout_, src); });
  if (packed_->needs_row_sums) row_sums_ = f.uint8 ? k->row_sums_qu8 : k->row_sums_qs8;
  max_tasks_ = MaxTasks(ctx) * kTasksPerThread;
  // Contiguous rows (pointwise, or gathered patches) of an int8 layer with more than one block
  // of channels: flip each row tile once (a kernel flipping inside reads every row again per
  // block of channels).
  const size_t row_values = static_cast<size_t>(patches_ ? ks * g.in_c : g.in_c);
  if ((pointwise_ || patches_) && !f.uint8 && k->qs8_flipped_input != nullptr &&
      !k->free_input_flip && g.out_c > layout_.nr && !packed_->needs_row_sums) {
    flipped_fn_ = k->qs8_flipped_input;
  }
  if (flipped_fn_ != nullptr || patches_) {
    flip_row_bytes_ = (row_values + kZeroSlack + 15) / 16 * 16;
    flip_scratch_ = ctx.RequestScratch(flip_row_bytes_ * layout_.mr * max_tasks_);
  }
  // Windowed layers on a kernel that widens its inputs to int16: the image is widened once per
  // invoke into scratch, and the kernel reads the taps in place (each input value is otherwise
  // widened once per tap it falls in, in every call). Row taps too: a 3-channel first layer's
  // calls otherwise spent as long widening their 9-value taps as multiplying them.
  const QGemmFn int16_fn = f.uint8 ? k->qu8_int16_input : k->qs8_int16_input;
  if (!pointwise_ && !patches_ && int16_fn != nullptr) {
    int16_fn_ = int16_fn;
    input_uint8_ = f.uint8;
    // Slack past the last pixel (and the zero buffer's) for the kernel's k-group over-read.
    wide_image_scratch_ = ctx.RequestScratch((InputBytes(g) + kZeroSlack) * sizeof(int16_t));
    const int32_t zp = f.uint8 ? static_cast<int32_t>(static_cast<uint8_t>(f.input_zero_point))
                               : static_cast<int32_t>(static_cast<int8_t>(f.input_zero_point));
    zero_int16_.assign(static_cast<size_t>(g.in_c) + kZeroSlack, static_cast<int16_t>(zp));
  }
  if (row_taps_) {
    // Per row of the tile, kernel_h slots for taps that touch padding.
    flip_row_bytes_ = static_cast<size_t>(g.kernel_h) * EdgeTapBytes(int16_fn_ != nullptr);
    flip_scratch_ = ctx.RequestScratch(flip_row_bytes_ * layout_.mr * max_tasks_);
  }
  // Windowed int8 layers: every input byte is read once per tap it falls in and per block of
  // channels, so the whole input is flipped once per invoke into scratch instead (unless the
  // kernel flips for free).
  if (!pointwise_ && !patches_ && !row_taps_ && int16_fn_ == nullptr && !f.uint8 &&
      k->qs8_flipped_input != nullptr && !k->free_input_flip && !packed_->needs_row_sums) {
    flipped_fn_ = k->qs8_flipped_input;
    image_flip_scratch_ = ctx.RequestScratch(InputBytes(g) + kZeroSlack);
  }
  if (!pointwise_) {
    windows_ = PlanRowWindows(g);
    const uint8_t flip = image_flip_scratch_ >= 0 ? 0x80 : 0x00;
    zero_.assign(static_cast<size_t>(g.in_c) + kZeroSlack,
                 static_cast<uint8_t>(f.input_zero_point) ^ flip);
    scratch_ = ctx.RequestScratch(windows_.pointers * sizeof(const uint8_t*) * max_tasks_);
  }
}

void QuantGemmPlan::GatherPatchDirect(const uint8_t* const* rows, int32_t ox, bool flip,
                                      uint8_t* dst) const {
  const size_t in_c = static_cast<size_t>(g_.in_c);
  const size_t span = static_cast<size_t>(g_.kernel_w) * in_c;
  const uint8_t mask = flip ? 0x80 : 0x00;
  const int32_t ix0 = ox * g_.stride_w - g_.pad_left;
  const bool inside = ix0 >= 0 && ix0 + g_.kernel_w <= g_.in_w;
  for (int32_t ky = 0; ky < g_.kernel_h; ++ky, dst += span) {
    const uint8_t* row = rows[ky];
    if (row != nullptr && inside) {
      // One 16-byte copy (image rows, the scratch row and the arena have slack past their end).
      CopyOrFlip16(row + static_cast<size_t>(ix0) * in_c, flip, dst);
      continue;
    }
    for (int32_t kx = 0; kx < g_.kernel_w; ++kx) {
      const uint8_t* src = PixelOrZero(g_, row, ix0 + kx, zero_.data());
      for (size_t c = 0; c < in_c; ++c) dst[kx * in_c + c] = src[c] ^ mask;
    }
  }
}

void QuantGemmPlan::RunRowTaps(const ConvGeometry& window_g, const uint8_t* const* image_rows,
                               const uint8_t* zero, uint8_t* edge, uint8_t* out) const {
  const int mr = layout_.mr;
  const int32_t kh = g_.kernel_h;
  // With int16_fn_ the rows are the widened image's: window_g has pixels of 2 * in_c bytes.
  const size_t pixel_bytes = static_cast<size_t>(window_g.in_c);
  const size_t span = static_cast<size_t>(g_.kernel_w) * g_.in_c;  // values per tap
  const QGemmFn fn = int16_fn_ ? int16_fn_ : fn_;
  const uint8_t* taps[kMaxMr][kMaxPatchRows];
  GemmWindow windows[kMaxMr];
  int32_t sums[kMaxMr];
  for (int32_t ox = 0; ox < g_.out_w; ox += mr) {
    const size_t rows_here = static_cast<size_t>(std::min(mr, g_.out_w - ox));
    for (size_t r = 0; r < rows_here; ++r) {
      const int32_t ix0 = (ox + static_cast<int32_t>(r)) * g_.stride_w - g_.pad_left;
      const bool inside = ix0 >= 0 && ix0 + g_.kernel_w <= g_.in_w;
      for (int32_t ky = 0; ky < kh; ++ky) {
        const uint8_t* row = image_rows[ky];
        if (row != nullptr && inside) {
          taps[r][ky] = row + static_cast<size_t>(ix0) * pixel_bytes;
          continue;
        }
        uint8_t* slot = edge + flip_row_bytes_ * r +
                        EdgeTapBytes(int16_fn_ != nullptr) * static_cast<size_t>(ky);
        for (int32_t kx = 0; kx < g_.kernel_w; ++kx) {
          std::memcpy(slot + kx * pixel_bytes, PixelOrZero(window_g, row, ix0 + kx, zero),
                      pixel_bytes);
        }
        taps[r][ky] = slot;
      }
      windows[r] = taps[r];
    }
    const int32_t* row_sums = nullptr;
    if (row_sums_ != nullptr) {
      row_sums_(rows_here, span, static_cast<size_t>(kh), windows, input_shift_, sums);
      row_sums = sums;
    }
    fn(rows_here, g_.out_c, span, static_cast<size_t>(kh), windows, packed_->data.data(),
       out + static_cast<size_t>(ox) * g_.out_c, g_.out_c, row_sums, &epilogue_);
  }
}

void QuantGemmPlan::GatherPatch(GemmWindow window, bool flip, uint8_t* dst) const {
  const size_t in_c = static_cast<size_t>(g_.in_c);
  const size_t span = static_cast<size_t>(g_.kernel_w) * in_c;
  const uint8_t mask = flip ? 0x80 : 0x00;
  for (int32_t ky = 0; ky < g_.kernel_h; ++ky, dst += span) {
    const uint8_t* first = window[ky];
    const uint8_t* last = window[(g_.kernel_w - 1) * g_.kernel_h + ky];
    if (span <= 16 && last == first + span - in_c) {
      // The row's taps are adjacent pixels: one 16-byte copy (the rows, the zero buffer and the
      // scratch all have slack past their end for the over-read and over-write).
      CopyOrFlip16(first, flip, dst);
      continue;
    }
    for (int32_t kx = 0; kx < g_.kernel_w; ++kx) {
      const uint8_t* src = window[kx * g_.kernel_h + ky];
      for (size_t c = 0; c < in_c; ++c) dst[kx * in_c + c] = src[c] ^ mask;
    }
  }
}

void QuantGemmPlan::Run(const KernelContext& ctx, const uint8_t* input, uint8_t* output) const {
  if (pointwise_) {
    RunPointwise(ctx, input, output);
  } else {
    RunWindows(ctx, input, output);
  }
}

void QuantGemmPlan::RunPointwise(const KernelContext& ctx, const uint8_t* input,
                                 uint8_t* output) const {
  ThreadPool* pool = ctx.thread_pool();
  uint8_t* flip_base = flipped_fn_ ? static_cast<uint8_t*>(ctx.scratch(flip_scratch_)) : nullptr;
  const int64_t m = static_cast<int64_t>(g_.batch) * g_.out_h * g_.out_w;
  const int32_t k = g_.in_c, n = g_.out_c;
  const int mr = layout_.mr, nr = layout_.nr;
  const int64_t m_tiles = (m + mr - 1) / mr;
  const int64_t n_blocks = (n + nr - 1) / nr;
  const int tasks = Tasks(pool, std::max(m_tiles, n_blocks), m * k * n, max_tasks_);
  ParallelFor(pool, tasks, [&](int t) {
    const auto [t0, t1, b0, b1] = SplitGemm(pool, m_tiles, n_blocks, tasks, t);
    const size_t n0 = static_cast<size_t>(b0) * nr;
    const size_t nc = std::min<size_t>(static_cast<size_t>(b1) * nr, n) - n0;
    if (t1 <= t0 || b1 <= b0) return;
    const void* w = packed_->data.data() + packed_->block_bytes * b0;
    const uint8_t* rows[kMaxMr];
    GemmWindow windows[kMaxMr];
    int32_t sums[kMaxMr];
    for (int r = 0; r < kMaxMr; ++r) windows[r] = &rows[r];
    uint8_t* flipped = flip_base ? flip_base + flip_row_bytes_ * mr * t : nullptr;
    for (int64_t tile = t0; tile < t1; ++tile) {
      const int64_t m0 = tile * mr;
      const size_t rows_here = static_cast<size_t>(std::min<int64_t>(mr, m - m0));
      for (size_t r = 0; r < rows_here; ++r) rows[r] = input + (m0 + r) * k;
      if (flipped != nullptr) {
        // The tile's rows are contiguous in the input: flipped in one pass, kept contiguous (a
        // row's k-group over-read lands in the next row, which meets zero weights, and the last
        // row's in the scratch's slack: flip_row_bytes_ * mr >= mr * k + kZeroSlack).
        FlipBytes(rows[0], rows_here * static_cast<size_t>(k), flipped);
        for (size_t r = 0; r < rows_here; ++r) rows[r] = flipped + static_cast<size_t>(k) * r;
        flipped_fn_(rows_here, nc, k, 1, windows, w, output + m0 * n + n0, n, nullptr, &epilogue_);
        continue;
      }
      const int32_t* row_sums = nullptr;
      if (row_sums_ != nullptr) {
        row_sums_(rows_here, k, 1, windows, input_shift_, sums);
        row_sums = sums;
      }
      fn_(rows_here, nc, k, 1, windows, w, output + m0 * n + n0, n, row_sums, &epilogue_);
    }
  });
}

void QuantGemmPlan::RunWindows(const KernelContext& ctx, const uint8_t* input,
                               uint8_t* output) const {
  const int64_t out_rows = static_cast<int64_t>(g_.batch) * g_.out_h;
  const size_t ks = static_cast<size_t>(g_.kernel_h) * g_.kernel_w;
  const int64_t macs = out_rows * g_.out_w * static_cast<int64_t>(ks) * g_.in_c * g_.out_c;
  const int tasks = Tasks(ctx.thread_pool(), out_rows, macs, max_tasks_);
  if (image_flip_scratch_ >= 0) {
    input = FlipImage(ctx, input, InputBytes(g_), tasks,
                      static_cast<uint8_t*>(ctx.scratch(image_flip_scratch_)));
  }
  // With int16_fn_ the windows point into the widened image: pixels of 2 * in_c bytes.
  ConvGeometry window_g = g_;
  const uint8_t* zero = zero_.data();
  if (int16_fn_ != nullptr) {
    input = WidenImage(ctx, input, InputBytes(g_), input_uint8_, tasks,
                       static_cast<int16_t*>(ctx.scratch(wide_image_scratch_)));
    window_g.in_c *= static_cast<int32_t>(sizeof(int16_t));
    zero = reinterpret_cast<const uint8_t*>(zero_int16_.data());
  }
  const size_t image_bytes = static_cast<size_t>(g_.in_h) * g_.in_w * window_g.in_c;
  const size_t out_row_bytes = static_cast<size_t>(g_.out_w) * g_.out_c;
  auto** tables = static_cast<const uint8_t**>(ctx.scratch(scratch_));
  uint8_t* patch_base =
      patches_ || row_taps_ ? static_cast<uint8_t*>(ctx.scratch(flip_scratch_)) : nullptr;
  const int mr = layout_.mr;
  const size_t in_c = static_cast<size_t>(g_.in_c);
  ParallelFor(ctx.thread_pool(), tasks, [&](int t) {
    const uint8_t** table = tables + windows_.pointers * t;
    GemmWindow windows[kMaxMr];
    int32_t sums[kMaxMr];
    uint8_t* patch = patch_base ? patch_base + flip_row_bytes_ * mr * t : nullptr;
    const uint8_t* patch_rows[kMaxMr];
    for (int64_t row = out_rows * t / tasks; row < out_rows * (t + 1) / tasks; ++row) {
      const int32_t b = static_cast<int32_t>(row / g_.out_h);
      const int32_t oy = static_cast<int32_t>(row % g_.out_h);
      uint8_t* out = output + out_row_bytes * row;
      if (direct_patches_ || row_taps_) {
        const uint8_t* image_rows[kMaxPatchRows];
        for (int32_t ky = 0; ky < g_.kernel_h; ++ky) {
          image_rows[ky] = ImageRow(window_g, input + image_bytes * b, oy, ky);
        }
        if (row_taps_) {
          RunRowTaps(window_g, image_rows, zero, patch, out);
          continue;
        }
        for (int32_t ox = 0; ox < g_.out_w; ox += mr) {
          const size_t rows_here = static_cast<size_t>(std::min(mr, g_.out_w - ox));
          for (size_t r = 0; r < rows_here; ++r) {
            patch_rows[r] = patch + flip_row_bytes_ * r;
            GatherPatchDirect(image_rows, ox + static_cast<int32_t>(r), flipped_fn_ != nullptr,
                              patch + flip_row_bytes_ * r);
            windows[r] = &patch_rows[r];
          }
          const int32_t* row_sums = nullptr;
          if (row_sums_ != nullptr) {
            row_sums_(rows_here, ks * in_c, 1, windows, input_shift_, sums);
            row_sums = sums;
          }
          (flipped_fn_ ? flipped_fn_ : fn_)(
              rows_here, g_.out_c, ks * in_c, 1, windows, packed_->data.data(),
              out + static_cast<size_t>(ox) * g_.out_c, g_.out_c, row_sums, &epilogue_);
        }
        continue;
      }
      BuildRowWindows(window_g, windows_, input + image_bytes * b, oy, zero, table);
      for (int32_t ox = 0; ox < g_.out_w; ox += mr) {
        const size_t rows_here = static_cast<size_t>(std::min(mr, g_.out_w - ox));
        for (size_t r = 0; r < rows_here; ++r) windows[r] = table + (ox + r) * windows_.stride;
        if (patch != nullptr) {
          // Gather each pixel's patch (filter order: ky, then kx, then channels) into a row.
          for (size_t r = 0; r < rows_here; ++r) {
            patch_rows[r] = patch + flip_row_bytes_ * r;
            GatherPatch(windows[r], flipped_fn_ != nullptr, patch + flip_row_bytes_ * r);
            windows[r] = &patch_rows[r];
          }
          const int32_t* row_sums = nullptr;
          if (row_sums_ != nullptr) {
            row_sums_(rows_here, ks * in_c, 1, windows, input_shift_, sums);
            row_sums = sums;
          }
          (flipped_fn_ ? flipped_fn_ : fn_)(
              rows_here, g_.out_c, ks * in_c, 1, windows, packed_->data.data(),
              out + static_cast<size_t>(ox) * g_.out_c, g_.out_c, row_sums, &epilogue_);
          continue;
        }
        const int32_t* row_sums = nullptr;
        if (row_sums_ != nullptr) {
          row_sums_(rows_here, g_.in_c, ks, windows, input_shift_, sums);
          row_sums = sums;
        }
        (int16_fn_ ? int16_fn_
         : image_flip_scratch_ >= 0
             ? flipped_fn_
             : fn_)(rows_here, g_.out_c, g_.in_c, ks, windows, packed_->data.data(),
                    out + static_cast<size_t>(ox) * g_.out_c, g_.out_c, row_sums, &epilogue_);
      }
    }
  });
}

// ---- Depthwise ----------------------------------------------------------------------------------

void QuantDwconvPlan::Prepare(KernelContext& ctx, const ConvGeometry& g, const QuantFilter& f) {
  g_ = g;
  const int32_t taps = g.kernel_h * g.kernel_w;
  const DwconvKernelInfo* kernel = nullptr;
  for (const DwconvKernelInfo* k : Microkernels().dwconv) {
    if ((k->taps == 0 || k->taps == taps) && (!f.uint8 || k->qu8 != nullptr)) {
      kernel = k;
      break;
    }
  }
  name_ = kernel->name;
  fn_ = f.uint8 ? kernel->qu8 : kernel->qs8;
  epilogue_ = f.epilogue;
  const std::vector<int32_t> order = ColumnMajorTapOrder(g.kernel_h, g.kernel_w);
  DwconvWeightsSource src;
  src.channels = g.out_c;
  src.taps = taps;
  src.weights = f.weights;
  src.tap_order = order.data();
  src.w_zp = f.w_zp;
  src.weights_uint8 = f.weights_uint8;
  src.bias = f.bias;
  src.scale = f.scale;
  src.input_zero_point = f.input_zero_point;
  src.input_uint8 = f.uint8;
  packed_ = Shared<PackedBytes>(ctx, name_, [&] { return PackDwconv(*kernel, src); });
  windows_ = PlanRowWindows(g);
  // A kernel that flips int8 inputs would flip each input vector once per tap: flip the whole
  // input once per invoke instead.
  uint8_t flip = 0;
  if (!f.uint8 && kernel->qs8_flipped_input != nullptr) {
    fn_ = kernel->qs8_flipped_input;
    image_flip_scratch_ = ctx.RequestScratch(InputBytes(g) + kZeroSlack);
    flip = 0x80;
  }
  zero_.assign(static_cast<size_t>(g.in_c) + kZeroSlack,
               static_cast<uint8_t>(f.input_zero_point) ^ flip);
  max_tasks_ = MaxTasks(ctx) * kTasksPerThread;
  scratch_ = ctx.RequestScratch(windows_.pointers * sizeof(const uint8_t*) * max_tasks_);
}

void QuantDwconvPlan::Run(const KernelContext& ctx, const uint8_t* input, uint8_t* output) const {
  const int64_t out_rows = static_cast<int64_t>(g_.batch) * g_.out_h;
  const int64_t pixels = out_rows * g_.out_w;
  const size_t taps = static_cast<size_t>(g_.kernel_h) * g_.kernel_w;
  const int64_t macs = pixels * static_cast<int64_t>(taps) * g_.out_c;
  const int tasks = Tasks(ctx.thread_pool(), pixels, macs, max_tasks_);
  const size_t image_bytes = static_cast<size_t>(g_.in_h) * g_.in_w * g_.in_c;
  const size_t pixel_bytes = static_cast<size_t>(g_.out_c);
  auto** tables = static_cast<const uint8_t**>(ctx.scratch(scratch_));
  if (image_flip_scratch_ >= 0) {
    input = FlipImage(ctx, input, InputBytes(g_), tasks,
                      static_cast<uint8_t*>(ctx.scratch(image_flip_scratch_)));
  }
  // Tasks take equal runs of output pixels, which may start or end inside a row (a 7x7 layer
  // has 7 rows for 2 threads); a row's windows are built for the whole row either way.
  ParallelFor(ctx.thread_pool(), tasks, [&](int t) {
    const uint8_t** table = tables + windows_.pointers * t;
    const int64_t p0 = pixels * t / tasks, p1 = pixels * (t + 1) / tasks;
    for (int64_t row = p0 / g_.out_w; row * g_.out_w < p1; ++row) {
      const int32_t b = static_cast<int32_t>(row / g_.out_h);
      const int32_t oy = static_cast<int32_t>(row % g_.out_h);
      const int64_t x0 = std::max<int64_t>(p0 - row * g_.out_w, 0);
      const int64_t x1 = std::min<int64_t>(p1 - row * g_.out_w, g_.out_w);
      BuildRowWindows(g_, windows_, input + image_bytes * b, oy, zero_.data(), table);
      fn_(g_.out_c, static_cast<size_t>(x1 - x0), taps, table + windows_.stride * x0,
          windows_.stride, packed_->data(), output + (row * g_.out_w + x0) * pixel_bytes,
          &epilogue_);
    }
  });
}

}  // namespace wisp
