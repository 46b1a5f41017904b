/* simd.h — the one place for SIMD: 4-lane float vectors on WASM SIMD128,
 * on x86 SSE, or as plain C.
 *
 * Every target has the same 4 lanes and the same order of operations, with
 * a multiply and a separate add (no fused multiply-add: WASM SIMD has none),
 * so the native build and the WASM build compute bit-identical sums. */
#ifndef DIGITLENS_SIMD_H
#define DIGITLENS_SIMD_H

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
typedef v128_t v4;
#define v4_load(p)     wasm_v128_load(p)
#define v4_store(p, a) wasm_v128_store((p), (a))
#define v4_splat(x)    wasm_f32x4_splat(x)
#define v4_add(a, b)   wasm_f32x4_add((a), (b))
#define v4_mul(a, b)   wasm_f32x4_mul((a), (b))
#define v4_lane(a, i)  wasm_f32x4_extract_lane((a), (i))
#define v4_nonzero(a)  wasm_v128_any_true(a)
#define DL_SIMD "wasm-simd128"

#elif defined(__SSE2__)
#include <emmintrin.h>
typedef __m128 v4;
#define v4_load(p)     _mm_loadu_ps(p)
#define v4_store(p, a) _mm_storeu_ps((p), (a))
#define v4_splat(x)    _mm_set1_ps(x)
#define v4_add(a, b)   _mm_add_ps((a), (b))
#define v4_mul(a, b)   _mm_mul_ps((a), (b))
static inline float v4_lane_(v4 a, int i) { float f[4]; _mm_storeu_ps(f, a); return f[i]; }
#define v4_lane(a, i)  v4_lane_((a), (i))
#define v4_nonzero(a)  (_mm_movemask_epi8(_mm_cmpeq_epi32(_mm_castps_si128(a), \
                                                        _mm_setzero_si128())) != 0xFFFF)
#define DL_SIMD "sse2"

#else
#include <stdint.h>
#include <string.h>
typedef struct { float f[4]; } v4;
static inline v4 v4_load(const float *p) { v4 r; memcpy(r.f, p, sizeof r.f); return r; }
static inline void v4_store(float *p, v4 a) { memcpy(p, a.f, sizeof a.f); }
static inline v4 v4_splat(float x) { v4 r = { { x, x, x, x } }; return r; }
static inline v4 v4_add(v4 a, v4 b)
{ for (int i = 0; i < 4; i++) a.f[i] += b.f[i]; return a; }
static inline v4 v4_mul(v4 a, v4 b)
{ for (int i = 0; i < 4; i++) a.f[i] *= b.f[i]; return a; }
#define v4_lane(a, i)  ((a).f[i])
static inline int v4_nonzero(v4 a)
{ uint32_t u[4]; memcpy(u, a.f, sizeof u); return (u[0] | u[1] | u[2] | u[3]) != 0; }
#define DL_SIMD "scalar"
#endif

/* v4_nonzero(a): some bit of a is set (so -0.0 counts as non-zero) */

/* acc + a * b, rounded twice, like the scalar `acc += a * b` */
static inline v4 v4_madd(v4 acc, v4 a, v4 b) { return v4_add(acc, v4_mul(a, b)); }

/* (l0 + l1) + (l2 + l3): the one fixed order for a horizontal sum */
static inline float v4_sum(v4 a)
{
    return (v4_lane(a, 0) + v4_lane(a, 1)) + (v4_lane(a, 2) + v4_lane(a, 3));
}

#endif
