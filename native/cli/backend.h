// `--backend wisp|xnnpack`: which KernelProvider, if any, an interpreter is offered.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/interpreter/interpreter.h"

namespace wisp::cli {

// The provider for `name` with `threads` threads (null for "wisp", whose kernels are the
// default); an error for a backend this build lacks.
Result<std::unique_ptr<KernelProvider>> MakeBackend(const std::string& name, int threads);

// "xnnpack: 52 of 65 operators (CONV_2D 35, DEPTHWISE_CONV_2D 17), wisp: 13" for `backend`;
// "wisp: all 65 operators" when the backend is "wisp".
std::string BackendSummary(const Interpreter& interp, const std::string& backend);

}  // namespace wisp::cli
