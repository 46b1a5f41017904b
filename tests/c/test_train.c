/* test_train.c — training loop, augmentation, evaluation, checkpoints.
 *
 * The data is drawn here, not read from MNIST: seven-segment digits 0..9
 * with jittered segment ends, stroke width, position and intensity, plus
 * speckle noise. Easy for the network, but not separable by one pixel. */
#include "testutil.h"
#include "train.h"

#include <stdio.h>
#include <unistd.h>

/* ---- synthetic digits ------------------------------------------------- */

/* Segments a..g as (x0, y0, x1, y1) in pixel-edge coordinates. */
static const float segs[7][4] = {
    { 9, 5, 19, 5 },   /* a top */
    { 19, 5, 19, 14 }, /* b top right */
    { 19, 14, 19, 23 },/* c bottom right */
    { 9, 23, 19, 23 }, /* d bottom */
    { 9, 14, 9, 23 },  /* e bottom left */
    { 9, 5, 9, 14 },   /* f top left */
    { 9, 14, 19, 14 }, /* g middle */
};
/* bit s set: segment s is lit (a = bit 0) */
static const unsigned digit_segs[10] = {
    0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F,
};

static float seg_dist(float px, float py, const float s[4])
{
    float dx = s[2] - s[0], dy = s[3] - s[1];
    float t = ((px - s[0]) * dx + (py - s[1]) * dy) / (dx * dx + dy * dy);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    float ex = px - (s[0] + t * dx), ey = py - (s[1] + t * dy);
    return sqrtf(ex * ex + ey * ey);
}

static void draw_digit(uint8_t *img, int d, uint64_t *rng)
{
    float ox = 4.0f * dl_rand_uniform(rng) - 2.0f, oy = 4.0f * dl_rand_uniform(rng) - 2.0f;
    float width = 1.0f + 0.8f * dl_rand_uniform(rng);
    float ink = 170.0f + 85.0f * dl_rand_uniform(rng);
    float s[7][4];
    for (int k = 0; k < 7; k++)
        for (int e = 0; e < 4; e++)
            s[k][e] = segs[k][e] + (e % 2 ? oy : ox) + 1.2f * (dl_rand_uniform(rng) - 0.5f);
    for (int i = 0; i < 28; i++)
        for (int j = 0; j < 28; j++) {
            float best = 1e9f;
            for (int k = 0; k < 7; k++)
                if (digit_segs[d] >> k & 1) {
                    float dist = seg_dist(j + 0.5f, i + 0.5f, s[k]);
                    if (dist < best) best = dist;
                }
            float v = best < width ? 1.0f : best < width + 1.0f ? width + 1.0f - best : 0.0f;
            float px = v * ink;
            if (dl_rand_uniform(rng) < 0.05f) px += 120.0f * dl_rand_uniform(rng);
            img[i * 28 + j] = (uint8_t)(px > 255.0f ? 255.0f : px);
        }
}

typedef struct { int n; uint8_t *x, *y; } dataset;

static dataset make_digits(int n, uint64_t seed)
{
    dataset ds = { n, malloc((size_t)n * 784), malloc((size_t)n) };
    uint64_t rng = seed;
    for (int i = 0; i < n; i++) {
        ds.y[i] = (uint8_t)(i % 10);
        draw_digit(ds.x + (size_t)i * 784, ds.y[i], &rng);
    }
    return ds;
}

static void free_dataset(dataset *ds) { free(ds->x); free(ds->y); }

/* ---- fixtures --------------------------------------------------------- */

typedef struct {
    dl_model m;
    dataset ds;
} fixture;

static dataset g_digits; /* 400 images, shared, read-only */

static int group_setup(void **state)
{
    g_digits = make_digits(400, 12345);
    return 0;
}

static int group_teardown(void **state)
{
    free_dataset(&g_digits);
    return 0;
}

