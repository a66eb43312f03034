#include "runtime/kernels/registry.h"
#include "runtime/kernels/shape_util.h"

namespace wisp {

void RegisterShapeKernels(KernelRegistry& registry) {
  // Data movement: every dtype the format has a size for, values copied bit for bit.
  constexpr const char* kAll = "float32, int8, uint8, int16, int32, int64, bool";
  registry.Register(
      fb::OpType::RESHAPE, &CreateReshapeKernel,
      {"any", "output dtype and element count as input; at most one -1 in the shape"});
  registry.Register(fb::OpType::SQUEEZE, &CreateSqueezeKernel,
                    {"any", "output dtype and element count as input"});
  registry.Register(fb::OpType::CONCATENATION, &CreateConcatenationKernel,
                    {kAll,
                     "inputs share the output dtype; int8/uint8 per tensor (requantized to the "
                     "output), int16 same quantization; no fused activation"});
  registry.Register(fb::OpType::PACK, &CreatePackKernel,
                    {kAll, "inputs share the output dtype and quantization"});
  registry.Register(fb::OpType::UNPACK, &CreateUnpackKernel,
                    {kAll, "outputs share the input dtype"});
  registry.Register(fb::OpType::PAD, &CreatePadKernel,
                    {"float32, int8, uint8, int16, int32, int64",
                     "constant paddings; rank <= 8; input and output share scale and zero point"});
  registry.Register(fb::OpType::TRANSPOSE, &CreateTransposeKernel,
                    {kAll, "constant perm; rank <= 8"});
  registry.Register(fb::OpType::SLICE, &CreateSliceKernel,
                    {kAll, "constant begin and size; rank <= 8"});
  registry.Register(fb::OpType::STRIDED_SLICE, &CreateStridedSliceKernel,
                    {kAll,
                     "constant begin, end and strides; rank <= 8; no ellipsis_mask or "
                     "new_axis_mask"});
  registry.Register(fb::OpType::RESIZE_BILINEAR, &CreateResizeBilinearKernel,
                    {"float32, int8, uint8",
                     "rank 4 (NHWC); constant size; input and output share scale and zero point"});
  registry.Register(fb::OpType::RESIZE_NEAREST_NEIGHBOR, &CreateResizeNearestNeighborKernel,
                    {"float32, int8, uint8",
                     "rank 4 (NHWC); constant size; input and output share scale and zero point"});
  registry.Register(fb::OpType::GATHER_ND, &CreateGatherNdKernel,
                    {"float32, int8, uint8, int16, int32, int64, bool (int32/int64 indices)",
                     "indices rank >= 1; out-of-range indices fail at invoke"});
}

}  // namespace wisp
