/* test_gradcam.c — Grad-CAM against an independent computation, placement,
 * normalisation, colormaps. */
#include "testutil.h"

static uint64_t rng = 777;

static void setup_model(dl_model *m, dl_work *w, uint64_t seed)
{
    assert_ok(dl_model_plan(m, dl_seednet, DL_SEEDNET_LAYERS, DL_SEEDNET_CAM_LAYER));
    assert_ok(dl_model_alloc(m));
    assert_ok(dl_model_init_he(m, seed));
    assert_ok(dl_work_alloc(w, m, 1));
}

/* dy^c/dA by central differences on the double-precision tail, then alpha
 * and the map, compared with dl_gradcam. Conv biases of +6 keep every
 * activation positive, and the test checks that no pool window holds two
 * values within 2h of each other: there the tail is linear and the central
 * difference is exact up to rounding. */
static void test_gradcam_matches_finite_differences(void **state)
{
    (void)state;
    dl_model m;
    dl_work w;
    setup_model(&m, &w, 11);
    for (int k = 0; k < 12; k++) m.params[m.layers[0].b_off + k] = 6.0f;
    float x[DL_IN_SIZE];
    for (int i = 0; i < DL_IN_SIZE; i++) x[i] = dl_rand_uniform(&rng);

    static dl_cam cam;
    assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cam));
    static double A[6912], dy[10][6912];
    const float *Af = dl_layer_out(&m, &w, 1);
    for (int i = 0; i < 6912; i++) A[i] = Af[i];

    const double h = 1e-6;
    for (int k = 0; k < 12; k++)
        for (int y = 0; y < 24; y += 2)
            for (int x0 = 0; x0 < 24; x0 += 2) {
                const double *a = A + k * 576 + y * 24 + x0;
                double v[4] = { a[0], a[1], a[24], a[25] };
                for (int i = 0; i < 4; i++) {
                    assert_true(v[i] > 0);
                    for (int j = i + 1; j < 4; j++) assert_true(fabs(v[i] - v[j]) > 2 * h);
                }
            }
    double lp[10], lm[10];
    for (int i = 0; i < 6912; i++) {
        double keep = A[i];
        A[i] = keep + h; ref_seednet_tail(lp, A, &m);
        A[i] = keep - h; ref_seednet_tail(lm, A, &m);
        A[i] = keep;
        for (int c = 0; c < 10; c++) dy[c][i] = (lp[c] - lm[c]) / (2 * h);
    }
    double logits[10];
    ref_seednet_tail(logits, A, &m);
    for (int c = 0; c < 10; c++) {
        assert_close(cam.logits[c], logits[c], 1e-5, 1e-5);
        double map[576] = { 0 };
        for (int k = 0; k < 12; k++) {
            double alpha = 0;
            for (int p = 0; p < 576; p++) alpha += dy[c][k * 576 + p];
            alpha /= 576;
            assert_close(cam.alpha[c][k], alpha, 1e-7, 1e-4);
            for (int p = 0; p < 576; p++) map[p] += alpha * A[k * 576 + p];
        }
        double mx = 0;
        for (int p = 0; p < 576; p++) {
            map[p] = map[p] > 0 ? map[p] : 0;
            assert_close(cam.maps[c][p], map[p], 1e-6, 1e-4);
            if (map[p] > mx) mx = map[p];
        }
        assert_true(mx > 0 || c != cam.digit); /* the predicted class's map is not empty */
    }
    assert_true(cam.probs[cam.digit] > 0.1f);
    dl_work_free(&w);
    dl_model_free(&m);
}

/* Every activation zero (a blank input, negative conv biases): every pool
 * window is a four-way tie and routes its gradient to its first cell, so
 * alpha_k^c = (1/576) sum over the 144 pooled cells of fc.weight[c, k, :],
 * and every map is zero, not NaN. */
static void test_gradcam_ties_and_zero_activations(void **state)
{
    (void)state;
    dl_model m;
    dl_work w;
    setup_model(&m, &w, 5);
    for (int k = 0; k < 12; k++) m.params[m.layers[0].b_off + k] = -1.0f;
    float x[DL_IN_SIZE] = { 0 };
    static dl_cam cam;
    assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cam));
    const dl_layer *fc = &m.layers[4];
    for (int c = 0; c < 10; c++) {
        for (int k = 0; k < 12; k++) {
            double s = 0;
            for (int p = 0; p < 144; p++) s += m.params[fc->w_off + c * 1728 + k * 144 + p];
            assert_close(cam.alpha[c][k], s / 576, 1e-7, 1e-5);
        }
        for (int p = 0; p < 576; p++) assert_true(cam.maps[c][p] == 0.0f);
    }
    /* the backward pass itself routes each window's gradient to its first
     * cell only (dl_gradcam takes the closed form for this architecture) */
    float onehot[10] = { 0 };
    onehot[2] = 1.0f;
    assert_ok(dl_backward(&m, &w, onehot, 1, 1, NULL));
    const float *dA = dl_layer_grad(&m, &w, 1);
    assert_close(dA[0], m.params[fc->w_off + 2 * 1728], 0, 0);
    assert_true(dA[1] == 0.0f && dA[24] == 0.0f && dA[25] == 0.0f);
    dl_work_free(&w);
    dl_model_free(&m);
}

