/* gradcam.c — class activation maps, their placement on the input, display
 * normalisation and colormaps.
 *
 * Grad-CAM (Selvaraju et al., 2017), as computed here:
 *   y^c       pre-softmax logit of class c (softmax saturation would zero
 *             the gradients of a confident prediction)
 *   A_k       channel k of the CAM layer's output, K x side x side
 *   alpha_k^c = (1/Z) sum_ij dy^c / dA_k[i][j],   Z = side * side
 *   L^c       = ReLU(sum_k alpha_k^c A_k),  on A's grid, before any resizing
 */
#include "digitlens.h"
#include "simd.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* After A: max-pool, flatten, and the last dense layer (both built-in
 * networks). */
int dl_gradcam_closed_form(const dl_model *m)
{
    int L = m->cam_layer;
    return L + 3 == m->n_layers - 1 && m->layers[L + 1].spec.kind == DL_MAXPOOL &&
           m->layers[L + 2].spec.kind == DL_FLATTEN && m->layers[L + 3].spec.kind == DL_DENSE;
}

/* The textbook alpha is a backward pass from the logit, stopped at A, and
 * the mean of its gradient over the cells (alpha_backward below; the tests
 * compare the two). After max-pool -> flatten -> dense, dy^c/dA is zero
 * except at each pool window's winner, which receives fc.weight[c, k, cell]:
 * every window passes its gradient to exactly one cell (ties: the first). So
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
        alpha[k] = s / (float)m->map_size;
    }
}

/* Any other tail: one backward pass from the logit of c to A (w holds the
 * forward of one image), alpha_k = the mean of dy^c/dA_k. (The page's
 * Grad-CAM-only module is built without it, -DDL_GRADCAM_CLOSED_ONLY: the
 * backward pass is a third of its code, and both built-in networks have
 * the closed form; another network gets DL_ERR_ARG there.) */
static int alpha_backward(float *alpha, const dl_model *m, dl_work *w, int c)
{
#ifdef DL_GRADCAM_CLOSED_ONLY
    (void)alpha; (void)m; (void)w; (void)c;
    return DL_ERR_ARG;
#endif
    float onehot[DL_CLASSES] = { 0 };
    onehot[c] = 1.0f;
    int st = dl_backward(m, w, onehot, 1, m->cam_layer, NULL);
    if (st) return st;
    const float *G = dl_layer_grad(m, w, m->cam_layer);
    const int Z = m->map_size;
    for (int k = 0; k < m->cam_k; k++) {
        float s = 0.0f;
        for (int p = 0; p < Z; p++) s += G[(size_t)k * Z + p];
        alpha[k] = s / (float)Z;
    }
    return DL_OK;
}

/* sum_k al[k] * a[k], in k order */
static inline v4 weighted_sum(const v4 *al, const v4 *a, const int K)
{
    v4 acc = v4_splat(0.0f);
    for (int k = 0; k < K; k++) acc = v4_madd(acc, al[k], a[k]);
    return acc;
}

/* map c = ReLU(sum_k alpha[c][k] A_k), Z cells, for every class in the
 * mask at once: each 4-cell vector of the K maps is loaded once and feeds
 * up to ten independent sums (one class at a time would be a chain of K
 * dependent adds per vector, and ten passes over A).
 * Where no ink reaches a cell's window, A_k there is the same for every such
 * cell (ReLU of what the bias gives), and so is each map: a vector whose K
 * values all equal those of the top-left cell, far from any stroke, gets
 * that cell's map values (the same sums of the same numbers) without
 * summing again. That is about half the canvas of a digit. */
static inline void weighted_sums_k(float *maps, const int *cls, int n, v4 al[][DL_MAX_CHANNELS],
                                   const float *A, const int K, const int Z)
{
    v4 a[DL_MAX_CHANNELS], rest[DL_MAX_CHANNELS], rest_map[DL_CLASSES];
    for (int k = 0; k < K; k++) rest[k] = v4_splat(A[(size_t)k * Z]);
    for (int i = 0; i < n; i++) rest_map[i] = v4_relu(weighted_sum(al[i], rest, K));
    int p = 0;
    for (; p + 4 <= Z; p += 4) {
        v4 same = v4_eq(rest[0], rest[0]);
        for (int k = 0; k < K; k++) {
            a[k] = v4_load(A + (size_t)k * Z + p);
            same = v4_and(same, v4_eq(a[k], rest[k]));
        }
        if (v4_all(same))
            for (int i = 0; i < n; i++) v4_store(maps + (size_t)cls[i] * Z + p, rest_map[i]);
        else
            for (int i = 0; i < n; i++) v4_store(maps + (size_t)cls[i] * Z + p, v4_relu(weighted_sum(al[i], a, K)));
    }
    for (; p < Z; p++) /* a map side that is not a multiple of 2 */
        for (int i = 0; i < n; i++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++) s += v4_lane(al[i][k], 0) * A[(size_t)k * Z + p];
            maps[(size_t)cls[i] * Z + p] = s > 0.0f ? s : 0.0f;
        }
}

