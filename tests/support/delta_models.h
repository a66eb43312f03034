// Two versions of one int8 classifier for the delta-update tests and bench: four 1024x1024
// FULLY_CONNECTED layers and a 100-way classifier, where version 2 differs from version 1 only in
// the classifier's weights (what re-training the head of a model changes).
#pragma once

#include <string>

namespace wisp::testing {

// The .wisp bytes of version 1 or 2 (about 4.3 MB each; deterministic).
std::string DeltaTestModel(int version);

}  // namespace wisp::testing
