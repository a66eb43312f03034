// Float32 convolution microkernels: GEMM (CONV_2D through row windows, FULLY_CONNECTED) and
// depthwise convolution, bit-exact to the reference kernels (kernels/reference/conv2d.cc,
// depthwise_conv2d.cc, fully_connected.cc).
//
// The one exception is the relaxed-SIMD WebAssembly level, whose kernels use f32x4.relaxed_madd:
// the same order, one rounding per multiply-add where the engine fuses it (their `fuses` probe).
// Their results equal the reference computed with std::fma, and float outputs stay within the
// goldens' tolerance (the reference builds differ among themselves by up to 1.9e-5).
//
// Float addition is not associative, so exactness means each output is computed by exactly the
// reference's sequence of operations: the accumulator starts from the bias, then for every filter
// tap in row-major order (ky, then kx) and every input channel in order, acc = acc + x * w (a
// rounded multiply, then a rounded add: no fused multiply-add, and the files are compiled with
// -ffp-contract=off), and the result is clamped as min(max(acc, lo), hi) with the NaN and signed
// zero behaviour of std::min / std::max. The SIMD kernels keep that order by giving each vector
// lane one output channel (GEMM, depthwise) and one row per register (GEMM): the lanes never
// combine, so the vector order is the scalar order.
//
// GEMM: a call computes an mr x nc tile of
//   c[r][n] = clamp(bias[n] + sum over taps t (in order) of sum over k < kc (in order) of
//             windows[r][t][k] * w[n][t][k])
// where windows[r] holds ks pointers, one per tap, in the reference's tap order (padding taps
// point at a zero buffer). Rows past mr reuse the last window and are not stored. Weights are
// packed per block of nr channels (PackF32Gemm): float bias[nr] | ks * kc x nr floats, channels
// past nc zero. Nothing is read past the kc values of a tap.
//
// Depthwise (depth multiplier 1): a call computes `output_width` pixels of one output row; pixel
// p reads its taps at input[p * input_stride + t] (each to the pixel's `channels` floats, in the
// reference's tap order) and writes `channels` floats at output + p * channels. Weights are
// packed per tile of channel_tile channels (PackF32Dwconv): float bias[tile] | taps x tile
// floats. Nothing is read past `channels` floats of an input pixel.
#pragma once

#include <cstddef>
#include <vector>

namespace wisp {

struct F32MinMax {
  float min;  // the fused activation's range; -inf / +inf without one
  float max;
};

using F32Window = const float* const*;  // ks tap pointers of one output row

using F32GemmFn = void (*)(size_t mr, size_t nc, size_t kc, size_t ks, const F32Window* windows,
                           const float* packed_w, float* c, size_t c_stride,
                           const F32MinMax* params);

struct F32GemmKernelInfo {
  const char* name;  // e.g. "f32_gemm_4x8__sse2"
  int mr;            // rows per call
  int nr;            // channels per packed block
  F32GemmFn fn;
  // Null for kernels that multiply, then add (the reference's bits). Kernels built on a relaxed
  // multiply-add point at the probe that says whether this engine fuses it (one rounding, as
  // std::fma), which is what their results then equal.
  bool (*fuses)() = nullptr;
};

using F32DwconvFn = void (*)(size_t channels, size_t output_width, size_t taps,
                             const float* const* input, size_t input_stride, const float* packed_w,
                             float* output, const F32MinMax* params);

struct F32DwconvKernelInfo {
  const char* name;  // e.g. "f32_dwconv_8c__wasmsimd"
  int channel_tile;
  F32DwconvFn fn;
  bool (*fuses)() = nullptr;  // as F32GemmKernelInfo::fuses
};

// weights [n][ks * kc] (TFLite's OHWI filter, or a fully connected [out][in] matrix); bias [n]
// or null for zeros.
std::vector<float> PackF32Gemm(int nr, size_t n, size_t ks, size_t kc, const float* weights,
                               const float* bias);
// weights [taps][channels] (TFLite's [1, kh, kw, channels]); bias [channels] or null.
std::vector<float> PackF32Dwconv(int channel_tile, size_t channels, size_t taps,
                                 const float* weights, const float* bias);

}  // namespace wisp
