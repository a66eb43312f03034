#include "runtime/kernels/registry.h"

namespace wisp {

void RegisterElementwiseKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace wisp