static void new_model(dl_model *m, uint64_t init_seed)
{
    assert_ok(dl_model_plan(m, &dl_seednet));
    assert_ok(dl_model_alloc(m));
    assert_ok(dl_model_init_he(m, init_seed));
}

static dl_train_config small_cfg(void)
{
    dl_train_config c = dl_train_defaults();
    c.batch = 32;
    c.epochs = 4;
    c.threads = 2;
    c.clean_last = 0; /* augment every epoch unless a test says otherwise */
    return c;
}

/* Train `epochs` epochs from He init `init_seed`; params copied to out. */
static void train_run(float *out, const dl_train_config *cfg, int epochs,
                      uint64_t init_seed, const dataset *ds)
{
    dl_model m;
    dl_trainer t;
    new_model(&m, init_seed);
    assert_ok(dl_trainer_init(&t, &m, cfg));
    for (int e = 0; e < epochs; e++) {
        float loss;
        assert_ok(dl_train_epoch(&t, ds->x, ds->y, ds->n, 0, NULL, NULL, &loss));
        assert_true(isfinite(loss));
    }
    memcpy(out, m.params, m.n_params * sizeof(float));
    dl_trainer_free(&t);
    dl_model_free(&m);
}

/* ---- (0) defaults, schedule, arguments --------------------------------- */

static void test_defaults_and_schedule(void **state)
{
    dl_train_config c = dl_train_defaults();
    assert_int_equal(c.opt, DL_OPT_ADAM);
    assert_int_equal(c.batch, 64);
    assert_int_equal(c.epochs, 40);
    assert_int_equal(c.clean_last, 4);
    assert_int_equal(c.threads, 2);
    assert_true(c.seed == 1);
    assert_true(c.augment);
    assert_close(c.lr, 2e-3, 0, 1e-6);
    assert_close(c.aug_shift, 2.0, 0, 1e-6);
    assert_close(c.aug_rot, 10.0, 0, 1e-6);
    assert_close(c.aug_scale, 0.08, 0, 1e-6);

    /* cosine from lr to lr * lr_final over the run, flat after it */
    assert_close(dl_train_lr(&c, 0, 1000), c.lr, 0, 1e-6);
    assert_close(dl_train_lr(&c, 999, 1000), c.lr * c.lr_final, 0, 1e-5);
    assert_close(dl_train_lr(&c, 5000, 1000), c.lr * c.lr_final, 0, 1e-5);
    double mid = c.lr * (c.lr_final + (1.0 - c.lr_final) * 0.5 * (1.0 + cos(acos(-1.0) * 0.25)));
    assert_close(dl_train_lr(&c, 333, 1333), mid, 0, 1e-5);
    float prev = dl_train_lr(&c, 0, 100);
    for (int g = 1; g < 100; g++) {
        float lr = dl_train_lr(&c, g, 100);
        if (!(lr < prev)) fail_msg("lr not decreasing at step %d: %g >= %g", g, lr, prev);
        prev = lr;
    }

    dl_model m;
    dl_trainer t;
    new_model(&m, 1);
    dl_train_config bad = c;
    bad.batch = 0;
    assert_int_equal(dl_trainer_init(&t, &m, &bad), DL_ERR_ARG);
    bad = c; bad.threads = 0;
    assert_int_equal(dl_trainer_init(&t, &m, &bad), DL_ERR_ARG);
    bad = c; bad.lr = NAN;
    assert_int_equal(dl_trainer_init(&t, &m, &bad), DL_ERR_ARG);
    bad = c; bad.aug_scale = 1.0f;
    assert_int_equal(dl_trainer_init(&t, &m, &bad), DL_ERR_ARG);
    dl_trainer_free(&t);

    assert_ok(dl_trainer_init(&t, &m, &c));
    uint8_t img[784] = { 0 }, lab[1] = { 10 };
    assert_int_equal(dl_train_epoch(&t, img, lab, 1, 0, NULL, NULL, NULL), DL_ERR_ARG);
    assert_int_equal(dl_train_epoch(&t, img, lab, 0, 0, NULL, NULL, NULL), DL_ERR_ARG);
    assert_int_equal(t.epoch, 0);
    dl_trainer_free(&t);
    dl_model_free(&m);
}

