/* testutil.h — what every cmocka test of digitlens includes. */
#ifndef DIGITLENS_TESTUTIL_H
#define DIGITLENS_TESTUTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>
#include "digitlens.h"

/* |a - b| <= atol + rtol * max(|a|, |b|), with the values in the message. */
#define assert_close(a, b, atol, rtol) do {                                   \
        double a_ = (a), b_ = (b);                                            \
        double tol_ = (atol) + (rtol) * fmax(fabs(a_), fabs(b_));             \
        if (!(fabs(a_ - b_) <= tol_))                                         \
            fail_msg("%s = %.9g, %s = %.9g, |diff| %.3g > tol %.3g",          \
                     #a, a_, #b, b_, fabs(a_ - b_), tol_);                    \
    } while (0)

#define assert_ok(call) do {                                                  \
        int st_ = (call);                                                     \
        if (st_ != DL_OK) fail_msg("%s -> %s", #call, dl_strerror(st_));     \
    } while (0)

/* The networks the tests run, each as the library plans it: the two
 * built-in ones, and the two-conv network read at its first ReLU, whose
 * tail after A (pool, conv, relu, pool, dense) has no closed form, so that
 * Grad-CAM takes the backward pass. */
static const dl_arch twoconv_at_relu1 = { 8, 1, {
    { DL_CONV, "conv1", 16, 5 }, { DL_RELU, "relu1", 0, 0 }, { DL_MAXPOOL, "pool1", 2, 0 },
    { DL_CONV, "conv2", 32, 3 }, { DL_RELU, "relu2", 0, 0 }, { DL_MAXPOOL, "pool2", 2, 0 },
    { DL_FLATTEN, "flatten", 0, 0 }, { DL_DENSE, "fc", 10, 0 } } };
#define N_ARCHS 3
static const dl_arch *const test_archs[N_ARCHS] = { &dl_seednet, &dl_twoconv, &twoconv_at_relu1 };
static const char *const test_arch_names[N_ARCHS] = { "seednet", "twoconv", "twoconv@relu1" };

/* Layer l of m again in double precision, written out from its definition
 * without the library's code, as an independent reference: conv (stride
 * 1, no padding), ReLU, max-pool (the first maximum in row-major window
 * order), flatten, dense. in: layer l's input; out: its output. */
static inline void ref_layer(const dl_model *m, int l, const double *cur, double *nxt)
{
    const float *P = m->params;
    const dl_layer *L = &m->layers[l];
    const int C = L->in_c, H = L->in_h, W = L->in_w, OC = L->out_c, OH = L->out_h, OW = L->out_w;
    switch (L->spec.kind) {
    case DL_CONV: {
        const int K = L->spec.k;
        for (int o = 0; o < OC; o++)
            for (int y = 0; y < OH; y++)
                for (int x = 0; x < OW; x++) {
                    double s = P[L->b_off + o];
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < K; i++)
                            for (int j = 0; j < K; j++)
                                s += (double)P[L->w_off + ((o * C + c) * K + i) * K + j] *
                                     cur[(c * H + y + i) * W + x + j];
                    nxt[(o * OH + y) * OW + x] = s;
                }
        break;
    }
    case DL_RELU:
        for (size_t i = 0; i < L->out_size; i++) nxt[i] = cur[i] > 0 ? cur[i] : 0;
        break;
    case DL_MAXPOOL: {
        const int S = L->spec.size;
        for (int c = 0; c < C; c++)
            for (int y = 0; y < OH; y++)
                for (int x = 0; x < OW; x++) {
                    double best = cur[(c * H + S * y) * W + S * x];
                    for (int i = 0; i < S; i++)
                        for (int j = 0; j < S; j++) {
                            double v = cur[(c * H + S * y + i) * W + S * x + j];
                            if (v > best) best = v;
                        }
                    nxt[(c * OH + y) * OW + x] = best;
                }
        break;
    }
    case DL_FLATTEN:
        memcpy(nxt, cur, L->out_size * sizeof(double));
        break;
    case DL_DENSE:
        for (size_t o = 0; o < L->out_size; o++) {
            double s = P[L->b_off + o];
            for (size_t i = 0; i < L->in_size; i++)
                s += (double)P[L->w_off + o * L->in_size + i] * cur[i];
            nxt[o] = s;
        }
        break;
    }
}

/* Every layer's output from layer `first` on, in double: act[l + 1] is the
 * output of layer l, act[first] the given input (copied). ref_free frees. */
typedef struct { double *act[DL_MAX_LAYERS + 1]; int n; } ref_net;

static inline void ref_run(ref_net *r, const dl_model *m, int first, const double *in)
{
    memset(r, 0, sizeof *r);
    r->n = m->n_layers;
    const size_t n0 = first ? m->layers[first - 1].out_size : DL_IN_SIZE;
    r->act[first] = malloc(n0 * sizeof(double));
    memcpy(r->act[first], in, n0 * sizeof(double));
    for (int l = first; l < m->n_layers; l++) {
        r->act[l + 1] = malloc(m->layers[l].out_size * sizeof(double));
        ref_layer(m, l, r->act[l], r->act[l + 1]);
    }
}

static inline void ref_free(ref_net *r)
{
    for (int l = 0; l <= DL_MAX_LAYERS; l++) free(r->act[l]);
}

/* The layers first .. n-1 in double: in is layer first's input; logits (10). */
static inline void ref_forward_from(const dl_model *m, int first, const double *in,
                                    double *logits)
{
    ref_net r;
    ref_run(&r, m, first, in);
    memcpy(logits, r.act[m->n_layers], 10 * sizeof(double));
    ref_free(&r);
}

/* Plan a network, allocate, He-initialise with seed, one image of work. */
static inline void plan_test_model(dl_model *m, dl_work *w, const dl_arch *a, uint64_t seed)
{
    assert_ok(dl_model_plan(m, a));
    assert_ok(dl_model_alloc(m));
    assert_ok(dl_model_init_he(m, seed));
    assert_ok(dl_work_alloc(w, m, 1));
}

/* The conv layer whose output A is (the CAM layer itself, or the one
 * before its ReLU). */
static inline const dl_layer *cam_conv(const dl_model *m)
{
    int i = m->cam_layer;
    while (m->layers[i].spec.kind != DL_CONV) i--;
    return &m->layers[i];
}

/* No two cells of a 2x2 pool window of A (K maps of S x S) within 2h of each
 * other: a step of h in any cell then leaves every window's maximum where
 * it was, and the tail after A is linear around it. */
static inline void assert_pool_windows_apart(const double *A, int K, int S, double h)
{
    for (int k = 0; k < K; k++)
        for (int y = 0; y + 1 < S; y += 2)
            for (int x0 = 0; x0 + 1 < S; x0 += 2) {
                const double *a = A + (size_t)k * S * S + y * S + x0;
                double v[4] = { a[0], a[1], a[S], a[S + 1] };
                for (int i = 0; i < 4; i++)
                    for (int j = i + 1; j < 4; j++) assert_true(fabs(v[i] - v[j]) > 2 * h);
            }
}

#endif
