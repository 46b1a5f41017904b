/* cli_bench.c — `digitlens bench`: native speed of the jobs the project
 * does, on the network the weights file describes, each as median/min/max
 * over many repetitions after a warm-up (CLOCK_MONOTONIC), how far each is
 * from the floor, and which code path each conv layer runs.
 *
 * The floor of a job is its multiply-accumulate count (from the model plan)
 * divided by the peak multiply-accumulate rate of a plain 4-lane SIMD loop
 * (tools/bench/peak.h) measured in the same run: on one core for the
 * one-image latencies, on all threads for the throughputs. "x floor" is
 * measured time / floor time. tools/bench/run.mjs puts these rows next to
 * the WASM and peer figures, for each network it benchmarks. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "cli.h"
#include "train.h"
#include "bench/peak.h"

const char cli_bench_usage[] =
    "usage: digitlens bench [OPTIONS]\n"
    "\n"
    "Native speed of the network the weights file describes: forward\n"
    "latency for one image; forward plus Grad-CAM of\n"
    "all ten classes for one image; classify throughput over the 10,000 test\n"
    "images; training throughput (one epoch of the 60,000 training images,\n"
    "augmentation on, Adam, the default batch, on a fresh model). Each figure\n"
    "is the median, min and max over repetitions after a warm-up. Then the\n"
    "floor: multiply-accumulates of each job over the peak rate of a plain\n"
    "4-lane SIMD multiply-add loop, measured here on one core and on all\n"
    "threads, and how many times the floor each figure is. Also which code\n"
    "path each conv layer runs (forward and backward) and Grad-CAM's.\n"
    "\n"
    "  --weights FILE  weights (default " CLI_DEFAULT_WEIGHTS ")\n"
    "  --data DIR      MNIST IDX files (default " CLI_DEFAULT_DATA ")\n"
    "  --threads N     threads for the throughputs (default 2)\n"
    "  --reps N        repetitions of each one-image latency (default 5000)\n"
    "  --epochs N      training epochs timed (default 2; 1 warm-up batch run first)\n"
    "  --train-images N  images per timed epoch (default all 60,000; fewer are\n"
    "                  scaled up to s per 60,000-image epoch)\n"
    "  --quick         a fast smoke run: --reps 300 --epochs 1 --train-images 6000\n"
    "  --json          one JSON object on stdout instead of the table\n"
    "  --help          this text\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct { double median, min, max; int reps; } stats;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts t in place. Median of an even count: the mean of the two middles. */
static stats stats_of(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    stats s = { n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]), t[0], t[n - 1], n };
    return s;
}

/* ---- multiply-accumulate counts, from the model plan ------------------- */

/* MACs of one layer's forward pass for one image (0 for relu, pool, flatten). */
static double layer_macs(const dl_layer *L)
{
    if (L->spec.kind == DL_CONV)
        return (double)L->out_size * L->in_c * L->spec.k * L->spec.k;
    if (L->spec.kind == DL_DENSE) return (double)L->in_size * L->out_size;
    return 0.0;
}

static double forward_macs(const dl_model *m)
{
    double s = 0.0;
    for (int i = 0; i < m->n_layers; i++) s += layer_macs(&m->layers[i]);
    return s;
}

/* The same forward for input x counting only the conv taps that read a
 * non-zero input: a zero adds w * 0 to a sum, and the conv skips it (the
 * scatter path every zero pixel of the image, Winograd every 4x4 input
 * tile of zeros; its multiplies are fewer than these direct ones, so its
 * layer can run below this floor). For the first layer these are the ink's
 * pixels; for a deeper conv what the ReLU and max-pool before it left non-
 * zero, read from a forward pass of x (w: one image). The work x needs. */
