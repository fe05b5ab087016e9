// CBitViTPlatform: the process-wide pieces under BitViT's kernels: CPU feature detection,
// the thread-local parallel-region and autograd-recording marks, and the spinning worker pool.
#ifndef CBITVITPLATFORM_H
#define CBITVITPLATFORM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: CPU features

/// Bit set of CPU features relevant to BitViT's kernels.
enum {
    BV_CPU_AVX2 = 1 << 0,
    BV_CPU_FMA = 1 << 1,
    BV_CPU_AVX512F = 1 << 2,
    BV_CPU_AVX512BW = 1 << 3,
    BV_CPU_AVX512DQ = 1 << 4,
    BV_CPU_AVX512VL = 1 << 5,
    BV_CPU_AVX512VPOPCNTDQ = 1 << 6,
    BV_CPU_AVX512VNNI = 1 << 7,
    BV_CPU_AVXVNNI = 1 << 8,
    BV_CPU_POPCNT = 1 << 9,
    BV_CPU_NEON = 1 << 10,
};

/// Features of the running CPU (an OR of `BV_CPU_*`).
uint32_t bv_cpu_features(void);

// MARK: Thread-local state (parallel regions, autograd recording)

/// Marks the calling thread as running inside a parallel region; returns the previous mark.
int bv_parallel_region_enter(void);
/// Restores the mark returned by `bv_parallel_region_enter`.
void bv_parallel_region_leave(int previous);
/// Non-zero while the calling thread runs inside a parallel region.
int bv_in_parallel_region(void);

/// Whether the calling thread records the autograd graph (thread-local, default on).
int bv_grad_mode_enabled(void);
/// Sets the calling thread's autograd recording switch.
void bv_grad_mode_set(int enabled);

// MARK: Spinning worker pool (the inference engine's fork/join)

/// Runs `fn(ctx, part)` for every part in 0..<parts on the calling thread and up to
/// `threads − 1` persistent pool workers (parts are claimed dynamically, so the caller takes
/// over the parts of a worker that is slow to start), and returns when all have finished.
/// Runs serially when `threads ≤ 1`, `parts == 1` or the caller is inside a parallel region;
/// every part runs marked as inside one. Workers spin for a while after each job (see
/// `bv_pool_set_spin_ns`) and then sleep. One job runs at a time; concurrent callers queue.
void bv_pool_run(int parts, int threads, void (*fn)(void *ctx, int part), void *ctx);
/// How long idle workers spin before sleeping (default 200 µs).
void bv_pool_set_spin_ns(long nanoseconds);
/// Routes the calling thread's parallel regions (`Parallel` in Swift) to the pool; returns
/// the previous setting for `bv_pool_mode_leave`.
int bv_pool_mode_enter(void);
/// Restores the setting returned by `bv_pool_mode_enter`.
void bv_pool_mode_leave(int previous);
/// Non-zero while the calling thread's parallel regions use the pool.
int bv_pool_mode(void);

#ifdef __cplusplus
}
#endif
#endif
