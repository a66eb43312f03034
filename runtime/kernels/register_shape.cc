#include "runtime/kernels/registry.h"

namespace wisp {

void RegisterShapeKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace wisp
