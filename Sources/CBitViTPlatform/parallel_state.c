#include "CBitViTPlatform.h"

// Thread-local marker set while a thread executes part of a BitViT parallel region.
static _Thread_local int in_parallel_region = 0;

int bv_parallel_region_enter(void) {
    int previous = in_parallel_region;
    in_parallel_region = 1;
    return previous;
}

void bv_parallel_region_leave(int previous) { in_parallel_region = previous; }

int bv_in_parallel_region(void) { return in_parallel_region; }

// Thread-local autograd recording switch (on by default on every thread).
static _Thread_local int grad_recording_disabled = 0;

int bv_grad_mode_enabled(void) { return !grad_recording_disabled; }

void bv_grad_mode_set(int enabled) { grad_recording_disabled = !enabled; }
