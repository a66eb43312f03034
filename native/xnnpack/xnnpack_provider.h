// XNNPACK as an optional native backend (CMake option WISP_XNNPACK): a KernelProvider that hands
// single operators to the XNNPACK operator API of Debian's libxnnpack-dev (git 2022-02-16) and
// declines the rest, which keep Wisp's kernels.
//
// It takes CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (as a 1x1 convolution, since this
// XNNPACK has no per-channel fully connected operator) with int8 activations and symmetric int8
// weights per tensor or per channel (XNNPACK "qc8"), or uint8 activations with per-tensor uint8
// weights ("qu8"). On x86 these kernels requantize exactly as Wisp does (docs/arithmetic.md,
// section 2: f32(acc) * f32(f32(s_in * s_w) / s_out), rounded half to even, then zero point and
// clamp), so results are bit-exact. Anything where that cannot be shown is declined; see
// XnnpackConvKernel::Prepare in the .cc for each case and the reason.
//
// One provider may serve many interpreters, created and run on several threads; with more than
// one XNNPACK thread their runs take turns on its pthreadpool (which serialises parallel calls).
//
// XNNPACK 2022 has no weights cache: each interpreter's operators pack their own copy of the
// weights, unlike Wisp's kernels, which share packed weights (PreparedWeights) between
// interpreters of one model.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/interpreter/kernel.h"

struct pthreadpool;  // <pthreadpool.h>

namespace wisp {

class XnnpackProvider final : public KernelProvider {
 public:
  // `threads` XNNPACK threads (the calling thread counts as one; 1 runs on the calling thread
  // only). Fails when XNNPACK cannot initialize on this CPU.
  static Result<std::unique_ptr<XnnpackProvider>> Create(int threads = 1);
  ~XnnpackProvider() override;
  XnnpackProvider(const XnnpackProvider&) = delete;
  XnnpackProvider& operator=(const XnnpackProvider&) = delete;

  const char* name() const override { return "xnnpack"; }
  Result<std::unique_ptr<OpKernel>> Bind(KernelContext& ctx) override;

  std::string decline_reason(int32_t op_index) const override;
  int threads() const { return threads_; }

 private:
  XnnpackProvider() = default;
  pthreadpool* pool_ = nullptr;  // null: one thread
  int threads_ = 1;
  mutable std::mutex mu_;             // Bind may run on several threads (interpreter pools)
  std::vector<std::string> reasons_;  // by operator index; guarded by mu_
};

}  // namespace wisp
