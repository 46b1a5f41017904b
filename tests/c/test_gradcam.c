/* test_gradcam.c — Grad-CAM against an independent computation on every
 * network (the seed, two-conv, two-conv read at its first ReLU), placement
 * on the input, normalisation, colormaps. */
#include "testutil.h"

static uint64_t rng = 777;

static void random_input(float *x, float density)
{
    for (int i = 0; i < DL_IN_SIZE; i++)
        x[i] = dl_rand_uniform(&rng) < density ? dl_rand_uniform(&rng) : 0.0f;
}

/* The output of the CAM layer, in double precision. */
static double *A_of(const dl_model *m, dl_work *w)
{
    const size_t n = m->layers[m->cam_layer].out_size;
    double *A = malloc(n * sizeof *A);
    const float *Af = dl_layer_out(m, w, m->cam_layer);
    for (size_t i = 0; i < n; i++) A[i] = Af[i];
    return A;
}

/* alpha_k^c = (1/Z) sum_ij dy^c/dA_k[ij] is the derivative of y^c along
 * e_k (all ones on channel k), over Z: a central difference of the
 * double-precision tail, two evaluations per channel, whatever the tail.
 * The CAM layer's conv gets biases of +6 so that A is positive (no ReLU
 * kink at A), and shifting a whole channel keeps every pool window's order,
 * ties included: the tail is linear along e_k. Then the maps from alpha
 * and A, compared with dl_gradcam's, for every network. */
static void test_gradcam_matches_finite_differences(void **state)
{
    (void)state;
    for (int n = 0; n < N_ARCHS; n++) {
        dl_model m;
        dl_work w;
        plan_test_model(&m, &w, test_archs[n], 11 + n);
        const dl_layer *cv = cam_conv(&m);
        for (int k = 0; k < cv->out_c; k++) m.params[cv->b_off + k] = 6.0f;
        float x[DL_IN_SIZE];
        random_input(x, 1.0f);
        static dl_cam cam;
        assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cam));
        const int K = m.cam_k, Z = m.map_size, L = m.cam_layer;
        assert_int_equal(cam.grid.side * cam.grid.side, Z);
        double *A = A_of(&m, &w), logits[10], lp[10], lm[10];
        ref_forward_from(&m, L + 1, A, logits);
        for (int c = 0; c < 10; c++) assert_close(cam.logits[c], logits[c], 1e-5, 1e-5);
        const double h = 1e-4;
        double alpha[10][DL_MAX_CHANNELS];
        for (int k = 0; k < K; k++) {
            for (int p = 0; p < Z; p++) A[k * Z + p] += h;
            ref_forward_from(&m, L + 1, A, lp);
            for (int p = 0; p < Z; p++) A[k * Z + p] -= 2 * h;
            ref_forward_from(&m, L + 1, A, lm);
            for (int p = 0; p < Z; p++) A[k * Z + p] += h;
            for (int c = 0; c < 10; c++) {
                alpha[c][k] = (lp[c] - lm[c]) / (2 * h) / Z;
                if (fabs(cam.alpha[c][k] - alpha[c][k]) > 1e-6 + 1e-3 * fabs(alpha[c][k]))
                    fail_msg("%s: alpha[%d][%d] %.9g, by differences %.9g", test_arch_names[n], c, k,
                             cam.alpha[c][k], alpha[c][k]);
            }
        }
        int lit = 0;
        for (int c = 0; c < 10; c++)
            for (int p = 0; p < Z; p++) {
                double s = 0;
                for (int k = 0; k < K; k++) s += alpha[c][k] * A[k * Z + p];
                s = s > 0 ? s : 0;
                assert_close(dl_cam_map(&cam, c)[p], s, 1e-5, 1e-3);
                lit += s > 0;
            }
        assert_true(lit > 0);
        free(A);
        dl_work_free(&w);
        dl_model_free(&m);
    }
}

/* dy^c/dA element by element: central differences of the double tail
 * against the library's backward pass (which the closed form and the
 * other CAM methods rest on). A positive and without near-ties in any pool
 * window (checked), so the tail is linear around each element. */