/* A digit-like input: ink in the middle, a blank margin where every A_k is
 * ReLU(bias_k), some of them positive. dl_gradcam fills the blank cells with
 * one constant per class instead of summing there; every cell must still be
 * ReLU(sum_k alpha_k^c A_k) of the A it computed. */
static void test_gradcam_blank_margin(void **state)
{
    (void)state;
    dl_model m;
    dl_work w;
    setup_model(&m, &w, 13);
    for (int k = 0; k < 12; k++) m.params[m.layers[0].b_off + k] = (k % 3 == 0 ? -0.5f : 0.4f) + 0.05f * k;
    float x[DL_IN_SIZE] = { 0 };
    for (int r = 8; r < 20; r++)
        for (int c = 7; c < 21; c++) x[r * 28 + c] = dl_rand_uniform(&rng);
    static dl_cam cam;
    assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cam));
    const float *A = dl_layer_out(&m, &w, 1);
    int blank = 0, lit_blank = 0;
    for (int c = 0; c < 10; c++)
        for (int p = 0; p < 576; p++) {
            double s = 0;
            for (int k = 0; k < 12; k++) s += (double)cam.alpha[c][k] * A[k * 576 + p];
            assert_close(cam.maps[c][p], s > 0 ? s : 0, 1e-6, 1e-5);
            int y = p / 24, x0 = p % 24;
            if (y + 4 < 8 || y >= 20 || x0 + 4 < 7 || x0 >= 21) { /* no ink in its window */
                blank++;
                lit_blank += cam.maps[c][p] > 0;
            }
        }
    assert_true(blank > 2000);   /* most of the margin */
    assert_true(lit_blank > 500); /* and the constant there is not just zero */
    dl_work_free(&w);
    dl_model_free(&m);
}

/* dl_gradcam_prepare: the same maps, bit for bit, from alpha computed once;
 * prepared again after the weights change; off with NULL. */
static void test_gradcam_prepared_alpha(void **state)
{
    (void)state;
    dl_model m;
    dl_work w;
    setup_model(&m, &w, 17);
    float x[DL_IN_SIZE];
    for (int i = 0; i < DL_IN_SIZE; i++) x[i] = dl_rand_uniform(&rng) < 0.3f ? dl_rand_uniform(&rng) : 0.0f;
    static dl_cam plain, cached;
    static float buf[DL_CLASSES * 12];
    assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &plain));
    assert_ok(dl_gradcam_prepare(&m, buf));
    assert_ptr_equal(m.gradcam_alpha, buf);
    assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cached));
    assert_memory_equal(cached.alpha, plain.alpha, sizeof plain.alpha);
    assert_memory_equal(cached.maps, plain.maps, sizeof plain.maps);
    /* new dense weights: prepared again, the maps follow them */
    const dl_layer *fc = &m.layers[4];
    for (size_t i = 0; i < fc->n_w; i++) m.params[fc->w_off + i] *= -0.5f;
    assert_ok(dl_gradcam_prepare(&m, buf));
    assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cached));
    assert_ok(dl_gradcam_prepare(&m, NULL));
    assert_null(m.gradcam_alpha);
    assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &plain));
    assert_memory_equal(cached.maps, plain.maps, sizeof plain.maps);
    assert_true(cached.alpha[3][0] != 0.0f);
    assert_int_equal(dl_gradcam_prepare(NULL, buf), DL_ERR_ARG);
    dl_work_free(&w);
    dl_model_free(&m);
}

