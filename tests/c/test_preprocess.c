/* test_preprocess.c — dl_preprocess, dl_rgba_to_gray and tools/png.c.
 *
 * Digits are drawn procedurally: thick anti-aliased strokes (coverage =
 * clamp(r + 0.5 - distance to the segment, 0, 1)) on a coverage canvas,
 * then rendered with any paper and ink levels. */
#include "testutil.h"
#include "../../tools/png.h"

#include <libpng16/png.h> /* libpng (not tools/png.h) */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* splitmix64: the test links preprocess.o only, not net.o's dl_rand_u64 */
static uint64_t rand_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- drawing -------------------------------------------------------------- */

typedef struct { float x0, y0, x1, y1; } seg;

static float seg_dist(float px, float py, seg s)
{
    float dx = s.x1 - s.x0, dy = s.y1 - s.y0;
    float len2 = dx * dx + dy * dy;
    float t = len2 > 0 ? ((px - s.x0) * dx + (py - s.y0) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    float ex = s.x0 + t * dx - px, ey = s.y0 + t * dy - py;
    return sqrtf(ex * ex + ey * ey);
}

static void stroke(float *cov, int w, int h, seg s, float r)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float c = r + 0.5f - seg_dist(x + 0.5f, y + 0.5f, s);
            c = c < 0 ? 0 : c > 1 ? 1 : c;
            if (c > cov[y * w + x]) cov[y * w + x] = c;
        }
}

static void ring(float *cov, int w, int h, float cx, float cy, float rad, float r)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
            float c = r + 0.5f - fabsf(sqrtf(dx * dx + dy * dy) - rad);
            c = c < 0 ? 0 : c > 1 ? 1 : c;
            if (c > cov[y * w + x]) cov[y * w + x] = c;
        }
}

static void render(uint8_t *gray, const float *cov, size_t n, float paper, float ink)
{
    for (size_t i = 0; i < n; i++)
        gray[i] = (uint8_t)lroundf(paper + (ink - paper) * cov[i]);
}

/* A tilted "7", 183 px tall, in the top-right corner of a 300x200 canvas. */
enum { SW = 300, SH = 200 };
static float *seven(void)
{
    float *cov = calloc(SW * SH, sizeof *cov);
    stroke(cov, SW, SH, (seg){185, 18, 283, 30}, 8);
    stroke(cov, SW, SH, (seg){283, 30, 215, 185}, 8);
    return cov;
}

/* ---- measuring the output ------------------------------------------------- */

typedef struct { double mass, cx, cy, max; int x0, x1, y0, y1; } meas;

/* Centre of mass in pixel-edge coordinates, support box [x0,x1) x [y0,y1)
 * of the values > 0, after checking every value is finite and in 0..1. */
static meas measure(const float *o)
{
    meas m = {0, 0, 0, 0, 28, 0, 28, 0};
    for (int i = 0; i < 28; i++)
        for (int j = 0; j < 28; j++) {
            float v = o[i * 28 + j];
            assert_true(isfinite(v));
            assert_true(v >= 0.0f && v <= 1.0f);
            if (v <= 0) continue;
            m.mass += v;
            m.cx += v * (j + 0.5);
            m.cy += v * (i + 0.5);
            if (v > m.max) m.max = v;
            if (j < m.x0) m.x0 = j;
            if (j + 1 > m.x1) m.x1 = j + 1;
            if (i < m.y0) m.y0 = i;
            if (i + 1 > m.y1) m.y1 = i + 1;
        }
    assert_true(m.mass > 0);
    m.cx /= m.mass;
    m.cy /= m.mass;
    return m;
}

