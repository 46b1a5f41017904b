/* test_tune.c — the training module's fine-tuning (c/wasm_train.c, built
 * natively here): a step on every layer is the native trainer's step
 * (dl_train_epoch, one thread, the same images in the same order, a
 * constant rate) to the bit, for Adam and SGD, over several steps and over
 * batches larger than one chunk of activations; a step on the head is the
 * same update of the last dense layer and leaves the rest alone; a
 * diverging call puts the weights back; bad input changes nothing; the
 * replay digits a seed draws; saving and loading again; evaluation.
 *
 * The networks start from seeded He weights and the images are seeded
 * noise blobs: no file is read. */
#include "testutil.h"
#include "train.h"

#include "../../c/wasm_train.c"

enum { NB = 40 }; /* a batch: two chunks of the seed network, three of two-conv */

/* Seeded images: a few bright blobs on black, so ReLUs both fire and not. */
static void blobs(uint8_t *img, int n, uint64_t seed)
{
    uint64_t rng = seed;
    memset(img, 0, (size_t)n * DL_IN_SIZE);
    for (int b = 0; b < n; b++)
        for (int k = 0; k < 4; k++) {
            float cx = 6 + 16 * dl_rand_uniform(&rng), cy = 6 + 16 * dl_rand_uniform(&rng);
            float r = 2 + 3 * dl_rand_uniform(&rng);
            for (int i = 0; i < 28; i++)
                for (int j = 0; j < 28; j++) {
                    float d = sqrtf((i - cy) * (i - cy) + (j - cx) * (j - cx));
                    float v = d < r ? 255.0f : d < r + 1 ? 255.0f * (r + 1 - d) : 0.0f;
                    uint8_t *p = &img[(size_t)b * DL_IN_SIZE + i * 28 + j];
                    if (v > *p) *p = (uint8_t)v;
                }
        }
}

/* Plan arch with seeded He weights and load it into the module the way JS
 * does: as safetensors bytes in dl_weights_buf. m keeps the weights. */
static void load_he(dl_model *m, const dl_arch *arch, uint64_t seed)
{
    assert_ok(dl_model_plan(m, arch));
    assert_ok(dl_model_alloc(m));
    assert_ok(dl_model_init_he(m, seed));
    dl_meta meta;
    memset(&meta, 0, sizeof meta);
    assert_ok(dl_arch_to_meta(arch, &meta));
    dl_tensor t[DL_MAX_TENSORS];
    int n = dl_model_tensors(m, m->params, t);
    size_t len = 0;
    assert_ok(dl_st_save(train_weights_buf(), DL_TRAIN_WEIGHTS_CAP, &len, t, n, &meta));
    assert_ok(train_load_weights((int)len));
    assert_int_equal(train_param_count(), (int)m->n_params);
}

/* The batch in the module's buffers: images img[order[i]] / 255, as the
 * trainer converts them. */
static void put_batch(const uint8_t *img, const uint8_t *lab, const int *order, int n)
{
    for (int i = 0; i < n; i++) {
        const int k = order ? order[i] : i;
        for (int p = 0; p < DL_IN_SIZE; p++)
            train_images_buf()[(size_t)i * DL_IN_SIZE + p] = (float)img[(size_t)k * DL_IN_SIZE + p] / 255.0f;
        train_labels_buf()[i] = lab[k];
    }
}

static void assert_same_bits(const float *a, const float *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            fail_msg("%s[%zu]: %.9g != %.9g", what, i, a[i], b[i]);
}

/* Every layer, `steps` steps: the module against dl_train_epoch. Each
 * epoch of the trainer is one step on the whole batch in its own shuffled
 * order (t.perm); the module is given the images in that order, so the
 * sums are the same ones. */
