// Maps operator types to kernel factories. Each kernel family registers itself in its own
// Register*Kernels function (one file per family), so families are added without touching others.
#pragma once

#include <memory>

#include "runtime/interpreter/kernel.h"

namespace wisp {

using KernelFactory = std::unique_ptr<OpKernel> (*)();

class KernelRegistry {
 public:
  static const KernelRegistry& Global();
  void Register(fb::OpType type, KernelFactory factory);
  // nullptr when no kernel implements `type`.
  KernelFactory Find(fb::OpType type) const;

 private:
  KernelFactory factories_[static_cast<int>(fb::OpType::MAX) + 1] = {};
};

void RegisterConvolutionKernels(
    KernelRegistry& registry);  // CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED
void RegisterElementwiseKernels(
    KernelRegistry& registry);  // binary/unary math, activations, (de)quantize, cast
void RegisterReductionKernels(KernelRegistry& registry);  // pooling, MEAN, SOFTMAX, ARG_MAX
void RegisterShapeKernels(
    KernelRegistry& registry);  // reshape, concat, pack, slice, pad, resize, gather
void RegisterSequenceKernels(KernelRegistry& registry);  // UNIDIRECTIONAL_SEQUENCE_LSTM

}  // namespace wisp
