/* test_methods.c — every CAM method of dl_cam_method against an independent
 * computation in double precision on a small case: the gradient dy^c/dA by
 * central differences on a tail written again here, the network run again
 * here for Score-CAM and Ablation-CAM, power iteration for Eigen-CAM, and
 * the guided backward pass written out as a formula. */
#include "testutil.h"

static uint64_t rng = 4242;

enum { K = 12, Z = 576, NA = K * Z };

static void setup_model(dl_model *m, dl_work *w, uint64_t seed, float conv_bias)
{
    assert_ok(dl_model_plan(m, dl_seednet, DL_SEEDNET_LAYERS, DL_SEEDNET_CAM_LAYER));
    assert_ok(dl_model_alloc(m));
    assert_ok(dl_model_init_he(m, seed));
    for (int k = 0; k < K; k++) m->params[m->layers[0].b_off + k] = conv_bias;
    assert_ok(dl_work_alloc(w, m, 1));
}

/* conv 5x5 + ReLU in double: A (12, 24, 24) from x (28, 28) */
static void conv_relu(double *A, const double *x, const dl_model *m)
{
    const float *wt = m->params + m->layers[0].w_off, *b = m->params + m->layers[0].b_off;
    for (int k = 0; k < K; k++)
        for (int y = 0; y < 24; y++)
            for (int x0 = 0; x0 < 24; x0++) {
                double s = b[k];
                for (int i = 0; i < 5; i++)
                    for (int j = 0; j < 5; j++) s += (double)wt[k * 25 + i * 5 + j] * x[(y + i) * 28 + x0 + j];
                A[k * Z + y * 24 + x0] = s > 0 ? s : 0;
            }
}

static void forward(double *logits, double *A, const double *x, const dl_model *m)
{
    conv_relu(A, x, m);
    ref_seednet_tail(logits, A, m);
}

static void random_input(float *xf, double *xd)
{
    for (int i = 0; i < DL_IN_SIZE; i++) xd[i] = xf[i] = dl_rand_uniform(&rng);
}

static void relu_wsum(double *map, const double *wk, const double *A)
{
    for (int p = 0; p < Z; p++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += wk[k] * A[k * Z + p];
        map[p] = s > 0 ? s : 0;
    }
}

static void assert_map(const float *got, const double *want, int n, double atol, double rtol)
{
    for (int p = 0; p < n; p++) {
        assert_true(isfinite(got[p]));
        assert_close(got[p], want[p], atol, rtol);
    }
}

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < DL_M_COUNT; i++) {
        const char *n = dl_cam_method_name(i);
        assert_non_null(n);
        assert_int_equal(dl_cam_method_lookup(n), i);
    }
    assert_int_equal(dl_cam_method_lookup("gradcam"), DL_M_GRADCAM);
    assert_int_equal(dl_cam_method_lookup("gradcam++"), DL_M_GRADCAMPP);
    assert_int_equal(dl_cam_method_lookup("GradCAM"), -1);
    assert_int_equal(dl_cam_method_lookup(""), -1);
    assert_int_equal(dl_cam_method_lookup(NULL), -1);
    assert_null(dl_cam_method_name(-1));
    assert_null(dl_cam_method_name(DL_M_COUNT));
}

/* The gradient methods from dy^c/dA by central differences on the double
 * tail. Conv biases of +6 keep every activation positive and the test
 * checks that no pool window holds two values within 2h: there the tail is
 * linear and the central difference exact up to rounding. */
