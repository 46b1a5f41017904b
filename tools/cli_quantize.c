/* cli_quantize.c — `digitlens quantize`: store weights at reduced precision,
 * still safetensors, and measure what it costs: the test accuracy before and
 * after, the second one computed from the weights as the new file gives
 * them back.
 *
 * d4 (the page's default): conv.weight I8 (8 bits, one scale per filter);
 * fc.weight on a uniform grid of step s_r = STEP x rms(row r), stored as
 * 4-bit differences between neighbouring levels (safetensors.c, "d4"). A
 * uniform grid under an entropy coder (gzip's Huffman stage) is what costs
 * the fewest bytes for a given error; the step sets the trade.
 *
 * The levels are chosen GPTQ-style (Frantar et al. 2022, "GPTQ: accurate
 * post-training quantization"): rounding weight j of a row moves the
 * row's output by e_j x_j, which the weights still to come can cancel in
 * part, because the pooled activations x are correlated. With
 * C = Cov(x) + damp * mean(diag Cov) * I over the first CALIBRATE training
 * images (features from the already quantized convolution) and U the upper
 * Cholesky factor of C^-1, weight j is rounded (difference to the level
 * before clamped to -8..7), then
 *     w_k -= (w_j - q_j s) / U_jj * U_jk   for k > j,
 * which minimises E[(x . (w - w_q))^2] one weight at a time. The mean part
 * of the error is exact to cancel: fc.bias_r += sum_j (w_rj - w_q rj) mu_j.
 * Every sum runs in a fixed order, so the output does not depend on the
 * thread count. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "train.h"

const char cli_quantize_usage[] =
    "usage: digitlens quantize --out FILE [OPTIONS]\n"
    "\n"
    "Write the weights at reduced precision and report the accuracy on the\n"
    "10,000 MNIST test images before and after.\n"
    "  d4:   conv.weight as int8 (below, 8 bits); fc.weight on a grid of step\n"
    "        --step x the RMS of its row, levels chosen against the training\n"
    "        images' features (--calibrate), stored as 4-bit differences of\n"
    "        neighbouring levels (\"fc.weight_d4\" U8 [10, 864] and\n"
    "        \"fc.weight_scale\" F32 [10]); the biases stay F32, fc.bias\n"
    "        corrected for the mean error. The page's default weights.\n"
    "  int8: each tensor of 2+ dimensions (conv.weight, fc.weight) as I8 with\n"
    "        one F32 scale per output channel (\"NAME_scale\", max |w| / 127 or\n"
    "        see --bits; round to nearest); the biases stay F32\n"
    "  f16:  every tensor as F16 (round to nearest even)\n"
    "\n"
    "  --weights FILE  F32 (or any readable) weights (default " CLI_DEFAULT_WEIGHTS ")\n"
    "  --out FILE      the quantized safetensors (written whole, atomically)\n"
    "  --dtype D       d4, int8 (default) or f16\n"
    "  --bits B        int8 only: values in -(2^(B-1)-1) .. 2^(B-1)-1, scale =\n"
    "                  max |w| / that (2..8, default 8: -127..127); fewer\n"
    "                  levels compress better under gzip\n"
    "  --step S        d4 only: grid step of each fc.weight row in units of\n"
    "                  the row's RMS (0.05..4, default 0.6)\n"
    "  --calibrate N   d4 only: training images whose features guide the\n"
    "                  rounding (0..60000, default 10000; 0 = round to nearest)\n"
    "  --damp D        d4 only: added to the features' covariance, times its\n"
    "                  mean diagonal (0.001..10, default 0.1)\n"
    "  --conv-bits B   d4 only: the convolutions after the first as int8\n"
    "                  levels in -(2^(B-1)-1) .. 2^(B-1)-1 (2..8, default 8);\n"
    "                  fewer levels compress better under gzip\n"
    "  --data DIR      MNIST IDX files (default " CLI_DEFAULT_DATA ")\n"
    "  --threads N     OpenMP threads (default: all cores)\n"
    "  --json          one object: {\"dtype\", \"bytes_in\", \"bytes_out\",\n"
    "                  \"accuracy_in\", \"accuracy_out\", \"loss_points\"}\n"
    "  --help          this text\n";

static double accuracy(const dl_model *m, const cli_dataset *d, int threads, const char *what)
{
    int correct = 0;
    int st = dl_evaluate(m, d->imgs.pixels, d->lbls.labels, d->imgs.count, threads, &correct, NULL);
    if (st != DL_OK) cli_fail(what, st);
    return (double)correct / d->imgs.count;
}

static void *xcalloc(size_t n, size_t size, const char *what)
{
    void *p = calloc(n, size);
    if (!p) cli_fail(what, DL_ERR_NOMEM);
    return p;
}

/* A = L L^T in place (lower triangle; the upper one is zeroed). Returns 0,
 * or -1 if A is not positive definite. */
