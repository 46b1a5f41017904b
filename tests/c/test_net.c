/* test_net.c — the layers and the network against central differences.
 *
 * Each layer check takes a scalar L = sum_i R[i] * out[i] with a fixed random
 * R, so dL/dout = R; the analytic backward is then compared with
 * (L(x + h e_k) - L(x - h e_k)) / 2h for every input and parameter k. */
#include "testutil.h"

static uint64_t rng = 12345;

static void fill(float *a, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) a[i] = lo + (hi - lo) * dl_rand_uniform(&rng);
}

/* Values away from 0 by at least `gap` so ReLU kinks and max-pool ties are
 * not crossed by a step of h < gap. */
static void fill_away(float *a, size_t n, float gap)
{
    for (size_t i = 0; i < n; i++) {
        float v = 2.0f * dl_rand_uniform(&rng) - 1.0f;
        a[i] = v < 0 ? v - gap : v + gap;
    }
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ---- conv -------------------------------------------------------------- */

enum { CB = 2, CC = 2, CH = 7, CW = 6, COC = 3, CK = 3,
       COH = CH - CK + 1, COW = CW - CK + 1,
       CIN = CB * CC * CH * CW, CWN = COC * CC * CK * CK, COUT = CB * COC * COH * COW };

static float conv_L(const float *x, const float *w, const float *b, const float *R)
{
    float out[COUT];
    dl_conv_forward(out, x, w, b, CB, CC, CH, CW, COC, CK);
    return (float)dot(out, R, COUT);
}

static void test_conv_gradient(void **state)
{
    (void)state;
    float x[CIN], w[CWN], b[COC], R[COUT];
    float dx[CIN] = { 0 }, dw[CWN] = { 0 }, db[COC] = { 0 };
    fill(x, CIN, -1, 1); fill(w, CWN, -1, 1); fill(b, COC, -1, 1); fill(R, COUT, -1, 1);
    dl_conv_backward(dx, dw, db, R, x, w, CB, CC, CH, CW, COC, CK);
    const float h = 1e-2f; /* conv is linear in x, w, b: the difference is exact up to rounding */
    float *vars[3] = { x, w, b }, *grads[3] = { dx, dw, db };
    int ns[3] = { CIN, CWN, COC };
    for (int v = 0; v < 3; v++)
        for (int k = 0; k < ns[v]; k++) {
            float keep = vars[v][k];
            vars[v][k] = keep + h; float lp = conv_L(x, w, b, R);
            vars[v][k] = keep - h; float lm = conv_L(x, w, b, R);
            vars[v][k] = keep;
            assert_close(grads[v][k], (lp - lm) / (2 * h), 2e-3, 2e-3);
        }
    /* a hand-computed value: one 1x1 conv, out = 2 * 3 + 0.5 */
    float one_x = 3, one_w = 2, one_b = 0.5f, one_out;
    dl_conv_forward(&one_out, &one_x, &one_w, &one_b, 1, 1, 1, 1, 1, 1);
    assert_close(one_out, 6.5, 0, 0);
}

/* Every path against plain double-precision loops, on inputs that are half
 * zeros as a digit's canvas is: the scatter (channels padded to 12 lanes:
 * 5 here; the seed network's shape, where a pixel away from the border
 * takes the unrolled 5 x 5 code) and the scalar loops (13 channels,
 * more than the scatter's lanes). The backward's vector path needs an output
 * width that is a multiple of 4 (the first two shapes: OW 4, then 5). */
static void test_conv_paths_match_plain_loops(void **state)
{
    (void)state;
    static const struct { int B, C, H, W, OC, K; } shapes[] = {
        { 2, 2, 9, 6, 5, 3 }, { 2, 2, 9, 7, 5, 3 }, { 2, 1, 28, 28, 12, 5 }, { 1, 2, 8, 7, 13, 3 },
        /* the two-conv network's layers: the scatter with 16 lanes;
         * Winograd, the input gradient with channels in the lanes and the
         * weight gradient of rows 10 wide (padded to 12) */
        { 2, 1, 28, 28, 16, 5 }, { 2, 16, 12, 12, 32, 3 },
        /* channel counts that are not multiples of 4 or 16 */
        { 1, 3, 9, 9, 6, 3 }, { 2, 4, 8, 8, 10, 2 }, { 1, 8, 6, 6, 20, 3 }, { 1, 5, 10, 10, 7, 3 },
        /* 64 output channels: two groups of lanes */
        { 1, 6, 8, 8, 64, 3 },
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int B = shapes[s].B, C = shapes[s].C, H = shapes[s].H, W = shapes[s].W,
                  OC = shapes[s].OC, K = shapes[s].K, OH = H - K + 1, OW = W - K + 1;
        int nin = B * C * H * W, nw = OC * C * K * K, nout = B * OC * OH * OW;
        float *x = calloc((size_t)nin, sizeof *x), *w = calloc((size_t)nw, sizeof *w),
              *b = calloc((size_t)OC, sizeof *b), *y = calloc((size_t)nout, sizeof *y),
              *R = calloc((size_t)nout, sizeof *R), *dx = calloc((size_t)nin, sizeof *dx),
              *dw = calloc((size_t)nw, sizeof *dw), *db = calloc((size_t)OC, sizeof *db);
        double *ex = calloc((size_t)nin, sizeof *ex), *ew = calloc((size_t)nw, sizeof *ew),
               *eb = calloc((size_t)OC, sizeof *eb);
        assert_non_null(x); assert_non_null(w); assert_non_null(b); assert_non_null(y);
        assert_non_null(R); assert_non_null(dx); assert_non_null(dw); assert_non_null(db);
        assert_non_null(ex); assert_non_null(ew); assert_non_null(eb);
        fill(x, nin, -1, 1); fill(w, nw, -1, 1); fill(b, OC, -1, 1); fill(R, nout, -1, 1);
        for (int i = 0; i < nin; i++) if (dl_rand_u64(&rng) & 1) x[i] = 0;
        dl_conv_forward(y, x, w, b, B, C, H, W, OC, K);
        dl_conv_backward(dx, dw, db, R, x, w, B, C, H, W, OC, K);
        /* every forward path adds the terms as the plain loop does, from
         * the bias in (c, i, j) order: the same floats (+0 and -0 aside);
         * but the Winograd path (3x3 kernels over several channels, an even
         * output), whose sums are other sums: within 8 float roundings */
        const int winograd = dl_conv_path(C, H, W, OC, K) == DL_CONV_WINOGRAD;
        for (int n = 0; n < B && !winograd; n++)
            for (int o = 0; o < OC; o++)
                for (int r = 0; r < OH; r++)
                    for (int c = 0; c < OW; c++) {
                        float f = b[o];
                        for (int ch = 0; ch < C; ch++)
                            for (int i = 0; i < K; i++)
                                for (int j = 0; j < K; j++)
                                    f += w[((o * C + ch) * K + i) * K + j] * x[((n * C + ch) * H + r + i) * W + c + j];
                        float got = y[((n * OC + o) * OH + r) * OW + c];
                        if (got != f) fail_msg("shape %zu: out[%d,%d,%d,%d] %.9g, the plain loop's %.9g",
                                               s, n, o, r, c, got, f);
                    }
        for (int n = 0; n < B; n++)
            for (int o = 0; o < OC; o++)
                for (int r = 0; r < OH; r++)
                    for (int c = 0; c < OW; c++) {
                        double sum = b[o], g = R[((n * OC + o) * OH + r) * OW + c];
                        eb[o] += g;
                        for (int ch = 0; ch < C; ch++)
                            for (int i = 0; i < K; i++)
                                for (int j = 0; j < K; j++) {
                                    int xi = ((n * C + ch) * H + r + i) * W + c + j;
                                    int wi = ((o * C + ch) * K + i) * K + j;
                                    sum += (double)w[wi] * x[xi];
                                    ew[wi] += g * x[xi];
                                    ex[xi] += g * w[wi];
                                }
                        assert_close(y[((n * OC + o) * OH + r) * OW + c], sum, winograd ? 2e-6 : 1e-5,
                                     winograd ? 1e-6 : 1e-5);
                    }
        for (int i = 0; i < nin; i++) assert_close(dx[i], ex[i], 1e-5, 1e-5);
        for (int i = 0; i < nw; i++) assert_close(dw[i], ew[i], 1e-5, 1e-5);
        for (int i = 0; i < OC; i++) assert_close(db[i], eb[i], 1e-5, 1e-5);
        free(x); free(w); free(b); free(y); free(R); free(dx); free(dw); free(db);
        free(ex); free(ew); free(eb);
    }
}

/* ---- relu -------------------------------------------------------------- */

static void test_relu_gradient(void **state)
{
    (void)state;
    enum { N = 64 };
    float x[N], y[N], R[N], dx[N] = { 0 };
    fill_away(x, N, 0.05f); fill(R, N, -1, 1);
    dl_relu_forward(y, x, N);
    dl_relu_backward(dx, R, y, N);
    const float h = 1e-3f;
    for (int k = 0; k < N; k++) {
        float keep = x[k];
        float yp, ym;
        x[k] = keep + h; dl_relu_forward(&yp, &x[k], 1);
        x[k] = keep - h; dl_relu_forward(&ym, &x[k], 1);
        x[k] = keep;
        assert_close(dx[k], R[k] * (yp - ym) / (2 * h), 1e-4, 1e-3);
        assert_close(y[k], x[k] > 0 ? x[k] : 0, 0, 0);
    }
}

/* ---- maxpool ----------------------------------------------------------- */

static void test_maxpool_gradient(void **state)
{
    (void)state;
    enum { B = 2, C = 3, H = 6, W = 4, P = 2, N = B * C * H * W, NO = B * C * (H / P) * (W / P) };
    float x[N], y[NO], R[NO], dx[N] = { 0 };
    /* distinct values, spaced 0.01 apart, shuffled: no near-ties */
    for (int i = 0; i < N; i++) x[i] = 0.01f * i;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(dl_rand_u64(&rng) % (uint64_t)(i + 1));
        float t = x[i]; x[i] = x[j]; x[j] = t;
    }
    fill(R, NO, -1, 1);
    dl_maxpool_forward(y, x, B, C, H, W, P);
    dl_maxpool_backward(dx, R, x, y, B, C, H, W, P);
    const float h = 1e-3f;
    for (int k = 0; k < N; k++) {
        float keep = x[k], yp[NO], ym[NO];
        x[k] = keep + h; dl_maxpool_forward(yp, x, B, C, H, W, P);
        x[k] = keep - h; dl_maxpool_forward(ym, x, B, C, H, W, P);
        x[k] = keep;
        assert_close(dx[k], (dot(yp, R, NO) - dot(ym, R, NO)) / (2 * h), 1e-3, 1e-3);
    }
}

