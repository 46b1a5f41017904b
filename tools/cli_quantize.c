/* cli_quantize.c — `digitlens quantize`: store weights at reduced precision,
 * still safetensors, and measure what it costs: the test accuracy before and
 * after, the second one computed from the weights as the new file gives
 * them back.
 *
 * d4 (the page's weights): fc.weight on a uniform grid of step
 * s_r = STEP x rms(row r), stored as 4-bit differences between neighbouring
 * levels (safetensors.c, "d4"); the convolutions the same way with
 * --conv-step (a row: one output channel's C x K x K kernel), else I8 (one
 * scale per filter); biases F16. A uniform grid under an entropy coder
 * (gzip's Huffman stage) is what costs the fewest bytes for a given error;
 * the step sets the trade.
 *
 * The levels are chosen GPTQ-style (Frantar et al. 2022, "GPTQ: accurate
 * post-training quantization"): rounding weight j of a row moves the
 * row's output by e_j x_j, which the weights still to come can cancel in
 * part, because the inputs x are correlated (fc's pooled activations; a
 * convolution's input patches, every output position's). With
 * C = Cov(x) + damp * mean(diag Cov) * I over the first CALIBRATE training
 * images (features from the layers before as stored) and U the upper
 * Cholesky factor of C^-1, weight j is rounded (difference to the level
 * before clamped to -8..7), then
 *     w_k -= (w_j - q_j s) / U_jj * U_jk   for k > j,
 * which minimises E[(x . (w - w_q))^2] one weight at a time. The mean part
 * of the error is exact to cancel: bias_r += sum_j (w_rj - w_q rj) mu_j.
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
    "10,000 MNIST test images before and after. The file's metadata: the\n"
    "network (architecture, cam_layer, as in the input), dtype (how each\n"
    "tensor is stored), quantized_from, test_accuracy_f32, test_accuracy;\n"
    "the training record stays in the input file.\n"
    "  d4:   fc.weight on a grid of step --step x the RMS of its row, levels\n"
    "        chosen against the training images' features (--calibrate),\n"
    "        stored as 4-bit differences of neighbouring levels\n"
    "        (\"fc.weight_d4\" U8 [10, 864] and \"fc.weight_scale\" F32 [10]\n"
    "        for the seed network); the convolutions so too with --conv-step,\n"
    "        else int8 (below, 8 bits); the biases F16, corrected for the mean\n"
    "        error. The page's weights.\n"
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
    "  --conv-step S   d4 only: the convolutions on d4 grids too, step S x\n"
    "                  each output channel's RMS, levels chosen against their\n"
    "                  input patches (0.05..4; default: int8)\n"
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

/* The features layer l reads, for the first n training images (through q:
 * the layers before as stored): for a dense layer its input vector, one a
 * image; for a convolution each output position's input patch (C, K, K),
 * OH * OW an image. Their mean mu, and U as above for their covariance plus
 * damping. */
