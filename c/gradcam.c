/* gradcam.c — class activation maps, their placement on the input, display
 * normalisation and colormaps.
 *
 * Grad-CAM (Selvaraju et al., 2017), as computed here:
 *   y^c       pre-softmax logit of class c (softmax saturation would zero
 *             the gradients of a confident prediction)
 *   A_k       channel k of the CAM layer's output, K x 24 x 24
 *   alpha_k^c = (1/Z) sum_ij dy^c / dA_k[i][j],   Z = 24 * 24
 *   L^c       = ReLU(sum_k alpha_k^c A_k),  at 24 x 24, before any resizing
 */
#include "digitlens.h"
#include "simd.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* The seed network's shape after A: max-pool, flatten, the last dense. */
static int pool_then_dense(const dl_model *m)
{
    int L = m->cam_layer;
    return L + 3 == m->n_layers - 1 && m->layers[L + 1].spec.kind == DL_MAXPOOL &&
           m->layers[L + 2].spec.kind == DL_FLATTEN && m->layers[L + 3].spec.kind == DL_DENSE;
}

/* The textbook alpha is a backward pass from the logit, stopped at A, and
 * the mean of its gradient over the cells (tests/c/test_gradcam.c does just
 * that with dl_backward and compares). This network needs none:
 * after max-pool -> flatten -> dense, dy^c/dA is zero except at each pool
 * window's winner, which receives fc.weight[c, k, cell]: every window passes
 * its gradient to exactly one cell (ties: the first). So
 *   alpha_k^c = (1/Z) sum_cells fc.weight[c, k, cell]
 * whatever the input: the same number the backward pass would give (up to
 * the order of a float sum) at 1/30 of its cost, and once per model
 * (dl_gradcam_prepare) rather than once per drawing. */
static void alpha_pool_dense(float *alpha, const dl_model *m, int c)
{
    const dl_layer *fc = &m->layers[m->n_layers - 1];
    const dl_layer *pool = &m->layers[m->cam_layer + 1];
    const int cells = pool->out_h * pool->out_w, K = pool->out_c;
    const float *wc = m->params + fc->w_off + (size_t)c * fc->in_size;
    for (int k = 0; k < K; k++) {
        float s = 0.0f;
        for (int q = 0; q < cells; q++) s += wc[k * cells + q];
        alpha[k] = s / (float)DL_MAP_SIZE;
    }
}

/* sum_k al[k] * a[k], in k order */
static inline v4 weighted_sum(const v4 *al, const v4 *a, const int K)
{
    v4 acc = v4_splat(0.0f);
    for (int k = 0; k < K; k++) acc = v4_madd(acc, al[k], a[k]);
    return acc;
}

/* maps[c] = ReLU(sum_k alpha[c][k] A_k), (24, 24), for every class in the
 * mask at once: each 4-cell vector of the K maps is loaded once and feeds
 * up to ten independent sums (one class at a time would be a chain of K
 * dependent adds per vector, and ten passes over A).
 * Where no ink reaches a cell's window, A_k there is the same for every such
 * cell (ReLU of the bias), and so is each map: a vector whose K values all
 * equal those of the top-left cell, far from any stroke, gets that cell's
 * map values (the same sums of the same numbers) without summing again.
 * That is about half the canvas of a digit. */
static inline void weighted_sums_k(float maps[][DL_MAP_SIZE], const int *cls, int n,
                                   v4 al[][DL_MAX_CHANNELS], const float *A, const int K)
{
    v4 a[DL_MAX_CHANNELS], rest[DL_MAX_CHANNELS], rest_map[DL_CLASSES];
    for (int k = 0; k < K; k++) rest[k] = v4_splat(A[(size_t)k * DL_MAP_SIZE]);
    for (int i = 0; i < n; i++) rest_map[i] = v4_relu(weighted_sum(al[i], rest, K));
    for (int p = 0; p < DL_MAP_SIZE; p += 4) {
        v4 same = v4_eq(rest[0], rest[0]);
        for (int k = 0; k < K; k++) {
            a[k] = v4_load(A + (size_t)k * DL_MAP_SIZE + p);
            same = v4_and(same, v4_eq(a[k], rest[k]));
        }
        if (v4_all(same))
            for (int i = 0; i < n; i++) v4_store(maps[cls[i]] + p, rest_map[i]);
        else
            for (int i = 0; i < n; i++) v4_store(maps[cls[i]] + p, v4_relu(weighted_sum(al[i], a, K)));
    }
}

