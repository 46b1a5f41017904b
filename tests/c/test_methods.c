/* test_methods.c — every CAM method of dl_cam_method, on every network
 * (the seed, two-conv, two-conv read at its first ReLU), against an
 * independent computation in double precision: the network written again
 * here (testutil.h), the gradient dy^c/dA by central differences on it, the
 * network run again for Score-CAM and Ablation-CAM, power iteration for
 * Eigen-CAM, and the guided backward pass written out layer by layer. */
#include "testutil.h"

static uint64_t rng = 4242;

static void setup_model(dl_model *m, dl_work *w, int arch, uint64_t seed, float bias)
{
    plan_test_model(m, w, test_archs[arch], seed);
    const dl_layer *cv = cam_conv(m);
    for (int k = 0; k < cv->out_c; k++) m->params[cv->b_off + k] = bias;
}

static void random_input(float *xf, double *xd)
{
    for (int i = 0; i < DL_IN_SIZE; i++) xd[i] = xf[i] = dl_rand_uniform(&rng);
}

static void relu_wsum(double *map, const double *wk, const double *A, int K, int Z)
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

/* A map on its grid, placed on the 28x28 input as the README states it:
 * pixel p reads cell coordinate u = (p - off) / stride, bilinear, zero
 * outside the map. */
static void ref_place28(double *out, const double *map, const dl_grid *g)
{
    const int S = g->side;
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) {
            double uy = (y - g->off) / g->stride, ux = (x - g->off) / g->stride;
            int y0 = (int)floor(uy), x0 = (int)floor(ux);
            double fy = uy - y0, fx = ux - x0, s = 0;
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) {
                    int r = y0 + i, c = x0 + j;
                    if (r < 0 || c < 0 || r >= S || c >= S) continue;
                    s += (i ? fy : 1 - fy) * (j ? fx : 1 - fx) * map[r * S + c];
                }
            out[y * 28 + x] = s;
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

/* The gradient methods from dy^c/dA. Biases of +6 on the conv before A keep
 * every activation of A positive. Where the tail after A is max-pool and
 * dense (the built-in networks), dy^c/dA is a central difference of the
 * double tail at every element (the test checks that no pool window holds
 * two values within 2h: there the tail is linear). Where it has a
 * convolution (two-conv read at relu1), differencing all 9,216 elements
 * through it would take minutes: the library's dy^c/dA is checked against
 * central differences at 200 elements, and then used. */
