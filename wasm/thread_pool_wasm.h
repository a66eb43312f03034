// The ThreadPool of the WebAssembly builds. In the threaded variant (WISP_WASM_THREADS) it is a
// std::thread pool over Emscripten pthreads (Web Workers sharing the wasm memory); in the
// single-threaded variant Pool() is null and kernels run inline.
#pragma once

#include "runtime/interpreter/thread_pool.h"

namespace wisp {
namespace wasm {

bool ThreadsSupported();
// Sets the total thread count (the calling thread included); returns the count in effect.
int SetNumThreads(int n);
int NumThreads();
// The pool for InterpreterOptions::thread_pool, or nullptr when single-threaded.
ThreadPool* Pool();

}  // namespace wasm
}  // namespace wisp
