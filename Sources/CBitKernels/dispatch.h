// Internal: the multiversioning macros shared by the kernel files.
#ifndef BV_DISPATCH_H
#define BV_DISPATCH_H

// `BV_CLONES` compiles a function for AVX-512, AVX2+FMA and baseline x86-64 and picks one at
// load time (ifunc). Loops written in plain C are auto-vectorized for each target.
#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define BV_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BV_CLONES
#endif

// Reductions are re-associated so they vectorize; every caller accepts float rounding order.
#if defined(__clang__)
#define BV_REASSOCIATE _Pragma("clang fp reassociate(on)")
#else
#define BV_REASSOCIATE
#endif

// For a loop whose iteration i reads inputs at i and writes outputs at i only: it vectorizes
// without run-time overlap checks, so in-place calls (y == x) take the vector loop too instead
// of the scalar fallback the checks would send them to. Outputs must be the inputs or disjoint.
#if defined(__clang__)
#define BV_ELEMENTWISE _Pragma("clang loop vectorize(assume_safety)")
#else
#define BV_ELEMENTWISE
#endif

#endif