static double max_abs_diff(const float *a, const float *b, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

/* ---- (a) size and centring ------------------------------------------------ */

static void test_offcentre_seven_is_centred_and_fits_20x20(void **state)
{
    (void)state;
    float *cov = seven();
    uint8_t *g = malloc(SW * SH);
    render(g, cov, SW * SH, 255, 0);

    /* the drawing's own box (coverage > 0.5) to check the aspect ratio */
    int bx0 = SW, bx1 = 0, by0 = SH, by1 = 0;
    for (int y = 0; y < SH; y++)
        for (int x = 0; x < SW; x++)
            if (cov[y * SW + x] > 0.5f) {
                if (x < bx0) bx0 = x;
                if (x + 1 > bx1) bx1 = x + 1;
                if (y < by0) by0 = y;
                if (y + 1 > by1) by1 = y + 1;
            }
    assert_in_range(by1 - by0, 178, 186); /* the figure is ~180 px tall */

    float out[784];
    assert_ok(dl_preprocess(out, g, SW, SH));
    meas m = measure(out);
    /* integer shift: the centre of mass ends within half a pixel of (14,14) */
    assert_true(fabs(m.cx - 14.0) <= 0.5 + 1e-9);
    assert_true(fabs(m.cy - 14.0) <= 0.5 + 1e-9);
    /* the long (vertical) side is 20 px, the short one keeps the ratio */
    int ow = m.x1 - m.x0, oh = m.y1 - m.y0;
    assert_in_range(oh, 19, 20);
    assert_true(ow <= 20);
    double want_w = 20.0 * (bx1 - bx0) / (by1 - by0);
    assert_true(fabs(ow - want_w) <= 1.5);
    assert_true(m.max > 0.9); /* stroke cores keep full intensity */
    free(g);
    free(cov);
}

/* The same drawing at the far corner of a DL_MAX_SIDE x DL_MAX_SIDE image
 * gives the same 28x28 (the box is cut out exactly; streaming, no buffer
 * proportional to the image). */
static void test_max_side_image_same_as_small(void **state)
{
    (void)state;
    float *cov = seven();
    uint8_t *small = malloc(SW * SH);
    render(small, cov, SW * SH, 255, 0);
    const size_t N = DL_MAX_SIDE;
    uint8_t *big = malloc(N * N);
    assert_non_null(big);
    memset(big, 255, N * N);
    for (int y = 0; y < SH; y++)
        memcpy(big + (N - SH + y) * N + (N - SW), small + y * SW, SW);
    float a[784], b[784];
    assert_ok(dl_preprocess(a, small, SW, SH));
    assert_ok(dl_preprocess(b, big, DL_MAX_SIDE, DL_MAX_SIDE));
    assert_true(max_abs_diff(a, b, 784) < 1e-6);
    free(big);
    free(small);
    free(cov);
}

/* ---- (b), (c) polarity and paper level ------------------------------------ */

static void test_both_polarities_agree(void **state)
{
    (void)state;
    float *cov = seven();
    uint8_t *bw = malloc(SW * SH), *wb = malloc(SW * SH);
    render(bw, cov, SW * SH, 255, 0); /* black ink on white */
    for (int i = 0; i < SW * SH; i++) wb[i] = (uint8_t)(255 - bw[i]);
    float a[784], b[784];
    assert_ok(dl_preprocess(a, bw, SW, SH));
    assert_ok(dl_preprocess(b, wb, SW, SH));
    assert_true(max_abs_diff(a, b, 784) < 1e-6);
    assert_true(measure(a).mass > 20); /* not two empty fields */

    /* a ring "0" drawn black on white, and rendered on its own as
     * near-white (245) on near-black (10) paper: only 8-bit rounding of
     * the two renderings differs */
    float *c0 = calloc(SW * SH, sizeof *c0);
    ring(c0, SW, SH, 80, 110, 60, 10);
    render(bw, c0, SW * SH, 255, 0);
    render(wb, c0, SW * SH, 10, 245);
    assert_ok(dl_preprocess(a, bw, SW, SH));
    assert_ok(dl_preprocess(b, wb, SW, SH));
    assert_true(max_abs_diff(a, b, 784) < 2e-3);
    meas m = measure(a);
    assert_true(fabs(m.cx - 14.0) <= 0.5 + 1e-9 && fabs(m.cy - 14.0) <= 0.5 + 1e-9);
    assert_int_equal(m.x1 - m.x0, 20); /* a circle: 20 x 20 */
    assert_int_equal(m.y1 - m.y0, 20);
    assert_true(a[14 * 28 + 14] == 0.0f); /* the hole stays a hole */
    free(c0);
    free(wb);
    free(bw);
    free(cov);
}

static void test_grey_paper_grey_ink(void **state)
{
    (void)state;
    float *cov = seven();
    uint8_t *g = malloc(SW * SH);
    float ref[784], out[784];
    render(g, cov, SW * SH, 255, 0);
    assert_ok(dl_preprocess(ref, g, SW, SH));

    /* light-grey paper (200), dark-grey ink (60): paper -> 0, ink -> 1 */
    render(g, cov, SW * SH, 200, 60);
    assert_ok(dl_preprocess(out, g, SW, SH));
    assert_true(max_abs_diff(ref, out, 784) < 0.01);
    meas m = measure(out);
    assert_true(m.max > 0.9);

    /* the same with +-6 levels of paper grain and ink noise */
    uint64_t rng = 12345;
    for (int i = 0; i < SW * SH; i++) {
        int n = (int)(rand_u64(&rng) % 13) - 6;
        g[i] = (uint8_t)(g[i] + n);
    }
    assert_ok(dl_preprocess(out, g, SW, SH));
    m = measure(out);
    assert_true(fabs(m.cx - 14.0) <= 0.5 + 1e-9 && fabs(m.cy - 14.0) <= 0.5 + 1e-9);
    assert_in_range(m.y1 - m.y0, 19, 20);
    assert_true(max_abs_diff(ref, out, 784) < 0.1);

    /* one black speck of dust on a grey-ink stroke does not set the ink
     * scale (full ink is the level of the top 2% of ink pixels) */
    render(g, cov, SW * SH, 200, 60);
    for (int i = 0; i < SW * SH; i++)
        if (cov[i] == 1.0f) { g[i] = 0; break; }
    assert_ok(dl_preprocess(out, g, SW, SH));
    assert_true(max_abs_diff(ref, out, 784) < 0.01);

    /* mid-grey paper with lighter ink: the border says "dark ink", nothing
     * is darker than the paper, so the light side is the ink */
    render(g, cov, SW * SH, 140, 250);
    assert_ok(dl_preprocess(out, g, SW, SH));
    assert_true(max_abs_diff(ref, out, 784) < 0.02);
    free(g);
    free(cov);
}

/* Grey paper with both darker and lighter marks: the border decides. At
 * paper level >= 128 the ink is dark, below it the ink is light. */
static void test_border_decides_polarity(void **state)
{
    (void)state;
    enum { N = 120 };
    uint8_t g[N * N];
    float out[784];
    for (int paper = 100; paper <= 160; paper += 60) {
        memset(g, paper, sizeof g);
        for (int y = 20; y < 100; y++) memset(g + y * N + 20, 0, 10);   /* dark bar, 10x80 */
        for (int y = 40; y < 60; y++) memset(g + y * N + 60, 255, 40);  /* light block, 40x20 */
        assert_ok(dl_preprocess(out, g, N, N));
        meas m = measure(out);
        if (paper >= 128) { /* the bar: 80 tall -> 20, 10 wide -> 2.5 */
            assert_int_equal(m.y1 - m.y0, 20);
            assert_int_equal(m.x1 - m.x0, 3);
            assert_close(m.mass, 10 * 80 * 0.0625, 1e-4, 0);
        } else {            /* the block: 40 wide -> 20, 20 tall -> 10 */
            assert_int_equal(m.x1 - m.x0, 20);
            assert_int_equal(m.y1 - m.y0, 10);
            assert_close(m.mass, 200.0, 1e-4, 0);
        }
    }
}

/* ---- (d), (e) no ink, bad sizes, tiny images ------------------------------ */

static void assert_untouched(const float *out)
{
    for (int i = 0; i < 784; i++) assert_true(out[i] == -7.0f);
}

static void test_no_ink_and_bad_sizes_leave_out_untouched(void **state)
{
    (void)state;
    float out[784];
    uint8_t *g = malloc(64 * 48);
    const uint8_t levels[] = {255, 0, 128, 200};
    for (size_t k = 0; k < sizeof levels; k++) {
        memset(g, levels[k], 64 * 48);
        for (int i = 0; i < 784; i++) out[i] = -7.0f;
        assert_int_equal(dl_preprocess(out, g, 64, 48), DL_ERR_NO_INK);
        assert_untouched(out);
    }
    /* faint paper grain (+-8 levels) is not ink */
    uint64_t rng = 7;
    for (int i = 0; i < 64 * 48; i++) g[i] = (uint8_t)(240 + rand_u64(&rng) % 9);
    assert_int_equal(dl_preprocess(out, g, 64, 48), DL_ERR_NO_INK);
    assert_untouched(out);

    /* a faint smudge 20 levels below the paper is not ink either; at 40
     * levels it is (and is stretched to full ink) */
    memset(g, 230, 64 * 48);
    for (int y = 10; y < 30; y++) memset(g + y * 64 + 20, 210, 10);
    assert_int_equal(dl_preprocess(out, g, 64, 48), DL_ERR_NO_INK);
    assert_untouched(out);
    for (int y = 10; y < 30; y++) memset(g + y * 64 + 20, 190, 10);
    assert_ok(dl_preprocess(out, g, 64, 48));
    assert_close(measure(out).max, 1.0, 1e-6, 0);
    for (int i = 0; i < 784; i++) out[i] = -7.0f;

    assert_int_equal(dl_preprocess(out, g, 0, 48), DL_ERR_IMAGE_SIZE);
    assert_int_equal(dl_preprocess(out, g, 64, 0), DL_ERR_IMAGE_SIZE);
    assert_int_equal(dl_preprocess(out, g, -3, 48), DL_ERR_IMAGE_SIZE);
    assert_int_equal(dl_preprocess(out, g, DL_MAX_SIDE + 1, 1), DL_ERR_IMAGE_SIZE);
    assert_int_equal(dl_preprocess(out, g, 1, DL_MAX_SIDE + 1), DL_ERR_IMAGE_SIZE);
    assert_int_equal(dl_preprocess(NULL, g, 64, 48), DL_ERR_ARG);
    assert_int_equal(dl_preprocess(out, NULL, 64, 48), DL_ERR_ARG);
    assert_untouched(out);
    free(g);
}

static void test_tiny_images(void **state)
{
    (void)state;
    float out[784];
    for (int i = 0; i < 784; i++) out[i] = -7.0f;
    /* 1x1: the only pixel is the border, i.e. paper */
    uint8_t one[1] = {0};
    assert_int_equal(dl_preprocess(out, one, 1, 1), DL_ERR_NO_INK);
    one[0] = 255;
    assert_int_equal(dl_preprocess(out, one, 1, 1), DL_ERR_NO_INK);
    assert_untouched(out);

    /* 2x2 with one black pixel: a 1x1 ink box scaled up to a 20x20 block,
     * centred: rows and columns 4..23 */
    uint8_t four[4] = {255, 255, 0, 255};
    assert_ok(dl_preprocess(out, four, 2, 2));
    for (int i = 0; i < 28; i++)
        for (int j = 0; j < 28; j++) {
            int in = i >= 4 && i < 24 && j >= 4 && j < 24;
            assert_close(out[i * 28 + j], in ? 1.0 : 0.0, 1e-6, 0);
        }

    /* single rows and columns work too */
    uint8_t line[5] = {255, 255, 0, 255, 255};
    assert_ok(dl_preprocess(out, line, 5, 1));
    assert_close(measure(out).mass, 400.0, 1e-4, 0);
    assert_ok(dl_preprocess(out, line, 1, 5));
    assert_close(measure(out).mass, 400.0, 1e-4, 0);
}

/* ---- (f) area averaging, by the numbers ----------------------------------- */

static void test_area_average_solid_square(void **state)
{
    (void)state;
    /* 40x40 black square on 100x100 white: 2x2 source pixels per output
     * pixel, a 20x20 block of exact ones at rows/columns 4..23 */
    uint8_t *g = malloc(100 * 100);
    memset(g, 255, 100 * 100);
    for (int y = 25; y < 65; y++) memset(g + y * 100 + 30, 0, 40);
    float out[784];
    assert_ok(dl_preprocess(out, g, 100, 100));
    for (int i = 0; i < 28; i++)
        for (int j = 0; j < 28; j++) {
            int in = i >= 4 && i < 24 && j >= 4 && j < 24;
            assert_close(out[i * 28 + j], in ? 1.0 : 0.0, 1e-6, 0);
        }
    meas m = measure(out);
    assert_close(m.cx, 14.0, 1e-9, 0);
    assert_close(m.cy, 14.0, 1e-9, 0);
    free(g);
}

static void test_area_average_fractional_coverage(void **state)
{
    (void)state;
    float out[784];
    uint8_t g[64 * 64];

    /* columns ink 1, ink 128/255, ink 1, 30 rows high: the box is 3x30 ->
     * 2x20. Output column 0 covers source [0,1.5): (1*1 + 0.5*s_b)/1.5. */
    memset(g, 255, sizeof g);
    for (int y = 10; y < 40; y++) {
        g[y * 64 + 20] = 0;
        g[y * 64 + 21] = 127; /* 128 levels below the paper */
        g[y * 64 + 22] = 0;
    }
    assert_ok(dl_preprocess(out, g, 64, 64));
    const double v = (1.0 + 0.5 * (128.0 / 255.0)) / 1.5; /* 0.83399 */
    for (int i = 0; i < 28; i++)
        for (int j = 0; j < 28; j++) {
            int in = i >= 4 && i < 24 && (j == 13 || j == 14);
            assert_close(out[i * 28 + j], in ? v : 0.0, 1e-6, 0);
        }

    /* a 3x2 solid box scales up to 20 x 13.33: 13 full rows and one at
     * 1/3. Centre of mass row 6.675 -> shift round(7.325) = 7. */
    memset(g, 255, sizeof g);
    for (int y = 30; y < 32; y++) memset(g + y * 64 + 40, 0, 3);
    assert_ok(dl_preprocess(out, g, 64, 64));
    for (int i = 0; i < 28; i++)
        for (int j = 0; j < 28; j++) {
            double want = 0;
            if (j >= 4 && j < 24) want = i >= 7 && i < 20 ? 1.0 : i == 20 ? 1.0 / 3 : 0;
            assert_close(out[i * 28 + j], want, 1e-6, 0);
        }
    meas m = measure(out);
    assert_close(m.cy, 6.675 + 7, 1e-6, 0);
}

/* A lopsided figure whose centre of mass is near its left edge: centring
 * would push the box past the right edge of the field, so the shift is
 * clamped and no ink is lost (mass preserved exactly). */
static void test_shift_clamped_keeps_all_ink(void **state)
{
    (void)state;
    uint8_t *g = malloc(240 * 240);
    memset(g, 255, 240 * 240);
    for (int y = 20; y < 220; y++) memset(g + y * 240 + 20, 0, 40); /* 40x200 */
    for (int y = 119; y < 121; y++) memset(g + y * 240 + 60, 0, 160); /* bar */
    float out[784];
    assert_ok(dl_preprocess(out, g, 240, 240));
    meas m = measure(out);
    /* scale 0.1: mass 40*200*0.01 + 2*160*0.01 */
    assert_close(m.mass, 83.2, 1e-4, 0);
    assert_int_equal(m.x0, 8); /* clamped: 28 - 20 */
    assert_int_equal(m.x1, 28);
    assert_true(m.cx < 13.0);
    free(g);
}

/* ---- RGBA -> gray --------------------------------------------------------- */

static void test_rgba_to_gray(void **state)
{
    (void)state;
    const uint8_t rgba[] = {
        0, 0, 0, 0,         /* transparent canvas -> white paper */
        0, 0, 0, 255,       /* black stroke */
        0, 0, 0, 128,       /* half-covered edge: 255 * 127/255 */
        255, 0, 0, 255,     /* .299 * 255 = 76.245 */
        0, 255, 0, 255,     /* .587 * 255 = 149.685 */
        0, 0, 255, 255,     /* .114 * 255 = 29.07 */
        255, 255, 255, 255,
        255, 0, 0, 128,     /* (128 * 76.245 + 127 * 255) / 255 = 165.28 */
        10, 20, 30, 255,    /* 2.99 + 11.74 + 3.42 = 18.15 */
    };
    const uint8_t want[] = {255, 0, 127, 76, 150, 29, 255, 165, 18};
    uint8_t got[9];
    dl_rgba_to_gray(got, rgba, 9);
    assert_memory_equal(got, want, 9);
}

/* ---- PNG ------------------------------------------------------------------ */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/dl_test_png_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (!d) return -1;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            if (rmdir(p) != 0) unlink(p);
        }
    closedir(d);
    return rmdir(tmpdir);
}