/* ---- (1) the loss falls ------------------------------------------------ */

typedef struct {
    int steps, prev_done;
    double prev_sum;
    float loss[400];
    int done[400];
} loss_log;

/* The callback gets the epoch's running mean; the batch loss is the
 * difference of the running sums. */
static void log_progress(void *ctx, int done, int n, float mean)
{
    loss_log *L = ctx;
    if (done < L->prev_done) { L->prev_done = 0; L->prev_sum = 0; }
    double sum = (double)mean * done;
    if (L->steps < 400) {
        L->loss[L->steps] = (float)((sum - L->prev_sum) / (done - L->prev_done));
        L->done[L->steps] = done;
    }
    L->steps++;
    L->prev_done = done;
    L->prev_sum = sum;
}

static void test_loss_falls(void **state)
{
    dl_model m;
    dl_trainer t;
    new_model(&m, 7);
    dl_train_config c = small_cfg();   /* 400 images, batch 32: 13 steps/epoch */
    c.epochs = 24;                     /* 312 steps; the first 300 are read */
    assert_ok(dl_trainer_init(&t, &m, &c));
    loss_log *L = calloc(1, sizeof *L);
    for (int e = 0; e < c.epochs; e++) {
        float loss;
        L->prev_done = 0; L->prev_sum = 0;
        assert_ok(dl_train_epoch(&t, g_digits.x, g_digits.y, g_digits.n, 0,
                                 log_progress, L, &loss));
        assert_int_equal(L->done[L->steps - 1], 400); /* last partial batch included */
    }
    assert_int_equal(t.epoch, c.epochs);
    assert_int_equal(L->steps, 24 * 13);
    assert_true(t.adam.t == 24 * 13);
    double first = 0, last = 0;
    for (int s = 0; s < 50; s++) first += L->loss[s] / 50.0;
    for (int s = 250; s < 300; s++) last += L->loss[s] / 50.0;
    /* the first batch starts near ln 10 = 2.30 (He init, 10 classes) */
    if (!(L->loss[0] > 1.8 && last < 0.5 * first))
        fail_msg("loss: step 0 %.4f, mean of the first 50 steps %.4f, of steps "
                 "250..299 %.4f (want < half)", L->loss[0], first, last);

    int correct = 0;
    assert_ok(dl_evaluate(&m, g_digits.x, g_digits.y, g_digits.n, 2, &correct, NULL));
    if (correct < 360) fail_msg("train accuracy %d / 400 after 300 steps", correct);
    print_message("loss %.3f -> %.3f, train accuracy %d/400\n", first, last, correct);
    free(L);
    dl_trainer_free(&t);
    dl_model_free(&m);
}

/* max_steps stops early; the callback sees every batch. */
static void test_max_steps(void **state)
{
    dl_model m;
    dl_trainer t;
    new_model(&m, 7);
    dl_train_config c = small_cfg();
    assert_ok(dl_trainer_init(&t, &m, &c));
    loss_log *L = calloc(1, sizeof *L);
    float loss;
    assert_ok(dl_train_epoch(&t, g_digits.x, g_digits.y, g_digits.n, 3,
                             log_progress, L, &loss));
    assert_int_equal(L->steps, 3);
    assert_int_equal(L->done[2], 96);
    assert_true(t.adam.t == 3);
    assert_int_equal(t.epoch, 1);
    assert_close(loss, (L->loss[0] + L->loss[1] + L->loss[2]) / 3.0, 1e-6, 1e-5);
    free(L);
    dl_trainer_free(&t);
    dl_model_free(&m);
}

/* ---- (2) reproducible -------------------------------------------------- */

