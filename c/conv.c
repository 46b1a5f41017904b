/* conv.c — the convolution layer, forward and backward: the network's
 * hot loops. Layout NCHW, row-major; stride 1, no padding.
 *
 * Every path adds the terms of each sum in one fixed order that depends on
 * the shapes only, so the native build, WASM SIMD and plain WASM (simd.h's
 * v4 as plain C) give the same bits; a zero input, skipped, adds w * 0 = +-0,
 * which changes no sum (sums start at the bias, or at +0 for gradients).
 */
#include "digitlens.h"
#include "simd.h"

#include <stdint.h>
#include <string.h>


/* ---- forward ------------------------------------------------------------
 *
 * out[o,y,x] = bias[o] + sum_{c,i,j} w[o,c,i,j] * in[c,y+i,x+j]. Three paths
 * (dl_conv_path): the scatter for an image (one channel), the terms in the
 * plain loop's (i, j) order, so its bits; Winograd for a 3x3 kernel over a
 * feature map (below); the plain loops for the rest. Both fast paths keep
 * output channels in the lanes of the vectors (OC zero-padded to OCP, a
 * multiple of 4), the kernels packed once (dl_conv_pack). */
/* The kernels below take their vector counts as constants where the caller
 * has them: always inlined, so that each call site gets its own copy with
 * the sums in registers (a compiler that chose not to inline, as emcc did
 * at -O2, ran them with the arrays of sums in memory, copied with memcpy). */
#define DL_INLINE static inline __attribute__((always_inline))

enum { CONV_MAX_OCP = DL_MAX_CHANNELS, CONV_LANES = 16,
       CONV_WT = 8192,   /* floats of wT: the fast paths' limit (C*K*K*OCP) */
       CONV_OW = DL_IN_W, CONV_PIX = DL_IN_SIZE };

/* the scatter's lanes per group of output channels (see below) */
static int scatter_lanes(int OC)
{
#ifndef __EMSCRIPTEN__
    if (OC == 12) return 12;
#endif
    (void)OC;
    return 16;
}

/* The scatter path, for the first layer (C = 1): each non-zero input pixel
 * adds its value times a kernel row into the output row it reaches, all
 * output channels at once. A digit's canvas is four-fifths zeros, and a zero
 * pixel would add w * 0 = 0 to each sum: skipping it is exact and saves most
 * of the work, with no branch per tap. One output row is summed at a time,
 * (OW, OCP) floats that stay in the L1 cache, then transposed into out. For
 * output (y, x) the terms come in (i, j) order. The channels go in groups
 * of 16 lanes (NV = 4 vectors; the last group zero-padded), one copy of the
 * loops for any OC; the native build, where training runs the seed
 * network's 12 channels through it every step, keeps a 12-lane copy too
 * (38 % fewer instructions in its conv than 16 lanes); each lane's sums are
 * the same whichever copy runs. */

/* row[x-j, :] += v * wr[j, :] for the taps j whose output x-j lies in 0..OW-1
 * (wr: one kernel row, OCP floats per tap) */
DL_INLINE void scatter_taps(float *row, const float *wr, float v, int x, int OW, int K,
                                const int NV)
{
    const int OCP = 4 * NV;
    const v4 vv = v4_splat(v);
    int j0 = x - OW + 1 > 0 ? x - OW + 1 : 0, j1 = x < K - 1 ? x : K - 1;
    for (int j = j0; j <= j1; j++)
        for (int n = 0; n < NV; n++) {
            float *o = row + (size_t)(x - j) * OCP + 4 * n;
            v4_store(o, v4_madd(v4_load(o), v4_load(wr + j * OCP + 4 * n), vv));
        }
}

/* K = 5 (both built-in networks), for the pixel at x and its right-hand
 * neighbour (all five taps of x landing; zero or not, the neighbour's terms
 * come right after x's, as in the per-pixel order): their six output
 * positions are summed in registers, loaded and stored once for both (a
 * stroke is 2-3 pixels wide: most non-zero pixels have a non-zero
 * neighbour). A zero neighbour adds w x 0 = +-0 to its sums, which changes
 * none that is not -0 (each starts at its bias). x = OW - 1 also touches
 * position OW, summed but never read. Every address is a constant offset
 * from the lowest. */