static void test_gradcam_one_class_equals_all(void **state)
{
    (void)state;
    dl_model m;
    dl_work w;
    setup_model(&m, &w, 9);
    float x[DL_IN_SIZE];
    for (int i = 0; i < DL_IN_SIZE; i++) x[i] = dl_rand_uniform(&rng);
    static dl_cam all, one;
    assert_ok(dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &all));
    assert_ok(dl_gradcam(&m, &w, x, 1u << 3, &one));
    assert_int_equal(one.classes, 1u << 3);
    assert_memory_equal(one.maps[3], all.maps[3], sizeof one.maps[3]);
    /* the closed-form alpha equals the mean of dy^c/dA from the backward pass */
    for (int c = 0; c < 10; c++) {
        float onehot[10] = { 0 };
        onehot[c] = 1.0f;
        assert_ok(dl_forward(&m, &w, x, 1));
        assert_ok(dl_backward(&m, &w, onehot, 1, 1, NULL));
        const float *dA = dl_layer_grad(&m, &w, 1);
        for (int k = 0; k < 12; k++) {
            double s = 0;
            for (int p = 0; p < 576; p++) s += dA[k * 576 + p];
            assert_close(all.alpha[c][k], s / 576, 1e-8, 1e-5);
        }
    }
    for (int p = 0; p < 576; p++) assert_true(one.maps[4][p] == 0.0f);
    double psum = 0;
    for (int c = 0; c < 10; c++) psum += all.probs[c];
    assert_close(psum, 1.0, 1e-6, 0);
    /* bad arguments */
    assert_int_equal(dl_gradcam(&m, &w, x, 1u << 10, &one), DL_ERR_ARG);
    x[100] = NAN;
    assert_int_equal(dl_gradcam(&m, &w, x, 1, &one), DL_ERR_NAN);
    x[100] = 0.5f;
    dl_work_free(&w);
    dl_model_free(&m);
    /* a network whose A is not followed by max-pool, flatten, dense: the
     * closed form does not hold, and dl_gradcam says so */
    static const dl_layer_spec no_pool[4] = {
        { DL_CONV, "conv", 12, 5 }, { DL_RELU, "relu", 0, 0 },
        { DL_FLATTEN, "flatten", 0, 0 }, { DL_DENSE, "fc", 10, 0 },
    };
    assert_ok(dl_model_plan(&m, no_pool, 4, 1));
    assert_ok(dl_model_alloc(&m));
    assert_ok(dl_model_init_he(&m, 3));
    assert_ok(dl_work_alloc(&w, &m, 1));
    static float buf[DL_CLASSES * 12];
    assert_int_equal(dl_gradcam(&m, &w, x, 1, &one), DL_ERR_ARG);
    assert_int_equal(dl_gradcam_prepare(&m, buf), DL_ERR_ARG);
    dl_work_free(&w);
    dl_model_free(&m);
}

/* A single hot cell (i,j) must land on input pixel (i+2, j+2). */
static void test_placement_hot_cell(void **state)
{
    (void)state;
    int cells[3][2] = { { 0, 0 }, { 7, 13 }, { 23, 23 } };
    for (int t = 0; t < 3; t++) {
        int i = cells[t][0], j = cells[t][1];
        float map[576] = { 0 }, out28[784];
        map[i * 24 + j] = 1.0f;
        assert_ok(dl_cam_place(out28, 28, 28, map));
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++)
                assert_close(out28[r * 28 + c], (r == i + 2 && c == j + 2) ? 1.0 : 0.0, 0, 0);

        /* at 10x (280 px) the mass is centred on the pixel's area:
         * centroid = (i + 2 + 0.5) * 10 in pixel-edge coordinates */
        static float big[280 * 280];
        assert_ok(dl_cam_place(big, 280, 280, map));
        double s = 0, sy = 0, sx = 0, mx = 0;
        int my = 0, mxx = 0;
        for (int r = 0; r < 280; r++)
            for (int c = 0; c < 280; c++) {
                double v = big[r * 280 + c];
                s += v; sy += v * (r + 0.5); sx += v * (c + 0.5);
                if (v > mx) { mx = v; my = r; mxx = c; }
            }
        if (i > 0 && i < 23 && j > 0 && j < 23) {
            assert_close(sy / s, (i + 2.5) * 10, 1e-3, 0);
            assert_close(sx / s, (j + 2.5) * 10, 1e-3, 0);
        }
        assert_true(my / 10 == i + 2 && mxx / 10 == j + 2);
    }
    /* non-square display sizes work too */
    float map[576] = { 0 }, out[56 * 84];
    map[5 * 24 + 6] = 2.0f;
    assert_ok(dl_cam_place(out, 56, 84, map));
    int best = 0;
    for (int p = 1; p < 56 * 84; p++) if (out[p] > out[best]) best = p;
    assert_int_equal((best / 84) / 2, 7);
    assert_int_equal((best % 84) / 3, 8);
    assert_int_equal(dl_cam_place(out, 0, 10, map), DL_ERR_ARG);
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
