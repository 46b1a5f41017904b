/* net.c — the layers (forward/backward pairs), the model as a list of
 * layers, softmax cross-entropy, Adam and SGD, seeded randomness.
 *
 * Layout: NCHW, row-major. A batch of B images of a layer's output is one
 * block (B, out_size). Backward functions restate the forward they invert
 * and ADD into their outputs, so the caller zeroes once per pass.
 */
#include "digitlens.h"
#include "simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const dl_layer_spec dl_seednet[DL_SEEDNET_LAYERS] = {
    { DL_CONV,    "conv",    12, 5 }, /* 1x28x28 -> 12x24x24 */
    { DL_RELU,    "relu",     0, 0 }, /* A: the maps Grad-CAM reads */
    { DL_MAXPOOL, "pool",     2, 0 }, /* -> 12x12x12 */
    { DL_FLATTEN, "flatten",  0, 0 }, /* -> 1728, (C,H,W) order */
    { DL_DENSE,   "fc",      10, 0 }, /* -> 10 logits */
};

/* ---- layers ------------------------------------------------------------ */

/* The vector path scatters: each non-zero input pixel adds its value times
 * a kernel row into the output row it reaches, all output channels at once
 * (channels in the lanes, the OC channels zero-padded to OCP = 12, the seed
 * network's count: three vectors). A digit's canvas is four-fifths zeros,
 * and a zero pixel would add w * 0 = 0 to each sum: skipping it is exact and
 * saves most of the work, with no branch per tap. One output row is summed
 * at a time, (OW, OCP) floats that stay in the L1 cache, then transposed
 * into out. For output (y, x) the terms come in (c, i, j) order, as in the
 * plain loops below: every build (SIMD or not, native or WASM) gives the
 * same sums. */
enum { CONV_NV = 3, OCP = 4 * CONV_NV, CONV_TAPS = 64, CONV_OW = 256, CONV_PIX = 1024,
       CONV_ROWS = 256 };

/* row[x-j, :] += v * wr[j, :] for the taps j whose output x-j lies in 0..OW-1
 * (wr: one kernel row, OCP floats per tap) */
static inline void scatter_taps(float *row, const float *wr, float v, int x, int OW, int K)
{
    const v4 vv = v4_splat(v);
    int j0 = x - OW + 1 > 0 ? x - OW + 1 : 0, j1 = x < K - 1 ? x : K - 1;
    for (int j = j0; j <= j1; j++)
        for (int n = 0; n < CONV_NV; n++) {
            float *o = row + (size_t)(x - j) * OCP + 4 * n;
            v4_store(o, v4_madd(v4_load(o), v4_load(wr + j * OCP + 4 * n), vv));
        }
}

/* The seed network's case, K = 5, for the pixel at x and its right-hand
 * neighbour (all five taps of x landing; zero or not, the neighbour's terms
 * come right after x's, as in the per-pixel order): their six output
 * positions are summed in registers, loaded and stored once for both (a
 * stroke is 2-3 pixels wide: most non-zero pixels have a non-zero
 * neighbour). A zero neighbour adds w x 0 = +-0 to its sums, which changes
 * none that is not -0 (each starts at its bias). x = OW - 1 also touches
 * position OW, summed but never read. Every address is a constant offset
 * from the lowest. */
static inline void scatter_pair_5(float *row, const float *wr, const float *v, int x)
{
    float *low = row + (size_t)(x - 4) * OCP;
    const v4 v0 = v4_splat(v[0]), v1 = v4_splat(v[1]);
    for (int n = 0; n < CONV_NV; n++) {
        v4 acc[6];
        for (int o = 0; o < 6; o++) acc[o] = v4_load(low + o * OCP + 4 * n);
        for (int j = 0; j < 5; j++) acc[4 - j] = v4_madd(acc[4 - j], v4_load(wr + j * OCP + 4 * n), v0);
        for (int j = 0; j < 5; j++) acc[5 - j] = v4_madd(acc[5 - j], v4_load(wr + j * OCP + 4 * n), v1);
        for (int o = 0; o < 6; o++) v4_store(low + o * OCP + 4 * n, acc[o]);
    }
}

