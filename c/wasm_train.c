/* wasm_train.c — the exports of the training module (web/digitlens-train.wasm):
 * fine-tuning a loaded network on a visitor's own digits, mixed with MNIST
 * digits replayed so that it does not forget, by the library's own layers
 * (model.c's forward and backward passes, layers.c's loss, optim.c's Adam and
 * SGD). A separate module from the inference one (wasm_api.c): the page
 * fetches it only when a visitor starts teaching.
 *
 * All memory is static and sized by the limits below; no malloc, no memory
 * growth. JS writes into a buffer whose address it asks for, calls an
 * export, reads the result; a failing call returns a dl_status and
 * dl_last_error() says which call failed and why.
 *
 * One call of fineTune (web/digitlens-train.js) is:
 *
 *   dl_load_weights(len)        the weights in dl_weights_buf: any file the
 *                               library reads (F32, F16, int8, d4), planned
 *                               from its architecture metadata
 *   dl_set_replay(count)        once: the replay digits in dl_replay_buf
 *   dl_tune_begin(n, replay, layers, opt, lr, seed)
 *                               the n examples in dl_images_buf (n x 784
 *                               floats in 0..1, labels in dl_labels_buf)
 *                               plus `replay` digits of the replay set drawn
 *                               by seed, placed after them: the batch
 *   dl_tune_step() x steps      one optimiser step on the whole batch
 *   dl_save_weights()           F32 safetensors with the architecture
 *                               metadata in dl_out_buf (dl_out_len bytes)
 *
 * A step, on the batch of N images x_i with labels y_i (every image, every
 * step: full-batch, so a seed fixes everything):
 *
 *   dy_i  = (softmax(f(x_i)) - onehot(y_i)) / N          (N, 10)
 *   g     = sum_i d/dtheta f(x_i) . dy_i                 dl_backward, image by image
 *   theta = adam(theta, g, lr)  or  theta - lr (mom v + g)
 *
 * layers 1, 'all': theta is every weight; the batch goes through the network
 * in chunks that fit the activation pool, and dl_backward adds each image's
 * gradient in image order whatever the chunk, so the sums are the native
 * trainer's (dl_train_epoch, one thread, the same images in the same order,
 * a constant rate) to the bit. layers 0, 'head': theta is the last dense
 * layer; the layers before it do not change, so their output for every
 * image (the head's input) is computed once by dl_tune_begin, and a step is
 * the dense layer's forward and backward (layers.c) on it.
 *
 * The same bits in every build: the library adds the terms of each sum in
 * one fixed order (c/simd.h's four lanes, then the lanes in a fixed order;
 * -ffp-contract=off), and expf, logf and powf are the same correctly
 * rounding routines in glibc and in emscripten's musl on the values
 * training gives them (tests/node/teach.test.js compares the native build
 * of this file with both WASM builds after several steps).
 *
 * A step whose loss, gradient or updated weights are not finite, or whose
 * loss has risen tenfold (dl_tune_step says why), puts back the weights
 * dl_tune_begin found and fails with DL_ERR_DIVERGED.
 */
#include <math.h>
#include <string.h>

#include "digitlens.h"
#include "wasm_error.h"

#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(#name)))
#else
#define EXPORT(name) /* natively (tests): plain functions */
#endif

/* The limits, stated once. The batch of one call (examples + replay) is at
 * most DL_TRAIN_MAX_IMAGES; the head's input at most DL_TRAIN_MAX_FEATURES
 * floats an image (the seed network's is 1,728, two-conv's 800). */
enum {
    DL_TRAIN_WEIGHTS_CAP = 256 * 1024,   /* bytes of a safetensors file in */
    DL_TRAIN_MAX_PARAMS = 64 * 1024,     /* floats of weights and biases */
    DL_TRAIN_MAX_IMAGES = 1024,          /* examples + replay of one call */
    DL_TRAIN_MAX_REPLAY = 2000,          /* the replay set held */
    DL_TRAIN_MAX_FEATURES = 2048,        /* the head's input, one image */
    DL_TRAIN_ACT_POOL = 512 * 1024,      /* activation floats of one chunk */
    DL_TRAIN_OUT_CAP = DL_TRAIN_MAX_PARAMS * 4 + 16 * 1024 /* F32 file out */
};

