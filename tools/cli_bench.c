/* cli_bench.c — `digitlens bench`: native speed of the jobs the project
 * does, each as median/min/max over many repetitions after a warm-up
 * (CLOCK_MONOTONIC), and how far each is from the floor.
 *
 * The floor of a job is its multiply-accumulate count (from the model plan)
 * divided by the peak multiply-accumulate rate of a plain 4-lane SIMD loop
 * (tools/bench/peak.h) measured in the same run: on one core for the
 * one-image latencies, on all threads for the throughputs. "x floor" is
 * measured time / floor time. tools/bench/run.mjs puts these rows next to
 * the WASM and peer figures. */
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
    "Native speed: forward latency for one image; forward plus Grad-CAM of\n"
    "all ten classes for one image; classify throughput over the 10,000 test\n"
    "images; training throughput (one epoch of the 60,000 training images,\n"
    "augmentation on, Adam, the default batch, on a fresh model). Each figure\n"
    "is the median, min and max over repetitions after a warm-up. Then the\n"
    "floor: multiply-accumulates of each job over the peak rate of a plain\n"
    "4-lane SIMD multiply-add loop, measured here on one core and on all\n"
    "threads, and how many times the floor each figure is.\n"
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

/* The same forward for input x counting only the conv's taps from non-zero
 * input pixels (a zero pixel adds nothing, and dl_conv_forward skips it): the
 * work this input needs. Only a conv reading the input itself is counted so;
 * deeper layers keep their full count. */
static double forward_macs_ink(const dl_model *m, const float *x)
{
    double s = forward_macs(m);
    const dl_layer *L = &m->layers[0];
    if (L->spec.kind != DL_CONV) return s;
    const int K = L->spec.k, OH = L->out_h, OW = L->out_w;
    double ink = 0.0;
    for (int c = 0; c < L->in_c; c++)
        for (int y = 0; y < L->in_h; y++)
            for (int xx = 0; xx < L->in_w; xx++) {
                if (x[(c * L->in_h + y) * L->in_w + xx] == 0.0f) continue;
                int ty = (y < K - 1 ? y : K - 1) - (y - OH + 1 > 0 ? y - OH + 1 : 0) + 1;
                int tx = (xx < K - 1 ? xx : K - 1) - (xx - OW + 1 > 0 ? xx - OW + 1 : 0) + 1;
                ink += (double)ty * tx * L->out_c;
            }
    return s - layer_macs(L) + ink;
}

static double mean_forward_macs_ink(const dl_model *m, const float *xs, size_t n)
{
    double s = 0.0;
    for (size_t k = 0; k < n; k++) s += forward_macs_ink(m, xs + k * DL_IN_SIZE);
    return s / (double)n;
}

/* Grad-CAM of one class on top of a forward: the backward from one logit
 * to the CAM layer (the last dense layer sees a one-hot gradient: in_size
 * MACs; any other layer above the CAM layer its full count), then
 * sum_k alpha_k A_k over the CAM layer's output (out_size MACs). */
static double gradcam_class_macs(const dl_model *m)
{
    double s = (double)m->layers[m->cam_layer].out_size;
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

static void print_json(const row *rows, int n, const stats *p1, const stats *p2,
                       int threads, const dl_model *m, const char *weights)
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
                        int threads)
{
    printf("digitlens bench (native, %s, %d threads for throughput)\n\n", DL_SIMD, threads);
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
           "the same counting the conv's taps from non-zero pixels only (what the input\n"
           "needs: the conv skips zero pixels), so it can be below 1x of the full count.\n");
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
    const double ink100 = mean_forward_macs_ink(&m, &xs[0][0], N_IMG);
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
            ink += forward_macs_ink(&m, x);
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

    if (json) print_json(rows, nr, &p1, &p2, threads, &m, weights);
    else print_table(rows, nr, &p1, &p2, threads);
    if (!isfinite(sink)) fprintf(stderr, "digitlens: bench: (sink %g)\n", (double)sink);

    free(t);
    dl_work_free(&w);
    cli_free_dataset(&test);
    cli_free_dataset(&train);
    dl_model_free(&m);
    return 0;
}