DL_INLINE void scatter_pair_5(float *row, const float *wr, const float *v, int x, const int NV)
{
    const int OCP = 4 * NV;
    float *low = row + (size_t)(x - 4) * OCP;
    const v4 v0 = v4_splat(v[0]), v1 = v4_splat(v[1]);
    for (int n = 0; n < NV; n++) {
        v4 acc[6];
        for (int o = 0; o < 6; o++) acc[o] = v4_load(low + o * OCP + 4 * n);
        for (int j = 0; j < 5; j++) acc[4 - j] = v4_madd(acc[4 - j], v4_load(wr + j * OCP + 4 * n), v0);
        for (int j = 0; j < 5; j++) acc[5 - j] = v4_madd(acc[5 - j], v4_load(wr + j * OCP + 4 * n), v1);
        for (int o = 0; o < 6; o++) v4_store(low + o * OCP + 4 * n, acc[o]);
    }
}

/* out[g, y, x0 .. x0+3] for the four channels in the lanes of r0..r3, which
 * hold positions x0 .. x0+3: transposed, channels past OC dropped */
DL_INLINE void store_4x4(float *out, size_t plane, v4 r0, v4 r1, v4 r2, v4 r3, int g, int OC)
{
    v4_transpose(r0, r1, r2, r3);
    v4 t[4] = { r0, r1, r2, r3 };
    for (int l = 0; l < 4 && g + l < OC; l++) v4_store(out + (size_t)(g + l) * plane, t[l]);
}

/* One image, one group of output channels (OC of them, at most 4 * NV):
 * wT (K, K, 4 * NV); bias: 4 * NV floats. */
DL_INLINE void conv_scatter(float *out, const float *in, const float *wT, const float *bias,
                                int H, int W, int OC, int K, const int NV)
{
    const int OCP = 4 * NV, OH = H - K + 1, OW = W - K + 1, P = OH * OW;
    /* the non-zero pixels of each input row, without a branch: columns
     * nz[first[y] .. first[y+1]-1] */
    int nz[CONV_PIX], first[DL_IN_H + 1], n = 0;
    for (int r = 0; r < H; r++) {
        first[r] = n;
        for (int x = 0; x < W; x++) {
            nz[n] = x;
            n += in[(size_t)r * W + x] != 0.0f;
        }
    }
    first[H] = n;
    v4 b[CONV_LANES / 4];
    for (int v = 0; v < NV; v++) b[v] = v4_load(bias + 4 * v);
    float row[(CONV_OW + 1) * CONV_LANES];
    for (int y = 0; y < OH; y++) {
        for (int x = 0; x <= OW; x++) /* OW: see scatter_pair_5 */
            for (int v = 0; v < NV; v++) v4_store(row + x * OCP + 4 * v, b[v]);
        for (int i = 0; i < K; i++) {
            const int r = y + i;
            const float *ir = in + (size_t)r * W, *wr = wT + (size_t)i * K * OCP;
            for (int q = first[r], end = first[r + 1]; q < end;) {
                const int x = nz[q];
                if (K == 5 && x >= 4 && x < OW) {
                    scatter_pair_5(row, wr, ir + x, x, NV); /* and x + 1, done with it */
                    q += 1 + (q + 1 < end && nz[q + 1] == x + 1);
                } else {
                    scatter_taps(row, wr, ir[x], x, OW, K, NV);
                    q++;
                }
            }
        }
        /* row (OW, OCP) -> out[g, y, :], four positions by four channels */
        float *oy = out + (size_t)y * OW;
        int x = 0;
        for (; x + 4 <= OW; x += 4)
            for (int v = 0; v < NV; v++) {
                const float *a = row + (size_t)x * OCP + 4 * v;
                store_4x4(oy + x, P, v4_load(a), v4_load(a + OCP), v4_load(a + 2 * OCP),
                          v4_load(a + 3 * OCP), 4 * v, OC);
            }
        for (; x < OW; x++)
            for (int g = 0; g < OC; g++) oy[(size_t)g * P + x] = row[(size_t)x * OCP + g];
    }
}