static void weighted_sums_relu(float maps[][DL_MAP_SIZE], float alpha[][DL_MAX_CHANNELS],
                               unsigned classes, const float *A, int K)
{
    int cls[DL_CLASSES], n = 0;
    v4 al[DL_CLASSES][DL_MAX_CHANNELS]; /* alpha, broadcast once */
    for (int c = 0; c < DL_CLASSES; c++)
        if (classes & (1u << c)) {
            for (int k = 0; k < K; k++) al[n][k] = v4_splat(alpha[c][k]);
            cls[n++] = c;
        }
    if (K == 12) weighted_sums_k(maps, cls, n, al, A, 12); /* the seed network: unrolled */
    else weighted_sums_k(maps, cls, n, al, A, K);
}

int dl_gradcam_prepare(dl_model *m, float *buf)
{
    if (!m || !m->params) return DL_ERR_ARG;
    m->gradcam_alpha = NULL;
    if (!buf) return DL_OK;
    if (!pool_then_dense(m)) return DL_ERR_ARG;
    const int K = m->layers[m->cam_layer].out_c;
    for (int c = 0; c < DL_CLASSES; c++) {
        float a[DL_MAX_CHANNELS];
        alpha_pool_dense(a, m, c);
        memcpy(buf + (size_t)c * K, a, (size_t)K * sizeof(float));
    }
    m->gradcam_alpha = buf;
    return DL_OK;
}

int dl_gradcam(const dl_model *m, dl_work *w, const float *x, unsigned classes,
               dl_cam *out)
{
    if (!m || !m->params || !w || w->cap < 1 || !x || !out ||
        (classes & ~DL_ALL_CLASSES) || !pool_then_dense(m))
        return DL_ERR_ARG;
    int finite = 1; /* no early exit: the loop vectorises */
    for (int i = 0; i < DL_IN_SIZE; i++) finite &= fabsf(x[i]) <= FLT_MAX;
    if (!finite) return DL_ERR_NAN;

    /* Everything before the maps, and the maps of classes not asked for;
     * the others are overwritten below, and pixmaps (input-resolution
     * methods) are not this method's. */
    memset(out, 0, offsetof(dl_cam, maps));
    for (int c = 0; c < DL_CLASSES; c++)
        if (!(classes & (1u << c))) memset(out->maps[c], 0, sizeof out->maps[c]);
    out->side = DL_MAP_H;
    out->method = DL_M_GRADCAM;
    int st = dl_forward(m, w, x, 1);
    if (st) return st;
    const float *y = dl_logits(m, w);
    memcpy(out->logits, y, sizeof out->logits);
    dl_softmax(out->probs, out->logits, DL_CLASSES);
    out->digit = 0;
    for (int c = 1; c < DL_CLASSES; c++)
        if (y[c] > y[out->digit]) out->digit = c;
    out->classes = classes;

    const int L = m->cam_layer, K = m->layers[L].out_c;
    const float *A = dl_layer_out(m, w, L); /* (K, 24, 24) */
    for (int c = 0; c < DL_CLASSES; c++) {
        if (!(classes & (1u << c))) continue;
        if (m->gradcam_alpha)
            memcpy(out->alpha[c], m->gradcam_alpha + (size_t)c * K, (size_t)K * sizeof(float));
        else
            alpha_pool_dense(out->alpha[c], m, c);
    }
    weighted_sums_relu(out->maps, out->alpha, classes, A, K);
    return DL_OK;
}

/* Cell (i,j) of the 24x24 map sums the input window whose centre is pixel
 * (i+2, j+2): so the map sits on a 28x28 grid with a 2-cell zero border (no
 * window is centred there), and that grid is resized with pixel centres at
 * (k + 0.5): src = (dst + 0.5) * 28 / n - 0.5. Stretching 24 cells over 28
 * pixels instead would shift every feature outward by up to 2 pixels. */
static float padded(const float *map, int r, int c, int side)
{
    int b = (DL_IN_H - side) / 2; /* 2 for a 24x24 map, 0 for a 28x28 one */
    r -= b; c -= b;
    return (r < 0 || c < 0 || r >= side || c >= side) ? 0.0f : map[r * side + c];
}

int dl_cam_place(float *out, int out_h, int out_w, const float *map)
{
    return dl_cam_place_side(out, out_h, out_w, map, DL_MAP_H);
}

