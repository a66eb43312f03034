// Byte lookup tables: every 8-bit elementwise operator whose output depends on one 8-bit input
// (LOGISTIC, TANH, RELU, requantizing QUANTIZE, ...) and every 8-bit ADD / SUB / MUL whose other
// operand is a constant is exactly a table of 256 entries, built in Prepare from the reference
// arithmetic. The kernels only look bytes up, so they are exact whatever the table holds.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wisp {

// out[i] = table[in[i]] for i < n (bytes; the table is indexed by the raw byte).
using X8LutFn = void (*)(size_t n, const uint8_t* input, uint8_t* output, const uint8_t* table);

// A per-channel table: rows x channels bytes (channel innermost), channel c looked up in
// tables[256 * c ...]. For a binary operator whose constant operand varies along the innermost
// dimension (e.g. x - mean[c]).
using X8LutChannelsFn = void (*)(size_t rows, size_t channels, const uint8_t* input,
                                 uint8_t* output, const uint8_t* tables);

struct LutKernelInfo {
  const char* name;  // e.g. "x8_lut_16__wasmsimd"
  X8LutFn fn;
};

struct LutChannelsKernelInfo {
  const char* name;  // e.g. "x8_lutc__scalar"
  X8LutChannelsFn fn;
};

}  // namespace wisp