/* A window of four zeros (common after ReLU) routes the gradient to its
 * first element in row-major order, as PyTorch does. */
static void test_maxpool_ties_first(void **state)
{
    (void)state;
    float x[16] = { 0, 0, 5, 5,
                    0, 0, 1, 5,
                    2, 3, 0, 0,
                    3, 1, 0, 0 };
    float y[4], R[4] = { 1, 2, 3, 4 }, dx[16] = { 0 };
    dl_maxpool_forward(y, x, 1, 1, 4, 4, 2);
    dl_maxpool_backward(dx, R, x, y, 1, 1, 4, 4, 2);
    /* four zeros: the first; 5, 5 / 1, 5: the first 5; 2, 3 / 3, 1: the 3
     * of the upper row; four zeros again */
    float expect[16] = { 1, 0, 2, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0 };
    for (int i = 0; i < 16; i++) assert_close(dx[i], expect[i], 0, 0);
}

/* Against a plain loop, on values drawn from {0, 0.5, 1} (ties everywhere),
 * with a width that takes both the 4-window vector path and its tail: the
 * max, and the backward's one winner per window (the first maximum). */
static void test_maxpool_matches_plain_loop(void **state)
{
    (void)state;
    enum { B = 2, C = 3, H = 8, W = 22, OH = 4, OW = 11, N = B * C * H * W, NO = B * C * OH * OW };
    float x[N], y[NO], R[NO], dx[N] = { 0 }, expect[N] = { 0 };
    for (int i = 0; i < N; i++) x[i] = 0.5f * (float)(dl_rand_u64(&rng) % 3);
    fill(R, NO, -1, 1);
    dl_maxpool_forward(y, x, B, C, H, W, 2);
    dl_maxpool_backward(dx, R, x, y, B, C, H, W, 2);
    for (int bc = 0; bc < B * C; bc++)
        for (int r = 0; r < OH; r++)
            for (int c = 0; c < OW; c++) {
                const float *plane = x + bc * H * W;
                int best = 2 * r * W + 2 * c;
                int cand[3] = { best + 1, best + W, best + W + 1 };
                for (int k = 0; k < 3; k++) if (plane[cand[k]] > plane[best]) best = cand[k];
                int o = (bc * OH + r) * OW + c;
                assert_true(y[o] == plane[best]);
                expect[bc * H * W + best] += R[o];
            }
    for (int i = 0; i < N; i++) assert_true(dx[i] == expect[i]);
}