int dl_cam_place_side(float *out, int out_h, int out_w, const float *map, int side)
{
    if (!out || !map || out_h < 1 || out_w < 1 || out_h > DL_MAX_SIDE || out_w > DL_MAX_SIDE ||
        (side != DL_MAP_H && side != DL_IN_H))
        return DL_ERR_ARG;
    const float G = (float)DL_IN_H; /* the 28x28 grid */
    for (int y = 0; y < out_h; y++) {
        float sy = ((float)y + 0.5f) * G / (float)out_h - 0.5f;
        sy = sy < 0 ? 0 : sy > G - 1 ? G - 1 : sy;
        int y0 = (int)sy, y1 = y0 + 1 < DL_IN_H ? y0 + 1 : y0;
        float fy = sy - (float)y0;
        for (int x = 0; x < out_w; x++) {
            float sx = ((float)x + 0.5f) * G / (float)out_w - 0.5f;
            sx = sx < 0 ? 0 : sx > G - 1 ? G - 1 : sx;
            int x0 = (int)sx, x1 = x0 + 1 < DL_IN_W ? x0 + 1 : x0;
            float fx = sx - (float)x0;
            float top = padded(map, y0, x0, side) * (1 - fx) + padded(map, y0, x1, side) * fx;
            float bot = padded(map, y1, x0, side) * (1 - fx) + padded(map, y1, x1, side) * fx;
            out[(size_t)y * out_w + x] = top * (1 - fy) + bot * fy;
        }
    }
    return DL_OK;
}

static void range_of(const float *v, size_t n, float *lo, float *hi)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] < *lo) *lo = v[i];
        if (v[i] > *hi) *hi = v[i];
    }
}

static void rescale(float *out, const float *in, size_t n, float lo, float hi)
{
    /* A flat map carries no ranking of pixels: show nothing rather than
     * divide by zero (or by a rounding residue). */
    float span = hi - lo;
    if (!(span > 1e-12f * fmaxf(1.0f, fabsf(hi)))) {
        memset(out, 0, n * sizeof(float));
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = (in[i] - lo) / span;
}

void dl_cam_normalize(float *out, const float *in, int n, int size, int shared)
{
    if (!out || !in || n < 1 || size < 1) return;
    /* one range over all n maps, or one per map */
    const size_t len = shared ? (size_t)n * size : (size_t)size;
    for (int i = 0; i < (shared ? 1 : n); i++) {
        float lo = INFINITY, hi = -INFINITY;
        range_of(in + i * len, len, &lo, &hi);
        rescale(out + i * len, in + i * len, len, lo, hi);
    }
}

/* matplotlib's viridis and inferno at t = 0, 0.1, ..., 1; linear between. */
static const uint8_t cmaps[2][11][3] = {
    { { 0x44, 0x01, 0x54 }, { 0x48, 0x24, 0x75 }, { 0x41, 0x44, 0x87 }, { 0x35, 0x5f, 0x8d },
      { 0x2a, 0x78, 0x8e }, { 0x21, 0x91, 0x8c }, { 0x22, 0xa8, 0x84 }, { 0x44, 0xbf, 0x70 },
      { 0x7a, 0xd1, 0x51 }, { 0xbd, 0xdf, 0x26 }, { 0xfd, 0xe7, 0x25 } },
    { { 0x00, 0x00, 0x04 }, { 0x16, 0x0b, 0x39 }, { 0x42, 0x0a, 0x68 }, { 0x6a, 0x17, 0x6e },
      { 0x93, 0x26, 0x67 }, { 0xbc, 0x37, 0x54 }, { 0xdd, 0x51, 0x3a }, { 0xf3, 0x78, 0x19 },
      { 0xfc, 0xa5, 0x0a }, { 0xf6, 0xd7, 0x46 }, { 0xfc, 0xff, 0xa4 } },
};

void dl_colormap_rgb(uint8_t rgb[3], float t, dl_colormap cmap)
{
    if (!(t > 0.0f)) t = 0.0f; /* also NaN */
    if (t > 1.0f) t = 1.0f;
    const uint8_t (*lut)[3] = cmaps[cmap == DL_INFERNO ? 1 : 0];
    float s = t * 10.0f;
    int i = (int)s < 10 ? (int)s : 9;
    float f = s - (float)i;
    for (int ch = 0; ch < 3; ch++)
        rgb[ch] = (uint8_t)(lut[i][ch] + f * (lut[i + 1][ch] - lut[i][ch]) + 0.5f);
}
