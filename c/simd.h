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
#define v4_eq(a, b)    wasm_f32x4_eq((a), (b))
#define v4_gt(a, b)    wasm_f32x4_gt((a), (b))
#define v4_select(m, a, b) wasm_v128_bitselect((a), (b), (m))
#define v4_store_int(p, a) wasm_v128_store((p), wasm_i32x4_trunc_sat_f32x4(a))
#define v4_and(a, b)   wasm_v128_and((a), (b))
#define v4_all(m)      wasm_i32x4_all_true(m)
#define v4_relu(a)     wasm_f32x4_pmax(wasm_f32x4_splat(0.0f), (a))
#define v4_max(a, b)   wasm_f32x4_pmax((a), (b))
#define v4_even(a, b)  wasm_i32x4_shuffle((a), (b), 0, 2, 4, 6)
#define v4_odd(a, b)   wasm_i32x4_shuffle((a), (b), 1, 3, 5, 7)
#define v4_transpose(r0, r1, r2, r3) do { \
        v4 t0_ = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1_ = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7); \
        v4 t2_ = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5), t3_ = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7); \
        r0 = wasm_i32x4_shuffle(t0_, t2_, 0, 1, 4, 5); r1 = wasm_i32x4_shuffle(t0_, t2_, 2, 3, 6, 7); \
        r2 = wasm_i32x4_shuffle(t1_, t3_, 0, 1, 4, 5); r3 = wasm_i32x4_shuffle(t1_, t3_, 2, 3, 6, 7); \
    } while (0)
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
#define v4_eq(a, b)    _mm_cmpeq_ps((a), (b))
#define v4_gt(a, b)    _mm_cmpgt_ps((a), (b))
#define v4_select(m, a, b) _mm_or_ps(_mm_and_ps((m), (a)), _mm_andnot_ps((m), (b)))
#define v4_store_int(p, a) _mm_storeu_si128((__m128i *)(void *)(p), _mm_cvttps_epi32(a))
#define v4_and(a, b)   _mm_and_ps((a), (b))
#define v4_all(m)      (_mm_movemask_ps(m) == 0xF)
#define v4_relu(a)     _mm_max_ps((a), _mm_setzero_ps())
#define v4_max(a, b)   _mm_max_ps((b), (a))
#define v4_even(a, b)  _mm_shuffle_ps((a), (b), _MM_SHUFFLE(2, 0, 2, 0))
#define v4_odd(a, b)   _mm_shuffle_ps((a), (b), _MM_SHUFFLE(3, 1, 3, 1))
#define v4_transpose(r0, r1, r2, r3) _MM_TRANSPOSE4_PS(r0, r1, r2, r3)
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
/* masks are 1.0f / 0.0f here */
static inline v4 v4_eq(v4 a, v4 b)
{ for (int i = 0; i < 4; i++) a.f[i] = a.f[i] == b.f[i] ? 1.0f : 0.0f; return a; }
static inline v4 v4_gt(v4 a, v4 b)
{ for (int i = 0; i < 4; i++) a.f[i] = a.f[i] > b.f[i] ? 1.0f : 0.0f; return a; }
static inline v4 v4_select(v4 m, v4 a, v4 b)
{ for (int i = 0; i < 4; i++) a.f[i] = m.f[i] != 0.0f ? a.f[i] : b.f[i]; return a; }
static inline void v4_store_int(int32_t *p, v4 a)
{ for (int i = 0; i < 4; i++) p[i] = (int32_t)a.f[i]; }
static inline v4 v4_and(v4 a, v4 b)
{ for (int i = 0; i < 4; i++) a.f[i] = a.f[i] != 0.0f && b.f[i] != 0.0f ? 1.0f : 0.0f; return a; }
static inline int v4_all(v4 m)
{ return m.f[0] != 0.0f && m.f[1] != 0.0f && m.f[2] != 0.0f && m.f[3] != 0.0f; }
static inline v4 v4_relu(v4 a)
{ for (int i = 0; i < 4; i++) a.f[i] = a.f[i] > 0.0f ? a.f[i] : 0.0f; return a; }
static inline v4 v4_max(v4 a, v4 b)
{ for (int i = 0; i < 4; i++) a.f[i] = b.f[i] > a.f[i] ? b.f[i] : a.f[i]; return a; }
static inline v4 v4_even(v4 a, v4 b)
{ v4 r = { { a.f[0], a.f[2], b.f[0], b.f[2] } }; return r; }
static inline v4 v4_odd(v4 a, v4 b)
{ v4 r = { { a.f[1], a.f[3], b.f[1], b.f[3] } }; return r; }
static inline void v4_transpose_(v4 *r0, v4 *r1, v4 *r2, v4 *r3)
{
    v4 *r[4] = { r0, r1, r2, r3 }, t[4] = { *r0, *r1, *r2, *r3 };
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) r[i]->f[j] = t[j].f[i];
}
#define v4_transpose(r0, r1, r2, r3) v4_transpose_(&(r0), &(r1), &(r2), &(r3))
#define DL_SIMD "scalar"
#endif

/* v4_nonzero(a): some bit of a is set (so -0.0 counts as non-zero)
 * v4_eq(a, b), v4_gt(a, b): lane masks a == b, a > b;  v4_and(m, n): both;  v4_all(m): every lane
 * v4_select(m, a, b): m ? a : b per lane
 * v4_store_int(p, a): the lanes, whole numbers below 2^24, as int32
 * v4_relu(a): a > 0 ? a : +0 per lane (NaN gives 0)
 * v4_max(a, b): b > a ? b : a per lane (a unless b is strictly greater)
 * v4_even(a, b), v4_odd(a, b): lanes 0,2 / 1,3 of a then of b (deinterleave)
 * v4_transpose(r0, r1, r2, r3): the four vectors as the rows of a 4 x 4
 *   matrix, transposed in place (lane j of r_i <-> lane i of r_j) */

/* acc + a * b, rounded twice, like the scalar `acc += a * b` */
static inline v4 v4_madd(v4 acc, v4 a, v4 b) { return v4_add(acc, v4_mul(a, b)); }

/* (l0 + l1) + (l2 + l3): the one fixed order for a horizontal sum */
static inline float v4_sum(v4 a)
{
    return (v4_lane(a, 0) + v4_lane(a, 1)) + (v4_lane(a, 2) + v4_lane(a, 3));
}

#endif