static void test_same_seed_same_weights(void **state)
{
    size_t P = DL_SEEDNET_PARAMS;
    float *a = malloc(P * sizeof *a), *b = malloc(P * sizeof *b), *d = malloc(P * sizeof *d);
    dl_train_config c = small_cfg();
    train_run(a, &c, 2, 3, &g_digits);
    train_run(b, &c, 2, 3, &g_digits);
    assert_memory_equal(a, b, P * sizeof *a);

    c.seed = 2; /* same init, another shuffle and augmentation */
    train_run(d, &c, 2, 3, &g_digits);
    size_t differ = 0;
    for (size_t k = 0; k < P; k++) differ += a[k] != d[k];
    if (differ < P / 2) fail_msg("seed 2 changed only %zu of %zu weights", differ, P);
    free(a); free(b); free(d);
}

/* The last clean_last epochs are not augmented: with clean_last = epochs
 * the run equals one without augmentation, bit for bit; with 1 of 2 it
 * equals neither. */
static void test_clean_last_epochs(void **state)
{
    size_t P = DL_SEEDNET_PARAMS;
    float *plain = malloc(P * sizeof(float)), *clean = malloc(P * sizeof(float)),
          *half = malloc(P * sizeof(float)), *aug = malloc(P * sizeof(float));
    dl_train_config c = small_cfg();
    c.epochs = 2;
    c.augment = 0;
    train_run(plain, &c, 2, 3, &g_digits);
    c.augment = 1;
    c.clean_last = 2;
    train_run(clean, &c, 2, 3, &g_digits);
    assert_memory_equal(plain, clean, P * sizeof(float));
    c.clean_last = 1;
    train_run(half, &c, 2, 3, &g_digits);
    c.clean_last = 0;
    train_run(aug, &c, 2, 3, &g_digits);
    assert_true(memcmp(half, plain, P * sizeof(float)) != 0);
    assert_true(memcmp(half, aug, P * sizeof(float)) != 0);
    free(plain); free(clean); free(half); free(aug);
}

/* ---- (3) thread count changes only the summation order ----------------- */

static void test_threads_agree(void **state)
{
    size_t P = DL_SEEDNET_PARAMS;
    float *a = malloc(P * sizeof *a), *b = malloc(P * sizeof *b), *d = malloc(P * sizeof *d);
    dataset ds = { 397, g_digits.x, g_digits.y }; /* last batch: 13 images, 6 + 7 */
    dl_train_config c = small_cfg();
    c.threads = 1;
    train_run(a, &c, 1, 5, &ds);
    c.threads = 2;
    train_run(b, &c, 1, 5, &ds);
    c.threads = 3;
    train_run(d, &c, 1, 5, &ds);
    double maxw = 0, diff2 = 0, diff3 = 0;
    for (size_t k = 0; k < P; k++) {
        maxw = fmax(maxw, fabs(a[k]));
        diff2 = fmax(diff2, fabs(a[k] - b[k]));
        diff3 = fmax(diff3, fabs(a[k] - d[k]));
    }
    print_message("threads 1 vs 2: max |dw| %.3g, vs 3: %.3g (max |w| %.3g)\n",
                  diff2, diff3, maxw);
    if (!(diff2 < 1e-4 * maxw && diff3 < 1e-4 * maxw))
        fail_msg("threads 1 vs 2: max |dw| %.3g, vs 3: %.3g, max |w| %.3g",
                 diff2, diff3, maxw);

    /* batch 3 over 4 threads: chunk 0 is always empty, the last batch is 1 */
    dataset d7 = { 7, g_digits.x, g_digits.y };
    c.batch = 3;
    c.threads = 1;
    train_run(a, &c, 2, 5, &d7);
    c.threads = 4;
    train_run(b, &c, 2, 5, &d7);
    diff2 = 0;
    for (size_t k = 0; k < P; k++) diff2 = fmax(diff2, fabs(a[k] - b[k]));
    if (!(diff2 < 1e-4 * maxw)) fail_msg("batch 3, threads 1 vs 4: max |dw| %.3g", diff2);
    free(a); free(b); free(d);
}