/* One image. wT: the kernels tap-major, (C, K, K, OCP); bias: OCP floats. */
static void conv_scatter(float *out, const float *in, const float *wT, const float *bias,
                         int C, int H, int W, int OC, int K)
{
    const int OH = H - K + 1, OW = W - K + 1, P = OH * OW;
    /* the non-zero pixels of each input row r = c*H + y, without a branch:
     * columns nz[first[r] .. first[r+1]-1] */
    int nz[CONV_PIX], first[CONV_ROWS + 1], n = 0;
    for (int r = 0; r < C * H; r++) {
        first[r] = n;
        for (int x = 0; x < W; x++) {
            nz[n] = x;
            n += in[(size_t)r * W + x] != 0.0f;
        }
    }
    first[C * H] = n;
    v4 b[CONV_NV];
    for (int v = 0; v < CONV_NV; v++) b[v] = v4_load(bias + 4 * v);
    float row[CONV_OW * OCP];
    for (int y = 0; y < OH; y++) {
        for (int x = 0; x <= OW; x++) /* OW: see scatter_pair_5 */
            for (int v = 0; v < CONV_NV; v++) v4_store(row + x * OCP + 4 * v, b[v]);
        for (int c = 0; c < C; c++)
            for (int i = 0; i < K; i++) {
                const int r = c * H + y + i;
                const float *ir = in + (size_t)r * W, *wr = wT + (size_t)(c * K + i) * K * OCP;
                for (int q = first[r], end = first[r + 1]; q < end;) {
                    const int x = nz[q];
                    if (K == 5 && x >= 4 && x < OW) {
                        scatter_pair_5(row, wr, ir + x, x); /* and x + 1, done with it */
                        q += 1 + (q + 1 < end && nz[q + 1] == x + 1);
                    } else {
                        scatter_taps(row, wr, ir[x], x, OW, K);
                        q++;
                    }
                }
            }
        /* row (OW, OCP) -> out[g, y, :], four positions by four channels */
        float *oy = out + (size_t)y * OW;
        int x = 0;
        for (; x + 4 <= OW; x += 4)
            for (int v = 0; v < CONV_NV; v++) {
                const float *a = row + (size_t)x * OCP + 4 * v;
                v4 r0 = v4_load(a), r1 = v4_load(a + OCP), r2 = v4_load(a + 2 * OCP),
                   r3 = v4_load(a + 3 * OCP);
                v4_transpose(r0, r1, r2, r3);
                v4 t[4] = { r0, r1, r2, r3 };
                for (int l = 0; l < 4 && 4 * v + l < OC; l++) v4_store(oy + (size_t)(4 * v + l) * P + x, t[l]);
            }
        for (; x < OW; x++)
            for (int g = 0; g < OC; g++) oy[(size_t)g * P + x] = row[(size_t)x * OCP + g];
    }
}

/* out[b,o,y,x] = bias[o] + sum_{c,i,j} w[o,c,i,j] * inp[b,c,y+i,x+j]
 * inp (B,C,H,W), w (OC,C,K,K), bias (OC), out (B,OC,H-K+1,W-K+1) */
void dl_conv_forward(float *out, const float *inp, const float *w, const float *bias,
                     int B, int C, int H, int W, int OC, int K)
{
    int OH = H - K + 1, OW = W - K + 1, taps = C * K * K;
    if (OC <= OCP && taps <= CONV_TAPS && OW < CONV_OW && C * H * W <= CONV_PIX &&
        C * H <= CONV_ROWS) {
        float wT[CONV_TAPS * OCP], bp[OCP] = { 0 };
        for (int t = 0; t < taps; t++) /* (OC, taps) -> (taps, OCP), zero-padded */
            for (int g = 0; g < OCP; g++) wT[t * OCP + g] = g < OC ? w[(size_t)g * taps + t] : 0.0f;
        memcpy(bp, bias, (size_t)OC * sizeof(float));
        for (int b = 0; b < B; b++) {
            const float *ib = inp + (size_t)b * C * H * W;
            float *ob = out + (size_t)b * OC * OH * OW;
            conv_scatter(ob, ib, wT, bp, C, H, W, OC, K);
        }
        return;
    }
    for (int b = 0; b < B; b++) {
        const float *ib = inp + (size_t)b * C * H * W;
        float *ob = out + (size_t)b * OC * OH * OW;
        for (int o = 0; o < OC; o++)
            for (int y = 0; y < OH; y++)
                for (int x = 0; x < OW; x++) {
                    const float *wo = w + (size_t)o * taps;
                    float s = bias[o];
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < K; i++)
                            for (int j = 0; j < K; j++)
                                s += wo[(c * K + i) * K + j] * ib[((size_t)c * H + y + i) * W + x + j];
                    ob[((size_t)o * OH + y) * OW + x] = s;
                }
    }
}

/* The backward's vector path keeps CONV_GROUP output channels' partial
 * sums for up to CONV_TAPS taps in registers. */
enum { CONV_GROUP = 12 };

/* dw[o,c,i,j] += sum_{y,x} dout[o,y,x] * in[c,y+i,x+j] for one image, as
 * four lanes of partial sums per weight: lane l sums the positions x = 4m+l
 * of every row, in (y, m) order, then (l0 + l1) + (l2 + l3). Both factors
 * are mostly zero (the canvas is mostly empty; max-pool passes a gradient
 * to one cell in four): the steps (y, 4m..4m+3) where every channel's
 * gradient is zero are dropped first, and a step whose input vector is all
 * zero is skipped per tap. (A skipped product is +-0, and adding +-0 to a
 * sum that starts at +0 never changes it: the same bits as adding it.)
 * Then tap by tap, up to CONV_GROUP channels' sums stay in registers. */
enum { CONV_STEPS = 160 };

