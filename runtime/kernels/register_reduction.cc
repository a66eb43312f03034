#include "runtime/kernels/registry.h"
#include "runtime/kernels/shape_util.h"

namespace wisp {

void RegisterReductionKernels(KernelRegistry& registry) {
  registry.Register(fb::OpType::AVERAGE_POOL_2D, &CreateAveragePool2DKernel,
                    {"float32, int8, uint8",
                     "input and output share scale and zero point (per tensor); fused TANH not "
                     "supported"});
  registry.Register(fb::OpType::MAX_POOL_2D, &CreateMaxPool2DKernel,
                    {"float32, int8, uint8",
                     "input and output share scale and zero point (per tensor); fused TANH not "
                     "supported"});
  registry.Register(fb::OpType::MEAN, &CreateMeanKernel,
                    {"float32, int8, uint8",
                     "constant axes; rank <= 8; quantized per tensor, at most 2^23 reduced "
                     "elements"});
  registry.Register(
      fb::OpType::SOFTMAX, &CreateSoftmaxKernel,
      {"float32, int8, uint8", "over the last axis; output dtype as input; quantized per tensor"});
  registry.Register(fb::OpType::ARG_MAX, &CreateArgMaxKernel,
                    {"float32, int8, uint8, int16, int32 -> int32, int64", "constant single axis"});
}

}  // namespace wisp
