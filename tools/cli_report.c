/* cli_report.c — `digitlens report`: the measured results of every CAM
 * method on the MNIST test set, as figures in web/results/ and as the text
 * between README's results markers.
 *
 *   accuracy, confusion matrix          all 10,000 test images
 *   empty Grad-CAM maps per class       all 10,000 (predicted class)
 *   faithfulness: deletion / insertion  --faith N images (every 10,000/N-th)
 *     pixels removed (set to 0, the background) or inserted (from a blank
 *     image) in the map's order, 28 pixels a step, 28 steps; ties in the
 *     map broken by one random order per image shared by every method; the
 *     curve is the softmax probability of the class predicted on the whole
 *     image; AUC by the trapezoid rule over the fraction of pixels
 *   average drop / increase in confidence (Chattopadhay et al. 2018):
 *     O = p_c(x * map / max map), Y = p_c(x); drop = mean max(0, Y-O)/Y,
 *     increase = share of images with O > Y
 *   sanity (Adebayo et al. 2018): --sanity N images; cascading
 *     randomisation from the top (dense, then conv too) to He-initialised
 *     weights (seed 7); Spearman rank correlation between the trained and
 *     the randomised model's maps, placed at 28x28 (ties: average ranks; two
 *     flat maps count as 1, one flat map as 0). A method passes when the
 *     mean correlation is below 0.5 at both steps.
 * Baselines: `random` (uniform noise per pixel) and `ink` (the input).
 */
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "png.h"

const char cli_report_usage[] =
    "usage: digitlens report [OPTIONS]\n"
    "\n"
    "Measure every CAM method on the MNIST test set (faithfulness: deletion\n"
    "and insertion AUC, average drop and increase in confidence; sanity\n"
    "checks by cascading randomisation) and write the figures, metrics.json\n"
    "and index.html to DIR; with --readme, rewrite the part of FILE between\n"
    "'<!-- results:begin' and '<!-- results:end -->' from the numbers.\n"
    "\n"
    "  --weights FILE  weights (default " CLI_DEFAULT_WEIGHTS ")\n"
    "  --data DIR      MNIST IDX files (default " CLI_DEFAULT_DATA ")\n"
    "  --out DIR       figures (default web/results)\n"
    "  --readme FILE   rewrite FILE's results part (default: leave it)\n"
    "  --faith N       images for the faithfulness curves (default 1000)\n"
    "  --sanity N      images for the sanity checks (default 200)\n"
    "  --threads N     OpenMP threads (default: all cores)\n"
    "  --help          this text\n";

enum { STEPS = 28, PER_STEP = DL_IN_SIZE / STEPS, TILE = 56 };
enum { M_RANDOM = DL_M_COUNT, M_INK, NM }; /* methods, then two baselines */

static const char *mname(int m)
{
    return m == M_RANDOM ? "random" : m == M_INK ? "ink" : dl_cam_method_name(m);
}

/* series colours: matplotlib's tab20, enough for 13 lines */
static const uint8_t palette[NM][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
    {140, 86, 75}, {227, 119, 194}, {23, 190, 207}, {188, 189, 34}, {174, 199, 232},
    {255, 152, 150}, {127, 127, 127}, {0, 0, 0},
};

/* ---- images ------------------------------------------------------------ */

typedef struct { int w, h; uint8_t *rgb; } canvas;

static canvas canvas_new(int w, int h, uint8_t bg)
{
    canvas c = { w, h, malloc((size_t)w * h * 3) };
    if (!c.rgb) cli_fail("report", DL_ERR_NOMEM);
    memset(c.rgb, bg, (size_t)w * h * 3);
    return c;
}

static void put(canvas *c, int x, int y, const uint8_t *col)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    memcpy(c->rgb + ((size_t)y * c->w + x) * 3, col, 3);
}

static void fill_rect(canvas *c, int x0, int y0, int w, int h, const uint8_t *col)
{
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++) put(c, x, y, col);
}

/* digits 0-9 and '.', '%', '-' in a 3x5 font, scaled by s */
static const char *const glyphs[] = {
    "111101101101111", "010110010010111", "111001111100111", "111001111001111",
    "101101111001001", "111100111001111", "111100111101111", "111001001001001",
    "111101111101111", "111101111001111", "000000000000010", "101001010100101",
    "000000111000000",
};

static void text(canvas *c, int x, int y, const char *s, int sc, const uint8_t *col)
{
    for (; *s; s++, x += 4 * sc) {
        int g = *s >= '0' && *s <= '9' ? *s - '0' : *s == '.' ? 10 : *s == '%' ? 11 : *s == '-' ? 12 : -1;
        if (g < 0) continue;
        for (int r = 0; r < 5; r++)
            for (int q = 0; q < 3; q++)
                if (glyphs[g][r * 3 + q] == '1') fill_rect(c, x + q * sc, y + r * sc, sc, sc, col);
    }
}

/* The input (white ink on black, dimmed to half) with the heat t in 0..1
 * (placed at S x S) blended over it with opacity 0.8 t, as explain --out. */
static void overlay(canvas *c, int x0, int y0, int S, const float *x, const float *heat)
{
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            float g = (heat ? 0.5f : 1.0f) * 255.0f * x[(i * DL_IN_H / S) * DL_IN_W + j * DL_IN_W / S];
            float t = heat ? heat[i * S + j] : 0.0f, a = 0.8f * t;
            uint8_t col[3], o[3];
            dl_colormap_rgb(col, t, DL_INFERNO);
            for (int k = 0; k < 3; k++) {
                float v = (1.0f - a) * g + a * col[k];
                o[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
            }
            put(c, x0 + j, y0 + i, o);
        }
}

/* a map on grid g, placed at S x S and scaled to its own maximum */
static void heat_of(float *heat, int S, const float *map, const dl_grid *g)
{
    dl_cam_place(heat, S, S, map, g);
    dl_cam_normalize(heat, heat, 1, S * S, 0);
}

static void save(const char *dir, const char *name, canvas *c)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int st = png_write_rgb(path, c->rgb, c->w, c->h);
    if (st != DL_OK) cli_fail(path, st);
    free(c->rgb);
    c->rgb = NULL;
}

static void line(canvas *c, double x0, double y0, double x1, double y1, const uint8_t *col)
{
    int n = (int)(fmax(fabs(x1 - x0), fabs(y1 - y0)) * 2) + 1;
    for (int i = 0; i <= n; i++) {
        double t = (double)i / n, x = x0 + t * (x1 - x0), y = y0 + t * (y1 - y0);
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
                if (dx * dx + dy * dy <= 1) put(c, (int)lround(x) + dx, (int)lround(y) + dy, col);
    }
}