/* ---- (4) divergence ---------------------------------------------------- */

static void test_diverges(void **state)
{
    dl_model m;
    dl_trainer t;
    new_model(&m, 11);
    dl_train_config c = small_cfg();
    c.opt = DL_OPT_SGD;
    /* 1e6 is not enough: the ReLUs die, the loss sits at ~1e5 but stays
     * finite (a stable log-softmax); 1e30 overflows within two steps. */
    c.lr = 1e30f;
    c.augment = 0;
    assert_ok(dl_trainer_init(&t, &m, &c));
    int st = DL_OK, e;
    float loss = 0;
    for (e = 0; e < 5 && st == DL_OK; e++)
        st = dl_train_epoch(&t, g_digits.x, g_digits.y, g_digits.n, 0, NULL, NULL, &loss);
    if (st != DL_ERR_DIVERGED)
        fail_msg("lr 1e6: status %s after %d epochs, loss %g", dl_strerror(st), e, loss);
    assert_false(isfinite(loss));
    assert_int_equal(t.epoch, e - 1); /* the diverged epoch does not count */
    size_t nan = 0;
    for (size_t k = 0; k < m.n_params; k++) nan += isnan(m.params[k]);
    if (nan) fail_msg("%zu NaN weights after divergence", nan);
    dl_trainer_free(&t);
    dl_model_free(&m);
}

/* ---- (5) augmentation -------------------------------------------------- */

static void test_augment_identity_and_shift(void **state)
{
    uint8_t img[784];
    uint64_t r = 99;
    for (int k = 0; k < 784; k++) img[k] = (uint8_t)(dl_rand_u64(&r) & 0xFF);
    float out[784];

    dl_train_config c = dl_train_defaults();
    c.aug_shift = c.aug_rot = c.aug_scale = 0.0f;
    uint64_t rng = 42;
    dl_augment(out, img, &c, &rng);
    for (int k = 0; k < 784; k++)
        if (out[k] != (float)img[k] / 255.0f)
            fail_msg("identity: pixel %d = %.9g, want %.9g", k, out[k], img[k] / 255.0f);
    assert_true(rng != 42); /* the draws are consumed all the same */

    dl_affine_sample(out, img, 0.0f, 1.0f, 1.0f, 0.0f); /* one pixel right */
    for (int i = 0; i < 28; i++)
        for (int j = 0; j < 28; j++) {
            float want = j == 0 ? 0.0f : img[i * 28 + j - 1] / 255.0f;
            if (out[i * 28 + j] != want)
                fail_msg("dx=1: (%d,%d) = %.9g, want %.9g", i, j, out[i * 28 + j], want);
        }
    dl_affine_sample(out, img, 0.0f, 1.0f, 0.0f, -1.0f); /* one pixel up */
    for (int i = 0; i < 28; i++)
        for (int j = 0; j < 28; j++) {
            float want = i == 27 ? 0.0f : img[(i + 1) * 28 + j] / 255.0f;
            if (out[i * 28 + j] != want)
                fail_msg("dy=-1: (%d,%d) = %.9g, want %.9g", i, j, out[i * 28 + j], want);
        }
    /* half a pixel: the mean of two neighbours */
    dl_affine_sample(out, img, 0.0f, 1.0f, 0.5f, 0.0f);
    assert_close(out[5 * 28 + 10], (img[5 * 28 + 9] + img[5 * 28 + 10]) / 510.0, 1e-6, 0);
}