static uint8_t weights_buf[DL_TRAIN_WEIGHTS_CAP];
static uint8_t out_buf[DL_TRAIN_OUT_CAP];
static size_t out_len;
static float params[DL_TRAIN_MAX_PARAMS];   /* the network being taught */
static float staging[DL_TRAIN_MAX_PARAMS];  /* a load lands here first */
static float backup[DL_TRAIN_MAX_PARAMS];   /* the weights dl_tune_begin found */
static float grads[DL_TRAIN_MAX_PARAMS];
static float adam_m[DL_TRAIN_MAX_PARAMS], adam_v[DL_TRAIN_MAX_PARAMS];
static float images[DL_TRAIN_MAX_IMAGES * DL_IN_SIZE];       /* (N, 784) the batch */
static uint8_t labels[DL_TRAIN_MAX_IMAGES];
static uint8_t replay_px[DL_TRAIN_MAX_REPLAY * DL_IN_SIZE];  /* (R, 784) 0..255 */
static uint8_t replay_y[DL_TRAIN_MAX_REPLAY];
static int replay_n;
static float feats[DL_TRAIN_MAX_IMAGES * DL_TRAIN_MAX_FEATURES]; /* (N, D) head input */
static float logits[DL_TRAIN_MAX_IMAGES * DL_CLASSES], dlogits[DL_TRAIN_MAX_IMAGES * DL_CLASSES];
static float acts[DL_TRAIN_ACT_POOL], dacts[DL_TRAIN_ACT_POOL];

static dl_model model, staged;
static int loaded;
static char tuned_note[DL_META_VAL]; /* "fine_tuned" metadata of the loaded file */

/* the call in progress: dl_tune_begin to the last dl_tune_step */
static struct {
    int active;
    int n, n_examples;  /* batch size; the examples come first */
    int head;           /* 1: the last dense layer only */
    int opt;            /* 0 Adam, 1 SGD with momentum 0.9 */
    size_t first, count;/* the parameters taught: params[first .. first+count) */
    float lr, loss, loss0; /* the last step's loss, the first's */
    int steps;
    dl_adam adam;
} tune;

/* ---- errors (wasm_error.h: last_error, append, failed) ------------------- */

EXPORT(dl_last_error) const char *train_last_error(void) { return last_error; }

/* ---- weights ----------------------------------------------------------- */

EXPORT(dl_weights_buf) uint8_t *train_weights_buf(void) { return weights_buf; }
EXPORT(dl_weights_cap) int train_weights_cap(void) { return DL_TRAIN_WEIGHTS_CAP; }
EXPORT(dl_param_count) int train_param_count(void) { return loaded ? (int)model.n_params : 0; }

/* How many images of the network go through it at once: as many as the
 * activation pool holds, and at most the batch. */
static int chunk_cap(void)
{
    size_t c = DL_TRAIN_ACT_POOL / model.n_acts;
    return c > DL_TRAIN_MAX_IMAGES ? DL_TRAIN_MAX_IMAGES : (int)c;
}

