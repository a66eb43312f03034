// The quantized convolution family on the microkernel layer: Prepare picks the microkernels from
// the table (microkernels/config.h), packs the weights in their layout and reserves the scratch
// the windows need; Run only builds indirection rows and calls microkernels, split over the
// thread pool. One plan serves CONV_2D of any geometry and FULLY_CONNECTED (GEMM), another
// DEPTHWISE_CONV_2D with depth multiplier 1.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/interpreter/kernel.h"
#include "runtime/kernels/convolution_params.h"
#include "runtime/kernels/convolution_windows.h"
#include "runtime/kernels/microkernels/dwconv.h"
#include "runtime/kernels/microkernels/gemm.h"
#include "runtime/kernels/microkernels/pack.h"

namespace wisp {

// The quantized operator as Prepare validated it.
struct QuantFilter {
  const uint8_t* weights = nullptr;  // TFLite layout, raw int8 or uint8 values
  const int32_t* w_zp = nullptr;     // per output channel
  bool weights_uint8 = false;
  const int32_t* bias = nullptr;  // per output channel, or null
  const float* scale = nullptr;   // per output channel
  int32_t input_zero_point = 0;
  bool uint8 = false;  // input and output dtype (int8 otherwise)
  QuantEpilogue epilogue;
};

// CONV_2D (1x1 stride 1 unpadded as a plain GEMM over pixels, anything else through row windows)
// and FULLY_CONNECTED (a 1x1 convolution over a column of `batch` pixels).
class QuantGemmPlan {
 public:
  void Prepare(KernelContext& ctx, const ConvGeometry& g, const QuantFilter& f);
  void Run(const KernelContext& ctx, const uint8_t* input, uint8_t* output) const;
  const char* microkernel() const { return name_; }

 private:
  void RunPointwise(const KernelContext& ctx, const uint8_t* input, uint8_t* output) const;
  void RunWindows(const KernelContext& ctx, const uint8_t* input, uint8_t* output) const;
  // Patches mode: the window's taps as one row, flipped (XOR 0x80) for flipped_fn_.
  void GatherPatch(GemmWindow window, bool flip, uint8_t* dst) const;
  // The same from the image rows of the patch's filter rows (null: padding), for direct_patches_.
  void GatherPatchDirect(const uint8_t* const* rows, int32_t ox, bool flip, uint8_t* dst) const;
  // One output row in row-taps mode, from the image rows of its filter rows (null: padding), in
  // the geometry of the image the kernel reads (window_g: pixels of in_c values, int8 or int16).
  void RunRowTaps(const ConvGeometry& window_g, const uint8_t* const* image_rows,
                  const uint8_t* zero, uint8_t* edge, uint8_t* out) const;

  ConvGeometry g_;
  const char* name_ = "";
  GemmLayout layout_;
  QGemmFn fn_ = nullptr;
  // Contiguous rows only (pointwise or patches): the kernel for inputs flipped once per row tile
  // (GemmKernelInfo::qs8_flipped_input); null when not worth it. The per-task scratch holds
  // the flipped or gathered row tile.
  QGemmFn flipped_fn_ = nullptr;
  int flip_scratch_ = -1;
  int image_flip_scratch_ = -1;  // windowed int8 layers: the input flipped once per invoke
  // Windowed layers on kernels with an int16-input entry (GemmKernelInfo::qs8_int16_input): that
  // entry, the scratch for the image widened once per invoke, and the zero buffer as int16.
  QGemmFn int16_fn_ = nullptr;
  bool input_uint8_ = false;
  int wide_image_scratch_ = -1;
  std::vector<int16_t> zero_int16_;
  size_t flip_row_bytes_ = 0;
  RowSumsFn row_sums_ = nullptr;              // set when the packed weights need row sums
  int32_t input_shift_ = 0;                   // what the kernel adds to input bytes (for row sums)
  std::shared_ptr<const PackedGemm> packed_;  // shared by interpreters of one model
  QuantEpilogue epilogue_;
  bool pointwise_ = false;
  bool patches_ = false;         // few input channels: each pixel's patch gathered into one row
  bool direct_patches_ = false;  // ... straight from the image rows (GatherPatchDirect)
  bool row_taps_ = false;  // not gathered: each filter row one tap into the image (RunRowTaps)
  RowWindows windows_;
  std::vector<uint8_t> zero_;
  int max_tasks_ = 1;
  int scratch_ = -1;
};

class QuantDwconvPlan {
 public:
  void Prepare(KernelContext& ctx, const ConvGeometry& g, const QuantFilter& f);
  void Run(const KernelContext& ctx, const uint8_t* input, uint8_t* output) const;
  const char* microkernel() const { return name_; }

 private:
  ConvGeometry g_;
  const char* name_ = "";
  QDwconvFn fn_ = nullptr;
  std::shared_ptr<const PackedBytes> packed_;  // shared by interpreters of one model
  QuantEpilogue epilogue_;
  RowWindows windows_;
  std::vector<uint8_t> zero_;
  int max_tasks_ = 1;
  int scratch_ = -1;
  int image_flip_scratch_ = -1;  // int8 inputs flipped once per invoke for fn_
};

}  // namespace wisp
