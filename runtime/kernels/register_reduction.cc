#include "runtime/kernels/registry.h"
#include "runtime/kernels/shape_util.h"

namespace wisp {

void RegisterReductionKernels(KernelRegistry& registry) {
  registry.Register(fb::OpType::AVERAGE_POOL_2D, &CreateAveragePool2DKernel);
  registry.Register(fb::OpType::MAX_POOL_2D, &CreateMaxPool2DKernel);
  registry.Register(fb::OpType::MEAN, &CreateMeanKernel);
  registry.Register(fb::OpType::SOFTMAX, &CreateSoftmaxKernel);
  registry.Register(fb::OpType::ARG_MAX, &CreateArgMaxKernel);
}

}  // namespace wisp