static void weighted_sums_relu(float *maps, float alpha[][DL_MAX_CHANNELS], unsigned classes,
                               const float *A, int K, int Z)
{
    int cls[DL_CLASSES], n = 0;
    v4 al[DL_CLASSES][DL_MAX_CHANNELS]; /* alpha, broadcast once */
    for (int c = 0; c < DL_CLASSES; c++)
        if (classes & (1u << c)) {
            for (int k = 0; k < K; k++) al[n][k] = v4_splat(alpha[c][k]);
            cls[n++] = c;
        }
    /* the built-in networks' channel counts, unrolled */
#ifndef __EMSCRIPTEN__ /* (the page's module keeps the bytes: the seed's maps take 1 us more) */
    if (K == 12) weighted_sums_k(maps, cls, n, al, A, 12, Z);
    else
#endif
    weighted_sums_k(maps, cls, n, al, A, K, Z);
}

int dl_gradcam_prepare(dl_model *m, float *buf)
{
    if (!m || !m->params) return DL_ERR_ARG;
    m->gradcam_alpha = NULL;
    if (!buf) return DL_OK;
    if (!dl_gradcam_closed_form(m)) return DL_ERR_ARG;
    const int K = m->cam_k;
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
    if (!m || !m->params || !w || w->cap < 1 || !x || !out || (classes & ~DL_ALL_CLASSES))
        return DL_ERR_ARG;
    int finite = 1; /* no early exit: the loop vectorises */
    for (int i = 0; i < DL_IN_SIZE; i++) finite &= fabsf(x[i]) <= FLT_MAX;
    if (!finite) return DL_ERR_NAN;

    /* Everything before the maps, and the maps of classes not asked for;
     * the others are overwritten below. */
    const int Z = m->map_size;
    memset(out, 0, offsetof(dl_cam, maps));
    for (int c = 0; c < DL_CLASSES; c++)
        if (!(classes & (1u << c))) memset(out->maps + (size_t)c * Z, 0, (size_t)Z * sizeof(float));
    out->grid = m->grid;
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

    const int L = m->cam_layer, K = m->cam_k, closed = dl_gradcam_closed_form(m);
    const float *A = dl_layer_out(m, w, L); /* (K, side, side) */
    for (int c = 0; c < DL_CLASSES; c++) {
        if (!(classes & (1u << c))) continue;
        if (m->gradcam_alpha)
            memcpy(out->alpha[c], m->gradcam_alpha + (size_t)c * K, (size_t)K * sizeof(float));
        else if (closed)
            alpha_pool_dense(out->alpha[c], m, c);
        else if ((st = alpha_backward(out->alpha[c], m, w, c)))
            return st;
    }
    weighted_sums_relu(out->maps, out->alpha, classes, A, K, Z);
    return DL_OK;
}

const float *dl_cam_map(const dl_cam *cam, int c)
{
    if (!cam || c < 0 || c >= DL_CLASSES) return NULL;
    return cam->maps + (size_t)c * cam->grid.side * cam->grid.side;
}

/* Cell (i, j) of a map on grid g is centred on input pixel (off + stride * i,
 * off + stride * j): the seed network's 24x24 cell (i, j) sums the 5x5
 * window centred on pixel (i+2, j+2), so its map sits on the 28x28 input
 * with a 2-cell zero border (no window is centred there). The input is
 * resized with pixel centres at (k + 0.5): src = (dst + 0.5) * 28 / n - 0.5.
 * Stretching a map over the 28 pixels instead would shift every feature
 * outward (by up to 2 pixels for the seed's map). */
static float cell(const float *map, int side, int r, int c)
{
    return (r < 0 || c < 0 || r >= side || c >= side) ? 0.0f : map[r * side + c];
}

int dl_cam_place(float *out, int out_h, int out_w, const float *map, const dl_grid *g)
{
    if (!out || !map || !g || out_h < 1 || out_w < 1 || out_h > DL_MAX_SIDE ||
        out_w > DL_MAX_SIDE || g->side < 1 || g->side > DL_IN_H || !(g->stride > 0.0f))
        return DL_ERR_ARG;
    const float G = (float)DL_IN_H; /* the 28x28 input */
    for (int y = 0; y < out_h; y++) {
        float sy = ((float)y + 0.5f) * G / (float)out_h - 0.5f;
        sy = sy < 0 ? 0 : sy > G - 1 ? G - 1 : sy;
        const float uy = (sy - g->off) / g->stride, fy0 = floorf(uy), fy = uy - fy0;
        const int y0 = (int)fy0;
        for (int x = 0; x < out_w; x++) {
            float sx = ((float)x + 0.5f) * G / (float)out_w - 0.5f;
            sx = sx < 0 ? 0 : sx > G - 1 ? G - 1 : sx;
            const float ux = (sx - g->off) / g->stride, fx0 = floorf(ux), fx = ux - fx0;
            const int x0 = (int)fx0;
            float top = cell(map, g->side, y0, x0) * (1 - fx) + cell(map, g->side, y0, x0 + 1) * fx;
            float bot = cell(map, g->side, y0 + 1, x0) * (1 - fx) + cell(map, g->side, y0 + 1, x0 + 1) * fx;
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