static void test_backward_to_A_matches_finite_differences(void **state)
{
    (void)state;
    for (int n = 0; n < 2; n++) { /* the built-in networks: pool, flatten, dense after A */
        dl_model m;
        dl_work w;
        plan_test_model(&m, &w, test_archs[n], 21 + n);
        const dl_layer *cv = cam_conv(&m);
        for (int k = 0; k < cv->out_c; k++) m.params[cv->b_off + k] = 6.0f;
        float x[DL_IN_SIZE];
        random_input(x, 1.0f);
        assert_ok(dl_forward(&m, &w, x, 1));
        const int K = m.cam_k, Z = m.map_size, S = m.grid.side, L = m.cam_layer;
        double *A = A_of(&m, &w), lp[10], lm[10];
        const double h = 1e-6;
        assert_pool_windows_apart(A, K, S, h);
        for (int c = 0; c < 10; c += 3) {
            float onehot[10] = { 0 };
            onehot[c] = 1.0f;
            assert_ok(dl_backward(&m, &w, onehot, 1, L, NULL));
            const float *G = dl_layer_grad(&m, &w, L);
            for (int i = 0; i < K * Z; i++) {
                double keep = A[i];
                A[i] = keep + h; ref_forward_from(&m, L + 1, A, lp);
                A[i] = keep - h; ref_forward_from(&m, L + 1, A, lm);
                A[i] = keep;
                assert_close(G[i], (lp[c] - lm[c]) / (2 * h), 1e-6, 1e-4);
            }
        }
        free(A);
        dl_work_free(&w);
        dl_model_free(&m);
    }
}

/* Every activation of A zero (a blank input, negative biases): every pool
 * window is a four-way tie and routes its gradient to its first cell, so
 * alpha_k^c = (1/Z) sum over the pooled cells of fc.weight[c, k, :], and
 * every map is zero, not NaN. */
static void test_gradcam_ties_and_zero_activations(void **state)
{
    (void)state;
    for (int n = 0; n < 2; n++) {
        dl_model m;
        dl_work w;
        plan_test_model(&m, &w, test_archs[n], 5);
        const dl_layer *cv = cam_conv(&m);
        for (int k = 0; k < cv->out_c; k++) m.params[cv->b_off + k] = -100.0f;
        float x[DL_IN_SIZE] = { 0 };
        static dl_cam cam;
        assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cam));
        const dl_layer *fc = &m.layers[m.n_layers - 1], *pool = &m.layers[m.cam_layer + 1];
        const int K = m.cam_k, Z = m.map_size, cells = pool->out_h * pool->out_w;
        for (int c = 0; c < 10; c++) {
            for (int k = 0; k < K; k++) {
                double s = 0;
                for (int p = 0; p < cells; p++) s += m.params[fc->w_off + c * fc->in_size + k * cells + p];
                assert_close(cam.alpha[c][k], s / Z, 1e-7, 1e-5);
            }
            for (int p = 0; p < Z; p++) assert_true(dl_cam_map(&cam, c)[p] == 0.0f);
        }
        /* the backward pass itself routes each window's gradient to its
         * first cell only */
        float onehot[10] = { 0 };
        onehot[2] = 1.0f;
        assert_ok(dl_backward(&m, &w, onehot, 1, m.cam_layer, NULL));
        const float *dA = dl_layer_grad(&m, &w, m.cam_layer);
        const int S = m.grid.side;
        assert_close(dA[0], m.params[fc->w_off + 2 * fc->in_size], 0, 0);
        assert_true(dA[1] == 0.0f && dA[S] == 0.0f && dA[S + 1] == 0.0f);
        dl_work_free(&w);
        dl_model_free(&m);
    }
}

/* A digit-like input: ink in the middle, a blank margin where A is the
 * same at every cell. dl_gradcam fills such cells with one constant per
 * class instead of summing there; every cell must still be
 * ReLU(sum_k alpha_k^c A_k) of the A it computed, and some of the blank
 * constant must be positive. */