static void calibrate(const dl_model *q, const char *data, int n, double damp, int l,
                      double *mu, double *u)
{
    const dl_layer *L = &q->layers[l];
    const int conv = L->spec.kind == DL_CONV, K = L->spec.k, H = L->in_h, W = L->in_w;
    const int dim = conv ? L->in_c * K * K : (int)L->in_size, P = conv ? L->out_h * L->out_w : 1;
    const size_t in_size = conv ? (size_t)L->in_c * H * W : L->in_size;
    cli_dataset d;
    cli_load_dataset(&d, data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    if (n > d.imgs.count) n = d.imgs.count;
    enum { B = 100 };
    dl_work w;
    int st = dl_work_alloc(&w, q, B);
    if (st != DL_OK) cli_fail("calibration", st);
    const size_t rows = (size_t)B * P;
    float *x = xcalloc((size_t)B * DL_IN_SIZE, sizeof *x, "calibration");
    float *feat = xcalloc(rows * dim, sizeof *feat, "calibration");
    int *idx = xcalloc(rows * dim, sizeof *idx, "calibration");
    int *nnz = xcalloc(rows, sizeof *nnz, "calibration");
    double *c = xcalloc((size_t)dim * dim, sizeof *c, "calibration");
    for (int j = 0; j < dim; j++) mu[j] = 0.0;
    for (int b0 = 0; b0 < n; b0 += B) {
        const int nb = n - b0 < B ? n - b0 : B, nr = nb * P;
        for (size_t k = 0; k < (size_t)nb * DL_IN_SIZE; k++)
            x[k] = d.imgs.pixels[(size_t)b0 * DL_IN_SIZE + k] / 255.0f;
        if ((st = dl_forward(q, &w, x, nb)) != DL_OK) cli_fail("calibration", st);
        const float *in = dl_layer_out(q, &w, l - 1);
        for (int b = 0; b < nb; b++) /* feature rows, image by image */
            for (int p = 0; p < P; p++) {
                float *f = feat + ((size_t)b * P + p) * dim;
                const float *ib = in + (size_t)b * in_size;
                if (!conv) memcpy(f, ib, (size_t)dim * sizeof *f);
                else
                    for (int ch = 0, j = 0, y = p / L->out_w, x0 = p % L->out_w; ch < L->in_c; ch++)
                        for (int i = 0; i < K; i++)
                            for (int k = 0; k < K; k++) f[j++] = ib[((size_t)ch * H + y + i) * W + x0 + k];
            }
        /* the nonzero features of each row (after ReLU and max-pool, ~35 %) */
        for (int r = 0; r < nr; r++) {
            const float *f = feat + (size_t)r * dim;
            int *ix = idx + (size_t)r * dim;
            nnz[r] = 0;
            for (int j = 0; j < dim; j++)
                if (f[j] != 0.0f) ix[nnz[r]++] = j;
            for (int a = 0; a < nnz[r]; a++) mu[ix[a]] += f[ix[a]];
        }
        /* c[r][j], j >= r: sum over rows of x_r x_j; each row r summed by
         * one thread in image order (the same bits whatever the thread
         * count) */
        #pragma omp parallel for schedule(dynamic, 16)
        for (int r = 0; r < dim; r++) {
            double *row = c + (size_t)r * dim;
            for (int i = 0; i < nr; i++) {
                const float *f = feat + (size_t)i * dim;
                if (f[r] == 0.0f) continue;
                const int *ix = idx + (size_t)i * dim;
                double xr = f[r];
                for (int a = nnz[i] - 1; a >= 0 && ix[a] >= r; a--) row[ix[a]] += xr * f[ix[a]];
            }
        }
    }
    free(x);
    free(feat);
    free(idx);
    free(nnz);
    dl_work_free(&w);
    cli_free_dataset(&d);
    const double N = (double)n * P;
    for (int j = 0; j < dim; j++) mu[j] /= N;
    double diag = 0.0;
    for (int r = 0; r < dim; r++)
        for (int j = r; j < dim; j++) {
            double v = c[(size_t)r * dim + j] / N - mu[r] * mu[j];
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

/* Layer l's weights (rows of dim, a row an output channel) onto grids of
 * step k x each row's RMS (steps: one per row), the levels chosen against
 * the features the layer reads through q (calib images; 0 = rounded), into
 * q, its bias corrected for the mean error. */
static void quantize_layer(const dl_model *m, dl_model *q, int l, double k, int calib, double damp,
                           const char *data, float *steps)
{
    const dl_layer *L = &m->layers[l];
    const int dim = L->spec.kind == DL_CONV ? L->in_c * L->spec.k * L->spec.k : (int)L->in_size,
              rows = (int)(L->n_w / (size_t)dim);
    double *mu = xcalloc((size_t)dim, sizeof *mu, "calibration"), *u = NULL;
    if (calib > 0) {
        u = xcalloc((size_t)dim * dim, sizeof *u, "calibration");
        calibrate(q, data, calib, damp, l, mu, u);
    }
    double *w = xcalloc((size_t)dim, sizeof *w, "quantize");
    const float *fw = m->params + L->w_off, *fb = m->params + L->b_off;
    for (int r = 0; r < rows; r++) {
        double ss = 0.0;
        for (int j = 0; j < dim; j++) ss += (double)fw[(size_t)r * dim + j] * fw[(size_t)r * dim + j];
        steps[r] = (float)(k * sqrt(ss / dim));
        if (!(steps[r] > 0.0f)) steps[r] = 1.0f; /* a row of zeros */
        for (int j = 0; j < dim; j++) w[j] = fw[(size_t)r * dim + j];
        float *wq = q->params + L->w_off + (size_t)r * dim;
        quantize_row(w, wq, dim, steps[r], u);
        double shift = 0.0;
        for (int j = 0; j < dim; j++) shift += ((double)fw[(size_t)r * dim + j] - wq[j]) * mu[j];
        q->params[L->b_off + r] = (float)(fb[r] + shift);
    }
    free(w);
    free(u);
    free(mu);
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
    double conv_step = 0.0;
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
        } else if (cli_is_flag(a, "--conv-step")) {
            conv_step = cli_float("--conv-step", cli_value(argc, argv, &i, usage), 0.05, 4.0, usage);
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
        cli_usage_error(usage, "--step, --conv-step, --calibrate and --damp are for --dtype d4 only");
    if (threads == 0) threads = omp_get_max_threads();
    omp_set_num_threads(threads);
    int qmax = (1 << (bits - 1)) - 1;

    dl_model m, q;
    dl_meta src_meta;
    cli_load_model(&m, in, &src_meta);
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
    float *steps[DL_MAX_LAYERS] = { 0 };
    char desc[DL_META_VAL];
    if (dtype == DL_ST_D4) {
        int fc = -1;
        for (int i = 0; i < m.n_layers; i++)
            if (m.layers[i].spec.kind == DL_DENSE) fc = i;
        /* first every weight tensor int8 and the biases F16, read back into
         * q; then, in layer order, the convolutions (with --conv-step) and
         * the dense layer on their d4 grids, each against the features that
         * the layers before give as stored */
        for (int i = 0; i < n; i++) how[i] = (dl_st_how){t[i].ndim >= 2 ? DL_ST_I8 : DL_ST_F16, 127, NULL};
        size_t len;
        uint8_t *buf = save(t, n, NULL, how, &len, out);
        if ((st = dl_st_load(buf, len, tq, nq, NULL)) != DL_OK) cli_fail(out, st);
        free(buf);
        for (int l = 0; l < m.n_layers; l++) {
            const int conv = m.layers[l].spec.kind == DL_CONV && conv_step > 0;
            if (!conv && l != fc) continue;
            steps[l] = xcalloc(m.layers[l].n_w, sizeof(float), out);
            quantize_layer(&m, &q, l, conv ? conv_step : step, calib, damp, data, steps[l]);
        }
        /* q now holds every value as the file will give it back */
        for (int i = 0; i < n; i++) {
            t[i].data = tq[i].data;
            for (int l = 0; l < m.n_layers; l++)
                if (steps[l] && tq[i].data == q.params + m.layers[l].w_off)
                    how[i] = (dl_st_how){DL_ST_D4, 0, steps[l]};
        }

        /* short: the page downloads it (the format: weights/README.md) */
        char i8[128] = "", d4c[128] = ""; /* "conv.weight" (the seed), "conv1.weight" */
        for (int l = 0; l < m.n_layers; l++) {
            if (m.layers[l].spec.kind != DL_CONV) continue;
            char *dst = steps[l] ? d4c : i8;
            snprintf(dst + strlen(dst), 128 - strlen(dst), "%s%s.weight", dst[0] ? ", " : "",
                     m.layers[l].spec.name);
        }
        char convs[192] = "", fit[64] = "rounded";
        if (d4c[0]) snprintf(convs, sizeof convs, "; %s step %.3g x channel RMS", d4c, conv_step);
        if (calib) snprintf(fit, sizeof fit, "GPTQ on %d images (damp %.3g)", calib, damp);
        snprintf(desc, sizeof desc, "d4 (4-bit level differences): %s.weight step %.3g x row RMS%s; %s%s%s; "
                 "biases F16", m.layers[fc].spec.name, step, convs, fit, i8[0] ? "; int8/channel: " : "", i8);
    } else {
        for (int i = 0; i < n; i++)
            how[i] = (dl_st_how){dtype == DL_ST_I8 && t[i].ndim >= 2 ? DL_ST_I8
                                 : dtype == DL_ST_F16 ? DL_ST_F16 : DL_ST_F32, qmax, NULL};
        snprintf(desc, sizeof desc, dtype == DL_ST_I8
                 ? "int8, per-output-channel F32 scale (max |w| / %d); biases F32" : "F16", qmax);
    }

    /* the file's metadata: the network it is (the architecture, if the
     * input says) and how it was made from which file; the training record
     * stays in the input, not in every copy a page downloads. First without
     * the accuracy after, to measure it on the weights exactly as a reader
     * of the file gets them. */
    dl_meta meta = { 0 };
    const char *keep[] = { "architecture", "cam_layer" };
    for (int k = 0; k < 2; k++)
        if (dl_meta_get(&src_meta, keep[k])) dl_meta_set(&meta, keep[k], dl_meta_get(&src_meta, keep[k]));
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    char val[64];
    snprintf(val, sizeof val, "%.4f", acc_in);
    if (dl_meta_set(&meta, "dtype", desc) ||
        dl_meta_set(&meta, "quantized_from", base) ||
        dl_meta_set(&meta, "test_accuracy_f32", val) ||
        dl_meta_set(&meta, "test_accuracy", "-"))
        cli_failf(in, "metadata value too long (at most %d bytes)", DL_META_VAL - 1);
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
    for (int l = 0; l < DL_MAX_LAYERS; l++) free(steps[l]);
    cli_free_dataset(&d);
    dl_model_free(&q);
    dl_model_free(&m);
    return fflush(stdout) == 0 ? 0 : 1;
}
