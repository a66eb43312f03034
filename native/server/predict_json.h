// The JSON body of a predict request, parsed straight into input tensors.
//
// Predict bodies come from anyone (predict needs no token), so the parser is built to cost no more
// than the body's length: it reads tokens one at a time, appends each number to its input tensor
// in the input's dtype, builds no JSON tree, and tracks nesting with counters instead of recursion.
// Nesting deeper than kMaxPredictJsonDepth is refused before it can cost anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "native/server/common.h"
#include "native/server/model_engine.h"

namespace wisp::server {

// Enough for {"instances": [{"input": [[[[...]]]]}]} with any tensor rank a model has in practice.
inline constexpr size_t kMaxPredictJsonDepth = 32;

// Bytes per element of a dtype string; 0 when unknown.
size_t DtypeSize(const std::string& dtype);
// "[1,224,224,3]"
std::string ShapeString(const std::vector<int64_t>& shape);
// Elements of one input of `spec` (batch of 1); 0 when a dimension is dynamic (-1).
uint64_t StaticElementCount(const TensorSpec& spec);

// TF Serving's two request formats: rows ({"instances": [...]}, answered {"predictions": [...]})
// and columns ({"inputs": ...}, answered {"outputs": ...}).
enum class PredictFormat { kRow, kColumnar };

// What the body asked for besides its tensors.
struct PredictBody {
  PredictFormat format = PredictFormat::kRow;
  // "values": "real": the numbers are real values, quantized here with each quantized input's
  // scale and zero point (as TFLite's QUANTIZE: round half away from zero, then saturate), and
  // the client wants dequantized outputs. Default ("raw"): the tensors' own values.
  bool real_values = false;
};

// Parses {"instances": [instance, ...]} where an instance is the value of the single input (a
// number or nested arrays of numbers, the batch dimension of 1 optional) or an object keyed by
// input name; or TF Serving's columnar {"inputs": value} with the same value, which is one
// instance (the batch dimension is the model's). Returns one tensor per spec per instance, in the
// order of `specs`, and what else the body asked for in `*body` when given. At most
// `max_instances` instances.
// Errors: kMalformed for JSON syntax, kOutOfRange for nesting deeper than kMaxPredictJsonDepth,
// kInvalidArgument for values that do not fit the model (the handler answers 400
// "malformed_json", "too_deep" and "bad_request").
Result<std::vector<std::vector<Tensor>>> ParsePredictJson(std::string_view body,
                                                          const std::vector<TensorSpec>& specs,
                                                          size_t max_instances,
                                                          PredictBody* body_info = nullptr);

}  // namespace wisp::server