static double forward_macs_ink(const dl_model *m, dl_work *w, const float *x, double *per_layer)
{
    dl_forward(m, w, x, 1);
    double s = 0.0;
    for (int l = 0; l < m->n_layers; l++) {
        const dl_layer *L = &m->layers[l];
        if (L->spec.kind != DL_CONV) {
            s += layer_macs(L);
            if (per_layer) per_layer[l] += layer_macs(L);
            continue;
        }
        const float *in = dl_layer_out(m, w, l - 1); /* l == 0: the input */
        const int K = L->spec.k, OH = L->out_h, OW = L->out_w;
        double taps = 0.0; /* (input value, output position) pairs, non-zero input */
        for (int c = 0; c < L->in_c; c++)
            for (int y = 0; y < L->in_h; y++)
                for (int xx = 0; xx < L->in_w; xx++) {
                    if (in[(c * L->in_h + y) * L->in_w + xx] == 0.0f) continue;
                    int ty = (y < K - 1 ? y : K - 1) - (y - OH + 1 > 0 ? y - OH + 1 : 0) + 1;
                    int tx = (xx < K - 1 ? xx : K - 1) - (xx - OW + 1 > 0 ? xx - OW + 1 : 0) + 1;
                    taps += (double)ty * tx;
                }
        s += taps * L->out_c;
        if (per_layer) per_layer[l] += taps * L->out_c;
    }
    return s;
}

/* The mean over n images; per_layer (n_layers, may be NULL) gets each
 * layer's mean. */
static double mean_forward_macs_ink(const dl_model *m, dl_work *w, const float *xs, size_t n,
                                    double *per_layer)
{
    double s = 0.0;
    for (size_t k = 0; k < n; k++) s += forward_macs_ink(m, w, xs + k * DL_IN_SIZE, per_layer);
    if (per_layer)
        for (int l = 0; l < m->n_layers; l++) per_layer[l] /= (double)n;
    return s / (double)n;
}

/* Grad-CAM of one class on top of a forward. With the closed form (max-pool,
 * flatten, dense after A) alpha does not depend on the input and is
 * computed once per weights (dl_gradcam_prepare): a class costs the weighted
 * sum sum_k alpha_k A_k over A's cells (K * Z = out_size MACs). Otherwise
 * also the backward from one logit to A (the last dense layer sees a one-hot
 * gradient: in_size MACs; any other layer above A its full count). */
static double gradcam_class_macs(const dl_model *m)
{
    double s = (double)m->layers[m->cam_layer].out_size;
    if (dl_gradcam_closed_form(m)) return s;
    for (int i = m->n_layers - 1; i > m->cam_layer; i--) {
        const dl_layer *L = &m->layers[i];
        s += i == m->n_layers - 1 && L->spec.kind == DL_DENSE ? (double)L->in_size
                                                               : layer_macs(L);
    }
    return s;
}

/* One training image: forward, weight gradients of every layer (as many MACs
 * as its forward), input gradients of every layer but the first. */
static double train_macs(const dl_model *m)
{
    double s = forward_macs(m);
    for (int i = 0; i < m->n_layers; i++)
        s += layer_macs(&m->layers[i]) * (i > 0 ? 2.0 : 1.0);
    return s;
}

/* ---- the network and the paths its layers run -------------------------- */

/* "seednet" or "twoconv" when m is that built-in network, else "custom". */
static const char *network_name(const dl_model *m)
{
    const dl_arch *known[] = { &dl_seednet, &dl_twoconv };
    const char *names[] = { "seednet", "twoconv" };
    dl_arch a;
    dl_model_arch(m, &a);
    for (int n = 0; n < 2; n++) {
        const dl_arch *b = known[n];
        int same = a.n_layers == b->n_layers && a.cam_layer == b->cam_layer;
        for (int i = 0; same && i < a.n_layers; i++)
            same = a.layers[i].kind == b->layers[i].kind && a.layers[i].size == b->layers[i].size &&
                   a.layers[i].k == b->layers[i].k && strcmp(a.layers[i].name, b->layers[i].name) == 0;
        if (same) return names[n];
    }
    return "custom";
}

/* Which path c/conv.c takes for a conv layer: the forward's from
 * dl_conv_path; the backward's restate dl_conv_backward's conditions (its
 * limits CONV_WT, DW_STEPS, DW_PAD, DINP_MAX, DW_GROUP) and must follow
 * them when they change. */
typedef struct {
    const char *forward;      /* "scatter", "winograd" or "plain loops" */
    char forward_native[192], forward_wasm[192];
    char backward_weights[96], backward_input[96];
} conv_path;

