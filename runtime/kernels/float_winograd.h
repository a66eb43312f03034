// Float32 3x3 stride-1 convolution as Winograd F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2015): each 2x2 block of output pixels ("tile") comes from a
// 4x4 input patch d and the filter g as Y = A^T [(G g G^T) . (B^T d B)] A, i.e. 16 products per
// input/output channel pair where direct convolution does 36: 2.25x fewer multiply-adds. The
// element-wise products summed over input channels are 16 GEMMs (one per position in the 4x4
// transformed tile: tiles x in_c times in_c x out_c), run by the level's float GEMM microkernel on
// weights transformed and packed once in Prepare.
//
// The transforms add and subtract (and halve, for the filter), so the result is the convolution
// up to rounding, not the reference kernel's bits: float outputs stay within the goldens'
// tolerance (tests/kernels/convolution_test.cc measures it against a double-precision reference).
// KernelOptions::float_winograd turns it off.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/interpreter/kernel.h"
#include "runtime/kernels/convolution_params.h"
#include "runtime/kernels/float_conv.h"
#include "runtime/kernels/microkernels/f32_conv.h"

namespace wisp {

class F32WinogradPlan {
 public:
  // A CONV_2D the transform pays for: 3x3, stride 1, undilated, at least 8 input and output
  // channels (with fewer, the transforms cost about what they save), an output of 2x2 or more.
  static bool Applies(const ConvGeometry& g);

  void Prepare(KernelContext& ctx, const ConvGeometry& g, const FloatFilter& f);
  void Run(const KernelContext& ctx, const float* input, float* output) const;
  const char* microkernel() const { return name_.c_str(); }

 private:
  size_t TaskScratchFloats() const;

  ConvGeometry g_;
  std::string name_;  // "winograd_2x2_3x3+<the GEMM microkernel>"
  F32GemmFn fn_ = nullptr;
  int mr_ = 1;
  // The 16 transformed filters (one per tile position), each packed for the GEMM with zero bias.
  std::shared_ptr<const std::vector<float>> packed_;
  size_t packed_stride_ = 0;  // floats from one position's packed filter to the next
  std::vector<float> bias_;   // [out_c], added after the output transform
  F32MinMax params_{};
  std::vector<float> zero_;  // in_c zeros: the padding pixel
  int32_t tiles_h_ = 0, tiles_w_ = 0;
  int32_t block_tiles_ = 0;  // tiles per pass (a multiple of the GEMM's rows)
  int max_tasks_ = 1;
  int scratch_ = -1;  // per task: 16 x block_tiles_ x (in_c + out_c) floats
};

}  // namespace wisp