/* n series of np points each (x in 0..1, y in ylo..yhi) in a 480x320 chart
 * with a frame and grid lines at y = ylo + k (yhi-ylo)/4 */
static void chart(const char *dir, const char *name, const double *ys, int n, int np,
                  double ylo, double yhi, const uint8_t (*cols)[3])
{
    const int W = 480, H = 320, L = 40, R = 10, T = 10, B = 30;
    canvas c = canvas_new(W, H, 255);
    const uint8_t grid[3] = {225, 225, 225}, ink[3] = {60, 60, 60};
    for (int k = 0; k <= 4; k++) {
        double y = T + (H - T - B) * (1.0 - k / 4.0);
        line(&c, L, y, W - R, y, grid);
        char lab[16];
        snprintf(lab, sizeof lab, "%.2f", ylo + k * (yhi - ylo) / 4);
        text(&c, 2, (int)y - 5, lab, 2, ink);
    }
    for (int k = 0; k <= 4 && np > 3; k++) { /* x labels: fractions of pixels */
        double x = L + (W - L - R) * k / 4.0;
        char lab[16];
        snprintf(lab, sizeof lab, "%.2f", k / 4.0);
        text(&c, (int)x - 16, H - B + 8, lab, 2, ink);
    }
    for (int s = 0; s < n; s++)
        for (int i = 0; i + 1 < np; i++) {
            double xa = L + (W - L - R) * (double)i / (np - 1), xb = L + (W - L - R) * (double)(i + 1) / (np - 1);
            double ya = T + (H - T - B) * (1 - (ys[s * np + i] - ylo) / (yhi - ylo));
            double yb = T + (H - T - B) * (1 - (ys[s * np + i + 1] - ylo) / (yhi - ylo));
            line(&c, xa, ya, xb, yb, cols[s]);
        }
    save(dir, name, &c);
}

/* ---- measures ---------------------------------------------------------- */

typedef struct { float v; float tie; int i; } key;

static int by_value_desc(const void *a, const void *b)
{
    const key *p = a, *q = b;
    if (p->v != q->v) return p->v > q->v ? -1 : 1;
    return p->tie < q->tie ? -1 : p->tie > q->tie;
}

/* Spearman's rho of two n-vectors, average ranks for ties. */
static void ranks(double *r, const float *v, int n, key *tmp)
{
    for (int i = 0; i < n; i++) { tmp[i].v = v[i]; tmp[i].tie = 0; tmp[i].i = i; }
    qsort(tmp, (size_t)n, sizeof *tmp, by_value_desc);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && tmp[j + 1].v == tmp[i].v) j++;
        for (int k = i; k <= j; k++) r[tmp[k].i] = (i + j) / 2.0;
        i = j + 1;
    }
}

static double spearman(const float *a, const float *b, int n)
{
    key tmp[DL_IN_SIZE];
    double ra[DL_IN_SIZE], rb[DL_IN_SIZE], ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    ranks(ra, a, n, tmp);
    ranks(rb, b, n, tmp);
    for (int i = 0; i < n; i++) { ma += ra[i]; mb += rb[i]; }
    ma /= n; mb /= n;
    for (int i = 0; i < n; i++) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    if (saa == 0 && sbb == 0) return 1.0; /* both flat: unchanged */
    if (saa == 0 || sbb == 0) return 0.0;
    return sab / sqrt(saa * sbb);
}

/* The 28x28 map of method m (or a baseline) for class c of image x. */
static void map28(float *out, const dl_model *mdl, dl_work *w, dl_cam *cam, const float *x,
                  int m, int c, uint64_t seed, int *empty, int *undef)
{
    if (m == M_INK) { memcpy(out, x, sizeof(float) * DL_IN_SIZE); *empty = *undef = 0; return; }
    if (m == M_RANDOM) {
        uint64_t r = seed;
        for (int i = 0; i < DL_IN_SIZE; i++) out[i] = dl_rand_uniform(&r);
        *empty = *undef = 0;
        return;
    }
    int st = dl_cam_method(mdl, w, x, m, 1u << c, cam);
    if (st != DL_OK) cli_fail("report", st);
    dl_cam_place(out, DL_IN_H, DL_IN_W, dl_cam_map(cam, c), &cam->grid);
    float mx = 0;
    for (int i = 0; i < DL_IN_SIZE; i++) mx = fmaxf(mx, out[i]);
    *empty = !(mx > 0);
    *undef = (cam->undefined >> c) & 1;
}

typedef struct {
    double del[NM][STEPS + 1], ins[NM][STEPS + 1]; /* summed curves */
    double del_auc[NM], ins_auc[NM], drop[NM], incr[NM];
    int empty[NM], undef[NM], n;
    double rho[NM][2];
    int n_sanity;
} stats;

static double auc(const double *p)
{
    double s = 0;
    for (int i = 0; i < STEPS; i++) s += 0.5 * (p[i] + p[i + 1]);
    return s / STEPS;
}

/* deletion and insertion curves, drop/increase, for one image and method */
static void faith_one(stats *S, int m, const dl_model *mdl, dl_work *bw, const float *x,
                      const float *map, int c, float Y, uint64_t seed)
{
    key order[DL_IN_SIZE];
    uint64_t r = seed;
    for (int i = 0; i < DL_IN_SIZE; i++) {
        order[i].v = map[i];
        order[i].tie = dl_rand_uniform(&r);
        order[i].i = i;
    }
    qsort(order, DL_IN_SIZE, sizeof *order, by_value_desc);
    static _Thread_local float xb[(2 * (STEPS + 1) + 1) * DL_IN_SIZE];
    const int B = 2 * (STEPS + 1) + 1;
    for (int s = 0; s <= STEPS; s++) {
        float *d = xb + (size_t)s * DL_IN_SIZE, *in = xb + (size_t)(STEPS + 1 + s) * DL_IN_SIZE;
        memcpy(d, x, sizeof(float) * DL_IN_SIZE);
        memset(in, 0, sizeof(float) * DL_IN_SIZE);
        for (int k = 0; k < s * PER_STEP; k++) {
            d[order[k].i] = 0.0f;
            in[order[k].i] = x[order[k].i];
        }
    }
    float mx = 0, *e = xb + (size_t)(B - 1) * DL_IN_SIZE;
    for (int i = 0; i < DL_IN_SIZE; i++) mx = fmaxf(mx, map[i]);
    for (int i = 0; i < DL_IN_SIZE; i++) e[i] = mx > 0 ? x[i] * map[i] / mx : 0.0f;
    int st = dl_forward(mdl, bw, xb, B);
    if (st != DL_OK) cli_fail("report", st);
    const float *y = dl_logits(mdl, bw);
    double pd[STEPS + 1], pi[STEPS + 1];
    for (int b = 0; b < B; b++) {
        float p[DL_CLASSES];
        dl_softmax(p, y + b * DL_CLASSES, DL_CLASSES);
        if (b <= STEPS) pd[b] = p[c];
        else if (b < B - 1) pi[b - STEPS - 1] = p[c];
        else {
            S->drop[m] += fmax(0.0, (double)Y - p[c]) / Y;
            S->incr[m] += p[c] > Y;
        }
    }
    for (int s = 0; s <= STEPS; s++) { S->del[m][s] += pd[s]; S->ins[m][s] += pi[s]; }
    S->del_auc[m] += auc(pd);
    S->ins_auc[m] += auc(pi);
}