static conv_path conv_path_of(const dl_layer *L, int first)
{
    enum { WT = 8192, STEPS = 160, PAD = 4096, DINP = 4096 };
    const int C = L->in_c, H = L->in_h, W = L->in_w, OC = L->out_c, K = L->spec.k;
    const int OH = L->out_h, OW = L->out_w;
    conv_path p;
    memset(&p, 0, sizeof p);
    switch (dl_conv_path(C, H, W, OC, K)) {
    case DL_CONV_WINOGRAD:
        p.forward = "winograd";
        snprintf(p.forward_native, sizeof p.forward_native,
                 "Winograd F(2x2, 3x3): %d 2x2 tiles, 16 multiplies per tile and channel pair "
                 "(direct: 36), %d channels in 8-vector groups, input tiles of zeros skipped",
                 OH * OW / 4, OC);
        strcpy(p.forward_wasm, p.forward_native);
        break;
    case DL_CONV_SCATTER: {
        /* groups of 16 lanes; the native build keeps 12 for OC == 12 */
        const int ln = OC == 12 ? 12 : 16, lw = 16;
        p.forward = "scatter";
        snprintf(p.forward_native, sizeof p.forward_native,
                 "scatter: non-zero pixels x kernel rows, %d channels in %d group%s of %d lanes%s",
                 OC, (OC + ln - 1) / ln, (OC + ln - 1) / ln > 1 ? "s" : "", ln, K == 5 ? ", pixel pairs" : "");
        snprintf(p.forward_wasm, sizeof p.forward_wasm,
                 "scatter: non-zero pixels x kernel rows, %d channels in %d group%s of %d lanes%s",
                 OC, (OC + lw - 1) / lw, (OC + lw - 1) / lw > 1 ? "s" : "", lw, K == 5 ? ", pixel pairs" : "");
        break;
    }
    default:
        p.forward = "plain loops";
        snprintf(p.forward_native, sizeof p.forward_native, "plain loops (no fast path for this shape)");
        strcpy(p.forward_wasm, p.forward_native);
    }
    const int dw_vec = OH * ((OW + 3) / 4) <= STEPS && (OW % 4 == 0 || C * H * (W + 3) <= PAD);
    const int gs = OC % 12 == 0 ? 12 : 8;
    if (dw_vec)
        snprintf(p.backward_weights, sizeof p.backward_weights,
                 "vector: 4 positions a lane, groups of %d channels%s", gs,
                 OC % gs ? " (the last one partial)" : "");
    else
        snprintf(p.backward_weights, sizeof p.backward_weights, "plain loops");
    if (first)
        snprintf(p.backward_input, sizeof p.backward_input, "not computed (the input's)");
    else if (C % 4 == 0 && H * W * C <= DINP && OC * K * K * C <= WT)
        snprintf(p.backward_input, sizeof p.backward_input,
                 "vector: each non-zero gradient scattered, %d channels in the lanes", C);
    else
        snprintf(p.backward_input, sizeof p.backward_input, "plain loops");
    return p;
}

static const char *gradcam_path(const dl_model *m)
{
    if (!dl_gradcam_closed_form(m)) return "backward pass per class from its logit to A";
    return m->cam_k == 12 ? "closed form: alpha once per weights; the K = 12 weighted sums unrolled"
                          : "closed form: alpha once per weights; weighted sums over K channels (a variable count)";
}

/* ---- peak multiply-accumulate rate ------------------------------------- */

/* MACs per second of peak_madd_loop on `threads` threads at once (wall
 * clock over the parallel region), best of `reps` runs of ~0.15 s. */
static volatile long peak_half = 1;