EXPORT(dl_load_weights) int train_load_weights(int len)
{
    tune.active = 0;
    if (len <= 0) return failed(DL_ERR_EMPTY_FILE, "weights", NULL);
    if (len > DL_TRAIN_WEIGHTS_CAP)
        return failed(DL_ERR_ARG, "weights", "file larger than the 256 KB weights buffer");
    dl_meta meta;
    int st = dl_model_load(&staged, weights_buf, (size_t)len, staging, DL_TRAIN_MAX_PARAMS, &meta);
    if (st) return failed(st, "weights", staged.why[0] ? staged.why : NULL);
    if (staged.n_acts > DL_TRAIN_ACT_POOL)
        return failed(DL_ERR_TOO_LARGE, "weights",
                    "the network needs more activations than the training module holds");
    for (size_t i = 0; i < staged.n_params; i++)
        if (!isfinite(staging[i])) return failed(DL_ERR_NAN, "weights", NULL);
    memcpy(params, staging, staged.n_params * sizeof *params);
    memset(&tune, 0, sizeof tune);
    model = staged;
    model.params = params;
    const char *note = dl_meta_get(&meta, "fine_tuned");
    tuned_note[0] = '\0';
    if (note) strncat(tuned_note, note, sizeof tuned_note - 1);
    loaded = 1;
    return DL_OK;
}

/* ---- the batch ----------------------------------------------------------- */

EXPORT(dl_images_buf) float *train_images_buf(void) { return images; }
EXPORT(dl_labels_buf) uint8_t *train_labels_buf(void) { return labels; }
EXPORT(dl_images_cap) int train_images_cap(void) { return DL_TRAIN_MAX_IMAGES; }
EXPORT(dl_replay_buf) uint8_t *train_replay_buf(void) { return replay_px; }
EXPORT(dl_replay_labels) uint8_t *train_replay_labels(void) { return replay_y; }
EXPORT(dl_replay_cap) int train_replay_cap(void) { return DL_TRAIN_MAX_REPLAY; }
EXPORT(dl_replay_count) int train_replay_count(void) { return replay_n; }

EXPORT(dl_set_replay) int train_set_replay(int count)
{
    replay_n = 0;
    if (count < 0 || count > DL_TRAIN_MAX_REPLAY)
        return failed(DL_ERR_ARG, "replay", "count must be 0..2000");
    for (int i = 0; i < count; i++)
        if (replay_y[i] >= DL_CLASSES) return failed(DL_ERR_LABEL, "replay", NULL);
    replay_n = count;
    return DL_OK;
}

/* images[0 .. n): finite, in 0..1; labels 0..9 */
static int check_images(int n, const char *context)
{
    for (size_t i = 0; i < (size_t)n * DL_IN_SIZE; i++) {
        float v = images[i];
        if (!isfinite(v)) return failed(DL_ERR_NAN, context, "a pixel is NaN or infinite");
        if (v < 0.0f || v > 1.0f)
            return failed(DL_ERR_ARG, context, "pixels must be in 0..1 (MNIST scale)");
    }
    for (int i = 0; i < n; i++)
        if (labels[i] >= DL_CLASSES) return failed(DL_ERR_LABEL, context, "a label is outside 0..9");
    return DL_OK;
}

/* ---- fine-tuning --------------------------------------------------------- */

/* splitmix64's finaliser: the replay stream's start from the seed */
static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