/* ---- dense + softmax cross-entropy ------------------------------------- */

enum { DB = 3, DIN = 7, DOUT = DL_CLASSES };

static float dense_xent(const float *x, const float *w, const float *b, const uint8_t *lab)
{
    float z[DB * DOUT];
    dl_dense_forward(z, x, w, b, DB, DIN, DOUT);
    return dl_softmax_xent(NULL, NULL, z, lab, DB);
}

static void test_dense_softmax_xent_gradient(void **state)
{
    (void)state;
    float x[DB * DIN], w[DOUT * DIN], b[DOUT], z[DB * DOUT], dz[DB * DOUT];
    float dx[DB * DIN] = { 0 }, dw[DOUT * DIN] = { 0 }, db[DOUT] = { 0 };
    uint8_t lab[DB] = { 3, 0, 9 };
    fill(x, DB * DIN, -1, 1); fill(w, DOUT * DIN, -1, 1); fill(b, DOUT, -1, 1);
    dl_dense_forward(z, x, w, b, DB, DIN, DOUT);
    dl_softmax_xent(NULL, dz, z, lab, DB);
    dl_dense_backward(dx, dw, db, dz, x, w, DB, DIN, DOUT);
    const float h = 1e-2f;
    float *vars[3] = { x, w, b }, *grads[3] = { dx, dw, db };
    int ns[3] = { DB * DIN, DOUT * DIN, DOUT };
    for (int v = 0; v < 3; v++)
        for (int k = 0; k < ns[v]; k++) {
            float keep = vars[v][k];
            vars[v][k] = keep + h; float lp = dense_xent(x, w, b, lab);
            vars[v][k] = keep - h; float lm = dense_xent(x, w, b, lab);
            vars[v][k] = keep;
            assert_close(grads[v][k], (lp - lm) / (2 * h), 5e-4, 1e-2);
        }
}

