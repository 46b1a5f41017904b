/* peak.h — the yardstick of the floor: the multiply-accumulate rate of a
 * plain 4-lane SIMD loop, c/simd.h's v4_madd (a multiply and a separate add,
 * as the network's kernels do it: no FMA, WASM SIMD has none), with
 * PEAK_ACC independent accumulators and one vector load per multiply-add
 * from a small buffer that stays in L1 (the conv kernel loads one input
 * vector per multiply-add too).
 *
 * Shared by the native bench (tools/cli_bench.c) and its WASM twin
 * (tools/bench/peak_wasm.c), so both measure the same loop. */
#ifndef DIGITLENS_BENCH_PEAK_H
#define DIGITLENS_BENCH_PEAK_H

#include "simd.h"

/* 12 accumulators cover the add latency (3-4 cycles) times two FP pipes. */
enum { PEAK_ACC = 12, PEAK_FLOATS = 2 * 4 * PEAK_ACC };

/* iters passes of PEAK_ACC multiply-adds: MACs = iters * PEAK_ACC * 4.
 * buf (PEAK_FLOATS) holds small values, so nothing overflows or goes
 * subnormal. Pass `half` = 1 read from a volatile: the compiler cannot know
 * which half of buf a pass reads, so it must load and multiply every time
 * (no hoisting), and the result depends on every accumulator. */
static float peak_madd_loop(const float *buf, long iters, long half)
{
    v4 acc[PEAK_ACC];
    const v4 w = v4_splat(0.999f);
    for (int k = 0; k < PEAK_ACC; k++) acc[k] = v4_splat(0.0f);
    for (long it = 0; it < iters; it++) {
        const float *b = buf + 4 * PEAK_ACC * (it & half);
        for (int k = 0; k < PEAK_ACC; k++)
            acc[k] = v4_madd(acc[k], v4_load(b + 4 * k), w);
    }
    v4 s = acc[0];
    for (int k = 1; k < PEAK_ACC; k++) s = v4_add(s, acc[k]);
    return v4_sum(s);
}

#endif
