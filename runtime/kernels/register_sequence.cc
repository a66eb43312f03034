#include "runtime/kernels/lstm.h"
#include "runtime/kernels/registry.h"

namespace wisp {

void RegisterSequenceKernels(KernelRegistry& registry) {
  registry.Register(fb::OpType::UNIDIRECTIONAL_SEQUENCE_LSTM,
                    &CreateUnidirectionalSequenceLstmKernel,
                    {"float32; int8 (integer LSTM, int16 cell state)",
                     "no hybrid (float input, int8 weights); integer: constant per-tensor weights, "
                     "5 intermediates, power-of-two cell scale 2^-15..2^-9, no layer "
                     "normalization, not peepholes with a projection"});
}

}  // namespace wisp