static void test_softmax_xent_values(void **state)
{
    (void)state;
    float z[2 * DL_CLASSES] = { 0 }, p[2 * DL_CLASSES], dz[2 * DL_CLASSES];
    uint8_t lab[2] = { 4, 7 };
    /* uniform logits: loss = ln 10, p = 0.1 */
    assert_close(dl_softmax_xent(p, dz, z, lab, 2), log(10.0), 1e-6, 1e-6);
    assert_close(p[3], 0.1, 1e-7, 0);
    assert_close(dz[4], (0.1 - 1) / 2, 1e-7, 0);
    assert_close(dz[5], 0.1 / 2, 1e-7, 0);
    /* large logits do not overflow */
    z[7] = 1000.0f; z[10 + 7] = 1000.0f;
    float loss = dl_softmax_xent(p, NULL, z, lab, 2);
    assert_true(isfinite(loss));
    assert_close(loss, 0.5 * 1000.0, 1e-3, 1e-6); /* first: label 4 at 0 vs 1000 */
}

/* ---- model ------------------------------------------------------------- */

static void test_seednet_plan(void **state)
{
    (void)state;
    dl_model m;
    assert_ok(dl_model_plan(&m, &dl_seednet));
    assert_int_equal(m.n_params, DL_SEEDNET_PARAMS);
    assert_int_equal(m.n_params, 12 * 25 + 12 + 10 * 1728 + 10);
    assert_int_equal(m.layers[0].out_size, 12 * 24 * 24);
    assert_int_equal(m.layers[2].out_size, 12 * 12 * 12);
    assert_int_equal(m.layers[3].out_size, 1728);
    assert_int_equal(m.layers[4].in_size, 1728);
    assert_int_equal(m.layers[4].w_off, 312);
    assert_int_equal(m.cam_layer, 1);
    assert_int_equal(m.cam_k, 12);
    assert_int_equal(m.map_size, 576);
    dl_tensor t[DL_MAX_TENSORS];
    float dummy[DL_SEEDNET_PARAMS];
    assert_int_equal(dl_model_tensors(&m, dummy, t), 4);
    assert_string_equal(t[0].name, "conv.weight");
    assert_int_equal(t[0].shape[0], 12); assert_int_equal(t[0].shape[3], 5);
    assert_string_equal(t[3].name, "fc.bias");
    assert_string_equal(t[2].name, "fc.weight");
    assert_int_equal(t[2].shape[0], 10); assert_int_equal(t[2].shape[1], 1728);
    assert_ptr_equal(t[2].data, dummy + 312);
}

static void test_twoconv_plan(void **state)
{
    (void)state;
    dl_model m;
    assert_ok(dl_model_plan(&m, &dl_twoconv));
    assert_int_equal(m.n_params, DL_TWOCONV_PARAMS);
    assert_int_equal(m.n_params, 13066);
    const size_t outs[8] = { 16 * 576, 16 * 576, 16 * 144, 32 * 100, 32 * 100, 32 * 25, 800, 10 };
    for (int i = 0; i < 8; i++) assert_int_equal(m.layers[i].out_size, outs[i]);
    assert_int_equal(m.cam_layer, 4);
    assert_int_equal(m.cam_k, 32);
    assert_int_equal(m.map_size, 100);
    assert_int_equal(m.grid.side, 10);
    assert_true(m.grid.off == 4.5f && m.grid.stride == 2.0f);
    assert_true(dl_gradcam_closed_form(&m));
    /* activations: the input, then every layer but flatten (which shares) */
    assert_int_equal(m.n_acts, 784 + 16 * 576 * 2 + 16 * 144 + 32 * 100 * 2 + 32 * 25 + 10);
    dl_tensor t[DL_MAX_TENSORS];
    static float dummy[DL_TWOCONV_PARAMS];
    assert_int_equal(dl_model_tensors(&m, dummy, t), 6);
    const char *names[6] = { "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias" };
    for (int i = 0; i < 6; i++) assert_string_equal(t[i].name, names[i]);
    assert_int_equal(t[2].ndim, 4);
    assert_int_equal(t[2].shape[0], 32); assert_int_equal(t[2].shape[1], 16);
    assert_int_equal(t[2].shape[2], 3);
    assert_int_equal(t[4].shape[1], 800);
    assert_ptr_equal(t[5].data, dummy + 13056);
    assert_ptr_equal(dl_arch_named("twoconv"), &dl_twoconv);
    assert_ptr_equal(dl_arch_named("seednet"), &dl_seednet);
    assert_null(dl_arch_named("lenet"));
}

