#include "runtime/kernels/lstm.h"
#include "runtime/kernels/registry.h"

namespace wisp {

void RegisterSequenceKernels(KernelRegistry& registry) {
  registry.Register(fb::OpType::UNIDIRECTIONAL_SEQUENCE_LSTM,
                    &CreateUnidirectionalSequenceLstmKernel);
}

}  // namespace wisp
