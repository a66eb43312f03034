#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wisp {

using Shape = std::vector<int32_t>;

// Product of the dimensions (1 for a scalar); -1 if a dimension is negative or the product
// exceeds 2^48, which no tensor we accept may reach.
int64_t NumElements(const Shape& shape);
std::string ShapeToString(const Shape& shape);

}  // namespace wisp
