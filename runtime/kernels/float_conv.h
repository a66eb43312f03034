// The float32 convolution family on the microkernel layer (microkernels/f32_conv.h): Prepare
// picks the kernels from the table, packs the weights and reserves the scratch the windows need;
// Run builds indirection rows and calls microkernels, split over the thread pool. Results equal
// the reference kernels bit for bit: the windows list each output's taps in the reference's
// order (ky, then kx), and the kernels add in that order.
#pragma once

#include <memory>
#include <vector>

#include "runtime/interpreter/kernel.h"
#include "runtime/kernels/convolution_params.h"
#include "runtime/kernels/microkernels/f32_conv.h"

namespace wisp {

// The float operator as Prepare validated it.
struct FloatFilter {
  // CONV_2D [out_c, kh, kw, in_c] (FULLY_CONNECTED [out_c, in_c]); DEPTHWISE_CONV_2D
  // [kh, kw, out_c].
  const float* weights = nullptr;
  const float* bias = nullptr;  // [out_c]
  float act_min = 0.0f, act_max = 0.0f;
};

// CONV_2D (1x1 stride 1 unpadded as a plain GEMM over pixels, anything else through row
// windows) and FULLY_CONNECTED (a 1x1 convolution over a column of `batch` pixels).
class F32GemmPlan {
 public:
  void Prepare(KernelContext& ctx, const ConvGeometry& g, const FloatFilter& f);
  void Run(const KernelContext& ctx, const float* input, float* output) const;
  const char* microkernel() const { return name_; }

 private:
  void RunPointwise(const KernelContext& ctx, const float* input, float* output) const;
  void RunWindows(const KernelContext& ctx, const float* input, float* output) const;
  size_t TablePointers() const;  // window pointers per output row
  size_t TaskScratchBytes() const;

  ConvGeometry g_;
  const char* name_ = "";
  F32GemmFn fn_ = nullptr;
  int mr_ = 1, nr_ = 1;
  std::shared_ptr<const std::vector<float>> packed_;  // shared by interpreters of one model
  F32MinMax params_{};
  bool pointwise_ = false;
  // A mono input (keyword spotting's first layer): each pixel's taps, one value each, are copied
  // into one contiguous patch, so the kernel runs one tap of kh * kw values instead of kh * kw
  // taps of one value (each with its own pointer loads and loop).
  bool patches_ = false;
  // Undilated kernels wider than one pixel: a window row's kernel_w taps are kernel_w * in_c
  // consecutive floats of the input row, so the kernel runs kernel_h taps of kernel_w * in_c
  // values (same weights, same order of additions: bit-identical) instead of kernel_h * kernel_w
  // taps of in_c (vww_float's first layer: 9 taps of 3 values, where pointer loads and loop
  // control cost more than the multiply-adds). A window that reaches into the left or right
  // padding is copied, with its zeros, into a per-task segment.
  bool merged_ = false;
  int edge_pixels_ = 0;      // output pixels per row whose window reaches into the side padding
  std::vector<float> zero_;  // in_c zeros (kernel_w * in_c when merged_): the padding row
  int max_tasks_ = 1;
  int scratch_ = -1;  // per task: one output row's windows (and with patches_, mr patches)
};

// DEPTHWISE_CONV_2D with depth multiplier 1.
class F32DwconvPlan {
 public:
  void Prepare(KernelContext& ctx, const ConvGeometry& g, const FloatFilter& f);
  void Run(const KernelContext& ctx, const float* input, float* output) const;
  const char* microkernel() const { return name_; }

 private:
  ConvGeometry g_;
  const char* name_ = "";
  F32DwconvFn fn_ = nullptr;
  std::shared_ptr<const std::vector<float>> packed_;
  F32MinMax params_{};
  std::vector<float> zero_;
  int max_tasks_ = 1;
  int scratch_ = -1;  // per-task window tables, when they are not kept (below)
  // Every output row's windows, built on the first Run and kept while the input stays where it
  // was (the arena does not move; a float window is a pointer per tap and pixel, and building
  // them took a quarter of a small-channel layer's time). Empty when too large to keep.
  mutable std::vector<const float*> windows_;
  mutable const float* windows_input_ = nullptr;
};

}  // namespace wisp