static void test_augment_rotation_about_centre(void **state)
{
    uint8_t img[784] = { 0 };
    img[2 * 28 + 20] = 255; /* row 2, col 20: top right */
    float out[784];
    /* +90 degrees, counter-clockwise on screen, about (14,14): the pixel
     * centre (x 20.5, y 2.5) goes to (x 2.5, y 7.5), row 7 col 2. */
    dl_affine_sample(out, img, 90.0f, 1.0f, 0.0f, 0.0f);
    for (int k = 0; k < 784; k++) {
        float want = k == 7 * 28 + 2 ? 1.0f : 0.0f;
        if (fabsf(out[k] - want) > 1e-4f)
            fail_msg("rot 90: (%d,%d) = %.6g, want %g", k / 28, k % 28, out[k], want);
    }
    /* scale 2 about the centre: the 8x8 block (rows/cols 10..17) becomes
     * 16x16 with one-pixel bilinear ramps; the ink sums to exactly 4 x 64.
     * Output (7,7) samples source 10.25: lit; (4,14) samples row 8.75: dark;
     * (5,14) samples row 9.25: a quarter of the way up the ramp. */
    memset(img, 0, sizeof img);
    for (int i = 10; i < 18; i++)
        for (int j = 10; j < 18; j++) img[i * 28 + j] = 255;
    dl_affine_sample(out, img, 0.0f, 2.0f, 0.0f, 0.0f);
    double ink = 0;
    for (int k = 0; k < 784; k++) ink += out[k];
    assert_close(ink, 4 * 64.0, 1e-3, 0);
    assert_close(out[7 * 28 + 7], 1.0, 1e-6, 0);
    assert_close(out[4 * 28 + 14], 0.0, 1e-6, 0);
    assert_close(out[5 * 28 + 14], 0.25, 1e-6, 0);

    /* random draws stay within range: the ink's centre moves by <= shift */
    dl_train_config c = dl_train_defaults();
    c.aug_rot = 0; c.aug_scale = 0;
    for (uint64_t s = 1; s < 50; s++) {
        uint64_t rng = s;
        dl_augment(out, img, &c, &rng);
        double sx = 0, sy = 0, sum = 0;
        for (int k = 0; k < 784; k++) {
            sx += out[k] * (k % 28 + 0.5); sy += out[k] * (k / 28 + 0.5); sum += out[k];
        }
        assert_true(fabs(sx / sum - 14) <= 2.5 + 1e-3 && fabs(sy / sum - 14) <= 2.5 + 1e-3);
    }
}

/* ---- (6) checkpoints --------------------------------------------------- */

static char g_dir[64];

