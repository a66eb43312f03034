#include "runtime/kernels/registry.h"
#include "runtime/kernels/shape_util.h"

namespace wisp {

void RegisterShapeKernels(KernelRegistry& registry) {
  registry.Register(fb::OpType::RESHAPE, &CreateReshapeKernel);
  registry.Register(fb::OpType::SQUEEZE, &CreateSqueezeKernel);
  registry.Register(fb::OpType::CONCATENATION, &CreateConcatenationKernel);
  registry.Register(fb::OpType::PACK, &CreatePackKernel);
  registry.Register(fb::OpType::UNPACK, &CreateUnpackKernel);
  registry.Register(fb::OpType::PAD, &CreatePadKernel);
  registry.Register(fb::OpType::TRANSPOSE, &CreateTransposeKernel);
  registry.Register(fb::OpType::SLICE, &CreateSliceKernel);
  registry.Register(fb::OpType::STRIDED_SLICE, &CreateStridedSliceKernel);
  registry.Register(fb::OpType::RESIZE_BILINEAR, &CreateResizeBilinearKernel);
  registry.Register(fb::OpType::RESIZE_NEAREST_NEIGHBOR, &CreateResizeNearestNeighborKernel);
  registry.Register(fb::OpType::GATHER_ND, &CreateGatherNdKernel);
}

}  // namespace wisp