static void test_gradcam_blank_margin(void **state)
{
    (void)state;
    for (int n = 0; n < N_ARCHS; n++) {
        dl_model m;
        dl_work w;
        plan_test_model(&m, &w, test_archs[n], 13);
        const dl_layer *c0 = &m.layers[0];
        for (int k = 0; k < c0->out_c; k++) m.params[c0->b_off + k] = (k % 3 == 0 ? -0.5f : 0.4f) + 0.05f * k;
        const dl_layer *cv = cam_conv(&m);
        for (int k = 0; k < cv->out_c; k++) m.params[cv->b_off + k] = (k % 3 == 0 ? -0.5f : 0.4f) + 0.05f * k;
        float x[DL_IN_SIZE] = { 0 };
        for (int r = 11; r < 17; r++)
            for (int c = 11; c < 17; c++) x[r * 28 + c] = dl_rand_uniform(&rng);
        static dl_cam cam;
        assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cam));
        const float *A = dl_layer_out(&m, &w, m.cam_layer);
        const int K = m.cam_k, Z = m.map_size;
        int blank = 0, lit_blank = 0;
        for (int p = 0; p < Z; p++) {
            int same = 1;
            for (int k = 0; k < K; k++) same &= A[k * Z + p] == A[k * Z];
            blank += same;
            for (int c = 0; c < 10; c++) {
                double s = 0;
                for (int k = 0; k < K; k++) s += (double)cam.alpha[c][k] * A[k * Z + p];
                assert_close(dl_cam_map(&cam, c)[p], s > 0 ? s : 0, 1e-6, 1e-5);
                lit_blank += same && dl_cam_map(&cam, c)[p] > 0;
            }
        }
        if (blank < Z / 4 || lit_blank < 10)
            fail_msg("%s: %d blank cells of %d, %d lit", test_arch_names[n], blank, Z, lit_blank);
        dl_work_free(&w);
        dl_model_free(&m);
    }
}

/* dl_gradcam_prepare: the same maps, bit for bit, from alpha computed once;
 * prepared again after the weights change; off with NULL; refused for a
 * network without the closed form. */
static void test_gradcam_prepared_alpha(void **state)
{
    (void)state;
    for (int n = 0; n < N_ARCHS; n++) {
        dl_model m;
        dl_work w;
        plan_test_model(&m, &w, test_archs[n], 17);
        float x[DL_IN_SIZE];
        random_input(x, 0.3f);
        static dl_cam plain, cached;
        static float buf[DL_CLASSES * DL_MAX_CHANNELS];
        assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &plain));
        if (!dl_gradcam_closed_form(&m)) {
            assert_int_equal(n, 2);
            assert_int_equal(dl_gradcam_prepare(&m, buf), DL_ERR_ARG);
            assert_null(m.gradcam_alpha);
            dl_work_free(&w);
            dl_model_free(&m);
            continue;
        }
        assert_ok(dl_gradcam_prepare(&m, buf));
        assert_ptr_equal(m.gradcam_alpha, buf);
        assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cached));
        assert_memory_equal(cached.alpha, plain.alpha, sizeof plain.alpha);
        assert_memory_equal(cached.maps, plain.maps, sizeof plain.maps);
        /* new dense weights: prepared again, the maps follow them */
        const dl_layer *fc = &m.layers[m.n_layers - 1];
        for (size_t i = 0; i < fc->n_w; i++) m.params[fc->w_off + i] *= -0.5f;
        assert_ok(dl_gradcam_prepare(&m, buf));
        assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cached));
        assert_ok(dl_gradcam_prepare(&m, NULL));
        assert_null(m.gradcam_alpha);
        assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &plain));
        assert_memory_equal(cached.maps, plain.maps, sizeof plain.maps);
        assert_true(cached.alpha[3][0] != 0.0f);
        dl_work_free(&w);
        dl_model_free(&m);
    }
    assert_int_equal(dl_gradcam_prepare(NULL, NULL), DL_ERR_ARG);
}

/* One class asked for equals the same class of all ten; the closed form
 * equals the mean of dy^c/dA from the backward pass; bad arguments. */
static void test_gradcam_one_class_equals_all(void **state)
{
    (void)state;
    for (int n = 0; n < N_ARCHS; n++) {
        dl_model m;
        dl_work w;
        plan_test_model(&m, &w, test_archs[n], 9);
        float x[DL_IN_SIZE];
        random_input(x, 1.0f);
        static dl_cam all, one;
        const int K = m.cam_k, Z = m.map_size;
        assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &all));
        assert_ok(dl_gradcam(&m, &w, x, 1u << 3, &one));
        assert_int_equal(one.classes, 1u << 3);
        assert_memory_equal(dl_cam_map(&one, 3), dl_cam_map(&all, 3), (size_t)Z * sizeof(float));
        for (int c = 0; c < 10; c++) {
            float onehot[10] = { 0 };
            onehot[c] = 1.0f;
            assert_ok(dl_forward(&m, &w, x, 1));
            assert_ok(dl_backward(&m, &w, onehot, 1, m.cam_layer, NULL));
            const float *dA = dl_layer_grad(&m, &w, m.cam_layer);
            for (int k = 0; k < K; k++) {
                double s = 0;
                for (int p = 0; p < Z; p++) s += dA[k * Z + p];
                assert_close(all.alpha[c][k], s / Z, 1e-8, 1e-5);
            }
        }
        for (int p = 0; p < Z; p++) assert_true(dl_cam_map(&one, 4)[p] == 0.0f);
        double psum = 0;
        for (int c = 0; c < 10; c++) psum += all.probs[c];
        assert_close(psum, 1.0, 1e-6, 0);
        assert_int_equal(dl_gradcam(&m, &w, x, 1u << 10, &one), DL_ERR_ARG);
        x[100] = NAN;
        assert_int_equal(dl_gradcam(&m, &w, x, 1, &one), DL_ERR_NAN);
        dl_work_free(&w);
        dl_model_free(&m);
    }
}