static void test_gradient_methods(void **state)
{
    (void)state;
    dl_model m;
    dl_work w;
    setup_model(&m, &w, 21, 6.0f);
    float xf[DL_IN_SIZE];
    static double xd[DL_IN_SIZE], A[NA], dy[10][NA];
    random_input(xf, xd);
    double logits[10];
    forward(logits, A, xd, &m);
    const double h = 1e-6;
    for (int i = 0; i < NA; i += 1) assert_true(A[i] > 0);
    for (int k = 0; k < K; k++)
        for (int y = 0; y < 24; y += 2)
            for (int x0 = 0; x0 < 24; x0 += 2) {
                const double *a = A + k * Z + y * 24 + x0;
                double v[4] = { a[0], a[1], a[24], a[25] };
                for (int i = 0; i < 4; i++)
                    for (int j = i + 1; j < 4; j++) assert_true(fabs(v[i] - v[j]) > 2 * h);
            }
    double lp[10], lm[10];
    for (int i = 0; i < NA; i++) {
        double keep = A[i];
        A[i] = keep + h; ref_seednet_tail(lp, A, &m);
        A[i] = keep - h; ref_seednet_tail(lm, A, &m);
        A[i] = keep;
        for (int c = 0; c < 10; c++) dy[c][i] = (lp[c] - lm[c]) / (2 * h);
    }
    static dl_cam cam;
    const int methods[] = { DL_M_GRADCAM, DL_M_GRADCAMPP, DL_M_XGRADCAM, DL_M_HIRESCAM,
                            DL_M_LAYERCAM, DL_M_COUNTERFACTUAL };
    for (size_t mi = 0; mi < sizeof methods / sizeof methods[0]; mi++) {
        int method = methods[mi];
        assert_ok(dl_cam_method(&m, &w, xf, method, DL_ALL_CLASSES, &cam));
        assert_int_equal(cam.method, method);
        assert_int_equal(cam.side, 24);
        assert_int_equal(cam.undefined, 0);
        int nonzero = 0;
        for (int c = 0; c < 10; c++) {
            assert_close(cam.logits[c], logits[c], 1e-5, 1e-5);
            const double *G = dy[c];
            double wk[K], map[Z];
            for (int k = 0; k < K; k++) {
                double sg = 0, sa = 0, sga = 0, spp = 0;
                for (int p = 0; p < Z; p++) {
                    double g = G[k * Z + p], a = A[k * Z + p];
                    sg += g; sa += a; sga += g * a;
                }
                for (int p = 0; p < Z; p++) { /* pytorch-grad-cam's gradcam++ */
                    double g = G[k * Z + p], g2 = g * g, g3 = g2 * g;
                    double aij = g2 / (2 * g2 + sa * g3 + 1e-6);
                    if (g == 0) aij = 0;
                    spp += (g > 0 ? g : 0) * aij;
                }
                wk[k] = method == DL_M_GRADCAM ? sg / Z
                      : method == DL_M_COUNTERFACTUAL ? -sg / Z
                      : method == DL_M_XGRADCAM ? sga / (sa + 1e-7)
                      : method == DL_M_GRADCAMPP ? spp : 0;
            }
            if (method == DL_M_HIRESCAM || method == DL_M_LAYERCAM) {
                for (int p = 0; p < Z; p++) {
                    double s = 0;
                    for (int k = 0; k < K; k++) {
                        double g = G[k * Z + p];
                        if (method == DL_M_LAYERCAM && g < 0) g = 0;
                        s += g * A[k * Z + p];
                    }
                    map[p] = s > 0 ? s : 0;
                }
            } else {
                relu_wsum(map, wk, A);
                for (int k = 0; k < K; k++) assert_close(cam.alpha[c][k], wk[k], 1e-6, 1e-3);
            }
            double mx = 0;
            for (int p = 0; p < Z; p++) mx = fmax(mx, map[p]);
            nonzero += mx > 0;
            assert_map(cam.maps[c], map, Z, 1e-5 * fmax(1, mx), 1e-3);
        }
        assert_true(nonzero >= 3); /* the comparison is not between zeros */
    }
    /* the work is left as after the forward pass */
    const float *y = dl_logits(&m, &w);
    for (int c = 0; c < 10; c++) assert_close(y[c], logits[c], 1e-5, 1e-5);
    dl_work_free(&w);
    dl_model_free(&m);
}

