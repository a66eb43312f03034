#include "runtime/kernels/convolution.h"
#include "runtime/kernels/registry.h"

namespace wisp {

void RegisterConvolutionKernels(KernelRegistry& registry) {
  registry.Register(fb::OpType::CONV_2D, &CreateConv2DKernel);
  registry.Register(fb::OpType::DEPTHWISE_CONV_2D, &CreateDepthwiseConv2DKernel);
  registry.Register(fb::OpType::FULLY_CONNECTED, &CreateFullyConnectedKernel);
}

}  // namespace wisp
