/* layers.c — ReLU, max-pool, dense, softmax cross-entropy: forward/backward
 * pairs over raw float arrays (the convolution is in conv.c). Backward
 * functions restate the forward they invert and ADD into their outputs, so
 * the caller zeroes once per pass.
 */
#include "digitlens.h"
#include "simd.h"

#include <math.h>
#include <string.h>

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
__attribute__((always_inline)) static inline void dense_group(float *out, const float *x, const float *wr,
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