static void all_layers_match_trainer(const dl_arch *arch, int opt, float lr, int steps)
{
    uint8_t img[NB * DL_IN_SIZE], lab[NB];
    blobs(img, NB, 7);
    for (int i = 0; i < NB; i++) lab[i] = (uint8_t)(i * 7 % 10);
    dl_model ref;
    load_he(&ref, arch, 11);

    dl_train_config cfg = dl_train_defaults();
    cfg.threads = 1;
    cfg.batch = NB;
    cfg.augment = 0;
    cfg.lr = lr;
    cfg.lr_final = 1.0f; /* a constant rate: dl_train_lr gives lr itself */
    cfg.epochs = 1000;
    cfg.opt = opt ? DL_OPT_SGD : DL_OPT_ADAM;
    cfg.momentum = 0.9f;
    dl_trainer t;
    assert_ok(dl_trainer_init(&t, &ref, &cfg));

    put_batch(img, lab, NULL, NB);
    assert_ok(train_tune_begin(NB, 0, 1, opt, lr, 1));
    assert_true(chunk_cap() < NB); /* the batch goes through in chunks */
    for (int s = 0; s < steps; s++) {
        float loss = 0;
        assert_ok(dl_train_epoch(&t, img, lab, NB, 0, NULL, NULL, &loss));
        put_batch(img, lab, t.perm, NB);
        assert_ok(train_tune_step());
        assert_same_bits(params, ref.params, ref.n_params, "params");
        assert_close(train_tune_loss(), loss, 0, 1e-6);
    }
    dl_trainer_free(&t);
    dl_model_free(&ref);
}

static void test_all_adam_is_the_trainer(void **state)
{
    for (int a = 0; a < 2; a++) all_layers_match_trainer(test_archs[a], 0, 1e-3f, 4);
}

static void test_all_sgd_is_the_trainer(void **state)
{
    for (int a = 0; a < 2; a++) all_layers_match_trainer(test_archs[a], 1, 0.01f, 4);
}

/* One step on the head updates the last dense layer exactly as one step on
 * every layer does (the same gradient, from the same features) and leaves
 * the layers before it as they were; later steps go on from there. */
static void test_head_is_the_last_layer(void **state)
{
    for (int a = 0; a < 2; a++) {
        for (int opt = 0; opt < 2; opt++) {
            uint8_t img[NB * DL_IN_SIZE], lab[NB];
            blobs(img, NB, 3);
            for (int i = 0; i < NB; i++) lab[i] = (uint8_t)(i % 10);
            dl_model m;
            load_he(&m, test_archs[a], 5);
            const dl_layer *fc = &model.layers[model.n_layers - 1];
            static float all1[DL_TRAIN_MAX_PARAMS];
            put_batch(img, lab, NULL, NB);
            assert_ok(train_tune_begin(NB, 0, 1, opt, 0.01f, 1));
            assert_ok(train_tune_step());
            memcpy(all1, params, model.n_params * sizeof(float));
            const float loss_all = train_tune_loss();

            assert_ok(train_tune_restore());
            assert_same_bits(params, m.params, m.n_params, "restored");
            assert_ok(train_tune_begin(NB, 0, 0, opt, 0.01f, 1));
            assert_ok(train_tune_step());
            assert_same_bits(params + fc->w_off, all1 + fc->w_off, fc->n_w + fc->n_b, "fc");
            assert_same_bits(params, m.params, fc->w_off, "layers before fc");
            assert_true(memcmp(params + fc->w_off, m.params + fc->w_off, fc->n_w * sizeof(float)) != 0);
            assert_close(train_tune_loss(), loss_all, 0, 1e-6);
            /* and the loss falls */
            float first = train_tune_loss();
            for (int s = 0; s < 20; s++) assert_ok(train_tune_step());
            assert_true(train_tune_loss() < 0.8f * first);
            dl_model_free(&m);
        }
    }
}

/* A rate far too high: the loss climbs, the call fails with DIVERGED and
 * the weights are the ones it started from, bit for bit. */
static void test_diverged_puts_back(void **state)
{
    uint8_t img[NB * DL_IN_SIZE], lab[NB];
    blobs(img, NB, 9);
    for (int i = 0; i < NB; i++) lab[i] = (uint8_t)(i % 10);
    dl_model m;
    load_he(&m, &dl_seednet, 2);
    put_batch(img, lab, NULL, NB);
    assert_ok(train_tune_begin(NB, 0, 1, 0, 1.0f, 1));
    int st = DL_OK, s = 0;
    for (; s < 50 && st == DL_OK; s++) st = train_tune_step();
    assert_int_equal(st, DL_ERR_DIVERGED);
    assert_true(s > 1); /* some steps were taken, and undone */
    assert_non_null(strstr(train_last_error(), "diverged at step"));
    assert_same_bits(params, m.params, m.n_params, "params after DIVERGED");
    assert_int_equal(train_tune_step(), DL_ERR_ARG); /* the call is over */
    dl_model_free(&m);
}

