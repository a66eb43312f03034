#include "runtime/kernels/registry.h"

namespace wisp {

const KernelRegistry& KernelRegistry::Global() {
  static const KernelRegistry* registry = [] {
    auto* r = new KernelRegistry();
    RegisterConvolutionKernels(*r);
    RegisterElementwiseKernels(*r);
    RegisterReductionKernels(*r);
    RegisterShapeKernels(*r);
    RegisterSequenceKernels(*r);
    return r;
  }();
  return *registry;
}

void KernelRegistry::Register(fb::OpType type, KernelFactory factory) {
  factories_[static_cast<int>(type)] = factory;
}

KernelFactory KernelRegistry::Find(fb::OpType type) const {
  const int i = static_cast<int>(type);
  if (i < 0 || i > static_cast<int>(fb::OpType::MAX)) return nullptr;
  return factories_[i];
}

}  // namespace wisp