/* The architecture metadata: written and read back for both networks, a
 * file without it is the seed network, and each fault gets its code and a
 * message that names it. */
static void test_arch_metadata(void **state)
{
    (void)state;
    const dl_arch *both[2] = { &dl_seednet, &dl_twoconv };
    for (int n = 0; n < 2; n++) {
        dl_meta meta = { 0 };
        dl_arch back;
        char why[128];
        assert_ok(dl_arch_to_meta(both[n], &meta));
        assert_ok(dl_arch_from_meta(&back, &meta, why, sizeof why));
        assert_memory_equal(&back, both[n], sizeof back);
    }
    dl_meta meta = { 0 };
    assert_ok(dl_arch_to_meta(&dl_seednet, &meta));
    assert_string_equal(dl_meta_get(&meta, "architecture"),
                        "[[\"conv\",\"conv\",12,5],[\"relu\",\"relu\"],[\"maxpool\",\"pool\",2],"
                        "[\"flatten\",\"flatten\"],[\"dense\",\"fc\",10]]");
    assert_string_equal(dl_meta_get(&meta, "cam_layer"), "relu");
    dl_arch a;
    char why[160];
    dl_meta none = { 0 };
    assert_ok(dl_arch_from_meta(&a, &none, why, sizeof why));
    assert_memory_equal(&a, &dl_seednet, sizeof a);
    /* spaces and newlines are JSON too */
    dl_meta spaced = { 0 };
    dl_meta_set(&spaced, "architecture", " [ [\"conv\", \"c\", 8, 3] ,\n [\"relu\",\"r\"], [\"maxpool\",\"p\",2],"
                " [\"flatten\",\"f\"], [\"dense\",\"fc\",10] ] ");
    dl_meta_set(&spaced, "cam_layer", "r");
    assert_ok(dl_arch_from_meta(&a, &spaced, why, sizeof why));
    assert_int_equal(a.n_layers, 5);
    assert_int_equal(a.cam_layer, 1);
    assert_int_equal(a.layers[0].size, 8);
    assert_int_equal(a.layers[0].k, 3);
    dl_model m;
    assert_ok(dl_model_plan(&m, &a));
    assert_int_equal(m.grid.side, 26);
    static const struct { const char *arch, *cam; int st; const char *says; } bad[] = {
        { "{\"conv\":1}", "c", DL_ERR_ARCH, "not a JSON list" },
        { "[]", "c", DL_ERR_ARCH, "no layers" },
        { "[[\"lstm\",\"x\",3]]", "x", DL_ERR_ARCH, "unknown kind 'lstm'" },
        { "[[\"conv\",\"c\",8]]", "c", DL_ERR_ARCH, "conv takes" },
        { "[[\"conv\",\"c\",8,2.5]]", "c", DL_ERR_ARCH, "whole numbers" },
        { "[[\"conv\",\"c\",-8,3]]", "c", DL_ERR_ARCH, "whole numbers" },
        { "[[\"relu\",\"r\",3]]", "r", DL_ERR_ARCH, "relu and flatten take" },
        { "[[\"conv\",\"a\\u0041\",8,3]]", "a", DL_ERR_ARCH, "name of at most 23" },
        { "[[\"conv\",\"c\",8,3]] x", "c", DL_ERR_ARCH, "not a JSON list" },
        { "[[\"conv\",\"c\",8,3],[\"relu\",\"r\"]]", "relu9", DL_ERR_CAM_LAYER, "'relu9' is not a layer" },
        { "[[\"conv\",\"c\",8,3],[\"relu\",\"r\"]]", NULL, DL_ERR_CAM_LAYER, "without a cam_layer" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dl_meta mb = { 0 };
        dl_meta_set(&mb, "architecture", bad[i].arch);
        if (bad[i].cam) dl_meta_set(&mb, "cam_layer", bad[i].cam);
        int st = dl_arch_from_meta(&a, &mb, why, sizeof why);
        if (st != bad[i].st || !strstr(why, bad[i].says))
            fail_msg("%s: status %d, '%s'; wanted %d, '%s'", bad[i].arch, st, why, bad[i].st, bad[i].says);
    }
    /* 17 layers */
    char many[DL_META_VAL] = "[";
    for (int i = 0; i < 17; i++) strcat(many, i ? ",[\"relu\",\"r\"]" : "[\"relu\",\"r\"]");
    strcat(many, "]");
    dl_meta mm = { 0 };
    dl_meta_set(&mm, "architecture", many);
    dl_meta_set(&mm, "cam_layer", "r");
    assert_int_equal(dl_arch_from_meta(&a, &mm, why, sizeof why), DL_ERR_TOO_LARGE);
}

/* Plans that parse but cannot run: each refused with its code and why. */
static void test_plan_refuses(void **state)
{
    (void)state;
    static const struct { dl_arch a; int st; const char *says; } bad[] = {
        { { 3, 0, { { DL_CONV, "conv", 12, 5 }, { DL_FLATTEN, "f", 0, 0 }, { DL_DENSE, "fc", 128, 0 } } },
          DL_ERR_ARCH, "dense with 10 outputs" },
        { { 2, 0, { { DL_CONV, "conv", 12, 5 }, { DL_DENSE, "fc", 10, 0 } } },
          DL_ERR_ARCH, "needs a flatten" },
        { { 3, 0, { { DL_CONV, "conv", 65, 5 }, { DL_FLATTEN, "f", 0, 0 }, { DL_DENSE, "fc", 10, 0 } } },
          DL_ERR_TOO_LARGE, "filters must be 1 to 64" },
        { { 3, 0, { { DL_CONV, "conv", 4, 9 }, { DL_FLATTEN, "f", 0, 0 }, { DL_DENSE, "fc", 10, 0 } } },
          DL_ERR_ARCH, "kernel side must be 1 to 7" },
        { { 5, 0, { { DL_CONV, "c1", 4, 5 }, { DL_MAXPOOL, "p", 4, 0 }, { DL_CONV, "c2", 4, 7 },
                    { DL_FLATTEN, "f", 0, 0 }, { DL_DENSE, "fc", 10, 0 } } },
          DL_ERR_ARCH, "larger than its input" },
        { { 3, 2, { { DL_CONV, "conv", 4, 5 }, { DL_FLATTEN, "f", 0, 0 }, { DL_DENSE, "fc", 10, 0 } } },
          DL_ERR_CAM_LAYER, "cam_layer must be a conv or relu" },
        { { 3, 0, { { DL_CONV, "conv", 4, 1 }, { DL_FLATTEN, "f", 0, 0 }, { DL_DENSE, "fc", 10, 0 } } },
          DL_ERR_CAM_LAYER, "2x2 to 27x27" },
        { { 3, 0, { { DL_CONV, "conv", 4, 5 }, { DL_FLATTEN, "conv", 0, 0 }, { DL_DENSE, "fc", 10, 0 } } },
          DL_ERR_ARCH, "two layers have this name" },
        { { 3, 0, { { DL_CONV, "a.b", 4, 5 }, { DL_FLATTEN, "f", 0, 0 }, { DL_DENSE, "fc", 10, 0 } } },
          DL_ERR_ARCH, "letters, digits and _" },
        { { 4, 0, { { DL_CONV, "conv", 64, 7 }, { DL_FLATTEN, "f", 0, 0 }, { DL_DENSE, "h", 40000, 0 },
                    { DL_DENSE, "fc", 10, 0 } } },
          DL_ERR_TOO_LARGE, "more weights than the limit" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dl_model m;
        int st = dl_model_plan(&m, &bad[i].a);
        if (st != bad[i].st || !strstr(m.why, bad[i].says))
            fail_msg("case %zu: status %d, '%s'; wanted %d, '%s'", i, st, m.why, bad[i].st, bad[i].says);
    }
}

static void test_he_init(void **state)
{
    (void)state;
    dl_model m;
    assert_ok(dl_model_plan(&m, &dl_seednet));
    assert_ok(dl_model_alloc(&m));
    assert_ok(dl_model_init_he(&m, 7));
    double s = 0, s2 = 0;
    const dl_layer *fc = &m.layers[4];
    for (size_t i = 0; i < fc->n_w; i++) { s += m.params[fc->w_off + i]; s2 += m.params[fc->w_off + i] * (double)m.params[fc->w_off + i]; }
    double mean = s / fc->n_w, sd = sqrt(s2 / fc->n_w - mean * mean);
    assert_close(mean, 0, 0.005, 0);
    assert_close(sd, sqrt(2.0 / 1728), 0, 0.03);
    assert_close(m.params[fc->b_off], 0, 0, 0);
    float first = m.params[0];
    assert_ok(dl_model_init_he(&m, 7));
    assert_close(m.params[0], first, 0, 0); /* same seed, same weights */
    assert_ok(dl_model_init_he(&m, 8));
    assert_true(m.params[0] != first);
    dl_model_free(&m);
}

/* Whole network: the analytic gradient of the mean loss along a random
 * direction d against (L(p + h d) - L(p - h d)) / 2h, and then per parameter
 * on a sample of each tensor. */
static float net_loss(const dl_model *m, dl_work *w, const float *x, const uint8_t *lab, int B)
{
    dl_forward(m, w, x, B);
    return dl_softmax_xent(NULL, NULL, dl_logits(m, w), lab, B);
}

static void test_network_gradient(void **state)
{
    (void)state;
    enum { B = 3 };
    const dl_arch *archs[2] = { &dl_seednet, &dl_twoconv };
    for (int an = 0; an < 2; an++) {
    rng = 2024; /* the same data whichever tests ran before */
    dl_model m;
    dl_work w;
    assert_ok(dl_model_plan(&m, archs[an]));
    assert_ok(dl_model_alloc(&m));
    assert_ok(dl_model_init_he(&m, 3));
    /* biases non-zero, so they matter */
    for (int l = 0; l < m.n_layers; l++)
        for (size_t i = 0; i < m.layers[l].n_b; i++) m.params[m.layers[l].b_off + i] = 0.1f * dl_rand_normal(&rng);
    assert_ok(dl_work_alloc(&w, &m, B));
    float x[B * DL_IN_SIZE], dz[B * DL_CLASSES];
    /* Dense noise. The two-conv network's pooled features (what its dense
     * layer reads) are sums of 144 taps of such noise, so large that a
     * step of h along d moves its logits by tenths and the central
     * difference's third-order error reaches percents: a fifth of the
     * scale keeps it well under the tolerance. */
    fill(x, B * DL_IN_SIZE, 0, an ? 0.2f : 1.0f);
    uint8_t lab[B] = { 1, 5, 8 };
    size_t n = m.n_params;
    float *g = calloc(n, sizeof(float)), *d = malloc(n * sizeof(float)), *p0 = malloc(n * sizeof(float));
    memcpy(p0, m.params, n * sizeof(float));

    dl_forward(&m, &w, x, B);
    dl_softmax_xent(NULL, dz, dl_logits(&m, &w), lab, B);
    assert_ok(dl_backward(&m, &w, dz, B, -1, g));

    for (size_t i = 0; i < n; i++) d[i] = dl_rand_normal(&rng);
    const float h = 1e-3f;
    float lp, lm;
    /* Along a random direction in the dense layer's parameters, where the
     * loss is smooth: tight. (A direction through the conv weights too
     * crosses kinks and is off by 1-10 % depending on the draw; the conv
     * weights are checked one by one below instead.) */
    const dl_layer *fc = &m.layers[m.n_layers - 1];
    size_t f0 = fc->w_off;
    for (size_t i = f0; i < n; i++) m.params[i] = p0[i] + h * d[i];
    lp = net_loss(&m, &w, x, lab, B);
    for (size_t i = f0; i < n; i++) m.params[i] = p0[i] - h * d[i];
    lm = net_loss(&m, &w, x, lab, B);
    memcpy(m.params, p0, n * sizeof(float));
    assert_close(dot(g + f0, d + f0, n - f0), (lp - lm) / (2 * h), 1e-4, 2e-3);

    /* Per parameter where the loss is smooth: the dense layer's weights and
     * biases sit after every kink. */
    for (int s = 0; s < 200; s++) {
        size_t k = s < 190 ? fc->w_off + dl_rand_u64(&rng) % fc->n_w : fc->b_off + (size_t)(s - 190);
        const float hk = 1e-2f;
        m.params[k] = p0[k] + hk; float a = net_loss(&m, &w, x, lab, B);
        m.params[k] = p0[k] - hk; float b = net_loss(&m, &w, x, lab, B);
        m.params[k] = p0[k];
        assert_close(g[k], (a - b) / (2 * hk), 2e-4, 1e-2);
    }
    /* The conv weights and the input sit before the ReLUs and the
     * max-pools, where the loss is only piecewise linear: of thousands of
     * activations some pairs in a pool window lie within 1e-5 of each
     * other, and a step of any usable h swaps their winner (measured: a few
     * percent of single-entry differences are off by 4-20 % however small h
     * gets). So entries are checked one by one (up to 300 of each conv
     * layer's), and at least 90 % must agree within 2 %; an indexing or
     * sign error fails nearly all of them. */
    dl_forward(&m, &w, x, B);
    dl_softmax_xent(NULL, dz, dl_logits(&m, &w), lab, B);
    assert_ok(dl_backward(&m, &w, dz, B, -1, NULL));
    float gx[B * DL_IN_SIZE], xp[B * DL_IN_SIZE];
    memcpy(gx, dl_layer_grad(&m, &w, -1), sizeof gx);
    int agree = 0, total = 0;
    const float hk = 1e-3f;
    for (int l = 0; l < m.n_layers; l++) {
        const dl_layer *L = &m.layers[l];
        if (L->spec.kind != DL_CONV) continue;
        const size_t np = L->n_w + L->n_b, step = np > 300 ? np / 300 : 1;
        for (size_t j = 0; j < np; j += step, total++) {
            size_t k = L->w_off + j; /* the bias follows the weights */
            m.params[k] = p0[k] + hk; float a = net_loss(&m, &w, x, lab, B);
            m.params[k] = p0[k] - hk; float b = net_loss(&m, &w, x, lab, B);
            m.params[k] = p0[k];
            agree += fabs(g[k] - (a - b) / (2 * hk)) <= 5e-4 + 0.02 * fabs(g[k]);
        }
    }
    for (int k = 0; k < B * DL_IN_SIZE; k += 7, total++) {
        memcpy(xp, x, sizeof xp);
        xp[k] = x[k] + hk; float a = net_loss(&m, &w, xp, lab, B);
        xp[k] = x[k] - hk; float b = net_loss(&m, &w, xp, lab, B);
        agree += fabs(gx[k] - (a - b) / (2 * hk)) <= 5e-4 + 0.02 * fabs(gx[k]);
    }
    print_message("%s: %d of %d agree\n", an ? "twoconv" : "seednet", agree, total);
    if (agree < 0.9 * total) fail_msg("only %d of %d conv/input gradients agree", agree, total);

    free(g); free(d); free(p0);
    dl_work_free(&w);
    dl_model_free(&m);
    }
}

/* ---- optimisers -------------------------------------------------------- */

static void test_adam_and_sgd(void **state)
{
    (void)state;
    float p[3] = { 1, 1, 1 }, g[3] = { 0.5f, -2, 0 }, mm[3] = { 0 }, vv[3] = { 0 };
    dl_adam a = { .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .m = mm, .v = vv };
    dl_adam_step(&a, p, g, 3);
    /* first step: m_hat = g, v_hat = g^2, so p -= lr * sign(g) */
    assert_close(p[0], 0.9, 1e-6, 0);
    assert_close(p[1], 1.1, 1e-6, 0);
    assert_close(p[2], 1.0, 0, 0);
    assert_int_equal(a.t, 1);
    dl_adam_step(&a, p, g, 3);
    assert_close(p[0], 0.8, 1e-5, 0); /* constant gradient: the same step again */

    float q[2] = { 1, 2 }, gq[2] = { 1, -1 }, vel[2] = { 0 };
    dl_sgd_step(q, gq, vel, 2, 0.5f, 0.9f);
    assert_close(q[0], 0.5, 0, 0);
    dl_sgd_step(q, gq, vel, 2, 0.5f, 0.9f); /* vel = 0.9 + 1 */
    assert_close(q[0], 0.5 - 0.95, 1e-6, 0);
    dl_sgd_step(q, gq, NULL, 2, 1.0f, 0.0f);
    assert_close(q[1], 2 + 0.5 + 0.95 + 1, 1e-6, 0);
}

static void test_rng(void **state)
{
    (void)state;
    uint64_t s1 = 42, s2 = 42;
    for (int i = 0; i < 5; i++) assert_true(dl_rand_u64(&s1) == dl_rand_u64(&s2));
    double sum = 0, sum2 = 0;
    uint64_t s = 9;
    for (int i = 0; i < 20000; i++) { float z = dl_rand_normal(&s); sum += z; sum2 += z * z; }
    assert_close(sum / 20000, 0, 0.03, 0);
    assert_close(sum2 / 20000, 1, 0.04, 0);
    for (int i = 0; i < 1000; i++) { float u = dl_rand_uniform(&s); assert_true(u >= 0 && u < 1); }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_gradient),
        cmocka_unit_test(test_conv_paths_match_plain_loops),
        cmocka_unit_test(test_relu_gradient),
        cmocka_unit_test(test_maxpool_gradient),
        cmocka_unit_test(test_maxpool_ties_first),
        cmocka_unit_test(test_maxpool_matches_plain_loop),
        cmocka_unit_test(test_dense_softmax_xent_gradient),
        cmocka_unit_test(test_softmax_xent_values),
        cmocka_unit_test(test_seednet_plan),
        cmocka_unit_test(test_twoconv_plan),
        cmocka_unit_test(test_arch_metadata),
        cmocka_unit_test(test_plan_refuses),
        cmocka_unit_test(test_he_init),
        cmocka_unit_test(test_network_gradient),
        cmocka_unit_test(test_adam_and_sgd),
        cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