/* Where each network's map lies: the grid the plan computes from the
 * layers, and a single hot cell placed on the input. Seed: cell (i,j) on
 * input pixel (i+2, j+2). Two-conv: cell q centred on 2q + 4.5, between
 * pixels 2q+4 and 2q+5, which get 3/4 of it each. */
static void test_placement_hot_cell(void **state)
{
    (void)state;
    const float want[N_ARCHS][3] = { { 24, 2.0f, 1.0f }, { 10, 4.5f, 2.0f }, { 24, 2.0f, 1.0f } };
    for (int n = 0; n < N_ARCHS; n++) {
        dl_model m;
        assert_ok(dl_model_plan(&m, test_archs[n]));
        assert_int_equal(m.grid.side, (int)want[n][0]);
        assert_true(m.grid.off == want[n][1] && m.grid.stride == want[n][2]);
    }
    /* the seed's grid: exact pixels */
    dl_grid seed = { 24, 2.0f, 1.0f }, two = { 10, 4.5f, 2.0f };
    int cells[3][2] = { { 0, 0 }, { 7, 13 }, { 23, 23 } };
    for (int t = 0; t < 3; t++) {
        int i = cells[t][0], j = cells[t][1];
        float map[576] = { 0 }, out28[784];
        map[i * 24 + j] = 1.0f;
        assert_ok(dl_cam_place(out28, 28, 28, map, &seed));
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++)
                assert_close(out28[r * 28 + c], (r == i + 2 && c == j + 2) ? 1.0 : 0.0, 0, 0);
    }
    /* both grids at 10x (280 px): the mass is centred on the cell's centre,
     * (off + stride * q + 0.5) * 10 in pixel-edge coordinates */
    for (int g = 0; g < 2; g++) {
        const dl_grid *gr = g ? &two : &seed;
        int S = gr->side, qs[2][2] = { { 3, 5 }, { S - 3, S / 2 } };
        for (int t = 0; t < 2; t++) {
            int i = qs[t][0], j = qs[t][1];
            float map[576] = { 0 };
            map[i * S + j] = 1.0f;
            static float big[280 * 280];
            assert_ok(dl_cam_place(big, 280, 280, map, gr));
            double s = 0, sy = 0, sx = 0, mx = 0;
            int my = 0, mxx = 0;
            for (int r = 0; r < 280; r++)
                for (int c = 0; c < 280; c++) {
                    double v = big[r * 280 + c];
                    s += v; sy += v * (r + 0.5); sx += v * (c + 0.5);
                    if (v > mx) { mx = v; my = r; mxx = c; }
                }
            assert_close(sy / s, (gr->off + gr->stride * i + 0.5) * 10, 1e-2, 0);
            assert_close(sx / s, (gr->off + gr->stride * j + 0.5) * 10, 1e-2, 0);
            assert_close(my, (gr->off + gr->stride * i + 0.5) * 10, 5.5, 0);
            assert_close(mxx, (gr->off + gr->stride * j + 0.5) * 10, 5.5, 0);
        }
        /* 28x28: the two-conv cell (3, 5) on pixels 10..11 x 14..15 */
        if (g) {
            float map[100] = { 0 }, out28[784];
            map[3 * 10 + 5] = 1.0f;
            assert_ok(dl_cam_place(out28, 28, 28, map, gr));
            assert_close(out28[10 * 28 + 14], 0.75 * 0.75, 1e-7, 0);
            assert_close(out28[11 * 28 + 15], 0.75 * 0.75, 1e-7, 0);
            assert_close(out28[9 * 28 + 14], 0.25 * 0.75, 1e-7, 0);
            assert_true(out28[8 * 28 + 14] == 0.0f && out28[10 * 28 + 17] == 0.0f);
        }
    }
    /* non-square display sizes work too */
    float map[576] = { 0 }, out[56 * 84];
    map[5 * 24 + 6] = 2.0f;
    assert_ok(dl_cam_place(out, 56, 84, map, &seed));
    int best = 0;
    for (int p = 1; p < 56 * 84; p++) if (out[p] > out[best]) best = p;
    assert_int_equal((best / 84) / 2, 7);
    assert_int_equal((best % 84) / 3, 8);
    assert_int_equal(dl_cam_place(out, 0, 10, map, &seed), DL_ERR_ARG);
    assert_int_equal(dl_cam_place(out, 10, 10, map, NULL), DL_ERR_ARG);
    /* the input grid: the 28x28 map as it is */
    float id[784], o28[784];
    for (int p = 0; p < 784; p++) id[p] = (float)(p % 7);
    assert_ok(dl_cam_place(o28, 28, 28, id, &dl_input_grid));
    assert_memory_equal(o28, id, sizeof id);
}

