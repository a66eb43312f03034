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

void KernelRegistry::Register(fb::OpType type, KernelFactory factory, OpSupport support) {
  factories_[static_cast<int>(type)] = factory;
  support_[static_cast<int>(type)] = support;
}

KernelFactory KernelRegistry::Find(fb::OpType type) const {
  const int i = static_cast<int>(type);
  if (i < 0 || i > static_cast<int>(fb::OpType::MAX)) return nullptr;
  return factories_[i];
}

std::vector<fb::OpType> KernelRegistry::Registered() const {
  std::vector<fb::OpType> types;
  for (int i = 0; i <= static_cast<int>(fb::OpType::MAX); ++i) {
    if (factories_[i] != nullptr) types.push_back(static_cast<fb::OpType>(i));
  }
  return types;
}

const OpSupport& KernelRegistry::Support(fb::OpType type) const {
  return support_[static_cast<int>(type)];
}

}  // namespace wisp