static int cholesky(double *a, int n)
{
    for (int j = 0; j < n; j++) {
        double s = a[(size_t)j * n + j];
        for (int k = 0; k < j; k++) s -= a[(size_t)j * n + k] * a[(size_t)j * n + k];
        if (!(s > 0.0)) return -1;
        double d = sqrt(s);
        a[(size_t)j * n + j] = d;
        #pragma omp parallel for schedule(static)
        for (int i = j + 1; i < n; i++) {
            double t = a[(size_t)i * n + j];
            for (int k = 0; k < j; k++) t -= a[(size_t)i * n + k] * a[(size_t)j * n + k];
            a[(size_t)i * n + j] = t / d;
        }
        for (int k = j + 1; k < n; k++) a[(size_t)j * n + k] = 0.0;
    }
    return 0;
}

/* U, upper triangular (row-major, n x n), with C^-1 = U^T U, from C (which
 * it overwrites). C = L L^T; C^-1 = L^-T L^-1; U is the transpose of the
 * Cholesky factor of that. Returns 0, or -1 if C is singular. */
static int inverse_cholesky_upper(double *c, double *u, int n)
{
    if (cholesky(c, n)) return -1;
    /* li[j][i] = (L^-1)[i][j], i >= j: rows of li are columns of L^-1 */
    double *li = xcalloc((size_t)n * n, sizeof *li, "calibration");
    #pragma omp parallel for schedule(dynamic, 8)
    for (int j = 0; j < n; j++) {
        double *r = li + (size_t)j * n;
        r[j] = 1.0 / c[(size_t)j * n + j];
        for (int i = j + 1; i < n; i++) {
            double s = 0.0;
            for (int k = j; k < i; k++) s += c[(size_t)i * n + k] * r[k];
            r[i] = -s / c[(size_t)i * n + i];
        }
    }
    /* C^-1 [i][j] = sum_{k >= max(i, j)} (L^-1)[k][i] (L^-1)[k][j] */
    #pragma omp parallel for schedule(dynamic, 8)
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double s = 0.0;
            for (int k = i; k < n; k++) s += li[(size_t)i * n + k] * li[(size_t)j * n + k];
            c[(size_t)i * n + j] = s;
        }
    free(li);
    if (cholesky(c, n)) return -1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) u[(size_t)i * n + j] = j >= i ? c[(size_t)j * n + i] : 0.0;
    return 0;
}

/* The features fc reads (the flattened max-pool output, dim of them) for the
 * first n training images: their mean, and U as above for their covariance
 * plus damping. */
