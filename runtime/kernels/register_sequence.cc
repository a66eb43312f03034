#include "runtime/kernels/registry.h"

namespace wisp {

void RegisterSequenceKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace wisp