/* one tap's weights of G channels: dw[o * taps] += sum over the steps */
static inline void dw_tap(float *dw, int taps, v4 d[][CONV_GROUP], const int *at, int n,
                          const float *it, const int G)
{
    v4 acc[CONV_GROUP];
    for (int o = 0; o < G; o++) acc[o] = v4_splat(0.0f);
    for (int s = 0; s < n; s++) {
        const v4 iv = v4_load(it + at[s]);
        if (!v4_nonzero(iv)) continue;
        for (int o = 0; o < G; o++) acc[o] = v4_madd(acc[o], d[s][o], iv);
    }
    for (int o = 0; o < G; o++) dw[(size_t)o * taps] += v4_sum(acc[o]);
}
static void conv_dw_vec(float *dw, const float *dout, const float *in,
                        int C, int H, int W, int OC, int K, int OH, int OW)
{
    const int taps = C * K * K;
    for (int g0 = 0; g0 < OC; g0 += CONV_GROUP) {
        const int G = OC - g0 < CONV_GROUP ? OC - g0 : CONV_GROUP;
        v4 d[CONV_STEPS][CONV_GROUP];
        int at[CONV_STEPS], n = 0; /* the steps kept: offset y * W + x in a channel of in */
        for (int y = 0; y < OH; y++)
            for (int x = 0; x < OW; x += 4) {
                int any = 0;
                for (int o = 0; o < G; o++) {
                    d[n][o] = v4_load(dout + ((size_t)(g0 + o) * OH + y) * OW + x);
                    any |= v4_nonzero(d[n][o]);
                }
                at[n] = y * W + x;
                n += any;
            }
        for (int c = 0, t = 0; c < C; c++)
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++, t++) {
                    const float *it = in + ((size_t)c * H + i) * W + j;
                    float *dwt = dw + (size_t)g0 * taps + t;
                    if (G == CONV_GROUP) /* a constant G keeps the sums in registers */
                        dw_tap(dwt, taps, d, at, n, it, CONV_GROUP);
                    else
                        dw_tap(dwt, taps, d, at, n, it, G);
                }
    }
}

/* sums[o] += sum_p d[o, p], d (OC, P), each sum in p order from 0 (as the
 * plain loop: training reproduces the committed weights). One chain of P
 * dependent adds per channel would wait on the adder's latency at every
 * step: four channels go in the lanes of one vector, four positions at a
 * time transposed into it. */
static void channel_sums(float *sums, const float *d, int OC, int P)
{
    int o = 0;
    for (; o + 4 <= OC; o += 4) {
        const float *d0 = d + (size_t)o * P;
        v4 s = v4_splat(0.0f);
        int p = 0;
        for (; p + 4 <= P; p += 4) {
            v4 r0 = v4_load(d0 + p), r1 = v4_load(d0 + P + p), r2 = v4_load(d0 + 2 * P + p),
               r3 = v4_load(d0 + 3 * (size_t)P + p);
            v4_transpose(r0, r1, r2, r3); /* r_k: position p + k of the four channels */
            s = v4_add(v4_add(v4_add(v4_add(s, r0), r1), r2), r3);
        }
        float l[4] = { v4_lane(s, 0), v4_lane(s, 1), v4_lane(s, 2), v4_lane(s, 3) };
        for (int k = 0; k < 4; k++) {
            for (int q = p; q < P; q++) l[k] += d0[(size_t)k * P + q];
            sums[o + k] += l[k];
        }
    }
    for (; o < OC; o++) {
        float s = 0.0f;
        for (int p = 0; p < P; p++) s += d[(size_t)o * P + p];
        sums[o] += s;
    }
}

/* from out[b,o,y,x] = bias[o] + sum w[o,c,i,j] * inp[b,c,y+i,x+j]:
 *   dw[o,c,i,j] += sum_{b,y,x} dout[b,o,y,x] * inp[b,c,y+i,x+j]
 *   dbias[o]    += sum_{b,y,x} dout[b,o,y,x]
 *   dinp[b,c,y+i,x+j] += w[o,c,i,j] * dout[b,o,y,x] */
void dl_conv_backward(float *dinp, float *dw, float *dbias, const float *dout,
                      const float *inp, const float *w,
                      int B, int C, int H, int W, int OC, int K)
{
    int OH = H - K + 1, OW = W - K + 1;
    int vector = OW % 4 == 0 && OH * OW / 4 <= CONV_STEPS;
    for (int b = 0; b < B; b++) {
        const float *ib = inp + (size_t)b * C * H * W;
        const float *dob = dout + (size_t)b * OC * OH * OW;
        float *dib = dinp ? dinp + (size_t)b * C * H * W : NULL;
        int vec = dw && vector; /* dw done here, or below */
        if (vec) conv_dw_vec(dw, dob, ib, C, H, W, OC, K, OH, OW);
        if (dbias) channel_sums(dbias, dob, OC, OH * OW);
        for (int o = 0; o < OC; o++) {
            const float *db = dob + (size_t)o * OH * OW;
            for (int c = 0; c < C; c++)
                for (int i = 0; i < K; i++)
                    for (int j = 0; j < K; j++) {
                        size_t wi = ((size_t)(o * C + c) * K + i) * K + j;
                        size_t io = ((size_t)c * H + i) * W + j;
                        if (dw && !vec) {
                            float s = 0.0f;
                            for (int y = 0; y < OH; y++)
                                for (int x = 0; x < OW; x++)
                                    s += db[y * OW + x] * ib[io + y * W + x];
                            dw[wi] += s;
                        }
                        if (dib) {
                            float wv = w[wi];
                            for (int y = 0; y < OH; y++)
                                for (int x = 0; x < OW; x++)
                                    dib[io + y * W + x] += wv * db[y * OW + x];
                        }
                    }
        }
    }
}

