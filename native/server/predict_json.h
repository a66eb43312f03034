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

// Parses {"instances": [instance, ...]} where an instance is the value of the single input (a
// number or nested arrays of numbers, the batch dimension of 1 optional) or an object keyed by
// input name. Returns one tensor per spec per instance, in the order of `specs`. At most
// `max_instances` instances. Errors: kMalformed for JSON syntax, kOutOfRange for nesting deeper
// than kMaxPredictJsonDepth, kInvalidArgument for values that do not fit the model (the handler
// answers 400 "malformed_json", "too_deep" and "bad_request").
Result<std::vector<std::vector<Tensor>>> ParsePredictJson(std::string_view body,
                                                          const std::vector<TensorSpec>& specs,
                                                          size_t max_instances);

}  // namespace wisp::server
