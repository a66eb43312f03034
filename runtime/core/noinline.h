// WISP_NOINLINE: a function the compiler keeps out of line.
//
// For the loops a WebAssembly engine should optimize on their own. V8 first runs every function as
// baseline code and recompiles one with its optimizing compiler once that function has run enough
// baseline code (it counts per function, and a call in progress never switches). A hot loop
// inlined into a large function either stays baseline code until the whole function has been
// recompiled (tens of ms of background compile on a 2-core machine) or makes the engine recompile
// a large function that runs once; out of line, the loop is recompiled by itself in about a
// millisecond.
#pragma once

#define WISP_NOINLINE __attribute__((noinline))