/* The Winograd path, for a 3x3 feature-map convolution with an even output
 * (the two-conv network's conv2, 16 -> 32 channels, 12x12 -> 10x10):
 * Lavin and Gray's F(2x2, 3x3) computes each 2x2 output tile from a 4x4
 * input tile with 16 multiplies per (output, input) channel pair instead
 * of 36 (2.25x fewer), through linear transforms that are sums:
 *   U = G g G^T      each 3x3 kernel as 4x4     (once per call)
 *   V = B^T d B      each 4x4 input tile        (per tile and channel)
 *   M = sum_c U (.) V                           (elementwise, per tile)
 *   Y = A^T M A      the 2x2 outputs, plus the bias
 *   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], B^T = [1 0 -1 0; 0 1 1 0;
 *   0 -1 1 0; 0 1 0 -1], A^T = [1 1 1 0; 0 1 -1 -1].
 * Not the plain loop's order of terms, so not its bits to the last place
 * (within a few float roundings; tested), but one fixed order: every build
 * gives the same bits. Output channels in the lanes (8 vectors of sums in
 * registers per tile position); an input channel whose 4x4 tile is all zero
 * (a ReLU and a max-pool before leave many) adds nothing and is skipped. */
enum { WINO_U = 8192, WINO_C = DL_MAX_CHANNELS, WINO_NV = 8 };

static void wino_kernels(float *U, const float *w, int C, int OC, int OCP)
{
    /* U[xi][c][o], xi = 4 * row + column of the 4x4 */
    for (int o = 0; o < OCP; o++)
        for (int c = 0; c < C; c++) {
            float g[9] = { 0 }, t[4][3], u[4][4];
            if (o < OC) memcpy(g, w + ((size_t)o * C + c) * 9, sizeof g);
            for (int j = 0; j < 3; j++) { /* G g: the rows */
                t[0][j] = g[j];
                t[1][j] = (g[j] + g[3 + j] + g[6 + j]) * 0.5f;
                t[2][j] = (g[j] - g[3 + j] + g[6 + j]) * 0.5f;
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) { /* (G g) G^T: the columns */
                u[i][0] = t[i][0];
                u[i][1] = (t[i][0] + t[i][1] + t[i][2]) * 0.5f;
                u[i][2] = (t[i][0] - t[i][1] + t[i][2]) * 0.5f;
                u[i][3] = t[i][2];
            }
            for (int x = 0; x < 16; x++) U[((size_t)x * C + c) * OCP + o] = u[x / 4][x % 4];
        }
}

/* M = sum over the listed channels of U (.) V for one tile, channels
 * g0 .. g0 + 4 * NV - 1 of the output; then Y = A^T M A + bias, stored at
 * out (the tile's top-left, plane floats between channels, row stride OW) */