static double peak_rate(int threads, int reps, stats *st, float *sink)
{
    const long iters = 3000000; /* 144 M MACs per thread per run */
    double rates[16];
    if (reps > 16) reps = 16;
    for (int r = 0; r < reps; r++) {
        double t0 = 0.0, t1 = 0.0;
        float sum = 0.0f;
        #pragma omp parallel num_threads(threads) reduction(+:sum)
        {
            float buf[PEAK_FLOATS];
            for (int k = 0; k < PEAK_FLOATS; k++)
                buf[k] = 1e-6f * (float)(k + 1 + omp_get_thread_num());
            peak_madd_loop(buf, iters / 10, peak_half); /* warm-up, clocks up */
            #pragma omp barrier
            #pragma omp master
            t0 = now();
            sum += peak_madd_loop(buf, iters, peak_half);
            #pragma omp barrier
            #pragma omp master
            t1 = now();
        }
        *sink += sum;
        rates[r] = (double)iters * PEAK_ACC * 4 * threads / (t1 - t0);
    }
    *st = stats_of(rates, reps);
    return st->max;
}

/* ---- output ------------------------------------------------------------ */

typedef struct {
    const char *id, *label, *unit; /* unit of median/min/max: "us" or "s" */
    stats s;
    double items;      /* images per repetition (throughput rows), else 0 */
    double macs;       /* multiply-accumulates per repetition */
    double peak;       /* MAC/s the floor is measured against */
    const char *peak_id;
    double macs_ink;   /* the same, the conv counting non-zero pixels only */
} row;

static double unit_scale(const char *unit) { return strcmp(unit, "us") == 0 ? 1e6 : 1.0; }

static double floor_of(const row *r) { return r->macs / r->peak * unit_scale(r->unit); }
static double ink_floor_of(const row *r) { return r->macs_ink / r->peak * unit_scale(r->unit); }

/* "network", "architecture" (the metadata text), "cam_layer", "map_side",
 * "params", and "paths": per conv layer the path of its forward (native and
 * WASM) and of its backward, and Grad-CAM's. */
static void print_network_json(const dl_model *m, const double *ink_layers)
{
    dl_arch a;
    dl_meta meta = { 0 };
    dl_model_arch(m, &a);
    dl_arch_to_meta(&a, &meta);
    printf(",\"network\":");
    json_string(stdout, network_name(m));
    printf(",\"architecture\":");
    json_string(stdout, dl_meta_get(&meta, "architecture"));
    printf(",\"cam_layer\":");
    json_string(stdout, m->layers[m->cam_layer].spec.name);
    printf(",\"map_side\":%d,\"cam_channels\":%d,\"params\":%zu,\"paths\":{\"conv\":[",
           m->grid.side, m->cam_k, m->n_params);
    int first = 1;
    for (int i = 0; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        if (L->spec.kind != DL_CONV) continue;
        conv_path p = conv_path_of(L, i == 0);
        printf("%s{\"layer\":", first ? "" : ",");
        json_string(stdout, L->spec.name);
        printf(",\"in\":[%d,%d,%d],\"out\":[%d,%d,%d],\"k\":%d,\"forward\":", L->in_c, L->in_h,
               L->in_w, L->out_c, L->out_h, L->out_w, L->spec.k);
        json_string(stdout, p.forward);
        printf(",\"forward_native\":");
        json_string(stdout, p.forward_native);
        printf(",\"forward_wasm\":");
        json_string(stdout, p.forward_wasm);
        printf(",\"backward_weights\":");
        json_string(stdout, p.backward_weights);
        printf(",\"backward_input\":");
        json_string(stdout, p.backward_input);
        printf(",\"macs\":%.0f,\"macs_ink_100\":%.0f}", layer_macs(L), ink_layers[i]);
        first = 0;
    }
    printf("],\"gradcam\":");
    json_string(stdout, gradcam_path(m));
    printf("}");
}

