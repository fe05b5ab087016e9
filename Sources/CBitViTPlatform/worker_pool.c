// A small pool of persistent worker threads that spin between jobs (see bv_pool_run in
// CBitViTPlatform.h).
//
// Why: the inference engine forks and joins ~7 times per transformer block at batch 1, each
// job a few tens of microseconds long. Waking a sleeping thread per job (GCD, futex) costs
// 5–50 µs each time on a busy machine and makes the latency vary from run to run; a worker
// that spins on a generation counter picks a job up in well under a microsecond.
//
// Protocol. One 64-bit atomic `state` holds (generation << 32 | next part). The caller writes
// the job (fn, ctx, parts, active_workers), zeroes `done`, then publishes state = (g + 1, 0).
// The caller and the workers numbered below `active_workers` (threads − 1; earlier jobs may
// have started more workers, which sit this job out) claim parts by CAS on `state` while its generation is
// the one they read and the part index is below `parts`, run them, and add them to `done`.
// The caller returns when `done == parts`. A worker that wakes late finds the generation
// changed or no part left and goes back to waiting, so it never runs a part of a finished job
// (before a new job's fields are written, the old generation's next part is set past any
// part count, so a worker mixing the old state with the new `parts` cannot claim either).
// Workers spin (`pause`, with a `sched_yield` every few microseconds so that a busy machine's
// other threads still run) for `spin_ns` after their last job, then sleep on a condition
// variable; the caller signals it only when some worker sleeps.
#include "CBitViTPlatform.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define BV_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define BV_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define BV_CPU_RELAX() ((void)0)
#endif

enum { BV_POOL_MAX_WORKERS = 63 };

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Atomic uint64_t state;     // generation << 32 | next part
    _Atomic int done;           // parts finished in the current generation
    _Atomic int sleeping;       // workers blocked on `wake`
    int workers;                // threads started
    void (*fn)(void *, int);
    void *ctx;
    int parts;
    _Atomic int active_workers; // workers that take part in the current job
    _Atomic long spin_ns;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, NULL, NULL, 0, 0, 200000};

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/// Claims and runs parts of generation `gen` until none is left or the generation moves on.
static void run_parts(uint32_t gen) {
    void (*fn)(void *, int) = pool.fn;
    void *ctx = pool.ctx;
    const int parts = pool.parts;
    uint64_t s = atomic_load(&pool.state);
    for (;;) {
        if ((uint32_t)(s >> 32) != gen || (int)(uint32_t)s >= parts) return;
        if (!atomic_compare_exchange_weak(&pool.state, &s, s + 1)) continue;
        const int previous = bv_parallel_region_enter();
        fn(ctx, (int)(uint32_t)s);
        bv_parallel_region_leave(previous);
        atomic_fetch_add(&pool.done, 1);
        s = atomic_load(&pool.state);
    }
}

static void *worker_main(void *number) {
    const int index = (int)(intptr_t)number;
    uint32_t seen = (uint32_t)(atomic_load(&pool.state) >> 32);
    for (;;) {
        // Spin for new work, then sleep.
        const int64_t deadline = now_ns() + atomic_load_explicit(&pool.spin_ns, memory_order_relaxed);
        uint32_t gen;
        for (int i = 0;; i++) {
            gen = (uint32_t)(atomic_load(&pool.state) >> 32);
            if (gen != seen) break;
            BV_CPU_RELAX();
            // Every ~2 µs: give the core to another runnable thread if there is one (on a
            // busy machine a spinning worker would otherwise take time from the caller).
            if ((i & 63) == 63) sched_yield();
            if ((i & 255) == 255 && now_ns() > deadline) {
                pthread_mutex_lock(&pool.lock);
                atomic_fetch_add(&pool.sleeping, 1);
                while ((gen = (uint32_t)(atomic_load(&pool.state) >> 32)) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
                atomic_fetch_sub(&pool.sleeping, 1);
                pthread_mutex_unlock(&pool.lock);
                break;
            }
        }
        seen = gen;
        if (index < atomic_load(&pool.active_workers)) run_parts(gen);
    }
    return NULL;
}

static void start_workers(int count) {
    pthread_mutex_lock(&pool.lock);
    while (pool.workers < count && pool.workers < BV_POOL_MAX_WORKERS) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 8 << 20);
        const int failed = pthread_create(&t, &attr, worker_main, (void *)(intptr_t)pool.workers);
        pthread_attr_destroy(&attr);
        if (failed) break;
        pool.workers++;
    }
    pthread_mutex_unlock(&pool.lock);
}

void bv_pool_set_spin_ns(long nanoseconds) { atomic_store(&pool.spin_ns, nanoseconds < 0 ? 0 : nanoseconds); }

// Jobs are posted by one thread at a time (the engine's caller); a second concurrent poster
// waits here.
static pthread_mutex_t post_lock = PTHREAD_MUTEX_INITIALIZER;

void bv_pool_run(int parts, int threads, void (*fn)(void *ctx, int part), void *ctx) {
    if (parts <= 0) return;
    if (parts == 1 || threads <= 1 || bv_in_parallel_region()) {
        const int previous = bv_parallel_region_enter();
        for (int p = 0; p < parts; p++) fn(ctx, p);
        bv_parallel_region_leave(previous);
        return;
    }
    if (pool.workers < threads - 1) start_workers(threads - 1);
    pthread_mutex_lock(&post_lock);
    // Close the previous generation before its fields are overwritten: a late worker may hold
    // that generation's state (every part claimed, `next` = its part count) but read this job's
    // larger `parts`, and would then claim a part that does not exist, with this job's closure,
    // counted into this job's `done`. With `next` at INT_MAX no part of it is claimable.
    const uint32_t gen = (uint32_t)(atomic_load(&pool.state) >> 32) + 1;
    atomic_store(&pool.state, ((uint64_t)(gen - 1) << 32) | 0x7FFFFFFFu);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.parts = parts;
    atomic_store(&pool.active_workers, threads - 1);
    atomic_store(&pool.done, 0);
    atomic_store(&pool.state, (uint64_t)gen << 32);
    if (atomic_load(&pool.sleeping) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    run_parts(gen);
    for (int i = 0; atomic_load(&pool.done) < parts; i++) {
        BV_CPU_RELAX();
        if ((i & 63) == 63) sched_yield();
    }
    pthread_mutex_unlock(&post_lock);
}

// Which threads post their parallel regions to the pool (thread-local, off by default).
static _Thread_local int uses_pool = 0;

int bv_pool_mode_enter(void) {
    const int previous = uses_pool;
    uses_pool = 1;
    return previous;
}

void bv_pool_mode_leave(int previous) { uses_pool = previous; }

int bv_pool_mode(void) { return uses_pool; }
