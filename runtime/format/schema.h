// The generated .wisp schema, included through here only.
//
// Emscripten's <limits.h> defines the POSIX limit ARG_MAX as a macro, which would rewrite the
// enumerator OpType::ARG_MAX wherever <limits.h> is seen first. Including it here, then removing
// the macro, makes every later #include <limits.h> a no-op (include guard) and keeps the name.
#pragma once

#include <limits.h>
#include <climits>
#ifdef ARG_MAX
#undef ARG_MAX
#endif

#include "schemas/wisp_generated.h"