static void print_json(const row *rows, int n, const stats *p1, const stats *p2,
                       int threads, const dl_model *m, const char *weights,
                       const double *ink_layers)
{
    struct utsname u;
    uname(&u);
    printf("{\"tool\":\"digitlens bench\",\"simd\":");
    json_string(stdout, DL_SIMD);
    printf(",\"threads\":%d,\"omp_max_threads\":%d,\"machine\":", threads,
           omp_get_max_threads());
    json_string(stdout, u.machine);
    printf(",\"kernel\":");
    json_string(stdout, u.release);
    printf(",\"weights\":");
    json_string(stdout, weights);
    print_network_json(m, ink_layers);
    printf(",\"macs\":{\"forward\":%.0f,\"gradcam_class\":%.0f,\"train_image\":%.0f}",
           forward_macs(m), gradcam_class_macs(m), train_macs(m));
    printf(",\"peak\":{\"one_core\":{\"median\":%.6g,\"min\":%.6g,\"max\":%.6g,\"reps\":%d},"
           "\"all_threads\":{\"median\":%.6g,\"min\":%.6g,\"max\":%.6g,\"reps\":%d},"
           "\"unit\":\"MAC/s\",\"loop\":\"v4_madd, %d accumulators, 1 load per madd\"}",
           p1->median, p1->min, p1->max, p1->reps, p2->median, p2->min, p2->max,
           p2->reps, PEAK_ACC);
    printf(",\"rows\":[");
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        printf("%s{\"id\":", i ? "," : "");
        json_string(stdout, r->id);
        printf(",\"label\":");
        json_string(stdout, r->label);
        printf(",\"unit\":\"%s\",\"median\":", r->unit);
        json_number(stdout, r->s.median);
        printf(",\"min\":");
        json_number(stdout, r->s.min);
        printf(",\"max\":");
        json_number(stdout, r->s.max);
        printf(",\"reps\":%d", r->s.reps);
        if (r->items > 0) {
            printf(",\"items\":%.0f,\"items_per_s\":", r->items);
            json_number(stdout, r->items / r->s.median);
        }
        printf(",\"macs\":%.0f,\"floor\":", r->macs);
        json_number(stdout, floor_of(r));
        printf(",\"floor_peak\":\"%s\",\"x_floor\":", r->peak_id);
        json_number(stdout, r->s.median / floor_of(r));
        printf(",\"macs_ink\":%.0f,\"floor_ink\":", r->macs_ink);
        json_number(stdout, ink_floor_of(r));
        printf(",\"x_floor_ink\":");
        json_number(stdout, r->s.median / ink_floor_of(r));
        printf("}");
    }
    printf("]}\n");
}

static void print_table(const row *rows, int n, const stats *p1, const stats *p2,
                        int threads, const dl_model *m, const char *weights)
{
    printf("digitlens bench (native, %s, %d threads for throughput): %s, network %s\n", DL_SIMD,
           threads, weights, network_name(m));
    printf("MACs: forward %.0f, Grad-CAM +%.0f a class, training %.0f an image\n",
           forward_macs(m), gradcam_class_macs(m), train_macs(m));
    for (int i = 0; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        if (L->spec.kind != DL_CONV) continue;
        conv_path p = conv_path_of(L, i == 0);
        printf("%s %dx%dx%d -> %dx%dx%d: forward %s\n", L->spec.name, L->in_c, L->in_h, L->in_w,
               L->out_c, L->out_h, L->out_w, p.forward_native);
        if (strcmp(p.forward_native, p.forward_wasm)) printf("  in WASM: %s\n", p.forward_wasm);
        printf("  backward: weights %s; input %s\n", p.backward_weights, p.backward_input);
    }
    printf("Grad-CAM (%s, %dx%d): %s\n\n", m->layers[m->cam_layer].spec.name, m->grid.side,
           m->grid.side, gradcam_path(m));
    printf("peak v4_madd loop: one core %.2f GMAC/s (median %.2f), %d threads %.2f GMAC/s (median %.2f)\n\n",
           p1->max * 1e-9, p1->median * 1e-9, threads, p2->max * 1e-9, p2->median * 1e-9);
    printf("%-52s %12s %12s %12s %14s %10s %10s\n", "job", "median", "min", "max", "throughput",
           "x floor", "x ink fl.");
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        char tp[32] = "";
        if (r->items > 0) snprintf(tp, sizeof tp, "%.0f img/s", r->items / r->s.median);
        printf("%-52s %9.3f %-2s %9.3f %-2s %9.3f %-2s %14s %9.1fx %9.1fx\n", r->label,
               r->s.median, r->unit, r->s.min, r->unit, r->s.max, r->unit, tp,
               r->s.median / floor_of(r), r->s.median / ink_floor_of(r));
    }
    printf("\nx floor: the median over (the job's multiply-adds / the peak rate); x ink fl.:\n"
           "the same counting only the conv taps that read a non-zero input (the image's\n"
           "ink; what ReLU and max-pool leave in a feature map): the work the input\n"
           "needs, as the convs skip zeros, so x floor can be below 1x.\n");
}