/* out = inp > 0 ? inp : 0 */
void dl_relu_forward(float *out, const float *inp, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) v4_store(out + i, v4_relu(v4_load(inp + i)));
    for (; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

/* from out = max(inp, 0): dinp += dout where out > 0 (the subgradient at 0 is 0) */
void dl_relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
    const v4 zero = v4_splat(0.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4 g = v4_select(v4_gt(v4_load(out + i), zero), v4_load(dout + i), zero);
        v4_store(dinp + i, v4_add(v4_load(dinp + i), g));
    }
    for (; i < n; i++) dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

/* 2x2 windows of one pair of rows, four at a time: a b / c d for windows
 * x .. x+3, in row-major order, each kept unless the next is strictly
 * greater (the rule the backward's "first cell equal to the max" follows). */
static void maxpool2_rows(float *op, const float *r0, int W, int OW)
{
    const float *r1 = r0 + W;
    int x = 0;
    for (; x + 4 <= OW; x += 4) {
        v4 a0 = v4_load(r0 + 2 * x), a1 = v4_load(r0 + 2 * x + 4);
        v4 c0 = v4_load(r1 + 2 * x), c1 = v4_load(r1 + 2 * x + 4);
        v4 m = v4_max(v4_even(a0, a1), v4_odd(a0, a1));
        m = v4_max(m, v4_even(c0, c1));
        v4_store(op + x, v4_max(m, v4_odd(c0, c1)));
    }
    for (; x < OW; x++) {
        float m = r0[2 * x];
        if (r0[2 * x + 1] > m) m = r0[2 * x + 1];
        if (r1[2 * x] > m) m = r1[2 * x];
        if (r1[2 * x + 1] > m) m = r1[2 * x + 1];
        op[x] = m;
    }
}

/* out[b,c,y,x] = max over the PxP window at (P*y, P*x)
 * inp (B,C,H,W), out (B,C,H/P,W/P) */
void dl_maxpool_forward(float *out, const float *inp, int B, int C, int H, int W, int P)
{
    int OH = H / P, OW = W / P;
    for (int bc = 0; bc < B * C; bc++) {
        const float *ip = inp + (size_t)bc * H * W;
        float *op = out + (size_t)bc * OH * OW;
        for (int y = 0; y < OH; y++) {
            if (P == 2) {
                maxpool2_rows(op + y * OW, ip + 2 * y * W, W, OW);
                continue;
            }
            for (int x = 0; x < OW; x++) {
                float m = ip[(P * y) * W + P * x];
                for (int i = 0; i < P; i++)
                    for (int j = 0; j < P; j++) {
                        float v = ip[(P * y + i) * W + P * x + j];
                        if (v > m) m = v;
                    }
                op[y * OW + x] = m;
            }
        }
    }
}

/* The 2x2 windows x .. x+3 of one pair of rows (a b / c d, as in
 * maxpool2_rows) against their max m: the first cell equal to m, as an
 * offset from the window's top-left (0, 1, W or W + 1; W + 1 also when
 * none is, a NaN window), then the gradient added there. */
static void maxpool2_back_rows(float *d0, const float *dout, const float *r0, const float *m,
                               int W, int OW)
{
    const float *r1 = r0 + W;
    const v4 one = v4_splat(1.0f), w0 = v4_splat((float)W), w1 = v4_splat((float)W + 1.0f);
    int x = 0;
    for (; x + 4 <= OW; x += 4) {
        v4 a0 = v4_load(r0 + 2 * x), a1 = v4_load(r0 + 2 * x + 4);
        v4 c0 = v4_load(r1 + 2 * x), c1 = v4_load(r1 + 2 * x + 4), mx = v4_load(m + x);
        v4 off = v4_select(v4_eq(v4_even(c0, c1), mx), w0, w1);
        off = v4_select(v4_eq(v4_odd(a0, a1), mx), one, off);
        off = v4_select(v4_eq(v4_even(a0, a1), mx), v4_splat(0.0f), off);
        int32_t k[4];
        v4_store_int(k, off);
        for (int l = 0; l < 4; l++) d0[2 * (x + l) + k[l]] += dout[x + l];
    }
    for (; x < OW; x++) {
        const float *q = r0 + 2 * x;
        int k = q[0] == m[x] ? 0 : q[1] == m[x] ? 1 : q[W] == m[x] ? W : W + 1;
        d0[2 * x + k] += dout[x];
    }
}

/* from out = max of the window: the window's gradient goes to ONE cell, the
 * first in row-major order that equals the max (PyTorch's rule). After a
 * ReLU a window of four zeros is common: this choice decides which zero gets
 * the gradient. (A NaN window matches no cell: its last cell gets it.) The
 * winner is found again here rather than stored by the forward, which every
 * drawing runs and few follow with a backward. */
void dl_maxpool_backward(float *dinp, const float *dout, const float *inp, const float *out,
                         int B, int C, int H, int W, int P)
{
    int OH = H / P, OW = W / P;
    for (int bc = 0; bc < B * C; bc++) {
        const float *ip = inp + (size_t)bc * H * W;
        float *d = dinp + (size_t)bc * H * W;
        const float *op = out + (size_t)bc * OH * OW, *dop = dout + (size_t)bc * OH * OW;
        for (int y = 0; y < OH; y++) {
            if (P == 2) {
                maxpool2_back_rows(d + 2 * y * W, dop + y * OW, ip + 2 * y * W, op + y * OW, W, OW);
                continue;
            }
            for (int x = 0; x < OW; x++) {
                const float m = op[y * OW + x];
                int win = -1;
                for (int i = 0; i < P && win < 0; i++)
                    for (int j = 0; j < P && win < 0; j++)
                        if (ip[(P * y + i) * W + P * x + j] == m) win = (P * y + i) * W + P * x + j;
                d[win < 0 ? (P * y) * W + P * x + (P - 1) * W + P - 1 : win] += dop[y * OW + x];
            }
        }
    }
}

enum { DENSE_GROUP = 10 }; /* outputs computed together: x is read once */

/* out[b,o] = bias[o] + sum_i w[o,i] * inp[b,i]
 * inp (B,IN), w (OUT,IN) as torch.nn.Linear, out (B,OUT)
 * Each sum runs in four lanes of partial sums over i, then
 * (l0 + l1) + (l2 + l3): the same order in every build. Ten outputs at a
 * time give ten independent chains of adds instead of one. */
static inline void dense_group(float *out, const float *x, const float *wr,
                               const float *bias, int IN, const int G)
{
    int IN4 = IN & ~3;
    v4 acc[DENSE_GROUP];
    for (int g = 0; g < G; g++) acc[g] = v4_splat(0.0f);
    for (int i = 0; i < IN4; i += 4) {
        v4 xv = v4_load(x + i);
        for (int g = 0; g < G; g++)
            acc[g] = v4_madd(acc[g], v4_load(wr + (size_t)g * IN + i), xv);
    }
    for (int g = 0; g < G; g++) {
        float tail = 0.0f;
        for (int i = IN4; i < IN; i++) tail += wr[(size_t)g * IN + i] * x[i];
        out[g] = bias[g] + (v4_sum(acc[g]) + tail);
    }
}

void dl_dense_forward(float *out, const float *inp, const float *w, const float *bias,
                      int B, int IN, int OUT)
{
    for (int b = 0; b < B; b++)
        for (int o0 = 0; o0 < OUT; o0 += DENSE_GROUP) {
            int G = OUT - o0 < DENSE_GROUP ? OUT - o0 : DENSE_GROUP;
            float *ob = out + (size_t)b * OUT + o0;
            const float *x = inp + (size_t)b * IN, *wr = w + (size_t)o0 * IN;
            if (G == DENSE_GROUP) /* a constant G keeps the sums in registers */
                dense_group(ob, x, wr, bias + o0, IN, DENSE_GROUP);
            else
                dense_group(ob, x, wr, bias + o0, IN, G);
        }
}

/* One image, outputs o < G of a group: dx[i] += sum_o g[o] w[o,i] (in o
 * order, held in a register across the group) and dw[o,i] += g[o] x[i].
 * x follows a ReLU and a max-pool: most of it is zero, and a zero x[i]
 * adds +-0 to dw[o, i], which leaves it as it is (it starts at +0 and
 * never becomes -0): four inputs at a time are skipped when all four are
 * zero, with the same bits. */
static void dense_back_group(float *dx, float *dw, const float *g, const float *x,
                             const float *w, int IN, int G)
{
    v4 gv[DENSE_GROUP];
    for (int o = 0; o < G; o++) gv[o] = v4_splat(g[o]);
    int i = 0;
    for (; i + 4 <= IN; i += 4) {
        if (dx) {
            v4 acc = v4_load(dx + i);
            for (int o = 0; o < G; o++) acc = v4_madd(acc, gv[o], v4_load(w + (size_t)o * IN + i));
            v4_store(dx + i, acc);
        }
        const v4 xv = v4_load(x + i);
        if (!dw || !v4_nonzero(xv)) continue;
        for (int o = 0; o < G; o++) {
            float *d = dw + (size_t)o * IN + i;
            v4_store(d, v4_madd(v4_load(d), gv[o], xv));
        }
    }
    for (; i < IN; i++)
        for (int o = 0; o < G; o++) {
            if (dx) dx[i] += g[o] * w[(size_t)o * IN + i];
            if (dw) dw[(size_t)o * IN + i] += g[o] * x[i];
        }
}

/* from out[b,o] = bias[o] + sum_i w[o,i] * inp[b,i]:
 *   dinp[b,i] += sum_o w[o,i] * dout[b,o]
 *   dw[o,i]   += sum_b dout[b,o] * inp[b,i]
 *   dbias[o]  += sum_b dout[b,o] */
void dl_dense_backward(float *dinp, float *dw, float *dbias, const float *dout,
                       const float *inp, const float *w, int B, int IN, int OUT)
{
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * IN;
        const float *g = dout + (size_t)b * OUT;
        float *dx = dinp ? dinp + (size_t)b * IN : NULL;
        if (dbias)
            for (int o = 0; o < OUT; o++) dbias[o] += g[o];
        for (int o0 = 0; o0 < OUT; o0 += DENSE_GROUP) {
            const int G = OUT - o0 < DENSE_GROUP ? OUT - o0 : DENSE_GROUP;
            dense_back_group(dx, dw ? dw + (size_t)o0 * IN : NULL, g + o0, x,
                             w + (size_t)o0 * IN, IN, G);
        }
    }
}