static void calibrate(const dl_model *q, const char *data, int n, double damp, int dim,
                      double *mu, double *u)
{
    cli_dataset d;
    cli_load_dataset(&d, data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    if (n > d.imgs.count) n = d.imgs.count;
    enum { B = 100 };
    dl_work w;
    int st = dl_work_alloc(&w, q, B);
    if (st != DL_OK) cli_fail("calibration", st);
    float *x = xcalloc((size_t)B * DL_IN_SIZE, sizeof *x, "calibration");
    float *feat = xcalloc((size_t)n * dim, sizeof *feat, "calibration");
    int feat_layer = -1;    /* the layer fc reads */
    for (int i = 0; i < q->n_layers; i++)
        if (q->layers[i].spec.kind == DL_DENSE) { feat_layer = i - 1; break; }
    if (feat_layer < 0 || q->layers[feat_layer].out_size != (size_t)dim)
        cli_failf("calibration", "the network has no dense layer of %d inputs", dim);
    for (int b0 = 0; b0 < n; b0 += B) {
        int nb = n - b0 < B ? n - b0 : B;
        for (size_t k = 0; k < (size_t)nb * DL_IN_SIZE; k++)
            x[k] = d.imgs.pixels[(size_t)b0 * DL_IN_SIZE + k] / 255.0f;
        if ((st = dl_forward(q, &w, x, nb)) != DL_OK) cli_fail("calibration", st);
        memcpy(feat + (size_t)b0 * dim, dl_layer_out(q, &w, feat_layer), (size_t)nb * dim * sizeof *feat);
    }
    free(x);
    dl_work_free(&w);
    cli_free_dataset(&d);

    /* the nonzero features of each image (after ReLU and max-pool, ~35 %) */
    int *nnz = xcalloc((size_t)n, sizeof *nnz, "calibration");
    int *idx = xcalloc((size_t)n * dim, sizeof *idx, "calibration");
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dim; j++)
            if (feat[(size_t)i * dim + j] != 0.0f) idx[(size_t)i * dim + nnz[i]++] = j;
    for (int j = 0; j < dim; j++) mu[j] = 0.0;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < nnz[i]; a++) mu[idx[(size_t)i * dim + a]] += feat[(size_t)i * dim + idx[(size_t)i * dim + a]];
    for (int j = 0; j < dim; j++) mu[j] /= n;

    /* c[r][j], j >= r: sum over images of x_r x_j; each row r summed by one
     * thread in image order (the same bits whatever the thread count) */
    double *c = xcalloc((size_t)dim * dim, sizeof *c, "calibration");
    #pragma omp parallel for schedule(dynamic, 16)
    for (int r = 0; r < dim; r++) {
        double *row = c + (size_t)r * dim;
        for (int i = 0; i < n; i++) {
            const float *f = feat + (size_t)i * dim;
            if (f[r] == 0.0f) continue;
            const int *ix = idx + (size_t)i * dim;
            double xr = f[r];
            for (int a = nnz[i] - 1; a >= 0 && ix[a] >= r; a--) row[ix[a]] += xr * f[ix[a]];
        }
    }
    free(idx);
    free(nnz);
    free(feat);
    double diag = 0.0;
    for (int r = 0; r < dim; r++)
        for (int j = r; j < dim; j++) {
            double v = c[(size_t)r * dim + j] / n - mu[r] * mu[j];
            c[(size_t)r * dim + j] = c[(size_t)j * dim + r] = v;
            if (j == r) diag += v;
        }
    for (int r = 0; r < dim; r++) c[(size_t)r * dim + r] += damp * diag / dim;
    if (inverse_cholesky_upper(c, u, dim))
        cli_failf("calibration", "the features' covariance is singular; raise --damp");
    free(c);
}

/* Levels of one row of n weights on a grid of step s, differences within
 * -8..7, with error feedback through u (NULL: round to nearest); w is
 * overwritten, wq gets q * s. */
static void quantize_row(double *w, float *wq, int n, float s, const double *u)
{
    long prev = 0;
    for (int j = 0; j < n; j++) {
        long q = lrint(w[j] / s);
        q = q < prev - 8 ? prev - 8 : q > prev + 7 ? prev + 7 : q;
        prev = q;
        wq[j] = (float)q * s;
        if (!u) continue;
        double e = (w[j] - wq[j]) / u[(size_t)j * n + j];
        for (int k = j + 1; k < n; k++) w[k] -= e * u[(size_t)j * n + k];
    }
}

/* dl_st_save_how into a malloc'd buffer; exits on failure. */
static uint8_t *save(const dl_tensor *t, int n, const dl_meta *meta, const dl_st_how *how,
                     size_t *len, const char *what)
{
    int st = dl_st_save_how(NULL, 0, len, t, n, meta, how);
    if (st != DL_OK) cli_fail(what, st);
    uint8_t *buf = malloc(*len);
    if (!buf) cli_fail(what, DL_ERR_NOMEM);
    if ((st = dl_st_save_how(buf, *len, len, t, n, meta, how)) != DL_OK) cli_fail(what, st);
    return buf;
}

