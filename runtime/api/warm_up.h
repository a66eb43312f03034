// Runs Wisp's hot code once on a tiny synthetic network, before a large model is loaded.
//
// Why: a WebAssembly engine first runs every function as quickly compiled baseline code (V8's
// Liftoff, several times slower than optimized code for SIMD loops) and recompiles a function
// with its optimizing tier in the background only after that function has done enough work.
// There is no on-stack replacement, so a long loop entered in baseline code finishes there. At
// cold start that makes loading a large model (packing its weights) and its first inference
// several times slower than later ones. Building, packing and invoking a network of a few
// kilobytes with the operators real models use (convolutions, depthwise, fully connected, add,
// pooling, softmax, in int8, uint8 and float32) costs milliseconds and gets the optimizing
// compiler going on exactly those functions while the model downloads or is imported.
//
// Natively it only warms caches; the CLI and server do not call it.
#pragma once

#include "runtime/core/status.h"
#include "runtime/format/model.h"

namespace wisp {

// Which synthetic networks to run (bits may be combined).
enum WarmUpDtypes : unsigned { kWarmUpInt8 = 1, kWarmUpUint8 = 2, kWarmUpFloat32 = 4 };

// Builds the synthetic networks of `dtypes`, prepares them (weight packing) and invokes each
// `invokes` times. Fails only if the runtime itself is broken (every step is expected to succeed).
Status WarmUpKernels(int invokes, unsigned dtypes = kWarmUpInt8 | kWarmUpUint8 | kWarmUpFloat32);

// The synthetic networks whose kernels `model` runs: the dtypes of the activations entering its
// convolutions, depthwise convolutions and fully connected layers. Each network warms only its
// own dtype's kernels, and on a 2-core machine the optimizing compiler's work for the other two
// competes with the cold start it is meant to speed up (a browser's int8 MobileNetV2 cold start
// is 10-15% faster with only the int8 network).
unsigned WarmUpDtypesFor(const Model& model);

}  // namespace wisp