void dl_softmax(float *probs, const float *logits, int n)
{
    float mx = logits[0], sum = 0.0f;
    for (int i = 1; i < n; i++) if (logits[i] > mx) mx = logits[i];
    for (int i = 0; i < n; i++) sum += (probs[i] = expf(logits[i] - mx));
    for (int i = 0; i < n; i++) probs[i] /= sum;
}

/* loss = mean_b -log softmax(logits[b])[label[b]]
 * dlogits[b,c] = (softmax(logits[b])[c] - [c == label[b]]) / B */
float dl_softmax_xent(float *probs, float *dlogits, const float *logits,
                      const uint8_t *labels, int B)
{
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        float p[DL_CLASSES];
        const float *z = logits + (size_t)b * DL_CLASSES;
        dl_softmax(p, z, DL_CLASSES);
        /* log p = z - logsumexp(z), computed stably rather than log(p). */
        float mx = z[0], sum = 0.0f;
        for (int c = 1; c < DL_CLASSES; c++) if (z[c] > mx) mx = z[c];
        for (int c = 0; c < DL_CLASSES; c++) sum += expf(z[c] - mx);
        loss += (double)(mx + logf(sum) - z[labels[b]]);
        for (int c = 0; c < DL_CLASSES; c++) {
            if (probs) probs[(size_t)b * DL_CLASSES + c] = p[c];
            if (dlogits)
                dlogits[(size_t)b * DL_CLASSES + c] =
                    (p[c] - (c == labels[b] ? 1.0f : 0.0f)) / (float)B;
        }
    }
    return (float)(loss / B);
}