DL_INLINE void wino_tile(float *out, size_t plane, int OW, const float *U, const float (*V)[WINO_C],
                             const int *list, int nl, const float *bias, int C, int OCP, int OC,
                             int g0, const int NV)
{
    v4 m[16][WINO_NV];
    for (int x = 0; x < 16; x++) {
        v4 acc[WINO_NV];
        for (int v = 0; v < NV; v++) acc[v] = v4_splat(0.0f);
        for (int q = 0; q < nl; q++) {
            const int c = list[q];
            const v4 s = v4_splat(V[x][c]);
            const float *u = U + ((size_t)x * C + c) * OCP + g0;
            for (int v = 0; v < NV; v++) acc[v] = v4_madd(acc[v], v4_load(u + 4 * v), s);
        }
        for (int v = 0; v < NV; v++) m[x][v] = acc[v];
    }
    for (int v = 0; v < NV; v++) {
        v4 t[2][4], y[4];
        for (int j = 0; j < 4; j++) { /* A^T M */
            t[0][j] = v4_add(v4_add(m[j][v], m[4 + j][v]), m[8 + j][v]);
            t[1][j] = v4_add(v4_add(m[4 + j][v], v4_mul(m[8 + j][v], v4_splat(-1.0f))),
                             v4_mul(m[12 + j][v], v4_splat(-1.0f)));
        }
        const v4 b = v4_load(bias + g0 + 4 * v);
        for (int i = 0; i < 2; i++) { /* (A^T M) A, plus the bias */
            y[2 * i] = v4_add(b, v4_add(v4_add(t[i][0], t[i][1]), t[i][2]));
            y[2 * i + 1] = v4_add(b, v4_add(v4_add(t[i][1], v4_mul(t[i][2], v4_splat(-1.0f))),
                                            v4_mul(t[i][3], v4_splat(-1.0f))));
        }
        for (int k = 0; k < 4; k++) {
            float l[4];
            v4_store(l, y[k]);
            float *o = out + (k >> 1) * OW + (k & 1);
            for (int e = 0; e < 4 && g0 + 4 * v + e < OC; e++) o[(size_t)(g0 + 4 * v + e) * plane] = l[e];
        }
    }
}

static void conv_winograd3(float *out, const float *in, const float *U, const float *bias,
                           int C, int H, int W, int OC)
{
    const int OH = H - 2, OW = W - 2, P = OH * OW, OCP = (OC + 3) & ~3;
    for (int ty = 0; ty < OH; ty += 2)
        for (int tx = 0; tx < OW; tx += 2) {
            float V[16][WINO_C];
            int list[WINO_C], nl = 0;
            for (int c = 0; c < C; c++) {
                const float *d = in + ((size_t)c * H + ty) * W + tx;
                v4 r0 = v4_load(d), r1 = v4_load(d + W), r2 = v4_load(d + 2 * W), r3 = v4_load(d + 3 * W);
                list[nl] = c; /* the channels with ink in this tile, no branch */
                nl += v4_nonzero(r0) | v4_nonzero(r1) | v4_nonzero(r2) | v4_nonzero(r3);
                /* B^T d, then the same on its columns: w_j holds column j of V */
                v4 a0 = v4_add(r0, v4_mul(r2, v4_splat(-1.0f))), a1 = v4_add(r1, r2);
                v4 a2 = v4_add(r2, v4_mul(r1, v4_splat(-1.0f))), a3 = v4_add(r1, v4_mul(r3, v4_splat(-1.0f)));
                v4_transpose(a0, a1, a2, a3);
                v4 w0 = v4_add(a0, v4_mul(a2, v4_splat(-1.0f))), w1 = v4_add(a1, a2);
                v4 w2 = v4_add(a2, v4_mul(a1, v4_splat(-1.0f))), w3 = v4_add(a1, v4_mul(a3, v4_splat(-1.0f)));
                float col[4][4];
                v4_store(col[0], w0); v4_store(col[1], w1); v4_store(col[2], w2); v4_store(col[3], w3);
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) V[4 * i + j][c] = col[j][i];
            }
            float *o = out + (size_t)ty * OW + tx;
            for (int g0 = 0; g0 < OCP; g0 += 4 * WINO_NV) /* (OCP is a multiple of 32) */
                wino_tile(o, P, OW, U, V, list, nl, bias, C, OCP, OC, g0, WINO_NV);
        }
}

/* ---- the forward's path ---------------------------------------------------- */

int dl_conv_path(int C, int H, int W, int OC, int K)
{
    const int OH = H - K + 1, OW = W - K + 1, OCP = (OC + 3) & ~3, L = scatter_lanes(OC);
    if (K == 3 && C > 1 && C <= WINO_C && OH % 2 == 0 && OW % 2 == 0 && OCP % (4 * WINO_NV) == 0 &&
        16 * C * OCP <= WINO_U)
        return DL_CONV_WINOGRAD;
    if (C == 1 && K * K * (OC + L - 1) / L * L <= CONV_WT && OW <= CONV_OW && H * W <= CONV_PIX)
        return DL_CONV_SCATTER;
    return DL_CONV_PLAIN; /* (any other feature map: correct, not fast) */
}