static void test_gradient_methods(void **state)
{
    (void)state;
    for (int an = 0; an < N_ARCHS; an++) {
        dl_model m;
        dl_work w;
        setup_model(&m, &w, an, 21, 6.0f);
        const int K = m.cam_k, Z = m.map_size, S = m.grid.side, L = m.cam_layer, NA = K * Z;
        const int closed = dl_gradcam_closed_form(&m);
        float xf[DL_IN_SIZE];
        double xd[DL_IN_SIZE];
        random_input(xf, xd);
        ref_net r;
        ref_run(&r, &m, 0, xd);
        double *A = r.act[L + 1], *logits = r.act[m.n_layers];
        double *dy = malloc(sizeof(double) * 10 * NA), lp[10], lm[10];
        const double h = 1e-6;
        for (int i = 0; i < NA; i++) assert_true(A[i] > 0);
        if (closed) {
            assert_pool_windows_apart(A, K, S, h);
            for (int i = 0; i < NA; i++) {
                double keep = A[i];
                A[i] = keep + h; ref_forward_from(&m, L + 1, A, lp);
                A[i] = keep - h; ref_forward_from(&m, L + 1, A, lm);
                A[i] = keep;
                for (int c = 0; c < 10; c++) dy[c * NA + i] = (lp[c] - lm[c]) / (2 * h);
            }
        } else {
            assert_ok(dl_forward(&m, &w, xf, 1));
            for (int c = 0; c < 10; c++) {
                float onehot[10] = { 0 };
                onehot[c] = 1.0f;
                assert_ok(dl_backward(&m, &w, onehot, 1, L, NULL));
                const float *G = dl_layer_grad(&m, &w, L);
                for (int i = 0; i < NA; i++) dy[c * NA + i] = G[i];
            }
            int agree = 0;
            for (int s = 0; s < 200; s++) {
                int i = (int)(dl_rand_u64(&rng) % (uint64_t)NA);
                double keep = A[i];
                A[i] = keep + 1e-4; ref_forward_from(&m, L + 1, A, lp);
                A[i] = keep - 1e-4; ref_forward_from(&m, L + 1, A, lm);
                A[i] = keep;
                int ok = 1;
                for (int c = 0; c < 10; c++) {
                    double fd = (lp[c] - lm[c]) / 2e-4, g = dy[c * NA + i];
                    ok &= fabs(fd - g) <= 1e-5 + 1e-3 * fabs(g);
                }
                agree += ok;
            }
            /* a kink of relu2 or a max-pool swap within the step spoils a few */
            if (agree < 190) fail_msg("%s: dy/dA agrees at %d of 200 elements", test_arch_names[an], agree);
        }
        static dl_cam cam;
        const int methods[] = { DL_M_GRADCAM, DL_M_GRADCAMPP, DL_M_XGRADCAM, DL_M_HIRESCAM,
                                DL_M_LAYERCAM, DL_M_COUNTERFACTUAL };
        double *map = malloc(sizeof(double) * Z);
        for (size_t mi = 0; mi < sizeof methods / sizeof methods[0]; mi++) {
            int method = methods[mi];
            assert_ok(dl_cam_method(&m, &w, xf, method, DL_ALL_CLASSES, &cam));
            assert_int_equal(cam.method, method);
            assert_int_equal(cam.grid.side, S);
            assert_int_equal(cam.undefined, 0);
            int nonzero = 0;
            for (int c = 0; c < 10; c++) {
                assert_close(cam.logits[c], logits[c], 1e-5, 1e-5);
                const double *G = dy + c * NA;
                double wk[DL_MAX_CHANNELS];
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
                    relu_wsum(map, wk, A, K, Z);
                    for (int k = 0; k < K; k++) assert_close(cam.alpha[c][k], wk[k], 1e-6, 1e-3);
                }
                double mx = 0;
                for (int p = 0; p < Z; p++) mx = fmax(mx, map[p]);
                nonzero += mx > 0;
                assert_map(dl_cam_map(&cam, c), map, Z, 1e-5 * fmax(1, mx), 1e-3);
            }
            if (nonzero < 3) /* the comparison is not between zeros */
                fail_msg("%s, %s: %d non-zero maps", test_arch_names[an], dl_cam_method_name(method), nonzero);
        }
        /* the work is left as after the forward pass */
        const float *y = dl_logits(&m, &w);
        for (int c = 0; c < 10; c++) assert_close(y[c], logits[c], 1e-5, 1e-5);
        free(map);
        free(dy);
        ref_free(&r);
        dl_work_free(&w);
        dl_model_free(&m);
    }
}

