// Quantized GEMM microkernels: one contract for 1x1 convolutions, fully connected layers and, by
// indirection, every other convolution (XNNPACK's IGEMM without the separate GEMM entry point).
//
// A call computes an mr x nc tile of
//   c[r][n] = requantize(bias'[n] + sum_t sum_k x'[r][t][k] * w'[n][t][k]
//                        + row_sum_factor[n] * row_sums[r])
// where row r's input is its "window": ks pointers, one per filter tap, each to kc consecutive
// input values (a pixel's channels; a 1x1 convolution or fully connected row has one tap).
// Padded taps point at a zero buffer filled with the input zero point. Rows past mr reuse the
// last window and are not stored. The kernel walks the nc channels in blocks of nr, reading the
// packed weights (pack.h) block after block.
//
// Which values x' and w' the kernel multiplies is a property of the microkernel, recorded in its
// GemmKernelInfo and applied once at packing time: int16 kernels multiply (w - w_zp) by the
// widened input; int8 dot-product kernels multiply 8-bit operands and may see the input shifted
// by 128 (an unsigned operand) and the weights shifted to signed bytes; the zero-point
// corrections that result are folded into bias' (per channel) and, for the few uint8 channels
// whose weights do not fit a signed byte around their zero point, a per-channel factor of the
// row's input sum (pack.h). row_sums is null when no channel needs it (RowSumsFn computes it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/kernels/microkernels/quant_epilogue.h"

namespace wisp {

using GemmWindow = const uint8_t* const*;  // ks tap pointers of one output row

using QGemmFn = void (*)(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
                         const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
                         const QuantEpilogue* epilogue);

// How the packed operands of a GEMM microkernel are laid out and what the kernel multiplies.
struct GemmLayout {
  int mr = 1;            // rows per call (register block)
  int nr = 1;            // output channels per packed block
  int kr = 1;            // k values per group: kc is padded to a multiple of kr per tap
  int weight_bytes = 2;  // 2: int16 (w - w_zp); 1: int8 w - 128 * (weights are uint8)
  // Dot-product kernels only: what the kernel adds to each input byte before multiplying, so
  // that it becomes the operand the instruction reads (+128 turns int8 into an unsigned byte
  // by flipping the sign bit; -128 turns uint8 into a signed one). Indexed by input dtype:
  // [0] int8, [1] uint8.
  int input_shift[2] = {0, 0};
};

// row_sums[r] = sum over the window's taps of the kc bytes each points at, each plus `shift`
// (the kernel's input shift), for r < mr.
using RowSumsFn = void (*)(size_t mr, size_t kc, size_t ks, const GemmWindow* windows,
                           int32_t shift, int32_t* row_sums);

struct GemmKernelInfo {
  const char* name;  // e.g. "q8_gemm_4x8c4__wasmrelaxed"
  GemmLayout layout;
  QGemmFn qs8;                       // int8 input and output
  QGemmFn qu8;                       // uint8 input and output
  RowSumsFn row_sums_qs8 = nullptr;  // for 8-bit layouts (weight_bytes == 1)
  RowSumsFn row_sums_qu8 = nullptr;
  // int8 input and output, the input bytes already flipped (XOR 0x80) by the caller: for
  // kernels whose int8 input shift is +128, a caller that reads contiguous rows flips each row
  // tile once instead of the kernel flipping it again for every block of channels. Null when
  // the kernel does not flip.
  QGemmFn qs8_flipped_input = nullptr;
  // The kernel's own flip costs nothing (AVX-512 folds the XOR into the broadcast load), so a
  // caller gains nothing by flipping rows beforehand and should call qs8 directly.
  bool free_input_flip = false;
  // Kernels with int16 weights (weight_bytes == 2) that widen their inputs to int16 themselves:
  // the same products from windows that point at int16 values, sign-extended int8 (qs8) or
  // zero-extended uint8 (qu8), each tap followed by at least one readable int16 (kc is read in
  // k groups). A windowed layer then widens its image once per invoke instead of each call
  // widening its windows' taps. Null when the kernel has none.
  QGemmFn qs8_int16_input = nullptr;
  QGemmFn qu8_int16_input = nullptr;
};

}  // namespace wisp