/* Score-CAM and Ablation-CAM by running the network again, in double. */
static void test_perturbation_methods(void **state)
{
    (void)state;
    dl_model m;
    dl_work w;
    setup_model(&m, &w, 33, 0.05f);
    float xf[DL_IN_SIZE];
    static double xd[DL_IN_SIZE], A[NA], A2[NA], xm[DL_IN_SIZE];
    random_input(xf, xd);
    double y0[10];
    forward(y0, A, xd, &m);
    int zeros = 0;
    for (int i = 0; i < NA; i++) zeros += A[i] == 0;
    assert_true(zeros > 100 && zeros < NA - 100); /* some ReLUs off, some on */

    /* Score-CAM */
    double score[K][10];
    for (int k = 0; k < K; k++) {
        double lo = A[k * Z], hi = A[k * Z];
        for (int p = 0; p < Z; p++) { lo = fmin(lo, A[k * Z + p]); hi = fmax(hi, A[k * Z + p]); }
        for (int i = 0; i < DL_IN_SIZE; i++) {
            int r = i / 28 - 2, c = i % 28 - 2;
            double mk = r < 0 || c < 0 || r >= 24 || c >= 24 ? 0
                      : (A[k * Z + r * 24 + c] - lo) / (hi - lo + 1e-8);
            xm[i] = xd[i] * mk;
        }
        forward(score[k], A2, xm, &m);
    }
    static dl_cam cam;
    assert_ok(dl_cam_method(&m, &w, xf, DL_M_SCORECAM, DL_ALL_CLASSES, &cam));
    for (int c = 0; c < 10; c++) {
        double mx = -1e300, s = 0, wk[K], map[Z];
        for (int k = 0; k < K; k++) mx = fmax(mx, score[k][c]);
        for (int k = 0; k < K; k++) s += (wk[k] = exp(score[k][c] - mx));
        for (int k = 0; k < K; k++) {
            wk[k] /= s;
            assert_close(cam.alpha[c][k], wk[k], 1e-6, 1e-3);
        }
        relu_wsum(map, wk, A);
        assert_map(cam.maps[c], map, Z, 1e-5, 1e-3);
    }
    const float *y = dl_logits(&m, &w);
    for (int c = 0; c < 10; c++) assert_close(y[c], y0[c], 1e-5, 1e-5);

    /* Ablation-CAM */
    double abl[K][10];
    for (int k = 0; k < K; k++) {
        memcpy(A2, A, sizeof A2);
        for (int p = 0; p < Z; p++) A2[k * Z + p] = 0;
        ref_seednet_tail(abl[k], A2, &m);
    }
    assert_ok(dl_cam_method(&m, &w, xf, DL_M_ABLATIONCAM, DL_ALL_CLASSES, &cam));
    assert_int_equal(cam.undefined, 0);
    int nonzero = 0;
    for (int c = 0; c < 10; c++) {
        double wk[K], map[Z];
        for (int k = 0; k < K; k++) {
            wk[k] = (y0[c] - abl[k][c]) / y0[c];
            assert_close(cam.alpha[c][k], wk[k], 1e-5, 1e-3);
        }
        relu_wsum(map, wk, A);
        double mx = 0;
        for (int p = 0; p < Z; p++) mx = fmax(mx, map[p]);
        nonzero += mx > 0;
        assert_map(cam.maps[c], map, Z, 1e-5 * fmax(1, mx), 1e-3);
    }
    assert_true(nonzero >= 3);
    for (int c = 0; c < 10; c++) assert_close(y[c], y0[c], 1e-5, 1e-5);

    /* y^c = 0 exactly (a zero row of fc.weight, zero bias): undefined */
    const dl_layer *fc = &m.layers[4];
    memset(m.params + fc->w_off + 4 * 1728, 0, 1728 * sizeof(float));
    m.params[fc->b_off + 4] = 0.0f;
    assert_ok(dl_cam_method(&m, &w, xf, DL_M_ABLATIONCAM, DL_ALL_CLASSES, &cam));
    assert_int_equal(cam.undefined, 1u << 4);
    for (int p = 0; p < Z; p++) assert_true(cam.maps[4][p] == 0.0f);
    dl_work_free(&w);
    dl_model_free(&m);
}

