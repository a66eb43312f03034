#include "runtime/kernels/registry.h"

namespace wisp {

void RegisterConvolutionKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace wisp