/* floats of the packed kernels before the bias */
static size_t packed_kernels(int path, int C, int OC, int K)
{
    const int L = scatter_lanes(OC);
    return path == DL_CONV_WINOGRAD ? (size_t)16 * C * ((OC + 3) & ~3)
                                    : (size_t)K * K * ((OC + L - 1) / L * L);
}

size_t dl_conv_packed_size(int C, int H, int W, int OC, int K)
{
    const int path = dl_conv_path(C, H, W, OC, K), L = scatter_lanes(OC);
    if (path == DL_CONV_PLAIN) return 0;
    return packed_kernels(path, C, OC, K) +
           (size_t)(path == DL_CONV_WINOGRAD ? (OC + 3) & ~3 : (OC + L - 1) / L * L);
}

/* The kernels as the path reads them, then the bias zero-padded: Winograd's
 * U (16, C, OCP); the scatter's wT, per group of L output channels
 * (K, K, L), the taps' weights with the channels contiguous. */
void dl_conv_pack(float *packed, const float *w, const float *bias, int C, int H, int W, int OC,
                  int K)
{
    const int path = dl_conv_path(C, H, W, OC, K), taps = K * K;
    if (path == DL_CONV_PLAIN) return;
    const int L = path == DL_CONV_WINOGRAD ? (OC + 3) & ~3 : scatter_lanes(OC),
              G = (OC + L - 1) / L;
    float *bp = packed + packed_kernels(path, C, OC, K);
    if (path == DL_CONV_WINOGRAD) wino_kernels(packed, w, C, OC, L);
    else /* (OC, taps) -> (G, taps, L), zero-padded */
        for (int g = 0; g < G; g++)
            for (int t = 0; t < taps; t++)
                for (int l = 0; l < L; l++) {
                    const int o = g * L + l;
                    packed[((size_t)g * taps + t) * L + l] = o < OC ? w[(size_t)o * taps + t] : 0.0f;
                }
    for (int g = 0; g < G * L; g++) bp[g] = g < OC ? bias[g] : 0.0f;
}

void dl_conv_forward_packed(float *out, const float *inp, const float *packed, int B, int C,
                            int H, int W, int OC, int K)
{
    const int OH = H - K + 1, OW = W - K + 1, P = OH * OW, path = dl_conv_path(C, H, W, OC, K),
              L = scatter_lanes(OC);
    const float *bp = packed + packed_kernels(path, C, OC, K);
    for (int b = 0; b < B; b++) {
        const float *ib = inp + (size_t)b * C * H * W;
        float *ob = out + (size_t)b * OC * P;
        if (path == DL_CONV_WINOGRAD) {
            conv_winograd3(ob, ib, packed, bp, C, H, W, OC);
            continue;
        }
        /* constant lane counts keep the sums in registers */
        for (int g0 = 0; g0 < OC; g0 += L) {
            const float *wg = packed + (size_t)g0 * K * K;
            const int n = OC - g0 < L ? OC - g0 : L;
            if (L == 16) conv_scatter(ob + (size_t)g0 * P, ib, wg, bp + g0, H, W, n, K, 4);
#ifndef __EMSCRIPTEN__
            else conv_scatter(ob + (size_t)g0 * P, ib, wg, bp + g0, H, W, n, K, 3);
#endif
        }
    }
}