/* ---- model ------------------------------------------------------------- */

/* dst = a + b; the caller has checked the length (no snprintf: it would
 * bring printf's weight into the WASM build). */
static void join_name(char *dst, const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    memcpy(dst, a, na);
    memcpy(dst + na, b, nb + 1);
}

int dl_model_plan(dl_model *m, const dl_layer_spec *spec, int n_layers, int cam_layer)
{
    if (!m || !spec || n_layers < 1 || n_layers > DL_MAX_LAYERS ||
        cam_layer < 0 || cam_layer >= n_layers)
        return DL_ERR_ARG;
    memset(m, 0, sizeof *m);
    int c = DL_IN_C, h = DL_IN_H, w = DL_IN_W;
    size_t np = 0, na = DL_IN_SIZE;
    int nt = 0;
    for (int i = 0; i < n_layers; i++) {
        dl_layer *L = &m->layers[i];
        L->spec = spec[i];
        L->in_c = c; L->in_h = h; L->in_w = w;
        switch (spec[i].kind) {
        case DL_CONV:
            if (spec[i].size < 1 || spec[i].k < 1 || spec[i].k > h || spec[i].k > w)
                return DL_ERR_ARG;
            L->n_w = (size_t)spec[i].size * c * spec[i].k * spec[i].k;
            L->n_b = (size_t)spec[i].size;
            c = spec[i].size; h = h - spec[i].k + 1; w = w - spec[i].k + 1;
            break;
        case DL_MAXPOOL:
            if (spec[i].size < 1 || spec[i].size > h || spec[i].size > w)
                return DL_ERR_ARG;
            h /= spec[i].size; w /= spec[i].size;
            break;
        case DL_DENSE:
            if (spec[i].size < 1) return DL_ERR_ARG;
            L->n_w = (size_t)spec[i].size * c * h * w;
            L->n_b = (size_t)spec[i].size;
            c = spec[i].size; h = 1; w = 1;
            break;
        case DL_FLATTEN:
            c = c * h * w; h = 1; w = 1;
            break;
        case DL_RELU:
            break;
        default:
            return DL_ERR_ARG;
        }
        L->out_c = c; L->out_h = h; L->out_w = w;
        L->in_size = (size_t)L->in_c * L->in_h * L->in_w;
        L->out_size = (size_t)c * h * w;
        L->w_off = np; np += L->n_w;
        L->b_off = np; np += L->n_b;
        /* Flatten only renames its input: it shares the input's block. */
        if (spec[i].kind == DL_FLATTEN) {
            L->act_off = i > 0 ? m->layers[i - 1].act_off : 0;
        } else {
            L->act_off = na;
            na += L->out_size;
        }
        if (L->n_w) {
            if (!spec[i].name || strlen(spec[i].name) > 40) return DL_ERR_ARG;
            join_name(m->tensor_names[nt++], spec[i].name, ".weight");
            join_name(m->tensor_names[nt++], spec[i].name, ".bias");
        }
    }
    const dl_layer *last = &m->layers[n_layers - 1];
    const dl_layer *cam = &m->layers[cam_layer];
    if (last->spec.kind != DL_DENSE || last->out_size != DL_CLASSES ||
        cam->out_h != DL_MAP_H || cam->out_w != DL_MAP_W ||
        cam->out_c > DL_MAX_CHANNELS)
        return DL_ERR_ARG;
    m->n_layers = n_layers;
    m->cam_layer = cam_layer;
    m->n_params = np;
    m->n_acts = na;
    m->params = NULL;
    return DL_OK;
}