static void test_checkpoint_resume(void **state)
{
    char path[128];
    snprintf(path, sizeof path, "%s/run.ckpt", g_dir);
    const size_t P = DL_SEEDNET_PARAMS;
    dl_train_config c = small_cfg();

    /* A: epoch 0, save, epoch 1 */
    dl_model ma, mb;
    dl_trainer ta, tb;
    new_model(&ma, 21);
    assert_ok(dl_trainer_init(&ta, &ma, &c));
    assert_ok(dl_train_epoch(&ta, g_digits.x, g_digits.y, g_digits.n, 0, NULL, NULL, NULL));
    dl_meta extra = { 0 };
    assert_ok(dl_meta_set(&extra, "note", "test run"));
    assert_ok(dl_meta_set(&extra, "epoch", "999")); /* reserved: ignored */
    assert_ok(dl_checkpoint_save(&ta, path, &extra));
    float *saved = malloc(3 * P * sizeof *saved);
    memcpy(saved, ma.params, P * sizeof *saved);
    memcpy(saved + P, ta.adam_m, P * sizeof *saved);
    memcpy(saved + 2 * P, ta.adam_v, P * sizeof *saved);
    int64_t saved_t = ta.adam.t;
    assert_ok(dl_train_epoch(&ta, g_digits.x, g_digits.y, g_digits.n, 0, NULL, NULL, NULL));

    /* B: other init and seed, load, epoch 1 */
    new_model(&mb, 22);
    dl_train_config cb = c;
    cb.seed = 777; /* replaced by the checkpoint's */
    assert_ok(dl_trainer_init(&tb, &mb, &cb));
    assert_ok(dl_checkpoint_load(&tb, path));
    assert_int_equal(tb.epoch, 1);
    assert_true(tb.adam.t == saved_t);
    assert_true(tb.cfg.seed == c.seed);
    assert_memory_equal(mb.params, saved, P * sizeof *saved);
    assert_memory_equal(tb.adam_m, saved + P, P * sizeof *saved);
    assert_memory_equal(tb.adam_v, saved + 2 * P, P * sizeof *saved);
    assert_ok(dl_train_epoch(&tb, g_digits.x, g_digits.y, g_digits.n, 0, NULL, NULL, NULL));
    assert_int_equal(tb.epoch, 2);
    assert_memory_equal(mb.params, ma.params, P * sizeof *saved);
    assert_memory_equal(tb.adam_m, ta.adam_m, P * sizeof *saved);

    /* the file: tensors + metadata as documented */
    uint8_t *buf;
    size_t len;
    assert_ok(dl_read_file(path, &buf, &len));
    dl_meta meta;
    dl_tensor none[1];
    assert_ok(dl_st_load(buf, len, none, 0, &meta));
    assert_string_equal(dl_meta_get(&meta, "epoch"), "1");
    assert_string_equal(dl_meta_get(&meta, "seed"), "1");
    assert_string_equal(dl_meta_get(&meta, "n_params"), "17602");
    assert_string_equal(dl_meta_get(&meta, "opt"), "adam");
    assert_string_equal(dl_meta_get(&meta, "note"), "test run");
    char want_t[32];
    snprintf(want_t, sizeof want_t, "%lld", (long long)saved_t);
    assert_string_equal(dl_meta_get(&meta, "adam_t"), want_t);
    free(buf);

    /* another architecture: DL_ERR_ARG, trainer untouched */
    static const dl_arch small = { 5, 1, {
        { DL_CONV, "conv", 6, 5 }, { DL_RELU, "relu", 0, 0 },
        { DL_MAXPOOL, "pool", 2, 0 }, { DL_FLATTEN, "flatten", 0, 0 },
        { DL_DENSE, "fc", 10, 0 },
    } };
    dl_model ms;
    dl_trainer ts;
    assert_ok(dl_model_plan(&ms, &small));
    assert_ok(dl_model_alloc(&ms));
    assert_ok(dl_model_init_he(&ms, 5));
    assert_ok(dl_trainer_init(&ts, &ms, &c));
    float w0 = ms.params[0];
    assert_int_equal(dl_checkpoint_load(&ts, path), DL_ERR_ARG);
    assert_true(ms.params[0] == w0);
    assert_int_equal(ts.epoch, 0);
    dl_trainer_free(&ts);
    dl_train_config sgd = c;
    sgd.opt = DL_OPT_SGD; /* same model, other optimizer: refused */
    assert_ok(dl_trainer_init(&ts, &mb, &sgd));
    float wb = mb.params[0];
    mb.params[0] = 0.5f;
    assert_int_equal(dl_checkpoint_load(&ts, path), DL_ERR_ARG);
    assert_true(mb.params[0] == 0.5f);
    mb.params[0] = wb;
    char missing[128];
    snprintf(missing, sizeof missing, "%s/none.ckpt", g_dir);
    assert_int_equal(dl_checkpoint_load(&ts, missing), DL_ERR_NOT_FOUND);
    dl_trainer_free(&ts);

    /* a truncated checkpoint: an error, the trainer as it was */
    assert_ok(dl_read_file(path, &buf, &len));
    assert_ok(dl_write_file_atomic(missing, buf, len - 100));
    free(buf);
    assert_ok(dl_trainer_init(&ts, &mb, &c));
    memcpy(saved, mb.params, P * sizeof *saved);
    int st = dl_checkpoint_load(&ts, missing);
    if (st == DL_OK) fail_msg("truncated checkpoint loaded");
    assert_memory_equal(mb.params, saved, P * sizeof *saved);
    assert_int_equal(ts.epoch, 0);
    unlink(missing);
    dl_trainer_free(&ts);
    dl_model_free(&ms);

    free(saved);
    dl_trainer_free(&ta);
    dl_trainer_free(&tb);
    dl_model_free(&ma);
    dl_model_free(&mb);
    unlink(path);
}