/* Eigen-CAM against power iteration on X^T X (X = A centred, (576, 12)). */
static void test_eigencam(void **state)
{
    (void)state;
    dl_model m;
    dl_work w;
    setup_model(&m, &w, 45, 0.05f);
    float xf[DL_IN_SIZE];
    static double xd[DL_IN_SIZE], A[NA];
    random_input(xf, xd);
    double y0[10];
    forward(y0, A, xd, &m);
    double mean[K], C[K][K], v[K];
    for (int k = 0; k < K; k++) {
        mean[k] = 0;
        for (int p = 0; p < Z; p++) mean[k] += A[k * Z + p];
        mean[k] /= Z;
    }
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            double s = 0;
            for (int p = 0; p < Z; p++) s += (A[i * Z + p] - mean[i]) * (A[j * Z + p] - mean[j]);
            C[i][j] = s;
        }
    for (int k = 0; k < K; k++) v[k] = 1.0 + 0.01 * k;
    for (int it = 0; it < 5000; it++) {
        double nv[K], n = 0;
        for (int i = 0; i < K; i++) {
            nv[i] = 0;
            for (int j = 0; j < K; j++) nv[i] += C[i][j] * v[j];
            n += nv[i] * nv[i];
        }
        for (int i = 0; i < K; i++) v[i] = nv[i] / sqrt(n);
    }
    double sv = 0;
    for (int k = 0; k < K; k++) sv += v[k];
    if (sv < 0) for (int k = 0; k < K; k++) v[k] = -v[k];
    double map[Z], mx = 0;
    for (int p = 0; p < Z; p++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += (A[k * Z + p] - mean[k]) * v[k];
        map[p] = s > 0 ? s : 0;
        mx = fmax(mx, map[p]);
    }
    assert_true(mx > 0);
    static dl_cam cam;
    assert_ok(dl_cam_method(&m, &w, xf, DL_M_EIGENCAM, DL_ALL_CLASSES, &cam));
    for (int c = 0; c < 10; c++) assert_map(cam.maps[c], map, Z, 1e-4 * mx, 1e-3);
    dl_work_free(&w);
    dl_model_free(&m);
}

/* Guided backprop as a formula for this network: the winner of each pool
 * window gets fc.weight[c, k, window]; the guided ReLU keeps it where A > 0
 * and it is > 0; the conv spreads it back: R[y+i, x+j] += w[k,i,j] g[k,y,x]. */
static void test_guided(void **state)
{
    (void)state;
    dl_model m;
    dl_work w;
    setup_model(&m, &w, 57, 0.05f);
    float xf[DL_IN_SIZE];
    static double xd[DL_IN_SIZE], A[NA];
    random_input(xf, xd);
    double y0[10];
    forward(y0, A, xd, &m);
    const float *fcw = m.params + m.layers[4].w_off, *cw = m.params + m.layers[0].w_off;
    static dl_cam cam, gbp, ggc;
    assert_ok(dl_cam_method(&m, &w, xf, DL_M_GRADCAM, DL_ALL_CLASSES, &cam));
    assert_ok(dl_cam_method(&m, &w, xf, DL_M_GUIDED_BACKPROP, DL_ALL_CLASSES, &gbp));
    assert_ok(dl_cam_method(&m, &w, xf, DL_M_GUIDED_GRADCAM, DL_ALL_CLASSES, &ggc));
    assert_int_equal(gbp.side, 28);
    assert_int_equal(ggc.side, 28);
    assert_ptr_equal(dl_cam_map(&gbp, 3), gbp.pixmaps[3]);
    assert_ptr_equal(dl_cam_map(&cam, 3), cam.maps[3]);
    int nonzero = 0;
    for (int c = 0; c < 10; c++) {
        static double g[NA];
        memset(g, 0, sizeof g);
        for (int k = 0; k < K; k++)
            for (int y = 0; y < 12; y++)
                for (int x = 0; x < 12; x++) {
                    int b = k * Z + 2 * y * 24 + 2 * x, at = b;
                    const int off[4] = { 0, 1, 24, 25 };
                    for (int q = 1; q < 4; q++) if (A[b + off[q]] > A[at]) at = b + off[q];
                    double gv = fcw[c * 1728 + k * 144 + y * 12 + x];
                    g[at] = A[at] > 0 && gv > 0 ? gv : 0;
                }
        double R[DL_IN_SIZE] = { 0 };
        for (int k = 0; k < K; k++)
            for (int y = 0; y < 24; y++)
                for (int x = 0; x < 24; x++)
                    for (int i = 0; i < 5; i++)
                        for (int j = 0; j < 5; j++)
                            R[(y + i) * 28 + x + j] += cw[k * 25 + i * 5 + j] * g[k * Z + y * 24 + x];
        double want[DL_IN_SIZE], want2[DL_IN_SIZE], mx = 0;
        float up[DL_IN_SIZE];
        assert_ok(dl_cam_place_side(up, 28, 28, cam.maps[c], 24));
        for (int i = 0; i < DL_IN_SIZE; i++) {
            want[i] = R[i] > 0 ? R[i] : 0;
            want2[i] = want[i] * up[i];
            mx = fmax(mx, want[i]);
        }
        nonzero += mx > 0;
        assert_map(gbp.pixmaps[c], want, DL_IN_SIZE, 1e-6, 1e-4);
        assert_map(ggc.pixmaps[c], want2, DL_IN_SIZE, 1e-6, 1e-4);
        for (int p = 0; p < Z; p++) assert_true(gbp.maps[c][p] == 0.0f);
    }
    assert_true(nonzero >= 5);
    dl_work_free(&w);
    dl_model_free(&m);
}