static void merge(stats *a, const stats *b)
{
    for (int m = 0; m < NM; m++) {
        for (int s = 0; s <= STEPS; s++) { a->del[m][s] += b->del[m][s]; a->ins[m][s] += b->ins[m][s]; }
        a->del_auc[m] += b->del_auc[m]; a->ins_auc[m] += b->ins_auc[m];
        a->drop[m] += b->drop[m]; a->incr[m] += b->incr[m];
        a->empty[m] += b->empty[m]; a->undef[m] += b->undef[m];
        a->rho[m][0] += b->rho[m][0]; a->rho[m][1] += b->rho[m][1];
    }
    a->n += b->n;
    a->n_sanity += b->n_sanity;
}

/* ---- text output ------------------------------------------------------- */

typedef struct { char *s; size_t n, cap; } sbuf;

static void sb(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->n + (size_t)k + 1 > b->cap) {
        b->cap = (b->n + (size_t)k + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) cli_fail("report", DL_ERR_NOMEM);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static void write_text(const char *dir, const char *name, const sbuf *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int st = dl_write_file_atomic(path, (const uint8_t *)b->s, b->n);
    if (st != DL_OK) cli_fail(path, st);
}

/* 1234 -> "1,234" */
static const char *thousands(char *out, int v)
{
    char t[32];
    snprintf(t, sizeof t, "%d", v);
    int n = (int)strlen(t), o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) out[o++] = ',';
        out[o++] = t[i];
    }
    out[o] = '\0';
    return out;
}

/* ---- the command ------------------------------------------------------- */

