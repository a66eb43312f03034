#include "runtime/kernels/convolution.h"
#include "runtime/kernels/registry.h"

namespace wisp {

void RegisterConvolutionKernels(KernelRegistry& registry) {
  // SelectPath and PrepareCommon (convolution.cc) hold the checks summarised here.
  constexpr const char* kDTypes =
      "float32; int8, uint8 (int32 bias); float32 with int8 weights (hybrid)";
  registry.Register(fb::OpType::CONV_2D, &CreateConv2DKernel,
                    {kDTypes,
                     "constant filter and bias; filter quantized per tensor or per output channel "
                     "(axis 0); activations per tensor; fused NONE/RELU/RELU6/RELU_N1_TO_1"});
  registry.Register(fb::OpType::DEPTHWISE_CONV_2D, &CreateDepthwiseConv2DKernel,
                    {kDTypes,
                     "constant filter and bias; filter quantized per tensor or per output channel "
                     "(axis 3); activations per tensor; fused NONE/RELU/RELU6/RELU_N1_TO_1"});
  registry.Register(fb::OpType::FULLY_CONNECTED, &CreateFullyConnectedKernel,
                    {kDTypes,
                     "constant filter and bias; filter quantized per tensor or per output channel "
                     "(axis 0); activations per tensor; fused NONE/RELU/RELU6/RELU_N1_TO_1"});
}

}  // namespace wisp