int cli_quantize(int argc, char **argv)
{
    const char *usage = cli_quantize_usage;
    const char *in = cli_default(CLI_DEFAULT_WEIGHTS), *out = NULL, *data = cli_default(CLI_DEFAULT_DATA), *dname = "int8";
    int json = 0, threads = 0, bits = 8, calib = 10000, bits_set = 0, d4_set = 0;
    double step = 0.6, damp = 0.1;
    int conv_bits = 8;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_flag(a, "--weights")) in = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--out")) out = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--dtype")) dname = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--bits")) {
            bits = (int)cli_int("--bits", cli_value(argc, argv, &i, usage), 2, 8, usage);
            bits_set = 1;
        } else if (cli_is_flag(a, "--step")) {
            step = cli_float("--step", cli_value(argc, argv, &i, usage), 0.05, 4.0, usage);
            d4_set = 1;
        } else if (cli_is_flag(a, "--conv-bits")) {
            conv_bits = (int)cli_int("--conv-bits", cli_value(argc, argv, &i, usage), 2, 8, usage);
            d4_set = 1;
        } else if (cli_is_flag(a, "--calibrate")) {
            calib = (int)cli_int("--calibrate", cli_value(argc, argv, &i, usage), 0, 60000, usage);
            d4_set = 1;
        } else if (cli_is_flag(a, "--damp")) {
            damp = cli_float("--damp", cli_value(argc, argv, &i, usage), 0.001, 10.0, usage);
            d4_set = 1;
        } else if (cli_is_flag(a, "--data")) data = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--threads"))
            threads = (int)cli_int("--threads", cli_value(argc, argv, &i, usage), 1, 256, usage);
        else if (cli_is_flag(a, "--json")) json = 1;
        else if (a[0] == '-') cli_usage_error(usage, "unknown option '%s'", a);
        else cli_usage_error(usage, "unexpected argument '%s'", a);
    }
    if (!out) cli_usage_error(usage, "--out FILE is required");
    dl_st_dtype dtype;
    if (strcmp(dname, "int8") == 0) dtype = DL_ST_I8;
    else if (strcmp(dname, "f16") == 0) dtype = DL_ST_F16;
    else if (strcmp(dname, "d4") == 0) dtype = DL_ST_D4;
    else cli_usage_error(usage, "--dtype must be d4, int8 or f16, not '%s'", dname);
    if (bits_set && dtype != DL_ST_I8) cli_usage_error(usage, "--bits is for --dtype int8 only");
    if (d4_set && dtype != DL_ST_D4)
        cli_usage_error(usage, "--step, --calibrate and --damp are for --dtype d4 only");
    if (threads == 0) threads = omp_get_max_threads();
    omp_set_num_threads(threads);
    int qmax = (1 << (bits - 1)) - 1;

    dl_model m, q;
    dl_meta meta;
    cli_load_model(&m, in, &meta);
    uint8_t *src;
    size_t src_len;
    int st = dl_read_file(in, &src, &src_len);
    if (st != DL_OK) cli_fail(in, st);
    free(src);
    cli_dataset d;
    cli_load_dataset(&d, data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
    double acc_in = accuracy(&m, &d, threads, in);
    dl_arch arch;
    dl_model_arch(&m, &arch); /* the file's own network */
    st = dl_model_plan(&q, &arch);
    if (st == DL_OK) st = dl_model_alloc(&q);
    if (st != DL_OK) cli_fail_model(in, &q, st);

    /* how each tensor is stored; d4 also changes the dense layer's values */
    dl_tensor t[DL_MAX_TENSORS], tq[DL_MAX_TENSORS];
    int n = dl_model_tensors(&m, m.params, t), nq = dl_model_tensors(&q, q.params, tq);
    dl_st_how how[DL_MAX_TENSORS];
    float *steps = NULL;
    char desc[DL_META_VAL];
    if (dtype == DL_ST_D4) {
        const dl_layer *fc = NULL;
        for (int i = 0; i < m.n_layers; i++)
            if (m.layers[i].spec.kind == DL_DENSE) fc = &m.layers[i];
        int rows = fc->out_c * fc->out_h * fc->out_w, dim = (int)fc->in_size;
        /* first every tensor but fc.weight as stored, read back into q, so
         * the calibration features are the quantized convolution's; with
         * --conv-bits the convolutions after the first on fewer levels */
        for (int i = 0, convs_seen = 0; i < n; i++) {
            const int later_conv = t[i].ndim == 4 && convs_seen++ > 0;
            how[i] = (dl_st_how){t[i].ndim >= 2 ? DL_ST_I8 : DL_ST_F32,
                                 later_conv ? (1 << (conv_bits - 1)) - 1 : 127, NULL};
        }
        size_t len;
        uint8_t *buf = save(t, n, NULL, how, &len, out);
        if ((st = dl_st_load(buf, len, tq, nq, NULL)) != DL_OK) cli_fail(out, st);
        free(buf);

        double *mu = xcalloc((size_t)dim, sizeof *mu, "calibration");
        double *u = NULL;
        if (calib > 0) {
            u = xcalloc((size_t)dim * dim, sizeof *u, "calibration");
            calibrate(&q, data, calib, damp, dim, mu, u);
        }
        steps = xcalloc((size_t)rows, sizeof *steps, out);
        double *w = xcalloc((size_t)dim, sizeof *w, out);
        float *fw = m.params + fc->w_off, *fb = m.params + fc->b_off;
        for (int r = 0; r < rows; r++) {
            double ss = 0.0;
            for (int j = 0; j < dim; j++) ss += (double)fw[(size_t)r * dim + j] * fw[(size_t)r * dim + j];
            steps[r] = (float)(step * sqrt(ss / dim));
            if (!(steps[r] > 0.0f)) steps[r] = 1.0f;        /* a row of zeros */
            for (int j = 0; j < dim; j++) w[j] = fw[(size_t)r * dim + j];
            float *wq = q.params + fc->w_off + (size_t)r * dim;
            quantize_row(w, wq, dim, steps[r], u);
            double shift = 0.0;
            for (int j = 0; j < dim; j++) shift += ((double)fw[(size_t)r * dim + j] - wq[j]) * mu[j];
            q.params[fc->b_off + r] = (float)(fb[r] + shift);
        }
        free(w);
        free(u);
        free(mu);
        /* q now holds every value as the file will give it back */
        for (int i = 0; i < n; i++) {
            t[i].data = tq[i].data;
            if (tq[i].data == q.params + fc->w_off) how[i] = (dl_st_how){DL_ST_D4, 0, steps};
        }

        /* short: the page downloads it (the format: weights/README.md) */
        char convs[128] = ""; /* "conv.weight" (the seed), "conv1.weight, conv2.weight" */
        for (int i = 0; i < m.n_layers; i++)
            if (m.layers[i].spec.kind == DL_CONV)
                snprintf(convs + strlen(convs), sizeof convs - strlen(convs), "%s%s.weight",
                         convs[0] ? ", " : "", m.layers[i].spec.name);
        if (conv_bits < 8) { /* the later convs' levels */
            size_t k = strlen(convs);
            snprintf(convs + k, sizeof convs - k, " (%d-bit after the first)", conv_bits);
        }
        snprintf(desc, sizeof desc,
                 "d4: %s.weight 4-bit level steps, step %.3g x row RMS, GPTQ on %d images "
                 "(damp %.3g); %s int8/channel; biases F32", fc->spec.name, step, calib, damp, convs);
        if (calib == 0)
            snprintf(desc, sizeof desc, "d4: %s.weight 4-bit level steps, step %.3g x row RMS, "
                     "rounded; %s int8/channel; biases F32", fc->spec.name, step, convs);
    } else {
        for (int i = 0; i < n; i++)
            how[i] = (dl_st_how){dtype == DL_ST_I8 && t[i].ndim >= 2 ? DL_ST_I8
                                 : dtype == DL_ST_F16 ? DL_ST_F16 : DL_ST_F32, qmax, NULL};
        snprintf(desc, sizeof desc, dtype == DL_ST_I8
                 ? "int8, per-output-channel F32 scale (max |w| / %d); biases F32" : "F16", qmax);
    }

    /* the file first without the accuracy after, to measure it on the
     * weights exactly as a reader of the file gets them */
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    char val[64];
    snprintf(val, sizeof val, "%.4f", acc_in);
    if (dl_meta_set(&meta, "dtype", desc) ||
        dl_meta_set(&meta, "quantized_from", base) ||
        dl_meta_set(&meta, "test_accuracy_f32", val) ||
        dl_meta_set(&meta, "test_accuracy", "-"))
        cli_failf(in, "too much metadata to add the quantization's (at most %d entries)", DL_META_MAX);
    size_t len;
    uint8_t *buf = save(t, n, &meta, how, &len, out);
    if ((st = dl_st_load(buf, len, tq, nq, NULL)) != DL_OK) cli_fail(out, st);
    free(buf);
    double acc_out = accuracy(&q, &d, threads, out);
    double max_err = 0.0;
    for (size_t i = 0; i < m.n_params; i++) max_err = fmax(max_err, fabs((double)q.params[i] - m.params[i]));

    snprintf(val, sizeof val, "%.4f", acc_out);
    dl_meta_set(&meta, "test_accuracy", val);
    buf = save(t, n, &meta, how, &len, out);
    if ((st = dl_write_file_atomic(out, buf, len)) != DL_OK) cli_fail(out, st);

    double loss = 100.0 * (acc_in - acc_out);
    if (json) {
        printf("{\"dtype\":\"%s\",\"qmax\":%d,\"bytes_in\":%zu,\"bytes_out\":%zu,\"accuracy_in\":%.9g,"
               "\"accuracy_out\":%.9g,\"loss_points\":%.9g,\"max_abs_weight_error\":%.9g}\n",
               dname, dtype == DL_ST_I8 ? qmax : 0, src_len, len, acc_in, acc_out, loss, max_err);
    } else {
        printf("%s: %s, %zu bytes (from %zu)\n", out, dname, len, src_len);
        printf("test accuracy %.2f%% -> %.2f%% (%+.2f points); largest weight change %.3g\n",
               100.0 * acc_in, 100.0 * acc_out, -loss, max_err);
    }
    free(buf);
    free(steps);
    cli_free_dataset(&d);
    dl_model_free(&q);
    dl_model_free(&m);
    return fflush(stdout) == 0 ? 0 : 1;
}
