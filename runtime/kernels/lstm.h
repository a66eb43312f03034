// Kernel factory of the sequence family (registered in register_sequence.cc).
#pragma once

#include <memory>

#include "runtime/interpreter/kernel.h"

namespace wisp {

// UNIDIRECTIONAL_SEQUENCE_LSTM with TFLite's 24-input layout (20 accepted: no layer norm): float32,
// and fully integer int8 activations/weights with an int16 cell state (TFLite's "8x8_16").
std::unique_ptr<OpKernel> CreateUnidirectionalSequenceLstmKernel();

}  // namespace wisp