int cli_report(int argc, char **argv)
{
    const char *usage = cli_report_usage;
    const char *weights = cli_default(CLI_DEFAULT_WEIGHTS), *data = cli_default(CLI_DEFAULT_DATA),
               *out = cli_default("web/results");
    const char *readme = NULL;
    int n_faith = 1000, n_sanity = 200, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_flag(a, "--weights")) weights = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--data")) data = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--out")) out = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--readme")) readme = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--faith"))
            n_faith = (int)cli_int("--faith", cli_value(argc, argv, &i, usage), 1, 10000, usage);
        else if (cli_is_flag(a, "--sanity"))
            n_sanity = (int)cli_int("--sanity", cli_value(argc, argv, &i, usage), 1, 10000, usage);
        else if (cli_is_flag(a, "--threads"))
            threads = (int)cli_int("--threads", cli_value(argc, argv, &i, usage), 1, 256, usage);
        else if (a[0] == '-') cli_usage_error(usage, "unknown option '%s'", a);
        else cli_usage_error(usage, "unexpected argument '%s'", a);
    }
    if (threads) omp_set_num_threads(threads);
    double t0 = omp_get_wtime();

    dl_model m;
    cli_load_model(&m, weights, NULL);
    cli_dataset d;
    cli_load_dataset(&d, data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
    const int N = d.imgs.count;
    struct stat sb_;
    if (stat(out, &sb_) != 0 && mkdir(out, 0777) != 0) cli_failf(out, "cannot create directory");
    if (readme) { /* fail before the long run, not after it */
        uint8_t *buf; size_t len;
        int st = dl_read_file(readme, &buf, &len);
        if (st != DL_OK) cli_fail(readme, st);
        if (!strstr((char *)buf, "<!-- results:begin") || !strstr((char *)buf, "<!-- results:end -->"))
            cli_failf(readme, "has no '<!-- results:begin' ... '<!-- results:end -->' markers");
        free(buf);
    }

    /* ---- 1. every test image: prediction, Grad-CAM emptiness ---------- */
    float *X = malloc(sizeof(float) * DL_IN_SIZE * (size_t)N), *P = malloc(sizeof(float) * 10 * (size_t)N);
    int *pred = malloc(sizeof(int) * (size_t)N);
    if (!X || !P || !pred) cli_fail("report", DL_ERR_NOMEM);
    for (size_t i = 0; i < (size_t)N * DL_IN_SIZE; i++) X[i] = d.imgs.pixels[i] / 255.0f;
    const uint8_t *lab = d.lbls.labels;
    int conf[10][10] = {{0}}, empty_own[10] = {0}, pred_n[10] = {0};
    static float meanmap[10][DL_MAX_MAP_SIZE], meanx[10][DL_IN_SIZE];
    const int Z = m.map_size;
    int mean_n[10] = {0};
#pragma omp parallel
    {
        dl_work w;
        if (dl_work_alloc(&w, &m, 1) != DL_OK) cli_fail("report", DL_ERR_NOMEM);
        dl_cam *cam = malloc(sizeof *cam);
        if (!cam) cli_fail("report", DL_ERR_NOMEM);
#pragma omp for schedule(static)
        for (int i = 0; i < N; i++) {
            if (dl_gradcam(&m, &w, X + (size_t)i * DL_IN_SIZE, DL_ALL_CLASSES, cam) != DL_OK)
                cli_fail("report", DL_ERR_ARG);
            pred[i] = cam->digit;
            memcpy(P + (size_t)i * 10, cam->probs, sizeof cam->probs);
            float mx = 0;
            for (int p = 0; p < Z; p++) mx = fmaxf(mx, dl_cam_map(cam, cam->digit)[p]);
#pragma omp critical
            {
                conf[lab[i]][cam->digit]++;
                pred_n[cam->digit]++;
                empty_own[cam->digit] += !(mx > 0);
                if (cam->digit == lab[i]) {
                    int c = lab[i];
                    mean_n[c]++;
                    for (int p = 0; p < Z; p++) meanmap[c][p] += dl_cam_map(cam, c)[p];
                    for (int p = 0; p < DL_IN_SIZE; p++) meanx[c][p] += X[(size_t)i * DL_IN_SIZE + p];
                }
            }
        }
        free(cam);
        dl_work_free(&w);
    }
    int correct = 0;
    for (int c = 0; c < 10; c++) correct += conf[c][c];

    /* ---- 2. faithfulness and sanity on subsets ------------------------- */
    stats *S = calloc(1, sizeof *S);
    if (!S) cli_fail("report", DL_ERR_NOMEM);
    const int fstride = N / n_faith > 0 ? N / n_faith : 1, sstride = N / n_sanity > 0 ? N / n_sanity : 1;
    n_faith = (N + fstride - 1) / fstride;
    n_sanity = (N + sstride - 1) / sstride;
    /* the cascade: trained, dense randomised, dense and conv randomised */
    dl_model mr[3];
    for (int k = 0; k < 3; k++) {
        mr[k] = m;
        if (dl_model_alloc(&mr[k]) != DL_OK) cli_fail("report", DL_ERR_NOMEM);
    }
    dl_model_init_he(&mr[1], 7);
    memcpy(mr[2].params, mr[1].params, sizeof(float) * m.n_params);
    const dl_layer *conv = &m.layers[0], *fc = &m.layers[m.n_layers - 1];
    memcpy(mr[1].params + conv->w_off, m.params + conv->w_off, sizeof(float) * (conv->n_w + conv->n_b));
    memcpy(mr[0].params, m.params, sizeof(float) * m.n_params);
    (void)fc;
#pragma omp parallel
    {
        stats *T = calloc(1, sizeof *T);
        dl_work w, bw;
        dl_cam *cam = malloc(sizeof *cam);
        if (!T || !cam || dl_work_alloc(&w, &m, 1) != DL_OK ||
            dl_work_alloc(&bw, &m, 2 * (STEPS + 1) + 1) != DL_OK)
            cli_fail("report", DL_ERR_NOMEM);
        float map[DL_IN_SIZE], map2[DL_IN_SIZE];
#pragma omp for schedule(dynamic, 4)
        for (int i = 0; i < N; i++) {
            const float *x = X + (size_t)i * DL_IN_SIZE;
            int c = pred[i], e, u;
            uint64_t seed = 0x5EEDull * (uint64_t)(i + 1);
            if (i % fstride == 0) {
                T->n++;
                for (int mm = 0; mm < NM; mm++) {
                    map28(map, &m, &w, cam, x, mm, c, seed, &e, &u);
                    T->empty[mm] += e;
                    T->undef[mm] += u;
                    faith_one(T, mm, &m, &bw, x, map, c, P[(size_t)i * 10 + c], seed + 1);
                }
            }
            if (i % sstride == 0) {
                T->n_sanity++;
                for (int mm = 0; mm < NM; mm++) {
                    map28(map, &mr[0], &w, cam, x, mm, c, seed, &e, &u);
                    for (int k = 1; k < 3; k++) {
                        map28(map2, &mr[k], &w, cam, x, mm, c, seed + (mm == M_RANDOM ? (uint64_t)k : 0), &e, &u);
                        T->rho[mm][k - 1] += spearman(map, map2, DL_IN_SIZE);
                    }
                }
            }
        }
#pragma omp critical
        merge(S, T);
        free(T);
        free(cam);
        dl_work_free(&w);
        dl_work_free(&bw);
    }
    const int nf = S->n, ns = S->n_sanity;
    double mdel[NM][STEPS + 1], mins[NM][STEPS + 1], rho[NM][2];
    int pass[NM];
    for (int mm = 0; mm < NM; mm++) {
        for (int s = 0; s <= STEPS; s++) { mdel[mm][s] = S->del[mm][s] / nf; mins[mm][s] = S->ins[mm][s] / nf; }
        S->del_auc[mm] /= nf; S->ins_auc[mm] /= nf; S->drop[mm] /= nf; S->incr[mm] /= nf;
        rho[mm][0] = S->rho[mm][0] / ns; rho[mm][1] = S->rho[mm][1] / ns;
        pass[mm] = rho[mm][0] < 0.5 && rho[mm][1] < 0.5;
    }

    /* ---- 3. figures ----------------------------------------------------- */
    const uint8_t white[3] = {255, 255, 255}, dark[3] = {40, 40, 40};
    float heat[TILE * TILE];
    { /* confusion matrix: cells coloured by the share of the true class */
        const int C = 44, O = 24;
        canvas cv = canvas_new(O + 10 * C + 2, O + 10 * C + 2, 255);
        for (int t = 0; t < 10; t++) {
            char s[8];
            snprintf(s, sizeof s, "%d", t);
            text(&cv, 8, O + t * C + C / 2 - 5, s, 2, dark);
            text(&cv, O + t * C + C / 2 - 3, 6, s, 2, dark);
            int tot = 0;
            for (int p = 0; p < 10; p++) tot += conf[t][p];
            for (int p = 0; p < 10; p++) {
                double f = tot ? (double)conf[t][p] / tot : 0;
                uint8_t col[3];
                dl_colormap_rgb(col, conf[t][p] ? (float)(0.25 + 0.75 * sqrt(f)) : 0.0f, DL_VIRIDIS);
                fill_rect(&cv, O + p * C + 1, O + t * C + 1, C - 2, C - 2, col);
                snprintf(s, sizeof s, "%d", conf[t][p]);
                int len = (int)strlen(s), sc = len > 3 ? 1 : 2;
                text(&cv, O + p * C + (C - len * 4 * sc) / 2, O + t * C + C / 2 - 5 * sc / 2, s, sc,
                     f > 0.3 ? dark : white);
            }
        }
        save(out, "confusion.png", &cv);
    }
    { /* gallery: the first ten test digits of each class, Grad-CAM of the prediction */
        canvas cv = canvas_new(10 * (TILE + 2), 10 * (TILE + 2), 255);
        dl_work w;
        dl_work_alloc(&w, &m, 1);
        static dl_cam cam;
        for (int c = 0; c < 10; c++)
            for (int i = 0, k = 0; i < N && k < 10; i++) {
                if (lab[i] != c) continue;
                const float *x = X + (size_t)i * DL_IN_SIZE;
                dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cam);
                heat_of(heat, TILE, dl_cam_map(&cam, cam.digit), &cam.grid);
                overlay(&cv, k * (TILE + 2) + 1, c * (TILE + 2) + 1, TILE, x, heat);
                k++;
            }
        save(out, "gallery.png", &cv);
        /* mean input and mean Grad-CAM of each class over its correct predictions */
        canvas mv = canvas_new(10 * (TILE + 2), 2 * (TILE + 2), 255);
        for (int c = 0; c < 10; c++) {
            float mx[DL_IN_SIZE], mm_[DL_MAX_MAP_SIZE], top = 0;
            for (int p = 0; p < DL_IN_SIZE; p++) { mx[p] = meanx[c][p] / (mean_n[c] ? mean_n[c] : 1); top = fmaxf(top, mx[p]); }
            for (int p = 0; p < DL_IN_SIZE; p++) mx[p] /= top > 0 ? top : 1;
            for (int p = 0; p < Z; p++) mm_[p] = meanmap[c][p] / (mean_n[c] ? mean_n[c] : 1);
            overlay(&mv, c * (TILE + 2) + 1, 1, TILE, mx, NULL);
            heat_of(heat, TILE, mm_, &m.grid);
            overlay(&mv, c * (TILE + 2) + 1, TILE + 3, TILE, mx, heat);
        }
        save(out, "mean_gradcam.png", &mv);
        dl_work_free(&w);
    }
    /* most confident errors */
    int err[10], n_err = 0;
    for (int k = 0; k < 10; k++) {
        int best = -1;
        for (int i = 0; i < N; i++) {
            if (pred[i] == lab[i]) continue;
            int seen = 0;
            for (int j = 0; j < n_err; j++) seen |= err[j] == i;
            if (!seen && (best < 0 || P[(size_t)i * 10 + pred[i]] > P[(size_t)best * 10 + pred[best]])) best = i;
        }
        if (best < 0) break;
        err[n_err++] = best;
    }
    {
        canvas cv = canvas_new(n_err * (TILE + 2) + 1, 3 * (TILE + 2), 255);
        dl_work w;
        dl_work_alloc(&w, &m, 1);
        static dl_cam cam;
        for (int k = 0; k < n_err; k++) {
            const float *x = X + (size_t)err[k] * DL_IN_SIZE;
            dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cam);
            overlay(&cv, k * (TILE + 2) + 1, 1, TILE, x, NULL);
            heat_of(heat, TILE, dl_cam_map(&cam, pred[err[k]]), &cam.grid);
            overlay(&cv, k * (TILE + 2) + 1, TILE + 3, TILE, x, heat);
            heat_of(heat, TILE, dl_cam_map(&cam, lab[err[k]]), &cam.grid);
            overlay(&cv, k * (TILE + 2) + 1, 2 * (TILE + 2) + 1, TILE, x, heat);
        }
        save(out, "errors.png", &cv);
        /* the methods side by side: the first test digit of each class */
        canvas mv = canvas_new((DL_M_COUNT + 1) * (TILE + 2), 10 * (TILE + 2), 255);
        for (int c = 0; c < 10; c++) {
            int i = 0;
            while (i < N && lab[i] != c) i++;
            const float *x = X + (size_t)i * DL_IN_SIZE;
            overlay(&mv, 1, c * (TILE + 2) + 1, TILE, x, NULL);
            for (int mm = 0; mm < DL_M_COUNT; mm++) {
                dl_cam_method(&m, &w, x, mm, DL_ALL_CLASSES, &cam);
                heat_of(heat, TILE, dl_cam_map(&cam, cam.digit), &cam.grid);
                overlay(&mv, (mm + 1) * (TILE + 2) + 1, c * (TILE + 2) + 1, TILE, x, heat);
            }
        }
        save(out, "methods.png", &mv);
        dl_work_free(&w);
    }
    chart(out, "deletion.png", &mdel[0][0], NM, STEPS + 1, 0, 1, palette);
    chart(out, "insertion.png", &mins[0][0], NM, STEPS + 1, 0, 1, palette);
    {
        double ys[NM][3];
        for (int mm = 0; mm < NM; mm++) { ys[mm][0] = 1; ys[mm][1] = rho[mm][0]; ys[mm][2] = rho[mm][1]; }
        chart(out, "sanity.png", &ys[0][0], NM, 3, -0.2, 1, palette);
    }
    double secs = omp_get_wtime() - t0;

    /* ---- 4. metrics.json, index.html, style ------------------------------ */
    sbuf j = {0};
    sb(&j, "{\"weights\":\"%s\",\"test_images\":%d,\"correct\":%d,\"faith_images\":%d,"
           "\"sanity_images\":%d,\"steps\":%d,\"seconds\":%.1f,\"confusion\":[", weights, N, correct, nf, ns, STEPS, secs);
    for (int t = 0; t < 10; t++) {
        sb(&j, "%s[", t ? "," : "");
        for (int p = 0; p < 10; p++) sb(&j, "%s%d", p ? "," : "", conf[t][p]);
        sb(&j, "]");
    }
    sb(&j, "],\"gradcam_empty_own_class\":[");
    for (int c = 0; c < 10; c++) sb(&j, "%s{\"predicted\":%d,\"empty\":%d}", c ? "," : "", pred_n[c], empty_own[c]);
    sb(&j, "],\"methods\":{");
    for (int mm = 0; mm < NM; mm++) {
        sb(&j, "%s\"%s\":{\"deletion_auc\":%.4f,\"insertion_auc\":%.4f,\"average_drop\":%.4f,"
               "\"increase\":%.4f,\"empty_maps\":%d,\"undefined_maps\":%d,\"spearman_dense\":%.4f,"
               "\"spearman_all\":%.4f,\"sanity_pass\":%s,\"deletion\":[",
           mm ? "," : "", mname(mm), S->del_auc[mm], S->ins_auc[mm], S->drop[mm], S->incr[mm],
           S->empty[mm], S->undef[mm], rho[mm][0], rho[mm][1], pass[mm] ? "true" : "false");
        for (int s = 0; s <= STEPS; s++) sb(&j, "%s%.4f", s ? "," : "", mdel[mm][s]);
        sb(&j, "],\"insertion\":[");
        for (int s = 0; s <= STEPS; s++) sb(&j, "%s%.4f", s ? "," : "", mins[mm][s]);
        sb(&j, "]}");
    }
    sb(&j, "}}\n");
    write_text(out, "metrics.json", &j);

    sbuf css = {0};
    sb(&css, "body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1d2330}\n"
             "img{max-width:100%%;image-rendering:pixelated;border:1px solid #e4e7ec}\n"
             "table{border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
             "td,th{padding:3px 9px;border-bottom:1px solid #e4e7ec;text-align:right}\n"
             "td:first-child,th:first-child{text-align:left}\n"
             ".sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px}\n"
             ".pass{color:#17803d}.fail{color:#b42318}\n");
    for (int mm = 0; mm < NM; mm++)
        sb(&css, ".c%d{background:#%02x%02x%02x}\n", mm, palette[mm][0], palette[mm][1], palette[mm][2]);
    write_text(out, "results.css", &css);

    sbuf h = {0};
    sb(&h, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>digitlens results</title>\n<link rel=\"stylesheet\" href=\"results.css\">\n</head>\n<body>\n"
           "<h1>digitlens: results</h1>\n<p>Generated by <code>make report</code> "
           "(<code>build/digitlens report</code>) from <code>%s</code> on the MNIST test set "
           "in %.0f s. Numbers: <a href=\"metrics.json\">metrics.json</a>. Back to the "
           "<a href=\"../index.html\">demo</a>.</p>\n", weights, secs);
    sb(&h, "<h2>Accuracy and confusion matrix</h2>\n<p>%.2f %% (%d of %d). Rows: true digit; "
           "columns: predicted.</p>\n<img src=\"confusion.png\" alt=\"confusion matrix\">\n",
       100.0 * correct / N, correct, N);
    sb(&h, "<h2>Gallery</h2>\n<p>The first ten test digits of each class (rows 0 to 9) with the "
           "Grad-CAM map of the predicted class, each scaled to its own maximum.</p>\n"
           "<img src=\"gallery.png\" alt=\"ten digits per class with Grad-CAM maps\">\n"
           "<h2>Mean Grad-CAM per class</h2>\n<p>Top: the mean test digit of each class (correct "
           "predictions); bottom: the mean Grad-CAM map of that class over them.</p>\n"
           "<img src=\"mean_gradcam.png\" alt=\"mean digit and mean Grad-CAM per class\">\n");
    sb(&h, "<h2>Most confident errors</h2>\n<p>Top: the input; middle: Grad-CAM of the predicted "
           "class; bottom: of the true class.</p>\n<img src=\"errors.png\" alt=\"most confident errors\">\n<table>\n"
           "<tr><th>test index</th><th>true</th><th>predicted</th><th>probability</th></tr>\n");
    for (int k = 0; k < n_err; k++)
        sb(&h, "<tr><td>%d</td><td>%d</td><td>%d</td><td>%.1f %%</td></tr>\n", err[k], lab[err[k]],
           pred[err[k]], 100.0 * P[(size_t)err[k] * 10 + pred[err[k]]]);
    sb(&h, "</table>\n<h2>Methods side by side</h2>\n<p>The first test digit of each class; columns: "
           "the input, then");
    for (int mm = 0; mm < DL_M_COUNT; mm++) sb(&h, "%s <code>%s</code>", mm ? "," : "", mname(mm));
    sb(&h, " (predicted class, each map scaled to its own maximum).</p>\n"
           "<img src=\"methods.png\" alt=\"every method on one digit per class\">\n");
    sb(&h, "<h2>Faithfulness and sanity</h2>\n<p>Deletion and insertion over %d test images "
           "(every %d-th), %d pixels a step; sanity checks over %d images (every %d-th). "
           "Deletion AUC: lower is better; insertion AUC: higher is better. Sanity: the "
           "Spearman rank correlation between the trained model's map and the map after "
           "randomising the dense layer, then the conv layer too; a method passes when both are "
           "below 0.5.</p>\n<table>\n<tr><th>method</th><th>deletion AUC</th><th>insertion AUC</th>"
           "<th>average drop</th><th>increase</th><th>empty maps</th><th>rho, dense random</th>"
           "<th>rho, all random</th><th>sanity</th></tr>\n", nf, fstride, PER_STEP, ns, sstride);
    for (int mm = 0; mm < NM; mm++)
        sb(&h, "<tr><td><span class=\"sw c%d\"></span>%s</td><td>%.3f</td><td>%.3f</td><td>%.1f %%</td>"
               "<td>%.1f %%</td><td>%d</td><td>%.2f</td><td>%.2f</td><td class=\"%s\">%s</td></tr>\n",
           mm, mname(mm), S->del_auc[mm], S->ins_auc[mm], 100 * S->drop[mm], 100 * S->incr[mm],
           S->empty[mm], rho[mm][0], rho[mm][1], pass[mm] ? "pass" : "fail", pass[mm] ? "pass" : "fail");
    sb(&h, "</table>\n<h3>Deletion (probability of the predicted class vs fraction of pixels removed)</h3>\n"
           "<img src=\"deletion.png\" alt=\"deletion curves\">\n"
           "<h3>Insertion (probability vs fraction of pixels inserted into a blank image)</h3>\n"
           "<img src=\"insertion.png\" alt=\"insertion curves\">\n"
           "<h3>Sanity: rank correlation at each randomisation step (trained, dense, dense + conv)</h3>\n"
           "<img src=\"sanity.png\" alt=\"sanity check curves\">\n</body>\n</html>\n");
    write_text(out, "index.html", &h);

    /* ---- 5. README ------------------------------------------------------ */
    if (readme) {
        sbuf r = {0};
        int lo = 0, hi = 0;
        double per[10];
        for (int c = 0; c < 10; c++) {
            int tot = 0;
            for (int p = 0; p < 10; p++) tot += conf[c][p];
            per[c] = tot ? (double)conf[c][c] / tot : 0;
            if (per[c] < per[lo]) lo = c;
            if (per[c] > per[hi]) hi = c;
        }
        int as = lo == 0 ? 1 : 0;
        for (int p = 0; p < 10; p++) if (p != lo && conf[lo][p] > conf[lo][as]) as = p;
        int worst = 0;
        for (int c = 0; c < 10; c++)
            if (pred_n[c] && (double)empty_own[c] / pred_n[c] > (double)empty_own[worst] / (pred_n[worst] ? pred_n[worst] : 1)) worst = c;
        int others_empty = 0;
        for (int c = 0; c < 10; c++) if (c != worst) others_empty += empty_own[c];
        char a1[32], a2[32], a3[32];
        sb(&r, "<!-- results:begin (make report rewrites this part) -->\n\n");
        sb(&r, "Regenerate with `make report` (`build/digitlens report --readme README.md`, "
               "under a minute on 2 cores); the figures are in `web/results/` "
               "(the page links to them), the numbers in `web/results/metrics.json`.\n\n");
        sb(&r, "- **Accuracy:** %.2f %% on the MNIST test set (%s of %s); per class\n"
               "  from %.2f %% (%d, mostly read as %d) to %.2f %% (%d). `build/digitlens eval`\n"
               "  prints the confusion matrix; `web/results/confusion.png` draws it.\n",
           100.0 * correct / N, thousands(a1, correct), thousands(a2, N), 100 * per[lo], lo, as,
           100 * per[hi], hi);
        sb(&r, "- **Grad-CAM on a one-convolution network is nearly input-independent.**\n"
               "  Because every max-pool window passes its gradient to exactly one cell,\n"
               "  alpha_k^c is the mean of class c's dense weights over channel k: twelve\n"
               "  numbers per class, fixed once trained. A class map is then a fixed\n"
               "  mixture of the twelve ReLU maps, and where that mixture is negative for\n"
               "  every input there is nothing to show: with the committed weights the\n"
               "  map of class %d is all zero for %s of the %s test images predicted as\n"
               "  %d, while the maps of the other nine classes are %s for their own\n"
               "  predictions (count the all-zero maps in the output of\n"
               "  `build/digitlens explain --json data/mnist/t10k-images-idx3-ubyte --limit 10000`,\n"
               "  which gives each image's predicted class and its map). The page says \"no positive Grad-CAM evidence\" in that case rather\n"
               "  than paint noise. The dense layer's weights are position-specific; their\n"
               "  mean over positions throws that away. Methods that keep it (HiResCAM,\n"
               "  gradient x activation) are compared below.\n\n",
           worst, thousands(a1, empty_own[worst]), thousands(a3, pred_n[worst]), worst,
           others_empty ? "rarely empty" : "never empty");
        sb(&r, "### The methods\n\n"
               "`build/digitlens explain --method NAME` (and the page's selector). G_k = dy^c/dA_k,\n"
               "sums over the 24x24 cells ij, y^c the logit; every map ends in a ReLU. Formulas\n"
               "and sources in `c/cam_methods.c`; each is tested against an independent\n"
               "double-precision computation in `tests/c/test_methods.c`.\n\n"
               "| method | map | formula |\n| --- | --- | --- |\n"
               "| `gradcam` | 24x24 | w_k = mean_ij G_k; L = ReLU(sum_k w_k A_k) |\n"
               "| `gradcam++` | 24x24 | pytorch-grad-cam's formula: a = G^2 / (2 G^2 + (sum_ij A_k) G^3 + 1e-6), 0 where G = 0; w_k = sum_ij ReLU(G_k) a; L as gradcam |\n"
               "| `xgradcam` | 24x24 | w_k = sum_ij G_k A_k / (sum_ij A_k + 1e-7); L as gradcam |\n"
               "| `hirescam` | 24x24 | L = ReLU(sum_k G_k * A_k), elementwise |\n"
               "| `layercam` | 24x24 | L = ReLU(sum_k ReLU(G_k) * A_k) |\n"
               "| `scorecam` | 24x24 | M_k = A_k min-max scaled, placed on the input; w = softmax_k y^c(x * M_k) (pytorch-grad-cam's variant) |\n"
               "| `ablationcam` | 24x24 | w_k = (y^c - y^c with A_k = 0) / y^c; undefined if y^c = 0 |\n"
               "| `eigencam` | 24x24 | L = ReLU(X v), X = A as (576, 12) centred, v its first right singular vector (sign: sum v >= 0); the same for every class |\n"
               "| `counterfactual` | 24x24 | w_k = -mean_ij G_k: what argues against c |\n"
               "| `guided-backprop` | 28x28 | R = dy^c/dx, each ReLU passing only positive gradients where its input was positive; L = ReLU(R) |\n"
               "| `guided-gradcam` | 28x28 | L = ReLU(R) * Grad-CAM placed on the input |\n\n"
               "A map that is undefined for an input (every activation zero; Ablation-CAM with\n"
               "y^c = 0) is returned as zeros and `explain --json` adds `\"undefined\": [classes]`.\n\n");
        sb(&r, "### Faithfulness and sanity\n\n"
               "Over %d test images (every %d-th), for the predicted class: deletion and insertion\n"
               "curves (%d pixels a step, removed to 0 or inserted into a blank image, in the order of\n"
               "the map placed at 28x28; ties broken by one random order per image), their area\n"
               "(deletion: lower is better; insertion: higher), and the average drop / increase in\n"
               "confidence on x * map/max(map). Sanity (Adebayo et al. 2018) over %d images: Spearman\n"
               "rank correlation between the trained model's map and the map after randomising the\n"
               "dense layer, then the conv layer too; pass = both below 0.5.\n\n"
               "| method | deletion AUC | insertion AUC | avg drop | increase | rho, dense random | rho, all random | sanity |\n"
               "| --- | --- | --- | --- | --- | --- | --- | --- |\n", nf, fstride, PER_STEP, ns);
        for (int mm = 0; mm < NM; mm++)
            sb(&r, "| %s%s | %.3f | %.3f | %.1f %% | %.1f %% | %.2f | %.2f | %s |\n",
               mname(mm), mm >= DL_M_COUNT ? " (baseline)" : "", S->del_auc[mm], S->ins_auc[mm],
               100 * S->drop[mm], 100 * S->incr[mm], rho[mm][0], rho[mm][1], pass[mm] ? "pass" : "fail");
        /* ranks for the discussion */
        int bd = 0, bi = 0;
        for (int mm = 0; mm < DL_M_COUNT; mm++) {
            if (S->del_auc[mm] < S->del_auc[bd]) bd = mm;
            if (S->ins_auc[mm] > S->ins_auc[bi]) bi = mm;
        }
        int beat_ink_del = 0, beat_ink_ins = 0;
        sbuf passed = {0}, failed = {0};
        for (int mm = 0; mm < DL_M_COUNT; mm++) {
            beat_ink_del += S->del_auc[mm] < S->del_auc[M_INK];
            beat_ink_ins += S->ins_auc[mm] > S->ins_auc[M_INK];
            sb(pass[mm] ? &passed : &failed, "%s`%s`", (pass[mm] ? passed.n : failed.n) ? ", " : "", mname(mm));
        }
        sb(&r, "\n### Discussion\n\n");
        sb(&r, "- **How a one-convolution network reads digits.** Twelve 5x5 filters respond to\n"
               "  stroke pieces of one orientation or curvature; the dense layer then weighs each\n"
               "  response at each of 144 pooled positions. The mean Grad-CAM per class\n"
               "  (`web/results/mean_gradcam.png`) lights a few stroke segments of the class's mean\n"
               "  digit, not the whole digit; `errors.png` shows, for the most confident errors,\n"
               "  which strokes the wrong class's map picks up. Because Grad-CAM's channel weights\n"
               "  are the same for every input, its map says *which filters* count for a class,\n"
               "  not *where* they count; HiResCAM keeps the dense layer's position-specific\n"
               "  weights: its map of the predicted class is empty for %d of %d images, Grad-CAM's\n"
               "  for %d.\n",
           S->empty[DL_M_HIRESCAM], nf, S->empty[DL_M_GRADCAM]);
        sb(&r, "- **Where 24x24 helps and where it misleads.** Each map cell is one 5x5 window, so\n"
               "  the maps are nearly at the input's resolution and sit on the strokes (the\n"
               "  placement adds the 2-pixel border instead of stretching). But a cell's value is a\n"
               "  5x5 filter response, not one pixel's contribution: at 28x28 the map is smoother than\n"
               "  the stroke and spills onto the background beside it, where deleting pixels changes\n"
               "  nothing. The pixel-order metrics reward exactly the opposite: the ink-intensity\n"
               "  baseline, which explains nothing about the network, has a deletion AUC of %.3f and\n"
               "  an insertion AUC of %.3f; %d of the %d methods beat it on deletion and %d on\n"
               "  insertion.\n",
           S->del_auc[M_INK], S->ins_auc[M_INK], beat_ink_del, DL_M_COUNT, beat_ink_ins);
        sb(&r, "- **Faithfulness.** Lowest deletion AUC: `%s` (%.3f); highest insertion AUC: `%s` (%.3f);\n"
               "  Grad-CAM: %.3f and %.3f; the random map: %.3f and %.3f.\n",
           mname(bd), S->del_auc[bd], mname(bi), S->ins_auc[bi], S->del_auc[DL_M_GRADCAM],
           S->ins_auc[DL_M_GRADCAM], S->del_auc[M_RANDOM], S->ins_auc[M_RANDOM]);
        sb(&r, "- **Sanity checks.** Pass: %s. Fail: %s. A method that fails gives nearly the same\n"
               "  map after the weights it claims to explain are replaced by noise. Eigen-CAM ignores\n"
               "  the dense layer by construction (rho %.2f after randomising it). Grad-CAM++ and\n"
               "  Score-CAM (rho %.2f and %.2f) weigh every channel positively whatever the dense\n"
               "  layer says, so their maps follow the activations, i.e. the ink. Guided backprop\n"
               "  (rho %.2f, %.2f) %s.\n",
           passed.n ? passed.s : "none", failed.n ? failed.s : "none", rho[DL_M_EIGENCAM][0],
           rho[DL_M_GRADCAMPP][0], rho[DL_M_SCORECAM][0], rho[DL_M_GUIDED_BACKPROP][0],
           rho[DL_M_GUIDED_BACKPROP][1],
           pass[DL_M_GUIDED_BACKPROP] ? "passes here, narrowly: with one conv layer there is little "
                                        "depth for its ReLU masks to reconstruct the input from, unlike "
                                        "the deep networks where Adebayo et al. saw it fail"
                                      : "fails, as Adebayo et al. found for deep networks");
        int top3[3] = {-1, -1, -1}, top3_fail = 0;
        for (int q = 0; q < 3; q++) {
            for (int mm = 0; mm < DL_M_COUNT; mm++) {
                if (mm == top3[0] || mm == top3[1]) continue;
                if (top3[q] < 0 || S->ins_auc[mm] > S->ins_auc[top3[q]]) top3[q] = mm;
            }
            top3_fail += !pass[top3[q]];
        }
        sb(&r, "- **Together.** The three methods with the highest insertion AUC (`%s`, `%s`, `%s`)\n"
               "  include %d that fail%s the sanity check: on MNIST, where the ink is nearly all the\n"
               "  signal, a map that follows the ink scores well on deletion and insertion whether or\n"
               "  not it depends on the network. Of the methods that pass, the best deletion AUC is\n",
           mname(top3[0]), mname(top3[1]), mname(top3[2]), top3_fail, top3_fail == 1 ? "s" : "");
        int bp = -1;
        for (int mm = 0; mm < DL_M_COUNT; mm++)
            if (pass[mm] && (bp < 0 || S->del_auc[mm] < S->del_auc[bp])) bp = mm;
        if (bp >= 0)
            sb(&r, "  `%s`'s (%.3f), then among the CAMs on A `hirescam` (%.3f) against Grad-CAM's %.3f.\n",
               mname(bp), S->del_auc[bp], S->del_auc[DL_M_HIRESCAM], S->del_auc[DL_M_GRADCAM]);
        else
            sb(&r, "  undefined: none passes.\n");
        sb(&r, "- **A bug found on the way.** tfjs-backend-wasm 4.22's max-pool gradient drops the\n"
               "  windows whose maximum is <= 0 (found by `make bench`), so a Grad-CAM built on it\n"
               "  would miss exactly the all-zero windows whose first cell counts in alpha here.\n");
        sb(&r, "<!-- results:end -->");
        free(passed.s);
        free(failed.s);

        uint8_t *buf; size_t len;
        int st = dl_read_file(readme, &buf, &len);
        if (st != DL_OK) cli_fail(readme, st);
        char *b = (char *)buf, *s0 = strstr(b, "<!-- results:begin"), *e0 = s0 ? strstr(s0, "<!-- results:end -->") : NULL;
        if (!s0 || !e0) cli_failf(readme, "has no '<!-- results:begin' ... '<!-- results:end -->' markers");
        e0 += strlen("<!-- results:end -->");
        sbuf o = {0};
        sb(&o, "%.*s%s%.*s", (int)(s0 - b), b, r.s, (int)(len - (size_t)(e0 - b)), e0);
        if ((st = dl_write_file_atomic(readme, (const uint8_t *)o.s, o.n)) != DL_OK) cli_fail(readme, st);
        free(buf);
        free(o.s);
        free(r.s);
    }
    printf("report: %d test images, %d for faithfulness, %d for sanity, %.1f s -> %s/index.html\n",
           N, nf, ns, secs, out);
    for (int mm = 0; mm < NM; mm++)
        printf("  %-16s deletion %.3f  insertion %.3f  drop %5.1f%%  incr %5.1f%%  rho %.2f %.2f  %s\n",
               mname(mm), S->del_auc[mm], S->ins_auc[mm], 100 * S->drop[mm], 100 * S->incr[mm],
               rho[mm][0], rho[mm][1], pass[mm] ? "pass" : "fail");
    free(j.s); free(css.s); free(h.s);
    for (int k = 0; k < 3; k++) dl_model_free(&mr[k]);
    free(S); free(X); free(P); free(pred);
    cli_free_dataset(&d);
    dl_model_free(&m);
    return fflush(stdout) == 0 ? 0 : 1;
}