/* Every activation zero: every method returns zero maps, flags every class
 * asked for as undefined, and nothing is NaN. */
static void test_dead_input(void **state)
{
    (void)state;
    dl_model m;
    dl_work w;
    setup_model(&m, &w, 5, -1.0f);
    float x[DL_IN_SIZE] = { 0 };
    static dl_cam cam;
    for (int method = 0; method < DL_M_COUNT; method++) {
        assert_ok(dl_cam_method(&m, &w, x, method, 0x0F3u, &cam));
        assert_int_equal(cam.undefined, 0x0F3u);
        for (int c = 0; c < 10; c++) {
            const float *map = dl_cam_map(&cam, c);
            int n = cam.side * cam.side;
            for (int p = 0; p < n; p++) assert_true(map[p] == 0.0f);
        }
    }
    assert_int_equal(dl_cam_method(&m, &w, x, DL_M_COUNT, 1, &cam), DL_ERR_ARG);
    assert_int_equal(dl_cam_method(&m, &w, x, -1, 1, &cam), DL_ERR_ARG);
    assert_int_equal(dl_cam_method(&m, &w, x, 0, 0x400, &cam), DL_ERR_ARG);
    x[5] = NAN;
    assert_int_equal(dl_cam_method(&m, &w, x, DL_M_SCORECAM, 1, &cam), DL_ERR_NAN);
    dl_work_free(&w);
    dl_model_free(&m);
}

/* 28x28 maps are placed on the input grid itself: at 28x28 the identity;
 * 24x24 maps as dl_cam_place. */
static void test_place_side(void **state)
{
    (void)state;
    float map28[DL_IN_SIZE], map24[Z], a[DL_IN_SIZE], b[DL_IN_SIZE];
    for (int i = 0; i < DL_IN_SIZE; i++) map28[i] = dl_rand_uniform(&rng);
    for (int i = 0; i < Z; i++) map24[i] = dl_rand_uniform(&rng);
    assert_ok(dl_cam_place_side(a, 28, 28, map28, 28));
    for (int i = 0; i < DL_IN_SIZE; i++) assert_true(a[i] == map28[i]);
    float *big = malloc(sizeof(float) * 100 * 100), *big2 = malloc(sizeof(float) * 100 * 100);
    assert_ok(dl_cam_place_side(big, 100, 100, map24, 24));
    assert_ok(dl_cam_place(big2, 100, 100, map24));
    assert_memory_equal(big, big2, sizeof(float) * 100 * 100);
    free(big);
    free(big2);
    assert_ok(dl_cam_place_side(b, 28, 28, map24, 24));
    assert_true(b[0] == 0.0f && b[2 * 28 + 2] == map24[0]);
    assert_int_equal(dl_cam_place_side(a, 28, 28, map24, 25), DL_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_gradient_methods),
        cmocka_unit_test(test_perturbation_methods),
        cmocka_unit_test(test_eigencam),
        cmocka_unit_test(test_guided),
        cmocka_unit_test(test_dead_input),
        cmocka_unit_test(test_place_side),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