EXPORT(dl_tune_begin) int train_tune_begin(int n, int replay, int layers, int opt, float lr,
                                           unsigned seed)
{
    static const char *const ctx = "fineTune";
    tune.active = 0;
    if (!loaded) return failed(DL_ERR_ARG, ctx, "no weights loaded");
    if (n < 1) return failed(DL_ERR_ARG, ctx, "no examples");
    if (replay < 0 || replay > replay_n)
        return failed(DL_ERR_ARG, ctx, "replay is more than the replay set holds");
    if (n > DL_TRAIN_MAX_IMAGES - replay)
        return failed(DL_ERR_ARG, ctx, "examples + replay must be at most 1024");
    if (layers != 0 && layers != 1) return failed(DL_ERR_ARG, ctx, "layers must be 0 (head) or 1 (all)");
    if (opt != 0 && opt != 1) return failed(DL_ERR_ARG, ctx, "optimizer must be 0 (Adam) or 1 (SGD)");
    if (!(lr > 0.0f && lr <= 1.0f)) return failed(DL_ERR_ARG, ctx, "lr must be in (0, 1]");
    int st = check_images(n, ctx);
    if (st) return st;

    const dl_layer *fc = &model.layers[model.n_layers - 1];
    if (!layers && fc->in_size > DL_TRAIN_MAX_FEATURES)
        return failed(DL_ERR_TOO_LARGE, ctx, "the last dense layer has more than 2,048 inputs: "
                    "layers 'all' only");

    /* replay: `replay` digits of the set, without repeats, in a seeded order
     * (a partial Fisher-Yates over the indices) */
    uint64_t rng = mix64((uint64_t)seed ^ 0x5245504c4159ull /* "REPLAY" */);
    static int order[DL_TRAIN_MAX_REPLAY];
    for (int i = 0; i < replay_n; i++) order[i] = i;
    for (int i = 0; i < replay; i++) {
        int j = i + (int)(dl_rand_u64(&rng) % (uint64_t)(replay_n - i));
        int t = order[i]; order[i] = order[j]; order[j] = t;
        const uint8_t *px = replay_px + (size_t)order[i] * DL_IN_SIZE;
        float *x = images + (size_t)(n + i) * DL_IN_SIZE;
        for (int k = 0; k < DL_IN_SIZE; k++) x[k] = (float)px[k] / 255.0f;
        labels[n + i] = replay_y[order[i]];
    }

    tune.n_examples = n;
    tune.n = n + replay;
    tune.head = !layers;
    tune.opt = opt;
    tune.lr = lr;
    tune.loss = NAN;
    tune.steps = 0;
    tune.first = tune.head ? fc->w_off : 0;
    tune.count = tune.head ? fc->n_w + fc->n_b : model.n_params;
    memset(&tune.adam, 0, sizeof tune.adam);
    tune.adam.lr = lr;
    tune.adam.beta1 = 0.9f;
    tune.adam.beta2 = 0.999f;
    tune.adam.eps = 1e-8f;
    tune.adam.m = adam_m;
    tune.adam.v = adam_v;
    memset(adam_m, 0, model.n_params * sizeof *adam_m);
    memset(adam_v, 0, model.n_params * sizeof *adam_v);
    memcpy(backup, params, model.n_params * sizeof *params);
    memset(model.packed, 0, sizeof model.packed); /* weights change every step: none packed */

    if (tune.head) {
        /* the head's input, once: the layers before it stay as they are */
        const int cap = chunk_cap(), D = (int)fc->in_size;
        dl_work w = { cap, acts, dacts };
        for (int lo = 0; lo < tune.n; lo += cap) {
            const int B = tune.n - lo < cap ? tune.n - lo : cap;
            if ((st = dl_forward(&model, &w, images + (size_t)lo * DL_IN_SIZE, B)))
                return failed(st, ctx, NULL);
            memcpy(feats + (size_t)lo * D, dl_layer_out(&model, &w, model.n_layers - 2),
                   (size_t)B * D * sizeof(float));
        }
    }
    tune.active = 1;
    return DL_OK;
}

/* dy = (p - onehot(y)) / N for B images whose probabilities are p: the
 * expression of dl_softmax_xent, with the whole batch's N */
static void xent_grad(float *dy, const float *p, const uint8_t *y, int B, int N)
{
    for (int b = 0; b < B; b++)
        for (int c = 0; c < DL_CLASSES; c++)
            dy[b * DL_CLASSES + c] = (p[b * DL_CLASSES + c] - (c == y[b] ? 1.0f : 0.0f)) / (float)N;
}

static int diverged(const char *what)
{
    memcpy(params, backup, model.n_params * sizeof *params);
    tune.active = 0;
    size_t n = 0;
    append(&n, "fineTune: diverged at step ");
    char num[12];
    int k = 0, v = tune.steps + 1;
    do num[k++] = (char)('0' + v % 10); while ((v /= 10) && k < 11);
    while (k) { char c[2] = { num[--k], 0 }; append(&n, c); }
    append(&n, ": ");
    append(&n, what);
    append(&n, " (lr too high?); the weights are as before the call");
    return DL_ERR_DIVERGED;
}