static void test_normalize(void **state)
{
    (void)state;
    float z[2 * 576] = { 0 }, out[2 * 576];
    for (int p = 0; p < 576; p++) z[576 + p] = 3.25f; /* zero map, constant map */
    dl_cam_normalize(out, z, 2, 576, 0);
    for (int p = 0; p < 2 * 576; p++) assert_true(out[p] == 0.0f);
    dl_cam_normalize(out, z + 576, 1, 576, 1);
    for (int p = 0; p < 576; p++) assert_true(out[p] == 0.0f);

    float two[2 * 4] = { 0, 1, 2, 0, 0, 2, 4, 1 }, per[8], shared[8];
    dl_cam_normalize(per, two, 2, 4, 0);
    dl_cam_normalize(shared, two, 2, 4, 1);
    assert_close(per[1], 0.5, 0, 1e-7);   assert_close(per[2], 1.0, 0, 0);
    assert_close(per[6], 1.0, 0, 0);      assert_close(per[7], 0.25, 0, 1e-7);
    assert_close(shared[2], 0.5, 0, 1e-7); assert_close(shared[6], 1.0, 0, 0);
    assert_close(shared[1], 0.25, 0, 1e-7);
    dl_cam_normalize(two, two, 2, 4, 1); /* in place */
    assert_close(two[2], 0.5, 0, 1e-7);
}

static void test_colormaps(void **state)
{
    (void)state;
    uint8_t c[3];
    dl_colormap_rgb(c, 0.0f, DL_VIRIDIS);
    assert_int_equal(c[0], 68); assert_int_equal(c[1], 1); assert_int_equal(c[2], 84);
    dl_colormap_rgb(c, 1.0f, DL_VIRIDIS);
    assert_int_equal(c[0], 253); assert_int_equal(c[1], 231); assert_int_equal(c[2], 37);
    dl_colormap_rgb(c, 0.5f, DL_INFERNO);
    assert_int_equal(c[0], 0xbc); assert_int_equal(c[1], 0x37); assert_int_equal(c[2], 0x54);
    dl_colormap_rgb(c, 0.55f, DL_INFERNO); /* halfway between 0.5 and 0.6 */
    assert_int_equal(c[0], (0xbc + 0xdd + 1) / 2);
    dl_colormap_rgb(c, NAN, DL_INFERNO);
    assert_int_equal(c[0], 0); assert_int_equal(c[2], 4);
    dl_colormap_rgb(c, 7.0f, DL_INFERNO);
    assert_int_equal(c[2], 0xa4);
    /* inferno's lightness rises monotonically */
    int last = -1;
    for (int i = 0; i <= 100; i++) {
        dl_colormap_rgb(c, i / 100.0f, DL_INFERNO);
        int lum = 299 * c[0] + 587 * c[1] + 114 * c[2];
        assert_true(lum >= last);
        last = lum;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcam_matches_finite_differences),
        cmocka_unit_test(test_backward_to_A_matches_finite_differences),
        cmocka_unit_test(test_gradcam_ties_and_zero_activations),
        cmocka_unit_test(test_gradcam_blank_margin),
        cmocka_unit_test(test_gradcam_prepared_alpha),
        cmocka_unit_test(test_gradcam_one_class_equals_all),
        cmocka_unit_test(test_placement_hot_cell),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_colormaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