/* ---- the command ------------------------------------------------------- */

int cli_bench(int argc, char **argv)
{
    const char *usage = cli_bench_usage;
    const char *weights = cli_default(CLI_DEFAULT_WEIGHTS), *data = cli_default(CLI_DEFAULT_DATA);
    int json = 0, threads = 2, reps = 5000, epochs = 2, train_n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_flag(a, "--weights")) weights = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--data")) data = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--threads"))
            threads = (int)cli_int("--threads", cli_value(argc, argv, &i, usage), 1, 256, usage);
        else if (cli_is_flag(a, "--reps"))
            reps = (int)cli_int("--reps", cli_value(argc, argv, &i, usage), 11, 10000000, usage);
        else if (cli_is_flag(a, "--epochs"))
            epochs = (int)cli_int("--epochs", cli_value(argc, argv, &i, usage), 1, 100, usage);
        else if (cli_is_flag(a, "--train-images"))
            train_n = (int)cli_int("--train-images", cli_value(argc, argv, &i, usage), 640,
                                   60000, usage);
        else if (cli_is_flag(a, "--quick")) { reps = 300; epochs = 1; train_n = 6000; }
        else if (cli_is_flag(a, "--json")) json = 1;
        else if (a[0] == '-') cli_usage_error(usage, "unknown option '%s'", a);
        else cli_usage_error(usage, "unexpected argument '%s'", a);
    }

    dl_model m;
    cli_load_model(&m, weights, NULL);
    cli_dataset test, train;
    cli_load_dataset(&test, data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
    cli_load_dataset(&train, data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    if (train_n == 0 || train_n > train.imgs.count) train_n = train.imgs.count;

    /* The one-image jobs cycle over the first 100 test images. */
    enum { N_IMG = 100 };
    static float xs[N_IMG][DL_IN_SIZE];
    for (int k = 0; k < N_IMG; k++)
        for (int i = 0; i < DL_IN_SIZE; i++)
            xs[k][i] = test.imgs.pixels[(size_t)k * DL_IN_SIZE + i] / 255.0f;

    dl_work w;
    int st = dl_work_alloc(&w, &m, 1);
    if (st != DL_OK) cli_fail("bench", st);
    static float alpha[DL_CLASSES * DL_MAX_CHANNELS]; /* as the WASM: once per weights */
    if ((st = dl_gradcam_prepare(&m, alpha)) != DL_OK) cli_fail("bench", st);
    static dl_cam cam;
    double *t = malloc(sizeof(double) * (size_t)(reps > 128 ? reps : 128)); /* epochs <= 100 */
    if (!t) cli_fail("bench", DL_ERR_NOMEM);
    float sink = 0.0f; /* results feed this, so no call is optimised away */

    /* The floor's yardstick first, before anything else warms the core. */
    stats p1, p2;
    double peak1 = peak_rate(1, 7, &p1, &sink);
    double peak2 = peak_rate(threads, 7, &p2, &sink);

    row rows[8];
    int nr = 0;
    const int warm = reps / 10;

    /* forward, one image */
    for (int r = -warm; r < reps; r++) {
        double t0 = now();
        dl_forward(&m, &w, xs[(r + warm) % N_IMG], 1);
        double t1 = now();
        sink += dl_logits(&m, &w)[0];
        if (r >= 0) t[r] = (t1 - t0) * 1e6;
    }
    static double ink_layers[DL_MAX_LAYERS];
    const double ink100 = mean_forward_macs_ink(&m, &w, &xs[0][0], N_IMG, ink_layers);
    rows[nr++] = (row){ "native.forward", "native forward, 1 image", "us", stats_of(t, reps),
                        0, forward_macs(&m), peak1, "one_core", ink100 };

    /* forward + Grad-CAM of all ten classes, one image */
    for (int r = -warm; r < reps; r++) {
        double t0 = now();
        st = dl_gradcam(&m, &w, xs[(r + warm) % N_IMG], DL_ALL_CLASSES, &cam);
        double t1 = now();
        if (st != DL_OK) cli_fail("bench: gradcam", st);
        sink += dl_cam_map(&cam, 9)[m.map_size / 2];
        if (r >= 0) t[r] = (t1 - t0) * 1e6;
    }
    rows[nr++] = (row){ "native.gradcam10", "native forward + Grad-CAM 10 classes, 1 image",
                        "us", stats_of(t, reps), 0,
                        forward_macs(&m) + DL_CLASSES * gradcam_class_macs(&m), peak1,
                        "one_core", ink100 + DL_CLASSES * gradcam_class_macs(&m) };

    /* classify the whole test set, all threads */
    {
        const int n = test.imgs.count, rr = 15;
        int correct = 0;
        for (int r = -2; r < rr; r++) {
            double t0 = now();
            st = dl_evaluate(&m, test.imgs.pixels, test.lbls.labels, n, threads, &correct, NULL);
            double t1 = now();
            if (st != DL_OK) cli_fail("bench: evaluate", st);
            if (r >= 0) t[r] = t1 - t0;
        }
        sink += (float)correct;
        static char label[64];
        snprintf(label, sizeof label, "native classify %d test images, %d thr", n, threads);
        double ink = 0.0;
        for (int k = 0; k < n; k++) {
            float x[DL_IN_SIZE];
            for (int i = 0; i < DL_IN_SIZE; i++)
                x[i] = test.imgs.pixels[(size_t)k * DL_IN_SIZE + i] / 255.0f;
            ink += forward_macs_ink(&m, &w, x, NULL);
        }
        rows[nr++] = (row){ "native.classify_test", label, "s", stats_of(t, rr), n,
                            n * forward_macs(&m), peak2, "all_threads", ink };
    }

    /* training: a fresh model, default recipe (augmentation, Adam, batch),
     * `threads` threads; one warm-up batch, then timed epochs. Times of a
     * shorter epoch are scaled to 60,000 images. */
    {
        dl_model tm;
        dl_arch arch;
        dl_model_arch(&m, &arch); /* the weights' network */
        dl_model_plan(&tm, &arch);
        if ((st = dl_model_alloc(&tm)) != DL_OK) cli_fail("bench", st);
        dl_model_init_he(&tm, 1);
        dl_train_config cfg = dl_train_defaults();
        cfg.threads = threads;
        cfg.epochs = epochs + 1;
        dl_trainer tr;
        if ((st = dl_trainer_init(&tr, &tm, &cfg)) != DL_OK) cli_fail("bench: trainer", st);
        float loss;
        st = dl_train_epoch(&tr, train.imgs.pixels, train.lbls.labels, train_n, 1,
                            NULL, NULL, &loss);
        for (int r = 0; r < epochs && st == DL_OK; r++) {
            double t0 = now();
            st = dl_train_epoch(&tr, train.imgs.pixels, train.lbls.labels, train_n, 0,
                                NULL, NULL, &loss);
            double t1 = now();
            t[r] = (t1 - t0) * 60000.0 / train_n;
        }
        if (st != DL_OK) cli_fail("bench: training", st);
        sink += loss;
        static char label[64];
        snprintf(label, sizeof label, "native train epoch 60k, aug, batch %d, %d thr",
                 cfg.batch, threads);
        rows[nr++] = (row){ "native.train_epoch", label, "s", stats_of(t, epochs), 60000,
                            60000 * train_macs(&tm), peak2, "all_threads",
                            60000 * train_macs(&tm) /* counted in full */ };
        dl_trainer_free(&tr);
        dl_model_free(&tm);
    }

    if (json) print_json(rows, nr, &p1, &p2, threads, &m, weights, ink_layers);
    else print_table(rows, nr, &p1, &p2, threads, &m, weights);
    if (!isfinite(sink)) fprintf(stderr, "digitlens: bench: (sink %g)\n", (double)sink);

    free(t);
    dl_work_free(&w);
    cli_free_dataset(&test);
    cli_free_dataset(&train);
    dl_model_free(&m);
    return 0;
}