/* ---- (7) evaluation ---------------------------------------------------- */

/* A hand-made model: conv filter 0 copies pixel (y+2, x+2), the rest are 0;
 * after the 2x2 pool, class k reads one pooled cell (py_k, px_k) of channel
 * 0. An image with a 2x2 block on class k's cell scores 1 for k, 0 else;
 * a blank image ties at 0 everywhere and the first maximum (0) wins. */
static void cell_of(int k, int *py, int *px) { *py = 1 + (k / 5) * 5; *px = 1 + (k % 5) * 2; }

static void test_evaluate_counts(void **state)
{
    dl_model m;
    new_model(&m, 1);
    memset(m.params, 0, m.n_params * sizeof(float));
    const dl_layer *conv = &m.layers[0], *fc = &m.layers[4];
    m.params[conv->w_off + 2 * 5 + 2] = 1.0f; /* filter 0, (i,j) = (2,2) */
    for (int k = 0; k < 10; k++) {
        int py, px;
        cell_of(k, &py, &px);
        m.params[fc->w_off + (size_t)k * 1728 + py * 12 + px] = 1.0f;
    }

    const int n = 523; /* six batches, the last one partial */
    uint8_t *x = calloc((size_t)n, 784), *y = malloc((size_t)n);
    int want[10][10] = { { 0 } }, want_ok = 0;
    for (int i = 0; i < n; i++) {
        int pat = i % 11; /* 10 = blank */
        int pred = pat == 10 ? 0 : pat;
        if (pat < 10) {
            int py, px;
            cell_of(pat, &py, &px);
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++)
                    x[(size_t)i * 784 + (2 * py + 2 + a) * 28 + 2 * px + 2 + b] = 200;
        }
        y[i] = (uint8_t)(i % 7 == 0 ? (pred + 3) % 10 : pat == 10 ? i % 10 : pat);
        want[y[i]][pred]++;
        want_ok += y[i] == pred;
    }
    for (int threads = 1; threads <= 3; threads++) {
        int correct = -1, conf[10][10];
        memset(conf, 0xFF, sizeof conf);
        assert_ok(dl_evaluate(&m, x, y, n, threads, &correct, conf));
        assert_int_equal(correct, want_ok);
        int total = 0;
        for (int a = 0; a < 10; a++)
            for (int b = 0; b < 10; b++) {
                total += conf[a][b];
                if (conf[a][b] != want[a][b])
                    fail_msg("threads %d: confusion[%d][%d] = %d, want %d",
                             threads, a, b, conf[a][b], want[a][b]);
            }
        assert_int_equal(total, n);
    }
    int correct = -1;
    assert_ok(dl_evaluate(&m, x, y, n, 2, &correct, NULL));
    assert_int_equal(correct, want_ok);
    y[5] = 12;
    assert_int_equal(dl_evaluate(&m, x, y, n, 2, &correct, NULL), DL_ERR_ARG);
    free(x);
    free(y);
    dl_model_free(&m);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/dl_test_train.XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_schedule),
        cmocka_unit_test(test_augment_identity_and_shift),
        cmocka_unit_test(test_augment_rotation_about_centre),
        cmocka_unit_test(test_evaluate_counts),
        cmocka_unit_test(test_max_steps),
        cmocka_unit_test(test_loss_falls),
        cmocka_unit_test(test_same_seed_same_weights),
        cmocka_unit_test(test_clean_last_epochs),
        cmocka_unit_test(test_threads_agree),
        cmocka_unit_test(test_diverges),
        cmocka_unit_test(test_checkpoint_resume),
    };
    int fails = cmocka_run_group_tests_name("train", tests, group_setup, group_teardown);
    rmdir(g_dir);
    return fails;
}