/* Bad input: a status, a message, the weights untouched. */
static void test_bad_input(void **state)
{
    uint8_t img[4 * DL_IN_SIZE], lab[4] = { 1, 2, 3, 4 };
    blobs(img, 4, 1);
    dl_model m;
    load_he(&m, &dl_twoconv, 4);
    struct { int n, replay, layers, opt; float lr; int status; const char *msg; int px, label; float v; } cases[] = {
        { 0, 0, 0, 0, 0.1f, DL_ERR_ARG, "no examples", -1, -1, 0 },
        { 4, 1, 0, 0, 0.1f, DL_ERR_ARG, "replay", -1, -1, 0 },
        { 1025, 0, 0, 0, 0.1f, DL_ERR_ARG, "at most 1024", -1, -1, 0 },
        { 4, 0, 2, 0, 0.1f, DL_ERR_ARG, "layers", -1, -1, 0 },
        { 4, 0, 0, 2, 0.1f, DL_ERR_ARG, "optimizer", -1, -1, 0 },
        { 4, 0, 0, 0, 0.0f, DL_ERR_ARG, "lr", -1, -1, 0 },
        { 4, 0, 0, 0, 1.5f, DL_ERR_ARG, "lr", -1, -1, 0 },
        { 4, 0, 0, 0, NAN, DL_ERR_ARG, "lr", -1, -1, 0 },
        { 4, 0, 0, 0, 0.1f, DL_ERR_NAN, "NaN", 100, -1, NAN },
        { 4, 0, 0, 0, 0.1f, DL_ERR_NAN, "NaN", 3 * 784 + 5, -1, INFINITY },
        { 4, 0, 0, 0, 0.1f, DL_ERR_ARG, "0..1", 7, -1, 1.01f },
        { 4, 0, 0, 0, 0.1f, DL_ERR_ARG, "0..1", 7, -1, -0.5f },
        { 4, 0, 0, 0, 0.1f, DL_ERR_LABEL, "label", -1, 2, 10 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        put_batch(img, lab, NULL, 4);
        if (cases[c].px >= 0) train_images_buf()[cases[c].px] = cases[c].v;
        if (cases[c].label >= 0) train_labels_buf()[cases[c].label] = (uint8_t)cases[c].v;
        assert_ok(train_set_replay(0));
        int st = train_tune_begin(cases[c].n, cases[c].replay, cases[c].layers, cases[c].opt,
                                  cases[c].lr, 1);
        if (st != cases[c].status || !strstr(train_last_error(), cases[c].msg))
            fail_msg("case %zu: status %d (%s), expected %d with '%s'", c, st, train_last_error(),
                     cases[c].status, cases[c].msg);
        assert_int_equal(train_tune_step(), DL_ERR_ARG);
        assert_same_bits(params, m.params, m.n_params, "params");
    }
    assert_int_equal(train_load_weights(0), DL_ERR_EMPTY_FILE);
    memcpy(train_weights_buf(), "\x10\0\0\0\0\0\0\0{\"a\":1}        ", 24);
    assert_int_not_equal(train_load_weights(24), DL_OK);
    assert_int_equal(train_param_count(), (int)m.n_params); /* the network loaded stays */
    assert_same_bits(params, m.params, m.n_params, "params after a bad file");
    assert_int_equal(train_set_replay(2001), DL_ERR_ARG);
    train_replay_labels()[0] = 12;
    assert_int_equal(train_set_replay(1), DL_ERR_LABEL);
    dl_model_free(&m);
}

/* Replay: `replay` distinct digits of the set, in an order the seed fixes,
 * after the examples. */
static void test_replay_draw(void **state)
{
    enum { R = 50 };
    dl_model m;
    load_he(&m, &dl_seednet, 1);
    for (int i = 0; i < R; i++) {
        memset(train_replay_buf() + (size_t)i * DL_IN_SIZE, i + 1, DL_IN_SIZE); /* digit i: pixels i+1 */
        train_replay_labels()[i] = (uint8_t)(i % 10);
    }
    assert_ok(train_set_replay(R));
    uint8_t img[2 * DL_IN_SIZE], lab[2] = { 3, 4 };
    blobs(img, 2, 1);
    const unsigned seeds[3] = { 7, 7, 8 };
    int drawn[3][20];
    for (int run = 0; run < 3; run++) {
        put_batch(img, lab, NULL, 2);
        assert_ok(train_tune_begin(2, 20, 0, 0, 0.1f, seeds[run]));
        int used[R] = { 0 };
        for (int i = 0; i < 20; i++) {
            const float *x = train_images_buf() + (size_t)(2 + i) * DL_IN_SIZE;
            int k = (int)lroundf(x[0] * 255.0f) - 1;
            assert_true(k >= 0 && k < R);
            assert_true(x[783] == x[0]);
            assert_int_equal(train_labels_buf()[2 + i], k % 10);
            assert_int_equal(used[k]++, 0); /* no digit twice */
            drawn[run][i] = k;
        }
        assert_int_equal(train_labels_buf()[0], 3); /* the examples come first */
    }
    assert_memory_equal(drawn[0], drawn[1], sizeof drawn[0]);     /* the same seed, the same draw */
    assert_memory_not_equal(drawn[0], drawn[2], sizeof drawn[0]); /* another seed, another */
    dl_model_free(&m);
}

/* Saved: F32 safetensors that dl_model_load plans as the same network and
 * reads to the same bits, with what taught it in the metadata. */
static void test_save_load(void **state)
{
    for (int a = 0; a < 2; a++) {
        uint8_t img[NB * DL_IN_SIZE], lab[NB];
        blobs(img, NB, 2);
        for (int i = 0; i < NB; i++) lab[i] = (uint8_t)(i % 10);
        dl_model m;
        load_he(&m, test_archs[a], 3);
        assert_ok(train_set_replay(0));
        put_batch(img, lab, NULL, NB);
        assert_ok(train_tune_begin(NB, 0, 0, 1, 0.05f, 1));
        for (int s = 0; s < 3; s++) assert_ok(train_tune_step());
        assert_ok(train_save_weights());
        dl_model back;
        static float p2[DL_TRAIN_MAX_PARAMS];
        dl_meta meta;
        assert_ok(dl_model_load(&back, train_out_buf(), (size_t)train_out_len(), p2, DL_TRAIN_MAX_PARAMS, &meta));
        assert_int_equal(back.n_layers, m.n_layers);
        assert_int_equal(back.n_params, m.n_params);
        assert_same_bits(p2, params, m.n_params, "reloaded");
        assert_non_null(dl_meta_get(&meta, "architecture"));
        assert_string_equal(dl_meta_get(&meta, "fine_tuned"), "head, 40 examples + 0 replay, 3 SGD steps");
        /* loaded and taught again: the notes add up */
        memcpy(train_weights_buf(), train_out_buf(), (size_t)train_out_len());
        assert_ok(train_load_weights(train_out_len()));
        put_batch(img, lab, NULL, NB);
        assert_ok(train_tune_begin(NB, 0, 1, 0, 0.001f, 1));
        assert_ok(train_tune_step());
        assert_ok(train_save_weights());
        assert_ok(dl_model_load(&back, train_out_buf(), (size_t)train_out_len(), p2, DL_TRAIN_MAX_PARAMS, &meta));
        assert_string_equal(dl_meta_get(&meta, "fine_tuned"),
                            "head, 40 examples + 0 replay, 3 SGD steps; all layers, 40 examples + 0 replay, 1 Adam steps");
        dl_model_free(&m);
    }
}

/* dl_evaluate counts the images whose first maximal logit is their label. */
static void test_evaluate(void **state)
{
    uint8_t img[NB * DL_IN_SIZE], lab[NB];
    blobs(img, NB, 4);
    dl_model m;
    load_he(&m, &dl_twoconv, 8);
    dl_work w;
    assert_ok(dl_work_alloc(&w, &m, NB));
    static float x[NB * DL_IN_SIZE];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = img[i] / 255.0f;
    assert_ok(dl_forward(&m, &w, x, NB));
    int expect = 0;
    for (int i = 0; i < NB; i++) {
        const float *y = dl_logits(&m, &w) + i * 10;
        int best = 0;
        for (int k = 1; k < 10; k++) if (y[k] > y[best]) best = k;
        lab[i] = (uint8_t)(i % 3 ? best : (best + 1) % 10); /* a third wrong */
        expect += i % 3 != 0;
    }
    put_batch(img, lab, NULL, NB);
    assert_int_equal(train_evaluate(NB), expect);
    assert_int_equal(train_evaluate(0), -DL_ERR_ARG);
    dl_work_free(&w);
    dl_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_adam_is_the_trainer),
        cmocka_unit_test(test_all_sgd_is_the_trainer),
        cmocka_unit_test(test_head_is_the_last_layer),
        cmocka_unit_test(test_diverged_puts_back),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_replay_draw),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_evaluate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