int dl_model_init_he(dl_model *m, uint64_t seed)
{
    if (!m || !m->params) return DL_ERR_ARG;
    uint64_t rng = seed;
    for (int i = 0; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        if (!L->n_w) continue;
        /* He: Var(w) = 2 / fan_in keeps the ReLU activations' scale. */
        float std = sqrtf(2.0f / (float)(L->n_w / L->n_b));
        for (size_t k = 0; k < L->n_w; k++)
            m->params[L->w_off + k] = std * dl_rand_normal(&rng);
        memset(m->params + L->b_off, 0, L->n_b * sizeof(float));
    }
    return DL_OK;
}

int dl_model_tensors(const dl_model *m, float *params, dl_tensor *t)
{
    int n = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        if (!L->n_w) continue;
        dl_tensor *tw = &t[n], *tb = &t[n + 1];
        memset(tw, 0, sizeof *tw);
        memset(tb, 0, sizeof *tb);
        tw->name = m->tensor_names[n];
        tb->name = m->tensor_names[n + 1];
        tw->data = params + L->w_off;
        tb->data = params + L->b_off;
        if (L->spec.kind == DL_CONV) {         /* (OC, C, K, K) */
            tw->ndim = 4;
            tw->shape[0] = L->out_c; tw->shape[1] = L->in_c;
            tw->shape[2] = tw->shape[3] = L->spec.k;
        } else {                               /* (OUT, IN) */
            tw->ndim = 2;
            tw->shape[0] = (int)L->out_size; tw->shape[1] = (int)L->in_size;
        }
        tb->ndim = 1;
        tb->shape[0] = (int)L->n_b;
        n += 2;
    }
    return n;
}

#ifndef __EMSCRIPTEN__
int dl_model_alloc(dl_model *m)
{
    m->params = calloc(m->n_params, sizeof(float));
    return m->params ? DL_OK : DL_ERR_NOMEM;
}

void dl_model_free(dl_model *m)
{
    free(m->params);
    m->params = NULL;
}

int dl_work_alloc(dl_work *w, const dl_model *m, int cap)
{
    memset(w, 0, sizeof *w);
    if (cap < 1) return DL_ERR_ARG;
    w->cap = cap;
    w->acts = calloc(m->n_acts * cap, sizeof(float));
    w->dacts = calloc(m->n_acts * cap, sizeof(float));
    if (!w->acts || !w->dacts) {
        dl_work_free(w);
        return DL_ERR_NOMEM;
    }
    return DL_OK;
}

void dl_work_free(dl_work *w)
{
    free(w->acts);
    free(w->dacts);
    memset(w, 0, sizeof *w);
}
#endif

float *dl_layer_out(const dl_model *m, const dl_work *w, int i)
{
    return w->acts + (i < 0 ? 0 : m->layers[i].act_off * w->cap);
}

float *dl_layer_grad(const dl_model *m, const dl_work *w, int i)
{
    return w->dacts + (i < 0 ? 0 : m->layers[i].act_off * w->cap);
}

const float *dl_logits(const dl_model *m, const dl_work *w)
{
    return dl_layer_out(m, w, m->n_layers - 1);
}