/* Score-CAM and Ablation-CAM by running the network again, in double. */
static void test_perturbation_methods(void **state)
{
    (void)state;
    for (int an = 0; an < N_ARCHS; an++) {
        dl_model m;
        dl_work w;
        setup_model(&m, &w, an, 33, 0.05f);
        const int K = m.cam_k, Z = m.map_size, L = m.cam_layer, NA = K * Z;
        float xf[DL_IN_SIZE];
        double xd[DL_IN_SIZE], xm[DL_IN_SIZE], M[DL_IN_SIZE];
        random_input(xf, xd);
        ref_net r;
        ref_run(&r, &m, 0, xd);
        const double *A = r.act[L + 1], *y0 = r.act[m.n_layers];
        int zeros = 0;
        for (int i = 0; i < NA; i++) zeros += A[i] == 0;
        assert_true(zeros > 10 && zeros < NA - 10); /* some ReLUs off, some on */
        double *mk = malloc(sizeof(double) * Z), *map = malloc(sizeof(double) * Z),
               *A2 = malloc(sizeof(double) * NA);

        /* Score-CAM */
        double score[DL_MAX_CHANNELS][10], wk[DL_MAX_CHANNELS];
        for (int k = 0; k < K; k++) {
            double lo = A[k * Z], hi = A[k * Z];
            for (int p = 0; p < Z; p++) { lo = fmin(lo, A[k * Z + p]); hi = fmax(hi, A[k * Z + p]); }
            for (int p = 0; p < Z; p++) mk[p] = (A[k * Z + p] - lo) / (hi - lo + 1e-8);
            ref_place28(M, mk, &m.grid);
            for (int i = 0; i < DL_IN_SIZE; i++) xm[i] = xd[i] * M[i];
            ref_forward_from(&m, 0, xm, score[k]);
        }
        static dl_cam cam;
        assert_ok(dl_cam_method(&m, &w, xf, DL_M_SCORECAM, DL_ALL_CLASSES, &cam));
        for (int c = 0; c < 10; c++) {
            double mx = -1e300, s = 0;
            for (int k = 0; k < K; k++) mx = fmax(mx, score[k][c]);
            for (int k = 0; k < K; k++) s += (wk[k] = exp(score[k][c] - mx));
            for (int k = 0; k < K; k++) {
                wk[k] /= s;
                assert_close(cam.alpha[c][k], wk[k], 1e-6, 1e-3);
            }
            relu_wsum(map, wk, A, K, Z);
            assert_map(dl_cam_map(&cam, c), map, Z, 1e-5, 1e-3);
        }
        const float *y = dl_logits(&m, &w);
        for (int c = 0; c < 10; c++) assert_close(y[c], y0[c], 1e-5, 1e-5);

        /* Ablation-CAM */
        double abl[DL_MAX_CHANNELS][10];
        for (int k = 0; k < K; k++) {
            memcpy(A2, A, sizeof(double) * NA);
            for (int p = 0; p < Z; p++) A2[k * Z + p] = 0;
            ref_forward_from(&m, L + 1, A2, abl[k]);
        }
        assert_ok(dl_cam_method(&m, &w, xf, DL_M_ABLATIONCAM, DL_ALL_CLASSES, &cam));
        assert_int_equal(cam.undefined, 0);
        int nonzero = 0;
        for (int c = 0; c < 10; c++) {
            for (int k = 0; k < K; k++) {
                wk[k] = (y0[c] - abl[k][c]) / y0[c];
                assert_close(cam.alpha[c][k], wk[k], 1e-5, 1e-3);
            }
            relu_wsum(map, wk, A, K, Z);
            double mx = 0;
            for (int p = 0; p < Z; p++) mx = fmax(mx, map[p]);
            nonzero += mx > 0;
            assert_map(dl_cam_map(&cam, c), map, Z, 1e-5 * fmax(1, mx), 1e-3);
        }
        assert_true(nonzero >= 3);
        for (int c = 0; c < 10; c++) assert_close(y[c], y0[c], 1e-5, 1e-5);

        /* y^c = 0 exactly (a zero row of fc.weight, zero bias): undefined */
        const dl_layer *fc = &m.layers[m.n_layers - 1];
        memset(m.params + fc->w_off + 4 * fc->in_size, 0, fc->in_size * sizeof(float));
        m.params[fc->b_off + 4] = 0.0f;
        assert_ok(dl_cam_method(&m, &w, xf, DL_M_ABLATIONCAM, DL_ALL_CLASSES, &cam));
        assert_int_equal(cam.undefined, 1u << 4);
        for (int p = 0; p < Z; p++) assert_true(dl_cam_map(&cam, 4)[p] == 0.0f);
        free(mk);
        free(map);
        free(A2);
        ref_free(&r);
        dl_work_free(&w);
        dl_model_free(&m);
    }
}