EXPORT(dl_tune_step) int train_tune_step(void)
{
    if (!tune.active) return failed(DL_ERR_ARG, "fineTune", "no dl_tune_begin before the step");
    const int N = tune.n;
    const dl_layer *fc = &model.layers[model.n_layers - 1];
    float *g = grads + tune.first;
    double loss = 0.0;
    memset(g, 0, tune.count * sizeof *g);
    if (tune.head) {
        const int D = (int)fc->in_size;
        const float *W = params + fc->w_off, *bias = params + fc->b_off;
        dl_dense_forward(logits, feats, W, bias, N, D, DL_CLASSES);
        loss = dl_softmax_xent(NULL, dlogits, logits, labels, N);
        dl_dense_backward(NULL, grads + fc->w_off, grads + fc->b_off, dlogits, feats, W, N, D,
                          DL_CLASSES);
    } else {
        const int cap = chunk_cap();
        dl_work w = { cap, acts, dacts };
        for (int lo = 0; lo < N; lo += cap) {
            const int B = N - lo < cap ? N - lo : cap;
            int st = dl_forward(&model, &w, images + (size_t)lo * DL_IN_SIZE, B);
            if (st) return failed(st, "fineTune", NULL);
            float *p = logits + (size_t)lo * DL_CLASSES, *dy = dlogits + (size_t)lo * DL_CLASSES;
            loss += (double)dl_softmax_xent(p, NULL, dl_logits(&model, &w), labels + lo, B) * B / N;
            xent_grad(dy, p, labels + lo, B, N);
            if ((st = dl_backward(&model, &w, dy, B, 0, grads)))
                return failed(st, "fineTune", NULL);
        }
    }
    /* g * 0 is 0 unless g is infinite or NaN */
    float bad = 0.0f;
    for (size_t k = 0; k < tune.count; k++) bad += g[k] * 0.0f;
    if (!isfinite(loss) || bad != 0.0f) return diverged("the loss or a gradient became NaN or infinite");
    /* A rate too high for the network rarely reaches NaN: the loss climbs to
     * hundreds, then every ReLU dies and it settles at ln 10, a network that
     * knows nothing. It has diverged once the loss is ten times what it was
     * at the first step, or than ln 10 if that was less (examples the
     * network reads wrong with confidence start far above ln 10). */
    if (tune.steps == 0) tune.loss0 = (float)loss;
    const float ln10 = 2.302585093f;
    if (loss > 10.0 * (tune.loss0 > ln10 ? tune.loss0 : ln10))
        return diverged("the loss rose more than tenfold");
    float *p = params + tune.first;
    if (tune.opt == 0) {
        tune.adam.t++;
        dl_adam_update(&tune.adam, tune.lr, p, g, tune.first, tune.count);
    } else {
        dl_sgd_step(p, g, adam_m + tune.first, tune.count, tune.lr, 0.9f);
    }
    bad = 0.0f;
    for (size_t k = 0; k < tune.count; k++) bad += p[k] * 0.0f;
    if (bad != 0.0f) return diverged("a weight became NaN or infinite");
    tune.loss = (float)loss;
    tune.steps++;
    return DL_OK;
}

/* the mean loss over the batch before the last step's update */
EXPORT(dl_tune_loss) float train_tune_loss(void) { return tune.loss; }

/* Put back the weights dl_tune_begin found (a call given up half way). */
EXPORT(dl_tune_restore) int train_tune_restore(void)
{
    if (!loaded) return failed(DL_ERR_ARG, "fineTune", "no weights loaded");
    memcpy(params, backup, model.n_params * sizeof *params);
    tune.active = 0;
    return DL_OK;
}

/* ---- evaluation ---------------------------------------------------------- */