int dl_forward(const dl_model *m, dl_work *w, const float *x, int B)
{
    if (!m || !m->params || !w || !x || B < 1 || B > w->cap) return DL_ERR_ARG;
    memcpy(w->acts, x, (size_t)B * DL_IN_SIZE * sizeof(float));
    for (int i = 0; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        const float *in = dl_layer_out(m, w, i - 1);
        float *out = dl_layer_out(m, w, i);
        const float *p = m->params;
        switch (L->spec.kind) {
        case DL_CONV:
            dl_conv_forward(out, in, p + L->w_off, p + L->b_off, B,
                            L->in_c, L->in_h, L->in_w, L->out_c, L->spec.k);
            break;
        case DL_RELU:
            dl_relu_forward(out, in, (size_t)B * L->out_size);
            break;
        case DL_MAXPOOL:
            dl_maxpool_forward(out, in, B, L->in_c, L->in_h, L->in_w, L->spec.size);
            break;
        case DL_DENSE:
            dl_dense_forward(out, in, p + L->w_off, p + L->b_off, B,
                             (int)L->in_size, (int)L->out_size);
            break;
        case DL_FLATTEN:
            break; /* shares its input's block */
        }
    }
    return DL_OK;
}

int dl_backward(const dl_model *m, dl_work *w, const float *dlogits, int B,
                int stop, float *grads)
{
    if (!m || !w || !dlogits || B < 1 || B > w->cap ||
        stop < -1 || stop >= m->n_layers)
        return DL_ERR_ARG;
    /* Zero the gradient blocks this pass will accumulate into. */
    for (int i = stop; i < m->n_layers; i++) {
        size_t n = (size_t)B * (i < 0 ? DL_IN_SIZE : m->layers[i].out_size);
        memset(dl_layer_grad(m, w, i), 0, n * sizeof(float));
    }
    memcpy(dl_layer_grad(m, w, m->n_layers - 1), dlogits,
           (size_t)B * DL_CLASSES * sizeof(float));
    int lowest = grads ? 0 : stop + 1;
    for (int i = m->n_layers - 1; i >= lowest; i--) {
        const dl_layer *L = &m->layers[i];
        const float *in = dl_layer_out(m, w, i - 1);
        const float *out = dl_layer_out(m, w, i);
        const float *dout = dl_layer_grad(m, w, i);
        float *din = i - 1 >= stop ? dl_layer_grad(m, w, i - 1) : NULL;
        const float *p = m->params;
        float *dw = grads ? grads + L->w_off : NULL;
        float *db = grads ? grads + L->b_off : NULL;
        switch (L->spec.kind) {
        case DL_CONV:
            dl_conv_backward(din, dw, db, dout, in, p + L->w_off, B,
                             L->in_c, L->in_h, L->in_w, L->out_c, L->spec.k);
            break;
        case DL_RELU:
            if (din) dl_relu_backward(din, dout, out, (size_t)B * L->out_size);
            break;
        case DL_MAXPOOL:
            if (din)
                dl_maxpool_backward(din, dout, in, out, B, L->in_c, L->in_h, L->in_w,
                                    L->spec.size);
            break;
        case DL_DENSE:
            dl_dense_backward(din, dw, db, dout, in, p + L->w_off, B,
                              (int)L->in_size, (int)L->out_size);
            break;
        case DL_FLATTEN:
            break; /* its gradient block is its input's */
        }
    }
    return DL_OK;
}

/* ---- optimisers -------------------------------------------------------- */

/* m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 * p -= lr * m_hat / (sqrt(v_hat) + eps),  x_hat = x / (1 - b^t) */
void dl_adam_update(const dl_adam *a, float lr, float *params, const float *grads,
                    size_t first, size_t n)
{
    const float c1 = 1.0f - powf(a->beta1, (float)a->t);
    const float c2 = 1.0f - powf(a->beta2, (float)a->t);
    float *m = a->m + first, *v = a->v + first;
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        m[i] = a->beta1 * m[i] + (1.0f - a->beta1) * g;
        v[i] = a->beta2 * v[i] + (1.0f - a->beta2) * g * g;
        params[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + a->eps);
    }
}

void dl_adam_step(dl_adam *a, float *params, const float *grads, size_t n)
{
    a->t++;
    dl_adam_update(a, a->lr, params, grads, 0, n);
}

/* vel = mom * vel + g;  p -= lr * vel */
void dl_sgd_step(float *params, const float *grads, float *vel, size_t n,
                 float lr, float mom)
{
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        if (vel) g = vel[i] = mom * vel[i] + g;
        params[i] -= lr * g;
    }
}

/* ---- randomness -------------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, portable. */
uint64_t dl_rand_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float dl_rand_uniform(uint64_t *state)
{
    return (float)(dl_rand_u64(state) >> 40) * (1.0f / 16777216.0f);
}

/* Box-Muller; 1 - u keeps the log away from 0. */
float dl_rand_normal(uint64_t *state)
{
    float u1 = 1.0f - dl_rand_uniform(state), u2 = dl_rand_uniform(state);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}