/* Eigen-CAM against power iteration on X^T X (X = A centred, (Z, K)). */
static void test_eigencam(void **state)
{
    (void)state;
    for (int an = 0; an < N_ARCHS; an++) {
        dl_model m;
        dl_work w;
        setup_model(&m, &w, an, 45, 0.05f);
        const int K = m.cam_k, Z = m.map_size, L = m.cam_layer;
        float xf[DL_IN_SIZE];
        double xd[DL_IN_SIZE];
        random_input(xf, xd);
        ref_net r;
        ref_run(&r, &m, 0, xd);
        const double *A = r.act[L + 1];
        double mean[DL_MAX_CHANNELS], C[DL_MAX_CHANNELS][DL_MAX_CHANNELS], v[DL_MAX_CHANNELS];
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
            double nv[DL_MAX_CHANNELS], n = 0;
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
        double *map = malloc(sizeof(double) * Z), mx = 0;
        for (int p = 0; p < Z; p++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (A[k * Z + p] - mean[k]) * v[k];
            map[p] = s > 0 ? s : 0;
            mx = fmax(mx, map[p]);
        }
        assert_true(mx > 0);
        static dl_cam cam;
        assert_ok(dl_cam_method(&m, &w, xf, DL_M_EIGENCAM, DL_ALL_CLASSES, &cam));
        for (int c = 0; c < 10; c++) assert_map(dl_cam_map(&cam, c), map, Z, 1e-4 * mx, 1e-3);
        free(map);
        ref_free(&r);
        dl_work_free(&w);
        dl_model_free(&m);
    }
}

/* Guided backprop written out layer by layer in double, from the logit of
 * c down to the input: dense as W^T g, each max-pool window's gradient to
 * its first maximum, each ReLU passing g only where its output was
 * positive and g is positive (the guided rule), each conv spreading g back
 * through its kernels: R[c, y+i, x+j] += w[o, c, i, j] g[o, y, x]. */
static void ref_guided(double *R, const dl_model *m, const ref_net *r, int cls)
{
    const float *P = m->params;
    double *g = calloc(10, sizeof(double));
    g[cls] = 1.0;
    for (int l = m->n_layers - 1; l >= 0; l--) {
        const dl_layer *L = &m->layers[l];
        const int C = L->in_c, H = L->in_h, W = L->in_w, OC = L->out_c, OH = L->out_h, OW = L->out_w;
        double *gi = calloc(L->in_size, sizeof(double));
        const double *in = r->act[l], *out = r->act[l + 1];
        switch (L->spec.kind) {
        case DL_DENSE:
            for (size_t o = 0; o < L->out_size; o++)
                for (size_t i = 0; i < L->in_size; i++) gi[i] += P[L->w_off + o * L->in_size + i] * g[o];
            break;
        case DL_FLATTEN:
            memcpy(gi, g, L->in_size * sizeof(double));
            break;
        case DL_RELU:
            for (size_t i = 0; i < L->in_size; i++) gi[i] = out[i] > 0 && g[i] > 0 ? g[i] : 0;
            break;
        case DL_MAXPOOL: {
            const int S = L->spec.size;
            for (int c = 0; c < C; c++)
                for (int y = 0; y < OH; y++)
                    for (int x = 0; x < OW; x++) {
                        int at = (c * H + S * y) * W + S * x;
                        for (int i = 0; i < S; i++)
                            for (int j = 0; j < S; j++) {
                                int q = (c * H + S * y + i) * W + S * x + j;
                                if (in[q] > in[at]) at = q;
                            }
                        gi[at] += g[(c * OH + y) * OW + x];
                    }
            break;
        }
        case DL_CONV: {
            const int K = L->spec.k;
            for (int o = 0; o < OC; o++)
                for (int y = 0; y < OH; y++)
                    for (int x = 0; x < OW; x++)
                        for (int c = 0; c < C; c++)
                            for (int i = 0; i < K; i++)
                                for (int j = 0; j < K; j++)
                                    gi[(c * H + y + i) * W + x + j] +=
                                        P[L->w_off + ((o * C + c) * K + i) * K + j] * g[(o * OH + y) * OW + x];
            break;
        }
        }
        free(g);
        g = gi;
    }
    memcpy(R, g, DL_IN_SIZE * sizeof(double));
    free(g);
}