static const char *tpath(const char *name)
{
    static char p[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static int count_entries(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void write_bytes(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* Any PNG through libpng directly: packed rows, optional palette/tRNS. */
static void write_png_raw(const char *path, int w, int h, int depth, int color,
                          int interlace, const uint8_t *data,
                          const png_color *plte, int n_plte,
                          const uint8_t *trns, int n_trns)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) fail_msg("libpng failed writing %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, color, interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (plte) png_set_PLTE(png, info, plte, n_plte);
    if (trns) png_set_tRNS(png, info, trns, n_trns, NULL);
    png_write_info(png, info);
    size_t rb = png_get_rowbytes(png, info);
    png_bytep *rows = malloc(h * sizeof *rows);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)data + y * rb;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    fclose(f);
}

static void assert_reads_as(const char *path, int w, int h, const uint8_t *want)
{
    uint8_t *g = NULL;
    int gw = 0, gh = 0;
    assert_ok(png_read_gray(path, &g, &gw, &gh));
    assert_int_equal(gw, w);
    assert_int_equal(gh, h);
    assert_memory_equal(g, want, (size_t)w * h);
    free(g);
}

static void test_png_gray_roundtrip_exact(void **state)
{
    (void)state;
    enum { W = 37, H = 23 };
    uint8_t img[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) img[y * W + x] = (uint8_t)(x * 7 + y * 13);
    int before = count_entries();
    assert_ok(png_write_gray(tpath("g.png"), img, W, H));
    assert_int_equal(count_entries(), before + 1); /* no temporary left */
    assert_reads_as(tpath("g.png"), W, H, img);

    /* overwrite in place */
    for (int i = 0; i < W * H; i++) img[i] = (uint8_t)(255 - img[i]);
    assert_ok(png_write_gray(tpath("g.png"), img, W, H));
    assert_int_equal(count_entries(), before + 1);
    assert_reads_as(tpath("g.png"), W, H, img);

    /* RGB: written 8-bit RGB, read back as Rec.601 luminance */
    const uint8_t rgb[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
    const uint8_t lum[] = {76, 150, 29, 18};
    assert_ok(png_write_rgb(tpath("rgb.png"), rgb, 2, 2));
    assert_reads_as(tpath("rgb.png"), 2, 2, lum);
    uint8_t sig[8];
    size_t n;
    uint8_t *b = slurp(tpath("rgb.png"), &n);
    memcpy(sig, b, 8);
    assert_int_equal(png_sig_cmp(sig, 0, 8), 0);
    assert_int_equal(b[24], 8); /* bit depth */
    assert_int_equal(b[25], PNG_COLOR_TYPE_RGB);
    free(b);
}

static void test_png_write_errors(void **state)
{
    (void)state;
    uint8_t px[4] = {1, 2, 3, 4};
    int before = count_entries();
    assert_int_equal(png_write_gray(tpath("nodir/x.png"), px, 2, 2), DL_ERR_NOT_FOUND);
    mkdir(tpath("adir"), 0755);
    assert_int_equal(png_write_gray(tpath("adir"), px, 2, 2), DL_ERR_IS_DIR);
    assert_int_equal(png_write_gray(tpath("z.png"), px, 0, 2), DL_ERR_IMAGE_SIZE);
    assert_int_equal(png_write_rgb(tpath("z.png"), px, 1, DL_MAX_SIDE + 1),
                     DL_ERR_IMAGE_SIZE);
    assert_int_equal(png_write_gray(tpath("z.png"), NULL, 2, 2), DL_ERR_ARG);
    assert_int_equal(png_write_gray(NULL, px, 2, 2), DL_ERR_ARG);
    assert_int_equal(count_entries(), before + 1); /* only adir: temporaries removed */
    rmdir(tpath("adir"));
}

static void test_png_all_formats(void **state)
{
    (void)state;
    /* RGBA 8-bit: alpha over white */
    const uint8_t rgba[] = {0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 128, 255, 0, 0, 128};
    const uint8_t rgba_g[] = {255, 0, 127, 165};
    write_png_raw(tpath("rgba.png"), 2, 2, 8, PNG_COLOR_TYPE_RGBA,
                  PNG_INTERLACE_NONE, rgba, NULL, 0, NULL, 0);
    assert_reads_as(tpath("rgba.png"), 2, 2, rgba_g);

    /* gray + alpha: 100 at alpha 51 -> (51*100 + 204*255)/255 = 224 */
    const uint8_t ga[] = {0, 0, 0, 255, 100, 51};
    const uint8_t ga_g[] = {255, 0, 224};
    write_png_raw(tpath("ga.png"), 3, 1, 8, PNG_COLOR_TYPE_GRAY_ALPHA,
                  PNG_INTERLACE_NONE, ga, NULL, 0, NULL, 0);
    assert_reads_as(tpath("ga.png"), 3, 1, ga_g);

    /* 16-bit gray, big-endian: 0, 65535, 25700 (= 100 * 257), and 511,
     * which rounds to 2 (511 * 255 / 65535 = 1.99; dropping the low byte
     * would give 1) */
    const uint8_t g16[] = {0, 0, 255, 255, 0x64, 0x64, 0x01, 0xFF};
    const uint8_t g16_g[] = {0, 255, 100, 2};
    write_png_raw(tpath("g16.png"), 4, 1, 16, PNG_COLOR_TYPE_GRAY,
                  PNG_INTERLACE_NONE, g16, NULL, 0, NULL, 0);
    assert_reads_as(tpath("g16.png"), 4, 1, g16_g);

    /* 16-bit RGBA: opaque white, transparent, half-transparent black */
    const uint8_t rgba16[] = {255, 255, 255, 255, 255, 255, 255, 255,
                              0, 0, 0, 0, 0, 0, 0, 0,
                              0, 0, 0, 0, 0, 0, 0x80, 0x80};
    const uint8_t rgba16_g[] = {255, 255, 127};
    write_png_raw(tpath("rgba16.png"), 3, 1, 16, PNG_COLOR_TYPE_RGBA,
                  PNG_INTERLACE_NONE, rgba16, NULL, 0, NULL, 0);
    assert_reads_as(tpath("rgba16.png"), 3, 1, rgba16_g);

    /* 1-bit gray: 1011 0000 0 */
    const uint8_t g1[] = {0xB0, 0x00};
    const uint8_t g1_g[] = {255, 0, 255, 255, 0, 0, 0, 0, 0};
    write_png_raw(tpath("g1.png"), 9, 1, 1, PNG_COLOR_TYPE_GRAY,
                  PNG_INTERLACE_NONE, g1, NULL, 0, NULL, 0);
    assert_reads_as(tpath("g1.png"), 9, 1, g1_g);

    /* 2-bit gray: 0, 1, 2, 3 -> 0, 85, 170, 255 */
    const uint8_t g2[] = {0x1B};
    const uint8_t g2_g[] = {0, 85, 170, 255};
    write_png_raw(tpath("g2.png"), 4, 1, 2, PNG_COLOR_TYPE_GRAY,
                  PNG_INTERLACE_NONE, g2, NULL, 0, NULL, 0);
    assert_reads_as(tpath("g2.png"), 4, 1, g2_g);

    /* 4-bit palette with tRNS */
    const png_color plte[4] = {{0, 0, 0}, {0, 0, 0}, {255, 0, 0}, {0, 0, 255}};
    const uint8_t trns[4] = {0, 255, 255, 128};
    const uint8_t p4[] = {0x01, 0x23};
    /* blue at alpha 128: (128 * 29.07 + 127 * 255) / 255 = 141.59 -> 142 */
    const uint8_t p4_g[] = {255, 0, 76, 142};
    write_png_raw(tpath("p4.png"), 4, 1, 4, PNG_COLOR_TYPE_PALETTE,
                  PNG_INTERLACE_NONE, p4, plte, 4, trns, 4);
    assert_reads_as(tpath("p4.png"), 4, 1, p4_g);

    /* 8-bit palette without tRNS */
    const uint8_t p8[] = {3, 2, 1};
    const uint8_t p8_g[] = {29, 76, 0};
    write_png_raw(tpath("p8.png"), 3, 1, 8, PNG_COLOR_TYPE_PALETTE,
                  PNG_INTERLACE_NONE, p8, plte, 4, NULL, 0);
    assert_reads_as(tpath("p8.png"), 3, 1, p8_g);

    /* gray with a tRNS colour key: key 50 becomes transparent -> white */
    const uint8_t gk[] = {50, 49};
    const uint8_t gk_g[] = {255, 49};
    png_color_16 key = {0, 0, 0, 0, 50};
    {
        FILE *f = fopen(tpath("gk.png"), "wb");
        png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        png_infop info = png_create_info_struct(png);
        if (setjmp(png_jmpbuf(png))) fail();
        png_init_io(png, f);
        png_set_IHDR(png, info, 2, 1, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_set_tRNS(png, info, NULL, 0, &key);
        png_write_info(png, info);
        png_write_row(png, gk);
        png_write_end(png, NULL);
        png_destroy_write_struct(&png, &info);
        fclose(f);
    }
    assert_reads_as(tpath("gk.png"), 2, 1, gk_g);
}

/* Adam7: every pass, including empty ones for tiny images, lands where it
 * belongs; the reference is dl_rgba_to_gray on the same pixels. */
static void test_png_interlaced(void **state)
{
    (void)state;
    const int sizes[][2] = {{13, 11}, {1, 1}, {3, 2}, {9, 17}, {64, 5}};
    uint64_t rng = 99;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        uint8_t *rgba = malloc((size_t)w * h * 4), *want = malloc((size_t)w * h);
        for (int i = 0; i < w * h * 4; i++) rgba[i] = (uint8_t)rand_u64(&rng);
        dl_rgba_to_gray(want, rgba, (size_t)w * h);
        write_png_raw(tpath("adam7.png"), w, h, 8, PNG_COLOR_TYPE_RGBA,
                      PNG_INTERLACE_ADAM7, rgba, NULL, 0, NULL, 0);
        assert_reads_as(tpath("adam7.png"), w, h, want);
        /* interlaced 8-bit gray too */
        write_png_raw(tpath("adam7g.png"), w, h, 8, PNG_COLOR_TYPE_GRAY,
                      PNG_INTERLACE_ADAM7, want, NULL, 0, NULL, 0);
        assert_reads_as(tpath("adam7g.png"), w, h, want);
        free(want);
        free(rgba);
    }
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);  p[3] = (uint8_t)v;
}

/* Signature, IHDR (w x h, 8-bit gray) with a correct CRC, an IDAT holding
 * the zlib stream of a 3x2 black image (one stored block: 2 rows of a
 * filter byte and 3 zero pixels; Adler-32 of 8 zeros is 0x00080001), IEND.
 * With w x h = 3 x 2 it is a valid PNG. */
static size_t craft_png(uint8_t *b, uint32_t w, uint32_t h)
{
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    static const uint8_t z[19] = {0x78, 0x01, 0x01, 0x08, 0x00, 0xF7, 0xFF,
                                  0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x08, 0x00, 0x01};
    memcpy(b, sig, 8);
    put32(b + 8, 13);
    memcpy(b + 12, "IHDR", 4);
    put32(b + 16, w);
    put32(b + 20, h);
    b[24] = 8; b[25] = 0; b[26] = 0; b[27] = 0; b[28] = 0;
    put32(b + 29, crc32_png(b + 12, 17));
    put32(b + 33, sizeof z);
    memcpy(b + 37, "IDAT", 4);
    memcpy(b + 41, z, sizeof z);
    put32(b + 60, crc32_png(b + 37, 4 + sizeof z));
    put32(b + 64, 0);
    memcpy(b + 68, "IEND", 4);
    put32(b + 72, crc32_png(b + 68, 4));
    return 76;
}

static void assert_read_fails(const char *path, int want)
{
    uint8_t *g = (uint8_t *)1;
    int w = -1, h = -1;
    int st = png_read_gray(path, &g, &w, &h);
    if (st != want)
        fail_msg("%s: got '%s', want '%s'", path, dl_strerror(st), dl_strerror(want));
    assert_null(g);
}

static void test_png_read_errors(void **state)
{
    (void)state;
    uint8_t b[96];
    /* the crafted file is right: at 3x2 it reads as a black image */
    size_t n = craft_png(b, 3, 2);
    write_bytes(tpath("c32.png"), b, n);
    const uint8_t black[6] = {0};
    assert_reads_as(tpath("c32.png"), 3, 2, black);
    uint8_t *g = NULL;
    int w, h;

    /* only the size differs: rejected from the IHDR, before any pixel
     * memory (20000 x 20000 RGBA would be 1.6 GB) */
    craft_png(b, 20000, 20000);
    write_bytes(tpath("huge.png"), b, n);
    assert_read_fails(tpath("huge.png"), DL_ERR_IMAGE_SIZE);
    craft_png(b, DL_MAX_SIDE + 1, 1);
    write_bytes(tpath("wide.png"), b, n);
    assert_read_fails(tpath("wide.png"), DL_ERR_IMAGE_SIZE);
    craft_png(b, 0, 5);
    write_bytes(tpath("zero.png"), b, n);
    assert_read_fails(tpath("zero.png"), DL_ERR_IMAGE_SIZE);

    write_bytes(tpath("text.png"), (const uint8_t *)"hello, not a png\n", 17);
    assert_read_fails(tpath("text.png"), DL_ERR_NOT_PNG);
    write_bytes(tpath("short.png"), (const uint8_t *)"GIF", 3);
    assert_read_fails(tpath("short.png"), DL_ERR_NOT_PNG);
    write_bytes(tpath("sig3.png"), (const uint8_t *)"\x89PN", 3);
    assert_read_fails(tpath("sig3.png"), DL_ERR_TRUNCATED);
    write_bytes(tpath("empty.png"), NULL, 0);
    assert_read_fails(tpath("empty.png"), DL_ERR_EMPTY_FILE);
    assert_read_fails(tpath("missing.png"), DL_ERR_NOT_FOUND);
    assert_read_fails(tmpdir, DL_ERR_IS_DIR);
    assert_int_equal(png_read_gray(NULL, &g, &w, &h), DL_ERR_ARG);
    assert_int_equal(png_read_gray(tpath("c32.png"), NULL, &w, &h), DL_ERR_ARG);
}

/* Truncated and corrupted streams: an error code, no crash, and libpng says
 * nothing on stderr. */
static void test_png_truncated_and_corrupt(void **state)
{
    (void)state;
    enum { W = 64, H = 64 };
    uint8_t img[W * H];
    uint64_t rng = 5;
    for (int i = 0; i < W * H; i++) img[i] = (uint8_t)rand_u64(&rng); /* incompressible */
    assert_ok(png_write_gray(tpath("full.png"), img, W, H));
    size_t n;
    uint8_t *b = slurp(tpath("full.png"), &n);
    assert_true(n > W * H);

    fflush(stderr);
    int saved = dup(2);
    int errfd = open(tpath("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(errfd, 2);

    const size_t cuts[] = {8, 20, 33, 40, n / 2, n - 12, n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        write_bytes(tpath("cut.png"), b, cuts[k]);
        assert_read_fails(tpath("cut.png"), DL_ERR_TRUNCATED);
    }
    /* a flipped byte inside IDAT: CRC mismatch -> corrupt stream */
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    c[n / 2] ^= 0x5A;
    write_bytes(tpath("flip.png"), c, n);
    assert_read_fails(tpath("flip.png"), DL_ERR_IO);
    uint8_t tiny[16];
    memset(tiny, 33, sizeof tiny);
    assert_ok(png_write_gray(tpath("tiny.png"), tiny, 4, 4));
    size_t tn;
    uint8_t *t = slurp(tpath("tiny.png"), &tn);
    /* a bad CRC on an ancillary chunk (tEXt after IHDR) is only a warning:
     * the image still reads, silently */
    uint8_t *x = malloc(tn + 15);
    memcpy(x, t, 33);
    put32(x + 33, 3);
    memcpy(x + 37, "tEXta\0b", 7);
    put32(x + 44, 0xDEADBEEF);
    memcpy(x + 48, t + 33, tn - 33);
    write_bytes(tpath("text_crc.png"), x, tn + 15);
    assert_reads_as(tpath("text_crc.png"), 4, 4, tiny);
    free(x);
    /* a broken zlib stream with a valid CRC: the IDAT of the 4x4 image with
     * its data bytes replaced by garbage and the CRC recomputed */
    size_t off = 33; /* first chunk after IHDR */
    while (off + 8 <= tn && memcmp(t + off + 4, "IDAT", 4) != 0)
        off += 12 + ((size_t)t[off] << 24 | t[off + 1] << 16 | t[off + 2] << 8 | t[off + 3]);
    assert_true(off + 8 <= tn);
    uint32_t len = (uint32_t)t[off] << 24 | t[off + 1] << 16 | t[off + 2] << 8 | t[off + 3];
    for (uint32_t i = 0; i < len; i++) t[off + 8 + i] = (uint8_t)(0xA5 ^ i);
    put32(t + off + 8 + len, crc32_png(t + off + 4, 4 + len));
    write_bytes(tpath("zlib.png"), t, tn);
    assert_read_fails(tpath("zlib.png"), DL_ERR_IO);
    free(t);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(errfd);
    struct stat st;
    assert_int_equal(stat(tpath("stderr.txt"), &st), 0);
    assert_int_equal(st.st_size, 0);
    free(c);
    free(b);
}

/* ---- preprocess a PNG end to end ------------------------------------------ */

static void test_png_to_mnist(void **state)
{
    (void)state;
    float *cov = seven();
    uint8_t *g = malloc(SW * SH);
    render(g, cov, SW * SH, 255, 0);
    /* transparent canvas with black strokes, as the browser has it */
    uint8_t *rgba = malloc(SW * SH * 4);
    for (int i = 0; i < SW * SH; i++) {
        rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = 0;
        rgba[4 * i + 3] = (uint8_t)(255 - g[i]);
    }
    write_png_raw(tpath("canvas.png"), SW, SH, 8, PNG_COLOR_TYPE_RGBA,
                  PNG_INTERLACE_NONE, rgba, NULL, 0, NULL, 0);
    uint8_t *back = NULL;
    int w, h;
    assert_ok(png_read_gray(tpath("canvas.png"), &back, &w, &h));
    assert_memory_equal(back, g, SW * SH); /* over white: the gray drawing */
    float a[784], b[784];
    assert_ok(dl_preprocess(a, g, SW, SH));
    assert_ok(dl_preprocess(b, back, w, h));
    assert_true(max_abs_diff(a, b, 784) == 0.0);
    free(back);
    free(rgba);
    free(g);
    free(cov);
}

int main(void)
{
    const struct CMUnitTest pre[] = {
        cmocka_unit_test(test_offcentre_seven_is_centred_and_fits_20x20),
        cmocka_unit_test(test_max_side_image_same_as_small),
        cmocka_unit_test(test_both_polarities_agree),
        cmocka_unit_test(test_grey_paper_grey_ink),
        cmocka_unit_test(test_border_decides_polarity),
        cmocka_unit_test(test_no_ink_and_bad_sizes_leave_out_untouched),
        cmocka_unit_test(test_tiny_images),
        cmocka_unit_test(test_area_average_solid_square),
        cmocka_unit_test(test_area_average_fractional_coverage),
        cmocka_unit_test(test_shift_clamped_keeps_all_ink),
        cmocka_unit_test(test_rgba_to_gray),
    };
    const struct CMUnitTest png[] = {
        cmocka_unit_test(test_png_gray_roundtrip_exact),
        cmocka_unit_test(test_png_write_errors),
        cmocka_unit_test(test_png_all_formats),
        cmocka_unit_test(test_png_interlaced),
        cmocka_unit_test(test_png_read_errors),
        cmocka_unit_test(test_png_truncated_and_corrupt),
        cmocka_unit_test(test_png_to_mnist),
    };
    int fails = cmocka_run_group_tests_name("preprocess", pre, NULL, NULL);
    fails += cmocka_run_group_tests_name("png", png, make_tmpdir, remove_tmpdir);
    return fails;
}
