#include "runtime/kernels/registry.h"

namespace wisp {

void RegisterReductionKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace wisp