static void test_guided(void **state)
{
    (void)state;
    for (int an = 0; an < N_ARCHS; an++) {
        dl_model m;
        dl_work w;
        setup_model(&m, &w, an, 57, 0.05f);
        float xf[DL_IN_SIZE];
        double xd[DL_IN_SIZE];
        random_input(xf, xd);
        ref_net r;
        ref_run(&r, &m, 0, xd);
        static dl_cam cam, gbp, ggc;
        assert_ok(dl_cam_method(&m, &w, xf, DL_M_GRADCAM, DL_ALL_CLASSES, &cam));
        assert_ok(dl_cam_method(&m, &w, xf, DL_M_GUIDED_BACKPROP, DL_ALL_CLASSES, &gbp));
        assert_ok(dl_cam_method(&m, &w, xf, DL_M_GUIDED_GRADCAM, DL_ALL_CLASSES, &ggc));
        /* input-resolution maps: on the input's own grid */
        assert_memory_equal(&gbp.grid, &dl_input_grid, sizeof gbp.grid);
        assert_memory_equal(&ggc.grid, &dl_input_grid, sizeof ggc.grid);
        assert_ptr_equal(dl_cam_map(&gbp, 3), gbp.maps + 3 * DL_IN_SIZE);
        assert_ptr_equal(dl_cam_map(&cam, 3), cam.maps + 3 * m.map_size);
        int nonzero = 0;
        for (int c = 0; c < 10; c++) {
            double R[DL_IN_SIZE], want[DL_IN_SIZE], want2[DL_IN_SIZE], up[DL_IN_SIZE], mx = 0;
            double *gmap = malloc(sizeof(double) * m.map_size);
            for (int p = 0; p < m.map_size; p++) gmap[p] = dl_cam_map(&cam, c)[p];
            ref_place28(up, gmap, &m.grid);
            free(gmap);
            ref_guided(R, &m, &r, c);
            for (int i = 0; i < DL_IN_SIZE; i++) {
                want[i] = R[i] > 0 ? R[i] : 0;
                want2[i] = want[i] * up[i];
                mx = fmax(mx, want[i]);
            }
            nonzero += mx > 0;
            assert_map(dl_cam_map(&gbp, c), want, DL_IN_SIZE, 1e-6, 1e-4);
            assert_map(dl_cam_map(&ggc, c), want2, DL_IN_SIZE, 1e-6, 1e-4);
        }
        if (nonzero < 5) fail_msg("%s: %d non-zero guided maps", test_arch_names[an], nonzero);
        ref_free(&r);
        dl_work_free(&w);
        dl_model_free(&m);
    }
}

/* Every activation of A zero: every method returns zero maps, flags every
 * class asked for as undefined, and nothing is NaN. */
static void test_dead_input(void **state)
{
    (void)state;
    for (int an = 0; an < N_ARCHS; an++) {
        dl_model m;
        dl_work w;
        setup_model(&m, &w, an, 5, -100.0f);
        float x[DL_IN_SIZE] = { 0 };
        static dl_cam cam;
        for (int method = 0; method < DL_M_COUNT; method++) {
            assert_ok(dl_cam_method(&m, &w, x, method, 0x0F3u, &cam));
            assert_int_equal(cam.undefined, 0x0F3u);
            for (int c = 0; c < 10; c++) {
                const float *map = dl_cam_map(&cam, c);
                int n = cam.grid.side * cam.grid.side;
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
}

/* The placement the methods use (dl_cam_place) against the reference
 * placement written here, on each network's grid and the input's. */
static void test_place_grids(void **state)
{
    (void)state;
    const dl_grid grids[3] = { { 24, 2.0f, 1.0f }, { 10, 4.5f, 2.0f }, { 28, 0.0f, 1.0f } };
    for (int g = 0; g < 3; g++) {
        const int S = grids[g].side;
        float map[DL_IN_SIZE], got[DL_IN_SIZE];
        double md[DL_IN_SIZE], want[DL_IN_SIZE];
        for (int i = 0; i < S * S; i++) md[i] = map[i] = dl_rand_uniform(&rng);
        assert_ok(dl_cam_place(got, 28, 28, map, &grids[g]));
        ref_place28(want, md, &grids[g]);
        for (int i = 0; i < DL_IN_SIZE; i++) assert_close(got[i], want[i], 1e-6, 1e-6);
        if (g == 2) assert_memory_equal(got, map, sizeof got); /* the identity */
    }
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
        cmocka_unit_test(test_place_grids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
