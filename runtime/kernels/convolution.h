// Kernel factories of the convolution family (registered in register_convolution.cc).
#pragma once

#include <memory>

#include "runtime/interpreter/kernel.h"

namespace wisp {

std::unique_ptr<OpKernel> CreateConv2DKernel();
std::unique_ptr<OpKernel> CreateDepthwiseConv2DKernel();
std::unique_ptr<OpKernel> CreateFullyConnectedKernel();

}  // namespace wisp
