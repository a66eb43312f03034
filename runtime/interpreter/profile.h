// Per-operator timing of an interpreter: which operator, on which shape, through which
// microkernel, took how long. The same report natively (`wisp bench --profile`) and in
// WebAssembly (`model.profile()` in the JS package), so the two can be compared row by row.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wisp {

class Interpreter;

struct OpProfileRow {
  int32_t op_index = 0;
  std::string type;            // "CONV_2D"
  std::string shape;           // first output's shape, "[1, 112, 112, 32]"
  std::string implementation;  // the microkernel (or reference kernel) Prepare chose
  double mean_us = 0;          // mean time per invoke
  double share = 0;            // of the sum over all operators, 0..1
};

// Rows in operator order, from the timings accumulated since profiling was enabled.
std::vector<OpProfileRow> ProfileRows(const Interpreter& interp);
// Rows sorted by time, longest first, as an aligned text table with a total line.
std::string ProfileTable(std::vector<OpProfileRow> rows);
// {"runs": N, "total_us": T, "ops": [{"op": 0, "type": ..., "shape": ..., "microkernel": ...,
// "us": ..., "share": ...}, ...]} in operator order.
std::string ProfileJson(const std::vector<OpProfileRow>& rows, int64_t runs);

}  // namespace wisp