/* inp (B,C,H,W), w (OC,C,K,K), bias (OC), out (B,OC,H-K+1,W-K+1) */
void dl_conv_forward(float *out, const float *inp, const float *w, const float *bias,
                     int B, int C, int H, int W, int OC, int K)
{
    if (dl_conv_path(C, H, W, OC, K) != DL_CONV_PLAIN) {
        float packed[WINO_U + CONV_MAX_OCP > CONV_WT + CONV_MAX_OCP ? WINO_U + CONV_MAX_OCP
                                                                    : CONV_WT + CONV_MAX_OCP];
        dl_conv_pack(packed, w, bias, C, H, W, OC, K);
        dl_conv_forward_packed(out, inp, packed, B, C, H, W, OC, K);
        return;
    }
    const int OH = H - K + 1, OW = W - K + 1, taps = C * K * K;
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

/* ---- backward ----------------------------------------------------------- */

/* dw[o,c,i,j] += sum_{y,x} dout[o,y,x] * in[c,y+i,x+j] for one image, as
 * four lanes of partial sums per weight: lane l sums the positions x = 4m+l
 * of every row, in (y, m) order, then (l0 + l1) + (l2 + l3). Both factors
 * are mostly zero (the canvas is mostly empty; max-pool passes a gradient
 * to one cell in four): the steps (y, 4m..4m+3) where every channel's
 * gradient is zero are dropped first, and a step whose input vector is all
 * zero is skipped per tap. (A skipped product is +-0, and adding +-0 to a
 * sum that starts at +0 never changes it: the same bits as adding it.)
 * Then tap by tap, a group of channels' sums stay in registers. A row whose
 * width is not a multiple of 4 ends in a step whose missing positions have
 * a zero gradient: their inputs are read from a copy with three zero
 * columns more, so nothing is read past the image. */
enum { DW_GROUP = 12, DW_STEPS = 160, DW_PAD = 4096 };

/* one tap's weights of G channels: dw[o * taps] += sum over the n steps */
DL_INLINE void dw_tap(float *dw, int taps, v4 d[][DW_GROUP], const int *at, int n,
                          const float *it, const int G)
{
    v4 acc[DW_GROUP];
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
    float pad[DW_PAD];
    if (OW % 4) { /* rows of W + 3, the last three zero */
        for (int r = 0; r < C * H; r++) {
            memcpy(pad + (size_t)r * (W + 3), in + (size_t)r * W, (size_t)W * sizeof(float));
            memset(pad + (size_t)r * (W + 3) + W, 0, 3 * sizeof(float));
        }
        in = pad;
        W += 3;
    }
    /* groups of 12 channels (the seed network's count), else of 8 */
    const int gs = OC % DW_GROUP == 0 ? DW_GROUP : 8;
    for (int g0 = 0; g0 < OC; g0 += gs) {
        const int G = OC - g0 < gs ? OC - g0 : gs;
        v4 d[DW_STEPS][DW_GROUP];
        int at[DW_STEPS], n = 0; /* the steps kept: offset y * W + x in a channel of in */
        for (int y = 0; y < OH; y++)
            for (int x = 0; x < OW; x += 4) {
                int any = 0;
                for (int o = 0; o < G; o++) {
                    const float *r = dout + ((size_t)(g0 + o) * OH + y) * OW + x;
                    if (x + 4 <= OW) {
                        d[n][o] = v4_load(r);
                    } else {
                        float l[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
                        for (int k = 0; k < OW - x; k++) l[k] = r[k];
                        d[n][o] = v4_load(l);
                    }
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
                    if (G == 12) /* a constant G keeps the sums in registers */
                        dw_tap(dwt, taps, d, at, n, it, 12);
                    else if (G == 8)
                        dw_tap(dwt, taps, d, at, n, it, 8);
                    else
                        dw_tap(dwt, taps, d, at, n, it, G);
                }
    }
}

/* dinp[c,y+i,x+j] += sum_{o,i,j} w[o,c,i,j] * dout[o,y,x] for one image of a
 * feature map (C a multiple of 4, in the lanes): each non-zero gradient
 * (after a max-pool, one cell in four at most) adds its weights times it
 * into the K x K input positions it came from, all channels at once, in a
 * channel-last copy (H, W, C) added into dinp at the end. The terms of each
 * input position come by output position (row-major), then o. wc: the
 * weights as (OC, K, K, C). */
enum { DINP_MAX = 4096 };
static void conv_dinp_vec(float *dinp, const float *dout, const float *wc,
                          int C, int H, int W, int OC, int K)
{
    const int OH = H - K + 1, OW = W - K + 1, NV = C / 4;
    float dT[DINP_MAX];
    memset(dT, 0, (size_t)H * W * C * sizeof(float));
    for (int y = 0; y < OH; y++)
        for (int x = 0; x < OW; x++) {
            int nz[DL_MAX_CHANNELS], n = 0; /* the channels with a gradient here, no branch */
            for (int o = 0; o < OC; o++) {
                nz[n] = o;
                n += dout[((size_t)o * OH + y) * OW + x] != 0.0f;
            }
            for (int q = 0; q < n; q++) {
                const int o = nz[q];
                const v4 g = v4_splat(dout[((size_t)o * OH + y) * OW + x]);
                for (int i = 0; i < K; i++)
                    for (int j = 0; j < K; j++) {
                        float *d = dT + ((size_t)(y + i) * W + x + j) * C;
                        const float *wv = wc + ((size_t)(o * K + i) * K + j) * C;
                        for (int v = 0; v < NV; v++)
                            v4_store(d + 4 * v, v4_madd(v4_load(d + 4 * v), v4_load(wv + 4 * v), g));
                    }
            }
        }
    for (int c = 0; c < C; c++)
        for (int p = 0; p < H * W; p++) dinp[(size_t)c * H * W + p] += dT[(size_t)p * C + c];
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
    const int OH = H - K + 1, OW = W - K + 1;
    const int dw_vec = dw && OH * ((OW + 3) / 4) <= DW_STEPS && (OW % 4 == 0 || C * H * (W + 3) <= DW_PAD);
    const int dinp_vec = dinp && C % 4 == 0 && H * W * C <= DINP_MAX &&
                         OC * K * K * C <= CONV_WT;
    float wc[CONV_WT];
    if (dinp_vec) /* (OC, C, K, K) -> (OC, K, K, C) */
        for (int o = 0; o < OC; o++)
            for (int c = 0; c < C; c++)
                for (int t = 0; t < K * K; t++)
                    wc[((size_t)o * K * K + t) * C + c] = w[((size_t)o * C + c) * K * K + t];
    for (int b = 0; b < B; b++) {
        const float *ib = inp + (size_t)b * C * H * W;
        const float *dob = dout + (size_t)b * OC * OH * OW;
        float *dib = dinp ? dinp + (size_t)b * C * H * W : NULL;
        if (dw_vec) conv_dw_vec(dw, dob, ib, C, H, W, OC, K, OH, OW);
        if (dbias) channel_sums(dbias, dob, OC, OH * OW);
        if (dinp_vec) conv_dinp_vec(dib, dob, wc, C, H, W, OC, K);
        if ((!dw || dw_vec) && (!dib || dinp_vec)) continue;
        for (int o = 0; o < OC; o++) { /* the plain loops, for what the above did not do */
            const float *db = dob + (size_t)o * OH * OW;
            for (int c = 0; c < C; c++)
                for (int i = 0; i < K; i++)
                    for (int j = 0; j < K; j++) {
                        size_t wi = ((size_t)(o * C + c) * K + i) * K + j;
                        size_t io = ((size_t)c * H + i) * W + j;
                        if (dw && !dw_vec) {
                            float s = 0.0f;
                            for (int y = 0; y < OH; y++)
                                for (int x = 0; x < OW; x++)
                                    s += db[y * OW + x] * ib[io + y * W + x];
                            dw[wi] += s;
                        }
                        if (dib && !dinp_vec) {
                            float wv = w[wi];
                            for (int y = 0; y < OH; y++)
                                for (int x = 0; x < OW; x++)
                                    dib[io + y * W + x] += wv * db[y * OW + x];
                        }
                    }
        }
    }
}
