/* cli_quantize.c — `digitlens quantize`: store weights at reduced precision
 * (int8 with per-output-channel scales, or F16), still safetensors, and
 * measure what it costs: the test accuracy before and after, the second
 * one computed from the weights as the new file gives them back. */
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
    "  int8: each tensor of 2+ dimensions (conv.weight, fc.weight) as I8 with\n"
    "        one F32 scale per output channel (\"NAME_scale\", max |w| / 127 or\n"
    "        see --bits; round to nearest); the biases stay F32\n"
    "  f16:  every tensor as F16 (round to nearest even)\n"
    "\n"
    "  --weights FILE  F32 (or any readable) weights (default " CLI_DEFAULT_WEIGHTS ")\n"
    "  --out FILE      the quantized safetensors (written whole, atomically)\n"
    "  --dtype D       int8 (default) or f16\n"
    "  --bits B        int8 only: values in -(2^(B-1)-1) .. 2^(B-1)-1, scale =\n"
    "                  max |w| / that (2..8, default 8: -127..127); fewer\n"
    "                  levels compress better under gzip\n"
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

int cli_quantize(int argc, char **argv)
{
    const char *usage = cli_quantize_usage;
    const char *in = CLI_DEFAULT_WEIGHTS, *out = NULL, *data = CLI_DEFAULT_DATA, *dname = "int8";
    int json = 0, threads = 0, bits = 8;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_flag(a, "--weights")) in = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--out")) out = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--dtype")) dname = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--bits"))
            bits = (int)cli_int("--bits", cli_value(argc, argv, &i, usage), 2, 8, usage);
        else if (cli_is_flag(a, "--data")) data = cli_value(argc, argv, &i, usage);
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
    else cli_usage_error(usage, "--dtype must be int8 or f16, not '%s'", dname);
    if (threads == 0) threads = omp_get_max_threads();
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

    /* the file first without the accuracy after, to measure it on the
     * weights exactly as a reader of the file gets them */
    dl_tensor t[DL_MAX_TENSORS];
    int n = dl_model_tensors(&m, m.params, t);
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    char val[64];
    snprintf(val, sizeof val, "%.4f", acc_in);
    char how[96];
    snprintf(how, sizeof how, "int8, per-output-channel F32 scale (max |w| / %d); biases F32", qmax);
    if (dl_meta_set(&meta, "dtype", dtype == DL_ST_I8 ? how : "F16") ||
        dl_meta_set(&meta, "quantized_from", base) ||
        dl_meta_set(&meta, "test_accuracy_f32", val) ||
        dl_meta_set(&meta, "test_accuracy", "-"))
        cli_failf(in, "too much metadata to add the quantization's (at most %d entries)", DL_META_MAX);
    size_t len;
    if ((st = dl_st_save_as(NULL, 0, &len, t, n, &meta, dtype, qmax)) != DL_OK) cli_fail(out, st);
    uint8_t *buf = malloc(len);
    if (!buf) cli_fail(out, DL_ERR_NOMEM);
    if ((st = dl_st_save_as(buf, len, &len, t, n, &meta, dtype, qmax)) != DL_OK) cli_fail(out, st);

    st = dl_model_plan(&q, dl_seednet, DL_SEEDNET_LAYERS, DL_SEEDNET_CAM_LAYER);
    if (st == DL_OK) st = dl_model_alloc(&q);
    if (st != DL_OK) cli_fail("seed network", st);
    dl_tensor tq[DL_MAX_TENSORS];
    int nq = dl_model_tensors(&q, q.params, tq);
    if ((st = dl_st_load(buf, len, tq, nq, NULL)) != DL_OK) cli_fail(out, st);
    double acc_out = accuracy(&q, &d, threads, out);
    double max_err = 0.0;
    for (size_t i = 0; i < m.n_params; i++) max_err = fmax(max_err, fabs((double)q.params[i] - m.params[i]));

    snprintf(val, sizeof val, "%.4f", acc_out);
    dl_meta_set(&meta, "test_accuracy", val);
    if ((st = dl_st_save_as(NULL, 0, &len, t, n, &meta, dtype, qmax)) != DL_OK) cli_fail(out, st);
    free(buf);
    if (!(buf = malloc(len))) cli_fail(out, DL_ERR_NOMEM);
    if ((st = dl_st_save_as(buf, len, &len, t, n, &meta, dtype, qmax)) != DL_OK) cli_fail(out, st);
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
    cli_free_dataset(&d);
    dl_model_free(&q);
    dl_model_free(&m);
    return fflush(stdout) == 0 ? 0 : 1;
}
