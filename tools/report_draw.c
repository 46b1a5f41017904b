/* report_draw.c — the PNG figures of `digitlens report`: digits with their
 * maps (the input dimmed to half, the map placed by its grid, scaled to its
 * own maximum and blended in with opacity 0.8 t, as explain --out does),
 * the confusion matrix and line charts, drawn into RGB canvases with a 3x5
 * digit font. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "png.h"
#include "report.h"

/* series colours: matplotlib's tab20, enough for 13 lines */
const uint8_t report_palette[NM][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
    {140, 86, 75}, {227, 119, 194}, {23, 190, 207}, {188, 189, 34}, {174, 199, 232},
    {255, 152, 150}, {127, 127, 127}, {0, 0, 0},
};

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

/* the one-pixel frame around a tile at (x0, y0), S x S */
static void frame(canvas *c, int x0, int y0, int S, const uint8_t *col)
{
    fill_rect(c, x0 - 1, y0 - 1, S + 2, 1, col);
    fill_rect(c, x0 - 1, y0 + S, S + 2, 1, col);
    fill_rect(c, x0 - 1, y0, 1, S, col);
    fill_rect(c, x0 + S, y0, 1, S, col);
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

static const uint8_t wrong_col[3] = {235, 0, 0};

/* ---- figures ------------------------------------------------------------ */

void fig_tiles(const char *dir, const char *file, const net *nt, const image_set *s,
               const set_result *r, const int *idx, int rows, int cols)
{
    canvas cv = canvas_new(cols * (TILE + 2), rows * (TILE + 2), 255);
    dl_work w;
    dl_cam *cam = malloc(sizeof *cam);
    if (!cam || dl_work_alloc(&w, &nt->m, 1) != DL_OK) cli_fail("report", DL_ERR_NOMEM);
    float heat[TILE * TILE];
    for (int q = 0; q < rows * cols; q++) {
        const int i = idx[q], x0 = q % cols * (TILE + 2) + 1, y0 = q / cols * (TILE + 2) + 1;
        if (i < 0) continue;
        const float *x = s->x + (size_t)i * DL_IN_SIZE;
        if (dl_gradcam(&nt->m, &w, x, DL_ALL_CLASSES, cam) != DL_OK) cli_fail("report", DL_ERR_ARG);
        heat_of(heat, TILE, dl_cam_map(cam, cam->digit), &cam->grid);
        overlay(&cv, x0, y0, TILE, x, heat);
        if (r->pred[i] != s->label[i]) frame(&cv, x0, y0, TILE, wrong_col);
    }
    save(dir, file, &cv);
    free(cam);
    dl_work_free(&w);
}

void fig_confusion(const char *dir, const char *file, const int conf[10][10])
{
    /* cells coloured by the share of the true class */
    const uint8_t white[3] = {255, 255, 255}, dark[3] = {40, 40, 40};
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
    save(dir, file, &cv);
}

void fig_mean(const char *dir, const char *file, const net *nt)
{
    /* top: the mean digit of each class over its correct predictions;
     * bottom: the mean Grad-CAM map of that class over them */
    canvas mv = canvas_new(10 * (TILE + 2), 2 * (TILE + 2), 255);
    float heat[TILE * TILE];
    for (int c = 0; c < 10; c++) {
        const int n = nt->mean_n[c] ? nt->mean_n[c] : 1;
        float mx[DL_IN_SIZE], mm[DL_MAX_MAP_SIZE], top = 0;
        for (int p = 0; p < DL_IN_SIZE; p++) { mx[p] = nt->meanx[c][p] / n; top = fmaxf(top, mx[p]); }
        for (int p = 0; p < DL_IN_SIZE; p++) mx[p] /= top > 0 ? top : 1;
        for (int p = 0; p < nt->m.map_size; p++) mm[p] = nt->meanmap[c][p] / n;
        overlay(&mv, c * (TILE + 2) + 1, 1, TILE, mx, NULL);
        heat_of(heat, TILE, mm, &nt->m.grid);
        overlay(&mv, c * (TILE + 2) + 1, TILE + 3, TILE, mx, heat);
    }
    save(dir, file, &mv);
}

void fig_errors(const char *dir, const char *file, const net *nt, const image_set *s)
{
    /* top: the input; middle: Grad-CAM of the predicted class; bottom: of the true one */
    canvas cv = canvas_new(N_ERRORS * (TILE + 2) + 1, 3 * (TILE + 2), 255);
    dl_work w;
    dl_cam *cam = malloc(sizeof *cam);
    if (!cam || dl_work_alloc(&w, &nt->m, 1) != DL_OK) cli_fail("report", DL_ERR_NOMEM);
    float heat[TILE * TILE];
    for (int k = 0; k < nt->n_err; k++) {
        const int i = nt->err[k];
        const float *x = s->x + (size_t)i * DL_IN_SIZE;
        dl_gradcam(&nt->m, &w, x, DL_ALL_CLASSES, cam);
        overlay(&cv, k * (TILE + 2) + 1, 1, TILE, x, NULL);
        heat_of(heat, TILE, dl_cam_map(cam, nt->mnist.pred[i]), &cam->grid);
        overlay(&cv, k * (TILE + 2) + 1, TILE + 3, TILE, x, heat);
        heat_of(heat, TILE, dl_cam_map(cam, s->label[i]), &cam->grid);
        overlay(&cv, k * (TILE + 2) + 1, 2 * (TILE + 2) + 1, TILE, x, heat);
    }
    save(dir, file, &cv);
    free(cam);
    dl_work_free(&w);
}

void fig_methods(const char *dir, const char *file, const net *nt, const image_set *s,
                 const int idx[10])
{
    /* a row per digit: the input, then each method's map of the predicted class */
    canvas mv = canvas_new((DL_M_COUNT + 1) * (TILE + 2), 10 * (TILE + 2), 255);
    dl_work w;
    dl_cam *cam = malloc(sizeof *cam);
    if (!cam || dl_work_alloc(&w, &nt->m, 1) != DL_OK) cli_fail("report", DL_ERR_NOMEM);
    float heat[TILE * TILE];
    for (int c = 0; c < 10; c++) {
        if (idx[c] < 0) continue;
        const float *x = s->x + (size_t)idx[c] * DL_IN_SIZE;
        overlay(&mv, 1, c * (TILE + 2) + 1, TILE, x, NULL);
        for (int mm = 0; mm < DL_M_COUNT; mm++) {
            if (dl_cam_method(&nt->m, &w, x, mm, DL_ALL_CLASSES, cam) != DL_OK) cli_fail("report", DL_ERR_ARG);
            heat_of(heat, TILE, dl_cam_map(cam, cam->digit), &cam->grid);
            overlay(&mv, (mm + 1) * (TILE + 2) + 1, c * (TILE + 2) + 1, TILE, x, heat);
        }
    }
    save(dir, file, &mv);
    free(cam);
    dl_work_free(&w);
}

void fig_chart(const char *dir, const char *file, const double *ys, int n, int np,
               double ylo, double yhi)
{
    /* a frame, grid lines at y = ylo + k (yhi-ylo)/4, x labels when np > 3 */
    const int W = 496, H = 320, L = 40, R = 26, T = 10, B = 30;
    canvas c = canvas_new(W, H, 255);
    const uint8_t grid[3] = {225, 225, 225}, ink[3] = {60, 60, 60};
    for (int k = 0; k <= 4; k++) {
        double y = T + (H - T - B) * (1.0 - k / 4.0);
        line(&c, L, y, W - R, y, grid);
        char lab[16];
        snprintf(lab, sizeof lab, "%.2f", ylo + k * (yhi - ylo) / 4);
        text(&c, 2, (int)y - 5, lab, 2, ink);
    }
    for (int k = 0; k <= 4 && np > 3; k++) {
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
            line(&c, xa, ya, xb, yb, report_palette[s]);
        }
    save(dir, file, &c);
}
