/* peak_wasm.c — tools/bench/peak.h's multiply-add loop as a standalone
 * WASM SIMD module (build/bench/peak.wasm, built by `make bench`), so the
 * WASM rows are measured against a floor taken in WASM on the same engine. */
#include "peak.h"

static float buf[PEAK_FLOATS];
static volatile long half = 1;
float sink;

__attribute__((export_name("peak_macs_per_iter"))) int peak_macs_per_iter(void)
{
    return PEAK_ACC * 4;
}

__attribute__((export_name("peak_run"))) void peak_run(int iters)
{
    for (int k = 0; k < PEAK_FLOATS; k++) buf[k] = 1e-6f * (float)(k + 1);
    sink += peak_madd_loop(buf, iters, half);
}