/* How many of the n images in dl_images_buf the network reads as their
 * label (the first maximal logit), or a negative dl_status. */
EXPORT(dl_evaluate) int train_evaluate(int n)
{
    tune.active = 0; /* the images buffer is the batch's */
    if (!loaded) return -failed(DL_ERR_ARG, "evaluate", "no weights loaded");
    if (n < 1 || n > DL_TRAIN_MAX_IMAGES) return -failed(DL_ERR_ARG, "evaluate", "n must be 1..1024");
    int st = check_images(n, "evaluate");
    if (st) return -st;
    memset(model.packed, 0, sizeof model.packed);
    const int cap = chunk_cap();
    dl_work w = { cap, acts, dacts };
    int correct = 0;
    for (int lo = 0; lo < n; lo += cap) {
        const int B = n - lo < cap ? n - lo : cap;
        if ((st = dl_forward(&model, &w, images + (size_t)lo * DL_IN_SIZE, B)))
            return -failed(st, "evaluate", NULL);
        const float *y = dl_logits(&model, &w);
        for (int i = 0; i < B; i++) {
            const float *yi = y + i * DL_CLASSES;
            int best = 0;
            for (int k = 1; k < DL_CLASSES; k++)
                if (yi[k] > yi[best]) best = k;
            correct += best == labels[lo + i];
        }
    }
    return correct;
}

/* ---- saving -------------------------------------------------------------- */

EXPORT(dl_out_buf) uint8_t *train_out_buf(void) { return out_buf; }
EXPORT(dl_out_len) int train_out_len(void) { return (int)out_len; }

static void put_int(char *s, size_t cap, long v)
{
    char d[24];
    int k = 0;
    unsigned long u = v < 0 ? 0 - (unsigned long)v : (unsigned long)v;
    do d[k++] = (char)('0' + u % 10); while ((u /= 10) && k < 23);
    if (v < 0) d[k++] = '-';
    size_t n = strlen(s);
    while (k && n + 1 < cap) s[n++] = d[--k];
    s[n] = '\0';
}

/* The weights as F32 safetensors: tensors with PyTorch's names and shapes,
 * metadata "architecture" and "cam_layer" (what load() and the CLI read),
 * and "fine_tuned": what taught them (the file's own note first). */
EXPORT(dl_save_weights) int train_save_weights(void)
{
    out_len = 0;
    if (!loaded) return failed(DL_ERR_ARG, "saveWeights", "no weights loaded");
    dl_meta meta;
    memset(&meta, 0, sizeof meta);
    dl_arch a;
    dl_model_arch(&model, &a);
    int st = dl_arch_to_meta(&a, &meta);
    if (!st && (tuned_note[0] || tune.steps)) {
        char note[DL_META_VAL] = "";
        if (tune.steps) {
            strcat(note, tune.head ? "head, " : "all layers, ");
            put_int(note, sizeof note, tune.n_examples);
            strcat(note, " examples + ");
            put_int(note, sizeof note, tune.n - tune.n_examples);
            strcat(note, " replay, ");
            put_int(note, sizeof note, tune.steps);
            strcat(note, tune.opt ? " SGD steps" : " Adam steps");
        }
        char both[DL_META_VAL] = "";
        if (tuned_note[0] && strlen(tuned_note) + strlen(note) + 3 < sizeof both) {
            strcat(both, tuned_note);
            if (note[0]) strcat(both, "; ");
        }
        strcat(both, note);
        st = dl_meta_set(&meta, "fine_tuned", both[0] ? both : tuned_note);
    }
    if (st) return failed(st, "saveWeights", NULL);
    dl_tensor t[DL_MAX_TENSORS];
    int n = dl_model_tensors(&model, params, t);
    size_t len = 0;
    if ((st = dl_st_save(out_buf, sizeof out_buf, &len, t, n, &meta)))
        return failed(st, "saveWeights", NULL);
    out_len = len;
    return DL_OK;
}
