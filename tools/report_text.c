/* report_text.c — what `digitlens report` writes as text: metrics.json
 * (every number), index.html and results.css (the figures and tables, the
 * networks side by side; no inline script or style, for the page's
 * Content-Security-Policy) and README's results part, whose sentences are
 * filled in from the numbers of the run. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

void sb(sbuf *b, const char *fmt, ...)
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

void sb_write(const char *dir, const char *name, const sbuf *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int st = dl_write_file_atomic(path, (const uint8_t *)b->s, b->n);
    if (st != DL_OK) cli_fail(path, st);
}

/* ---- small formatters: each returns one of a ring of static buffers ---- */

static char *ring(void)
{
    static char bufs[32][256];
    static int next;
    return bufs[next++ % 32];
}

/* 1234 -> "1,234" */
const char *report_th(long v)
{
    char t[32], *out = ring();
    snprintf(t, sizeof t, "%ld", v < 0 ? -v : v);
    int n = (int)strlen(t), o = 0;
    if (v < 0) out[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) out[o++] = ',';
        out[o++] = t[i];
    }
    out[o] = '\0';
    return out;
}

#define th report_th

static const char *pct(int k, int n)
{
    char *o = ring();
    snprintf(o, 256, "%.2f %%", n ? 100.0 * k / n : 0.0);
    return o;
}

/* "2 min 5 s", "48 s" */
static const char *duration(double s)
{
    char *o = ring();
    int t = (int)lround(s);
    if (t >= 60) snprintf(o, 256, "%d min %d s", t / 60, t % 60);
    else snprintf(o, 256, "%d s", t);
    return o;
}

/* the layers: "conv1 16x5x5, relu1, pool1 2x2, ..., fc 800->10" */
static const char *layers_of(const net *nt)
{
    char *o = ring();
    size_t k = 0;
    for (int i = 0; i < nt->m.n_layers && k < 250; i++) {
        const dl_layer *L = &nt->m.layers[i];
        const char *sep = i ? ", " : "";
        switch (L->spec.kind) {
        case DL_CONV:
            k += (size_t)snprintf(o + k, 256 - k, "%s%s %dx%dx%d", sep, L->spec.name, L->spec.size, L->spec.k, L->spec.k);
            break;
        case DL_MAXPOOL:
            k += (size_t)snprintf(o + k, 256 - k, "%s%s %dx%d", sep, L->spec.name, L->spec.size, L->spec.size);
            break;
        case DL_DENSE:
            k += (size_t)snprintf(o + k, 256 - k, "%s%s %zu->%zu", sep, L->spec.name, L->in_size, L->out_size);
            break;
        default:
            k += (size_t)snprintf(o + k, 256 - k, "%s%s", sep, L->spec.name);
        }
    }
    return o;
}

static const char *cam_layer_name(const net *nt) { return nt->m.layers[nt->m.cam_layer].spec.name; }

/* where cell q lies: "q + 2", "2q + 4.5" */
static const char *cell_at(const net *nt)
{
    char *o = ring(), s[32] = "", f[32];
    const dl_grid *g = &nt->m.grid;
    if (g->stride != 1) snprintf(s, sizeof s, "%g", g->stride);
    snprintf(f, sizeof f, "%g", g->off);
    snprintf(o, 256, "%sq + %s", s, f);
    return o;
}

static const char *cascade_of(const net *nt)
{
    char *o = ring();
    size_t k = 0;
    for (int q = 0; q < nt->n_casc && k < 250; q++)
        k += (size_t)snprintf(o + k, 256 - k, "%s%s", q ? (q == nt->n_casc - 1 ? " and then " : ", ") : "",
                              nt->m.layers[nt->casc[q]].spec.name);
    return o;
}

/* max-pools before A */
static int pools_to_a(const net *nt)
{
    int n = 0;
    for (int i = 0; i < nt->m.cam_layer; i++) n += nt->m.layers[i].spec.kind == DL_MAXPOOL;
    return n;
}

/* How far the usual stretch (side cells over 28 pixels: cell q at
 * (q + 0.5) 28/side - 0.5) puts the end cells from where they belong */
static double stretch_shift(const net *nt)
{
    const dl_grid *g = &nt->m.grid;
    double a = fabs((0.5 * 28 / g->side - 0.5) - g->off);
    double b = fabs(((g->side - 0.5) * 28 / g->side - 0.5) - (g->off + g->stride * (g->side - 1)));
    return a > b ? a : b;
}

/* the share of the 28x28 pixels that a map on A's grid never reaches */
static double placed_zero_share(const net *nt)
{
    float ones[DL_MAX_MAP_SIZE], placed[DL_IN_SIZE];
    for (int i = 0; i < nt->m.map_size; i++) ones[i] = 1;
    dl_cam_place(placed, DL_IN_H, DL_IN_W, ones, &nt->m.grid);
    int z = 0;
    for (int i = 0; i < DL_IN_SIZE; i++) z += placed[i] == 0;
    return (double)z / DL_IN_SIZE;
}

/* methods that pass on the maps placed at 28x28 */
static int n_pass_placed(const net *nt)
{
    int k = 0;
    for (int mm = 0; mm < DL_M_COUNT; mm++) {
        int ok = 1;
        for (int q = 0; q < nt->n_casc; q++) ok &= nt->S->rho_placed[mm][q] < 0.5;
        k += ok;
    }
    return k;
}

static int empty_total(const set_result *r)
{
    int e = 0;
    for (int c = 0; c < 10; c++) e += r->empty_own[c];
    return e;
}

static int worst_empty(const set_result *r)
{
    int w = 0;
    for (int c = 1; c < 10; c++)
        if ((double)r->empty_own[c] * (r->pred_n[w] ? r->pred_n[w] : 1) >
            (double)r->empty_own[w] * (r->pred_n[c] ? r->pred_n[c] : 1))
            w = c;
    return w;
}

static double class_acc(const set_result *r, int c)
{
    int tot = 0;
    for (int p = 0; p < 10; p++) tot += r->conf[c][p];
    return tot ? (double)r->conf[c][c] / tot : 0;
}

/* the most frequent confusion: *t read as *p, *n times */
static void top_confusion(const set_result *r, int *t, int *p, int *n)
{
    *t = *p = -1;
    *n = 0;
    for (int a = 0; a < 10; a++)
        for (int b = 0; b < 10; b++)
            if (a != b && r->conf[a][b] > *n) { *n = r->conf[a][b]; *t = a; *p = b; }
}

static int n_pass(const stats *S)
{
    int k = 0;
    for (int mm = 0; mm < DL_M_COUNT; mm++) k += S->pass[mm];
    return k;
}

/* ---- metrics.json --------------------------------------------------------- */

static void json_set(sbuf *j, const image_set *s, const set_result *r)
{
    sb(j, "{\"images\":%d,\"correct\":%d,\"accuracy\":%.6f,\"per_class\":[", s->n, r->correct, (double)r->correct / s->n);
    for (int c = 0; c < 10; c++) sb(j, "%s%.6f", c ? "," : "", class_acc(r, c));
    sb(j, "],\"confusion\":[");
    for (int t = 0; t < 10; t++) {
        sb(j, "%s[", t ? "," : "");
        for (int p = 0; p < 10; p++) sb(j, "%s%d", p ? "," : "", r->conf[t][p]);
        sb(j, "]");
    }
    sb(j, "],\"gradcam_empty_own_class\":[");
    for (int c = 0; c < 10; c++) sb(j, "%s{\"predicted\":%d,\"empty\":%d}", c ? "," : "", r->pred_n[c], r->empty_own[c]);
    sb(j, "],\"gradcam_empty\":%d", empty_total(r));
    if (s->n_styles) {
        sb(j, ",\"styles\":{");
        for (int k = 0; k < s->n_styles; k++)
            sb(j, "%s\"%s\":{\"correct\":%d,\"total\":%d,\"accuracy\":%.6f}", k ? "," : "", s->styles[k], r->style_ok[k],
               r->style_n[k], r->style_n[k] ? (double)r->style_ok[k] / r->style_n[k] : 0);
        sb(j, "}");
    }
    if (r->faith) {
        const int ms[3] = {DL_M_GRADCAM, M_RANDOM, M_INK};
        sb(j, ",\"faith_images\":%d,\"faith\":{", r->faith->n);
        for (int q = 0; q < 3; q++)
            sb(j, "%s\"%s\":{\"deletion_auc\":%.9g,\"insertion_auc\":%.9g,\"average_drop\":%.9g,\"increase\":%.9g,"
                  "\"empty_maps\":%d}", q ? "," : "", report_method_name(ms[q]), r->faith->del_auc[ms[q]],
               r->faith->ins_auc[ms[q]], r->faith->drop[ms[q]], r->faith->incr[ms[q]], r->faith->empty[ms[q]]);
        sb(j, "}");
    }
    sb(j, "}");
}

void write_metrics(const report *R)
{
    sbuf j = {0};
    const net *n0 = &R->nets[0];
    sb(&j, "{\"test_images\":%d,\"faith_images\":%d,\"sanity_images\":%d,\"steps\":%d,\"seconds\":%.1f,",
       R->mnist.n, n0->S->n, n0->S->n_sanity, STEPS, R->seconds);
    sb(&j, "\"drawn_sets\":{");
    for (int s = 0; s < R->n_drawn; s++) {
        sb(&j, "%s\"%s\":{\"images\":%d,\"styles\":[", s ? "," : "", R->drawn[s].key, R->drawn[s].n);
        for (int k = 0; k < R->drawn[s].n_styles; k++) sb(&j, "%s\"%s\"", k ? "," : "", R->drawn[s].styles[k]);
        sb(&j, "]}");
    }
    sb(&j, "},\"gallery\":[");
    for (int q = 0; q < 100; q++) sb(&j, "%s%d", q ? "," : "", R->gallery[q]);
    sb(&j, "],\"drawn_tiles\":{");
    for (int s = 0; s < R->n_drawn; s++) {
        sb(&j, "%s\"%s\":[", s ? "," : "", R->drawn[s].key);
        for (int q = 0; q < R->drawn_rows[s] * 10; q++) sb(&j, "%s%d", q ? "," : "", R->drawn_tiles[s][q]);
        sb(&j, "]");
    }
    sb(&j, "},\"networks\":[");
    for (int k = 0; k < R->n_nets; k++) {
        const net *nt = &R->nets[k];
        const stats *S = nt->S;
        const dl_grid *g = &nt->m.grid;
        sb(&j, "%s{\"id\":\"%s\",\"name\":\"%s\",\"weights\":", k ? "," : "", nt->id, nt->name);
        /* the path as given: escape what JSON needs */
        sb(&j, "\"");
        for (const char *p = nt->path; *p; p++) {
            if (*p == '"' || *p == '\\') sb(&j, "\\%c", *p);
            else if ((unsigned char)*p < 0x20) sb(&j, "\\u%04x", *p);
            else sb(&j, "%c", *p);
        }
        sb(&j, "\",\"layers\":\"%s\",\"parameters\":%zu,\"macs\":%ld,\"cam_layer\":\"%s\",\"cam_channels\":%d,"
               "\"grid\":{\"side\":%d,\"off\":%g,\"stride\":%g},\"receptive_field\":%d,\"alpha_fixed\":%s,"
               "\"seconds\":%.1f,\"cascade\":[",
           layers_of(nt), nt->m.n_params, nt->macs, cam_layer_name(nt), nt->m.cam_k, g->side, g->off, g->stride,
           nt->rf, nt->closed_form ? "true" : "false", nt->seconds);
        for (int q = 0; q < nt->n_casc; q++) sb(&j, "%s\"%s\"", q ? "," : "", nt->m.layers[nt->casc[q]].spec.name);
        sb(&j, "],\"mnist\":");
        json_set(&j, &R->mnist, &nt->mnist);
        sb(&j, ",\"errors\":[");
        for (int e = 0; e < nt->n_err; e++) {
            const int i = nt->err[e];
            sb(&j, "%s{\"index\":%d,\"label\":%d,\"predicted\":%d,\"probability\":%.4f}", e ? "," : "", i,
               R->mnist.label[i], nt->mnist.pred[i], nt->mnist.prob[(size_t)i * 10 + nt->mnist.pred[i]]);
        }
        goal gl[N_GOALS];
        goals_of(nt, &R->mnist, gl);
        sb(&j, "],\"goals\":[");
        for (int q = 0; q < N_GOALS; q++)
            sb(&j, "%s{\"goal\":\"%s\",\"value\":%.6f,\"target\":%g,\"met\":%s,\"text\":\"%s\",\"need\":\"%s\"}",
               q ? "," : "", gl[q].what, gl[q].v, gl[q].target, gl[q].met ? "true" : "false", gl[q].value, gl[q].need);
        sb(&j, "],\"methods\":{");
        for (int mm = 0; mm < NM; mm++) {
            sb(&j, "%s\"%s\":{\"deletion_auc\":%.9g,\"insertion_auc\":%.9g,\"average_drop\":%.9g,"
                   "\"increase\":%.9g,\"empty_maps\":%d,\"undefined_maps\":%d,\"spearman_dense\":%.9g,"
                   "\"spearman_all\":%.9g,\"spearman_cascade\":[",
               mm ? "," : "", report_method_name(mm), S->del_auc[mm], S->ins_auc[mm], S->drop[mm], S->incr[mm],
               S->empty[mm], S->undef[mm], S->rho[mm][0], S->rho[mm][nt->n_casc - 1]);
            for (int q = 0; q < nt->n_casc; q++) sb(&j, "%s%.9g", q ? "," : "", S->rho[mm][q]);
            sb(&j, "],\"spearman_placed_cascade\":[");
            for (int q = 0; q < nt->n_casc; q++) sb(&j, "%s%.9g", q ? "," : "", S->rho_placed[mm][q]);
            sb(&j, "],\"sanity_pass\":%s,\"map_ms\":%.4f,\"deletion\":[", S->pass[mm] ? "true" : "false",
               1e3 * S->map_s[mm] / (S->n ? S->n : 1));
            for (int s = 0; s <= STEPS; s++) sb(&j, "%s%.4f", s ? "," : "", S->del[mm][s]);
            sb(&j, "],\"insertion\":[");
            for (int s = 0; s <= STEPS; s++) sb(&j, "%s%.4f", s ? "," : "", S->ins[mm][s]);
            sb(&j, "]}");
        }
        sb(&j, "},\"drawn\":{");
        for (int s = 0; s < R->n_drawn; s++) {
            sb(&j, "%s\"%s\":", s ? "," : "", R->drawn[s].key);
            json_set(&j, &R->drawn[s], &nt->drawn[s]);
        }
        sb(&j, "}}");
    }
    sb(&j, "]}\n");
    sb_write(R->out, "metrics.json", &j);
    free(j.s);
}

/* ---- index.html ------------------------------------------------------------ */

/* <figure>s of one figure per network, side by side */
static void html_pair(sbuf *h, const report *R, const char *fig, const char *alt, const char *cls)
{
    sb(h, "<div class=\"%s\">\n", cls);
    for (int k = 0; k < R->n_nets; k++)
        sb(h, "<figure><figcaption>%s</figcaption><img src=\"%s-%s.png\" alt=\"%s, %s\"></figure>\n",
           R->nets[k].name, fig, R->nets[k].id, alt, R->nets[k].name);
    sb(h, "</div>\n");
}

static void html_net_head(sbuf *h, const report *R, const char *first)
{
    sb(h, "<tr><th>%s</th>", first);
    for (int k = 0; k < R->n_nets; k++) sb(h, "<th>%s</th>", R->nets[k].name);
    sb(h, "</tr>\n");
}

static void write_css(const report *R)
{
    sbuf css = {0};
    sb(&css, "body{font:15px/1.45 system-ui,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#1d2330}\n"
             "img{max-width:100%%;image-rendering:pixelated;border:1px solid #e4e7ec}\n"
             "table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:.6em 0}\n"
             "td,th{padding:3px 9px;border-bottom:1px solid #e4e7ec;text-align:right}\n"
             "td:first-child,th:first-child{text-align:left;white-space:nowrap}\n"
             ".text td,.text th{text-align:left}\n"
             "th.group{text-align:center;border-bottom:2px solid #c9ced6}\n"
             ".scroll{overflow-x:auto}\n"
             ".wide td,.wide th{padding:3px 6px;font-size:13px}\n"
             ".pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:18px;align-items:start}\n"
             ".stack figure{margin:0 0 14px}\n"
             "figure{margin:0}\n"
             "figcaption{font-weight:600;margin-bottom:4px}\n"
             ".legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px}\n"
             ".sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px}\n"
             ".pass,.met{color:#17803d}.fail,.missed{color:#b42318}\n");
    for (int mm = 0; mm < NM; mm++)
        sb(&css, ".c%d{background:#%02x%02x%02x}\n", mm, report_palette[mm][0], report_palette[mm][1],
           report_palette[mm][2]);
    sb_write(R->out, "results.css", &css);
    free(css.s);
}

void write_page(const report *R)
{
    write_css(R);
    const int N = R->mnist.n, nn = R->n_nets;
    const net *n0 = &R->nets[0];
    sbuf h = {0};
    sb(&h, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>digitlens results</title>\n<link rel=\"stylesheet\" href=\"results.css\">\n</head>\n<body>\n"
           "<h1>digitlens: results</h1>\n<p>Generated by <code>make report</code> "
           "(<code>build/digitlens report</code>) in %s: ", duration(R->seconds));
    for (int k = 0; k < nn; k++)
        sb(&h, "%s<code>%s</code> (the %s)", k ? (k == nn - 1 ? " and " : ", ") : "", R->nets[k].path, R->nets[k].name);
    sb(&h, " on the %s MNIST test images%s. Numbers: <a href=\"metrics.json\">metrics.json</a>. Back to the "
           "<a href=\"../index.html\">demo</a>.</p>\n", th(N), R->n_drawn ? " and on digits drawn with pointer strokes" : "");

    /* the networks */
    sb(&h, "<h2>The networks</h2>\n<table class=\"text\">\n");
    html_net_head(&h, R, "");
    sb(&h, "<tr><td>layers</td>");
    for (int k = 0; k < nn; k++) sb(&h, "<td>%s</td>", layers_of(&R->nets[k]));
    sb(&h, "</tr>\n<tr><td>parameters</td>");
    for (int k = 0; k < nn; k++) sb(&h, "<td>%s</td>", th((long)R->nets[k].m.n_params));
    sb(&h, "</tr>\n<tr><td>multiply-adds per image</td>");
    for (int k = 0; k < nn; k++) sb(&h, "<td>%s</td>", th(R->nets[k].macs));
    sb(&h, "</tr>\n<tr><td>Grad-CAM reads A</td>");
    for (int k = 0; k < nn; k++)
        sb(&h, "<td><code>%s</code>: %d maps of %dx%d</td>", cam_layer_name(&R->nets[k]), R->nets[k].m.cam_k,
           R->nets[k].m.grid.side, R->nets[k].m.grid.side);
    sb(&h, "</tr>\n<tr><td>a cell q of A</td>");
    for (int k = 0; k < nn; k++)
        sb(&h, "<td>sees %dx%d input pixels, centred on pixel %s</td>", R->nets[k].rf, R->nets[k].rf, cell_at(&R->nets[k]));
    sb(&h, "</tr>\n<tr><td>Grad-CAM's alpha</td>");
    for (int k = 0; k < nn; k++)
        sb(&h, "<td>%s</td>", R->nets[k].closed_form ? "fixed per class" : "computed per input");
    sb(&h, "</tr>\n</table>\n");

    /* goals */
    sb(&h, "<h2>Goals</h2>\n<p>What a network read at a deeper layer is held to, with each network's "
           "figures.</p>\n<table>\n");
    html_net_head(&h, R, "goal");
    goal gl[MAX_NETS][N_GOALS];
    for (int k = 0; k < nn; k++) goals_of(&R->nets[k], &R->mnist, gl[k]);
    for (int q = 0; q < N_GOALS; q++) {
        sb(&h, "<tr><td>%s</td>", gl[0][q].what);
        for (int k = 0; k < nn; k++)
            sb(&h, "<td>%s: <span class=\"%s\">%s</span></td>", gl[k][q].value, gl[k][q].met ? "met" : "missed",
               gl[k][q].met ? "met" : "missed");
        sb(&h, "</tr>\n");
    }
    sb(&h, "</table>\n");

    /* accuracy */
    sb(&h, "<h2>Accuracy</h2>\n<table>\n");
    html_net_head(&h, R, "images");
    sb(&h, "<tr><td>MNIST test (%s)</td>", th(N));
    for (int k = 0; k < nn; k++) sb(&h, "<td>%s (%s)</td>", pct(R->nets[k].mnist.correct, N), th(R->nets[k].mnist.correct));
    sb(&h, "</tr>\n");
    for (int s = 0; s < R->n_drawn; s++) {
        sb(&h, "<tr><td>%s (%s)</td>", R->drawn[s].name, th(R->drawn[s].n));
        for (int k = 0; k < nn; k++)
            sb(&h, "<td>%s (%s)</td>", pct(R->nets[k].drawn[s].correct, R->drawn[s].n), th(R->nets[k].drawn[s].correct));
        sb(&h, "</tr>\n");
    }
    for (int c = 0; c < 10; c++) {
        sb(&h, "<tr><td>MNIST test, class %d</td>", c);
        for (int k = 0; k < nn; k++) sb(&h, "<td>%.2f %%</td>", 100 * class_acc(&R->nets[k].mnist, c));
        sb(&h, "</tr>\n");
    }
    sb(&h, "</table>\n<p>Confusion matrices on the MNIST test set (rows: true digit; columns: predicted).</p>\n");
    html_pair(&h, R, "confusion", "confusion matrix", "pair");

    /* drawn digits */
    if (R->n_drawn) {
        sb(&h, "<h2>Digits that are not MNIST's</h2>\n<p>Drawn with pointer strokes on the page's pad in "
               "headless Chromium and preprocessed by the page's code (<code>make drawn</code>; "
               "<code>tools/drawn/README.md</code>): <code>drawn</code>, %s digits in %d styles, and "
               "<code>writer</code>, %s digits of one consistent hand.</p>\n<table>\n",
           th(R->drawn[0].n), R->drawn[0].n_styles, th(R->drawn[1].n));
        html_net_head(&h, R, "set, style (images)");
        for (int s = 0; s < R->n_drawn; s++) {
            const image_set *S = &R->drawn[s];
            sb(&h, "<tr><td><b>%s</b> (%s)</td>", S->name, th(S->n));
            for (int k = 0; k < nn; k++) sb(&h, "<td><b>%s</b></td>", pct(R->nets[k].drawn[s].correct, S->n));
            sb(&h, "</tr>\n");
            for (int y = 0; y < S->n_styles && S->n_styles > 1; y++) {
                sb(&h, "<tr><td>%s (%d)</td>", S->styles[y], R->nets[0].drawn[s].style_n[y]);
                for (int k = 0; k < nn; k++)
                    sb(&h, "<td>%s</td>", pct(R->nets[k].drawn[s].style_ok[y], R->nets[k].drawn[s].style_n[y]));
                sb(&h, "</tr>\n");
            }
        }
        sb(&h, "</table>\n<p>Grad-CAM of the predicted class on the drawn digits: deletion and insertion "
               "AUC, the random map's and the ink's for comparison; empty maps over every drawn digit.</p>\n<table>\n"
               "<tr><th>set (images)</th><th>network</th><th>deletion AUC</th><th>random</th><th>ink</th>"
               "<th>insertion AUC</th><th>random</th><th>ink</th><th>empty maps</th></tr>\n");
        for (int s = 0; s < R->n_drawn; s++)
            for (int k = 0; k < nn; k++) {
                const stats *F = R->nets[k].drawn[s].faith;
                sb(&h, "<tr><td>%s (%s)</td><td>%s</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td>"
                       "<td>%.3f</td><td>%d of %s</td></tr>\n", R->drawn[s].key, th(F->n), R->nets[k].name,
                   F->del_auc[DL_M_GRADCAM], F->del_auc[M_RANDOM], F->del_auc[M_INK], F->ins_auc[DL_M_GRADCAM],
                   F->ins_auc[M_RANDOM], F->ins_auc[M_INK], empty_total(&R->nets[k].drawn[s]), th(R->drawn[s].n));
            }
        sb(&h, "</table>\n");
        for (int s = 0; s < R->n_drawn; s++) {
            if (R->drawn[s].n_styles > 1)
                sb(&h, "<p><code>%s</code>: a row per style (", R->drawn[s].key);
            else
                sb(&h, "<p><code>%s</code>: the first %d digits of each class (columns 0 to 9", R->drawn[s].key,
                   R->drawn_rows[s]);
            for (int y = 0; y < R->drawn[s].n_styles && R->drawn[s].n_styles > 1; y++)
                sb(&h, "%s%s", y ? ", " : "", R->drawn[s].styles[y]);
            sb(&h, "), Grad-CAM of the predicted class; a red frame marks a wrong prediction.</p>\n");
            char alt[96];
            snprintf(alt, sizeof alt, "%s digits with Grad-CAM maps", R->drawn[s].key);
            html_pair(&h, R, R->drawn[s].key, alt, "pair");
        }
    }

    /* MNIST figures */
    sb(&h, "<h2>Gallery</h2>\n<p>The first ten test digits of each class (rows 0 to 9), the same digits "
           "for each network, with the Grad-CAM map of the predicted class, each scaled to its own "
           "maximum; a red frame marks a wrong prediction.</p>\n");
    html_pair(&h, R, "gallery", "ten digits per class with Grad-CAM maps", "pair");
    sb(&h, "<h2>Mean Grad-CAM per class</h2>\n<p>Top: the mean test digit of each class (correct "
           "predictions); bottom: the mean Grad-CAM map of that class over them.</p>\n");
    html_pair(&h, R, "mean_gradcam", "mean digit and mean Grad-CAM per class", "pair");
    sb(&h, "<h2>Empty Grad-CAM maps</h2>\n<p>Test images whose Grad-CAM map of the predicted class is "
           "all zero, by predicted class.</p>\n<table>\n");
    html_net_head(&h, R, "predicted class");
    for (int c = 0; c <= 10; c++) {
        sb(&h, c < 10 ? "<tr><td>%d</td>" : "<tr><td>all</td>", c);
        for (int k = 0; k < nn; k++) {
            const set_result *r = &R->nets[k].mnist;
            int e = c < 10 ? r->empty_own[c] : empty_total(r), p = c < 10 ? r->pred_n[c] : N;
            sb(&h, "<td>%s of %s (%s)</td>", th(e), th(p), pct(e, p));
        }
        sb(&h, "</tr>\n");
    }
    sb(&h, "</table>\n<h2>Most confident errors</h2>\n<p>Top: the input; middle: Grad-CAM of the predicted "
           "class; bottom: of the true class. Each network's own errors.</p>\n<div class=\"pair\">\n");
    for (int k = 0; k < nn; k++) {
        const net *nt = &R->nets[k];
        sb(&h, "<figure><figcaption>%s</figcaption><img src=\"errors-%s.png\" alt=\"most confident errors, %s\">\n"
               "<table>\n<tr><th>test index</th><th>true</th><th>predicted</th><th>probability</th></tr>\n",
           nt->name, nt->id, nt->name);
        for (int e = 0; e < nt->n_err; e++) {
            const int i = nt->err[e];
            sb(&h, "<tr><td>%d</td><td>%d</td><td>%d</td><td>%.1f %%</td></tr>\n", i, R->mnist.label[i], nt->mnist.pred[i],
               100.0 * nt->mnist.prob[(size_t)i * 10 + nt->mnist.pred[i]]);
        }
        sb(&h, "</table></figure>\n");
    }
    sb(&h, "</div>\n<h2>Methods side by side</h2>\n<p>The first test digit of each class; columns: the input, then");
    for (int mm = 0; mm < DL_M_COUNT; mm++) sb(&h, "%s <code>%s</code>", mm ? "," : "", report_method_name(mm));
    sb(&h, " (predicted class, each map scaled to its own maximum).</p>\n");
    html_pair(&h, R, "methods", "every method on one digit per class", "pair");

    /* faithfulness and sanity */
    sb(&h, "<h2>Faithfulness and sanity</h2>\n<p>Deletion and insertion over %d test images (every %d-th), "
           "%d pixels a step; sanity checks over %d images (every %d-th). Deletion AUC: lower is better; "
           "insertion AUC: higher is better. Sanity: the Spearman rank correlation between the trained "
           "model's map and the map after randomising the layers with weights one at a time from the top, "
           "on the map's own grid (A's cells; the input's 28x28 for the guided methods and the baselines) (",
       n0->S->n, R->fstride, PER_STEP, n0->S->n_sanity, R->sstride);
    for (int k = 0; k < nn; k++)
        sb(&h, "%s%s: %s", k ? "; " : "", R->nets[k].name, cascade_of(&R->nets[k]));
    sb(&h, "); a method passes when it is below 0.5 at every step. The table gives the first step (dense "
           "layer random) and the last (all random). On the maps placed at 28x28, the zeros placement adds "
           "around A's grid are ties shared by both maps and pull the correlation up (Grad-CAM, dense layer "
           "random:");
    for (int k = 0; k < nn; k++)
        sb(&h, "%s %s %.2f on its cells, %.2f placed", k ? ";" : "", R->nets[k].name, R->nets[k].S->rho[DL_M_GRADCAM][0],
           R->nets[k].S->rho_placed[DL_M_GRADCAM][0]);
    sb(&h, "; every step in metrics.json).</p>\n<div class=\"scroll\"><table class=\"wide\">\n<tr><th></th>");
    const char *cols[] = {"deletion AUC", "insertion AUC", "average drop", "increase", "rho, dense random",
                          "rho, all random", "sanity"};
    const int ncols = (int)(sizeof cols / sizeof *cols);
    for (int q = 0; q < ncols; q++) sb(&h, "<th class=\"group\" colspan=\"%d\">%s</th>", nn, cols[q]);
    sb(&h, "</tr>\n<tr><th>method</th>");
    for (int q = 0; q < ncols; q++)
        for (int k = 0; k < nn; k++) sb(&h, "<th>%s</th>", R->nets[k].id);
    sb(&h, "</tr>\n");
    for (int mm = 0; mm < NM; mm++) {
        sb(&h, "<tr><td><span class=\"sw c%d\"></span>%s</td>", mm, report_method_name(mm));
        for (int q = 0; q < ncols; q++)
            for (int k = 0; k < nn; k++) {
                const net *nt = &R->nets[k];
                const stats *S = nt->S;
                switch (q) {
                case 0: sb(&h, "<td>%.3f</td>", S->del_auc[mm]); break;
                case 1: sb(&h, "<td>%.3f</td>", S->ins_auc[mm]); break;
                case 2: sb(&h, "<td>%.1f %%</td>", 100 * S->drop[mm]); break;
                case 3: sb(&h, "<td>%.1f %%</td>", 100 * S->incr[mm]); break;
                case 4: sb(&h, "<td>%.2f</td>", S->rho[mm][0]); break;
                case 5: sb(&h, "<td>%.2f</td>", S->rho[mm][nt->n_casc - 1]); break;
                default: sb(&h, "<td class=\"%s\">%s</td>", S->pass[mm] ? "pass" : "fail", S->pass[mm] ? "pass" : "fail");
                }
            }
        sb(&h, "</tr>\n");
    }
    sb(&h, "</table></div>\n<p>Empty maps of the predicted class on the faithfulness subset: ");
    for (int k = 0; k < nn; k++)
        sb(&h, "%s%s: Grad-CAM %d, HiResCAM %d of %d", k ? "; " : "", R->nets[k].name, R->nets[k].S->empty[DL_M_GRADCAM],
           R->nets[k].S->empty[DL_M_HIRESCAM], R->nets[k].S->n);
    sb(&h, ".</p>\n<p>Time to compute one map (one image, the predicted class, one thread), ms:</p>\n<table>\n");
    html_net_head(&h, R, "method");
    for (int mm = 0; mm < DL_M_COUNT; mm++) {
        sb(&h, "<tr><td>%s</td>", report_method_name(mm));
        for (int k = 0; k < nn; k++) sb(&h, "<td>%.3f</td>", 1e3 * R->nets[k].S->map_s[mm] / (R->nets[k].S->n ? R->nets[k].S->n : 1));
        sb(&h, "</tr>\n");
    }
    sb(&h, "</table>\n<div class=\"legend\">");
    for (int mm = 0; mm < NM; mm++) sb(&h, "<span><span class=\"sw c%d\"></span>%s</span>", mm, report_method_name(mm));
    sb(&h, "</div>\n<h3>Deletion (probability of the predicted class vs fraction of pixels removed)</h3>\n");
    html_pair(&h, R, "deletion", "deletion curves", "pair");
    sb(&h, "<h3>Insertion (probability vs fraction of pixels inserted into a blank image)</h3>\n");
    html_pair(&h, R, "insertion", "insertion curves", "pair");
    sb(&h, "<h3>Sanity: rank correlation at each randomisation step (trained, then each layer from the "
           "top)</h3>\n");
    html_pair(&h, R, "sanity", "sanity check curves", "pair");
    sb(&h, "</body>\n</html>\n");
    sb_write(R->out, "index.html", &h);
    free(h.s);
}

/* ---- README ----------------------------------------------------------------- */

/* "`a`, `b` and `c`" of the methods with want(m) true; "none" */
static const char *method_list(const report *R, int (*want)(const report *, int))
{
    char *o = ring();
    int ms[NM], n = 0;
    for (int mm = 0; mm < DL_M_COUNT; mm++) if (want(R, mm)) ms[n++] = mm;
    size_t k = 0;
    o[0] = '\0';
    for (int q = 0; q < n && k < 250; q++)
        k += (size_t)snprintf(o + k, 256 - k, "%s`%s`", q ? (q == n - 1 ? " and " : ", ") : "", report_method_name(ms[q]));
    if (!n) snprintf(o, 256, "none");
    return o;
}
static int pass_all(const report *R, int m)
{
    for (int k = 0; k < R->n_nets; k++) if (!R->nets[k].S->pass[m]) return 0;
    return 1;
}
static int fail_all(const report *R, int m)
{
    for (int k = 0; k < R->n_nets; k++) if (R->nets[k].S->pass[m]) return 0;
    return 1;
}
static int pass_0(const report *R, int m) { return R->nets[0].S->pass[m] && !R->nets[1].S->pass[m]; }
static int pass_1(const report *R, int m) { return !R->nets[0].S->pass[m] && R->nets[1].S->pass[m]; }

/* a markdown row: label, then one cell per network by fmt of a value */
static void md_head(sbuf *r, const report *R, const char *first)
{
    sb(r, "| %s |", first);
    for (int k = 0; k < R->n_nets; k++) sb(r, " %s |", R->nets[k].name);
    sb(r, "\n| --- |");
    for (int k = 0; k < R->n_nets; k++) sb(r, " --- |");
    sb(r, "\n");
}

void readme_part(const report *R, sbuf *r)
{
    const int N = R->mnist.n, nn = R->n_nets;
    /* with two networks, D reads the deeper layer (the larger receptive field), E the other */
    const net *D = &R->nets[0], *E = nn > 1 ? &R->nets[1] : NULL;
    if (E && E->rf > D->rf) { const net *t = D; D = E; E = t; }
    goal gl[MAX_NETS][N_GOALS];
    for (int k = 0; k < nn; k++) goals_of(&R->nets[k], &R->mnist, gl[k]);

    sb(r, "<!-- results:begin (make report rewrites this part) -->\n\n");
    sb(r, "Regenerate with `make report` (`%s`: %s on 2 cores); the figures are in `web/results/` "
          "(the page links to them: `web/results/index.html` shows the networks side by side), the "
          "numbers in `web/results/metrics.json`.\n\n", R->command, duration(R->seconds));

    /* the networks at a glance */
    md_head(r, R, "");
    sb(r, "| weights |");
    for (int k = 0; k < nn; k++) sb(r, " `%s` |", R->nets[k].path);
    sb(r, "\n| layers |");
    for (int k = 0; k < nn; k++) sb(r, " %s |", layers_of(&R->nets[k]));
    sb(r, "\n| parameters; multiply-adds per image |");
    for (int k = 0; k < nn; k++) sb(r, " %s; %s |", th((long)R->nets[k].m.n_params), th(R->nets[k].macs));
    sb(r, "\n| Grad-CAM reads A = |");
    for (int k = 0; k < nn; k++)
        sb(r, " `%s`: %d maps of %dx%d |", cam_layer_name(&R->nets[k]), R->nets[k].m.cam_k, R->nets[k].m.grid.side,
           R->nets[k].m.grid.side);
    sb(r, "\n| a cell q of A |");
    for (int k = 0; k < nn; k++)
        sb(r, " sees %dx%d input pixels, centred on pixel %s |", R->nets[k].rf, R->nets[k].rf, cell_at(&R->nets[k]));
    sb(r, "\n| MNIST test accuracy |");
    for (int k = 0; k < nn; k++) sb(r, " %s (%s of %s) |", pct(R->nets[k].mnist.correct, N), th(R->nets[k].mnist.correct), th(N));
    for (int s = 0; s < R->n_drawn; s++) {
        sb(r, "\n| %s digits (%s) |", R->drawn[s].name, th(R->drawn[s].n));
        for (int k = 0; k < nn; k++) sb(r, " %s (%s) |", pct(R->nets[k].drawn[s].correct, R->drawn[s].n), th(R->nets[k].drawn[s].correct));
    }
    sb(r, "\n| Grad-CAM deletion AUC (random map's) |");
    for (int k = 0; k < nn; k++) sb(r, " %.3f (%.3f) |", R->nets[k].S->del_auc[DL_M_GRADCAM], R->nets[k].S->del_auc[M_RANDOM]);
    sb(r, "\n| Grad-CAM insertion AUC (random map's) |");
    for (int k = 0; k < nn; k++) sb(r, " %.3f (%.3f) |", R->nets[k].S->ins_auc[DL_M_GRADCAM], R->nets[k].S->ins_auc[M_RANDOM]);
    sb(r, "\n| empty Grad-CAM maps (worst predicted class) |");
    for (int k = 0; k < nn; k++) {
        const set_result *m = &R->nets[k].mnist;
        const int w = worst_empty(m);
        sb(r, " %s (class %d: %s) |", pct(empty_total(m), N), w, pct(m->empty_own[w], m->pred_n[w]));
    }
    sb(r, "\n| methods that pass the sanity checks |");
    for (int k = 0; k < nn; k++) sb(r, " %d of %d |", n_pass(R->nets[k].S), DL_M_COUNT);
    sb(r, "\n\n");

    /* goals */
    if (E) sb(r, "### Goals\n\nWhat the %s, read at the deeper layer, is held to, with both networks' figures:\n\n", D->name);
    else sb(r, "### Goals\n\nThe goals for a network read at a deeper layer, with the %s's figures:\n\n", D->name);
    md_head(r, R, "goal");
    for (int q = 0; q < N_GOALS; q++) {
        sb(r, "| %s |", gl[0][q].what);
        for (int k = 0; k < nn; k++) sb(r, " %s: %s |", gl[k][q].value, gl[k][q].met ? "**met**" : "missed");
        sb(r, "\n");
    }
    sb(r, "\n");

    /* accuracy per class */
    sb(r, "### Accuracy per class (MNIST test)\n\n| network |");
    for (int c = 0; c < 10; c++) sb(r, " %d |", c);
    sb(r, "\n| --- |");
    for (int c = 0; c < 10; c++) sb(r, " --- |");
    sb(r, "\n");
    for (int k = 0; k < nn; k++) {
        sb(r, "| %s |", R->nets[k].name);
        for (int c = 0; c < 10; c++) sb(r, " %.2f |", 100 * class_acc(&R->nets[k].mnist, c));
        sb(r, "\n");
    }
    sb(r, "\n");
    for (int k = 0; k < nn; k++) {
        const set_result *m = &R->nets[k].mnist;
        int lo = 0, hi = 0;
        for (int c = 0; c < 10; c++) {
            if (class_acc(m, c) < class_acc(m, lo)) lo = c;
            if (class_acc(m, c) > class_acc(m, hi)) hi = c;
        }
        int as = lo == 0 ? 1 : 0;
        for (int p = 0; p < 10; p++) if (p != lo && m->conf[lo][p] > m->conf[lo][as]) as = p;
        sb(r, "%s %s: from %.2f %% (%d, mostly read as %d) to %.2f %% (%d)", k ? ";" : "Per class,", R->nets[k].name,
           100 * class_acc(m, lo), lo, as, 100 * class_acc(m, hi), hi);
    }
    sb(r, ". `build/digitlens eval --weights FILE` prints the confusion matrix; "
          "`web/results/confusion-*.png` draw them.\n\n");

    /* drawn digits */
    if (R->n_drawn) {
        const image_set *Dr = &R->drawn[0], *Wr = &R->drawn[1];
        sb(r, "### Digits that are not MNIST's\n\n"
              "`make drawn` (`tools/drawn/README.md`) draws digits with pointer strokes on the page's pad in "
              "headless Chromium and preprocesses them with the page's code: `drawn`, %s digits in %d styles "
              "(%s of each class), and `writer`, %s digits of one consistent hand (thick, slanted). Accuracy:\n\n",
           th(Dr->n), Dr->n_styles, th(Dr->n / 10), th(Wr->n));
        md_head(r, R, "set, style (images)");
        sb(r, "| MNIST test (%s) |", th(N));
        for (int k = 0; k < nn; k++) sb(r, " %s |", pct(R->nets[k].mnist.correct, N));
        sb(r, "\n");
        for (int s = 0; s < R->n_drawn; s++) {
            const image_set *S = &R->drawn[s];
            sb(r, "| **%s** (%s) |", S->name, th(S->n));
            for (int k = 0; k < nn; k++) sb(r, " **%s** |", pct(R->nets[k].drawn[s].correct, S->n));
            sb(r, "\n");
            for (int y = 0; y < S->n_styles && S->n_styles > 1; y++) {
                sb(r, "| %s: %s (%d) |", S->name, S->styles[y], R->nets[0].drawn[s].style_n[y]);
                for (int k = 0; k < nn; k++)
                    sb(r, " %s |", pct(R->nets[k].drawn[s].style_ok[y], R->nets[k].drawn[s].style_n[y]));
                sb(r, "\n");
            }
        }
        sb(r, "\n");
        sb(r, "Errors:");
        for (int k = 0; k < nn; k++) {
            const net *nt = &R->nets[k];
            sb(r, "%s the %s", k ? ";" : "", nt->name);
            for (int s = 0; s < R->n_drawn; s++) {
                int t, p, n;
                const int wrong = R->drawn[s].n - nt->drawn[s].correct;
                top_confusion(&nt->drawn[s], &t, &p, &n);
                sb(r, "%s %d on `%s`", s ? (s == R->n_drawn - 1 ? " and" : ",") : "", wrong, R->drawn[s].key);
                if (n > 1) sb(r, " (%s%d of them: %d read as %d)", n == wrong ? "all " : "", n, t, p);
            }
        }
        sb(r, ".");
        sb(r, "\n\nGrad-CAM of the predicted class on the drawn digits, by the protocol below (the random "
              "map's and the ink's AUC in brackets):\n\n");
        md_head(r, R, "set (images)");
        for (int s = 0; s < R->n_drawn; s++) {
            sb(r, "| %s (%s) |", R->drawn[s].key, th(R->nets[0].drawn[s].faith->n));
            for (int k = 0; k < nn; k++) {
                const stats *F = R->nets[k].drawn[s].faith;
                sb(r, " deletion %.3f (%.3f, %.3f), insertion %.3f (%.3f, %.3f); %d of %s maps empty |",
                   F->del_auc[DL_M_GRADCAM], F->del_auc[M_RANDOM], F->del_auc[M_INK], F->ins_auc[DL_M_GRADCAM],
                   F->ins_auc[M_RANDOM], F->ins_auc[M_INK], empty_total(&R->nets[k].drawn[s]), th(R->drawn[s].n));
            }
            sb(r, "\n");
        }
        sb(r, "\n");
    }

    /* empty maps per class */
    sb(r, "### Empty Grad-CAM maps\n\nTest images whose Grad-CAM map of the predicted class is all zero "
          "(the page then says \"no positive Grad-CAM evidence\"), by predicted class:\n\n");
    md_head(r, R, "predicted class");
    for (int c = 0; c <= 10; c++) {
        sb(r, c < 10 ? "| %d |" : "| all |", c);
        for (int k = 0; k < nn; k++) {
            const set_result *m = &R->nets[k].mnist;
            int e = c < 10 ? m->empty_own[c] : empty_total(m), p = c < 10 ? m->pred_n[c] : N;
            sb(r, " %s of %s (%s) |", th(e), th(p), pct(e, p));
        }
        sb(r, "\n");
    }
    sb(r, "\nCount them in the output of `build/digitlens explain --json --weights FILE "
          "data/mnist/t10k-images-idx3-ubyte --limit 10000` (each image's predicted class and its map).\n\n");

    /* the methods */
    sb(r, "### The methods\n\n"
          "`build/digitlens explain --method NAME` (and the page's selector). G_k = dy^c/dA_k,\n"
          "sums over the Z cells ij of A (");
    for (int k = 0; k < nn; k++)
        sb(r, "%s%dx%d on the %s", k ? ", " : "", R->nets[k].m.grid.side, R->nets[k].m.grid.side, R->nets[k].name);
    sb(r, "), y^c the logit; every map ends in a ReLU. Formulas\n"
          "and sources in `c/cam_methods.c`; each is tested against an independent\n"
          "double-precision computation in `tests/c/test_methods.c`.\n\n"
          "| method | map | formula |\n| --- | --- | --- |\n"
          "| `gradcam` | A | w_k = mean_ij G_k; L = ReLU(sum_k w_k A_k) |\n"
          "| `gradcam++` | A | pytorch-grad-cam's formula: a = G^2 / (2 G^2 + (sum_ij A_k) G^3 + 1e-6), 0 where G = 0; w_k = sum_ij ReLU(G_k) a; L as gradcam |\n"
          "| `xgradcam` | A | w_k = sum_ij G_k A_k / (sum_ij A_k + 1e-7); L as gradcam |\n"
          "| `hirescam` | A | L = ReLU(sum_k G_k * A_k), elementwise |\n"
          "| `layercam` | A | L = ReLU(sum_k ReLU(G_k) * A_k) |\n"
          "| `scorecam` | A | M_k = A_k min-max scaled, placed on the input; w = softmax_k y^c(x * M_k) (pytorch-grad-cam's variant): one forward pass per channel |\n"
          "| `ablationcam` | A | w_k = (y^c - y^c with A_k = 0) / y^c; undefined if y^c = 0 |\n"
          "| `eigencam` | A | L = ReLU(X v), X = A as (Z, K) centred, v its first right singular vector (sign: sum v >= 0); the same for every class |\n"
          "| `counterfactual` | A | w_k = -mean_ij G_k: what argues against c |\n"
          "| `guided-backprop` | 28x28 | R = dy^c/dx, each ReLU passing only positive gradients where its input was positive; L = ReLU(R) |\n"
          "| `guided-gradcam` | 28x28 | L = ReLU(R) * Grad-CAM placed on the input |\n\n"
          "A map that is undefined for an input (every activation zero; Ablation-CAM with\n"
          "y^c = 0) is returned as zeros and `explain --json` adds `\"undefined\": [classes]`.\n\n");

    /* faithfulness and sanity */
    const net *n0 = &R->nets[0];
    sb(r, "### Faithfulness and sanity\n\n"
          "Over %d test images (every %d-th, the same for each network), for the predicted class: deletion and "
          "insertion curves (%d pixels a step, removed to 0 or inserted into a blank image, in the order of "
          "the map placed at 28x28; ties broken by one random order per image), their area (deletion: lower "
          "is better; insertion: higher), and the average drop / increase in confidence on x * map/max(map). "
          "Sanity (Adebayo et al. 2018) over %d images: Spearman rank correlation between the trained model's "
          "map and the map after randomising the layers with weights one at a time from the top, on the map's "
          "own grid (A's cells; the input's 28x28 for the guided methods and the baselines) (",
       n0->S->n, R->fstride, PER_STEP, n0->S->n_sanity);
    for (int k = 0; k < nn; k++) sb(r, "%s%s: %s", k ? "; " : "", R->nets[k].name, cascade_of(&R->nets[k]));
    sb(r, "); pass = below 0.5 at every step; the table gives the first step (dense random) and the last "
          "(all random). Not on the maps placed at 28x28: placement is the same linear map for both, and the "
          "zeros it adds around A's grid (");
    for (int k = 0; k < nn; k++)
        sb(r, "%s%.0f %% of the pixels for the %s's %dx%d map", k ? ", " : "", 100 * placed_zero_share(&R->nets[k]),
           R->nets[k].name, R->nets[k].m.grid.side, R->nets[k].m.grid.side);
    sb(r, ") are ties shared by every pair of maps, which pull the correlation up (Grad-CAM, dense layer random:");
    for (int k = 0; k < nn; k++)
        sb(r, "%s %s %.2f on its cells, %.2f placed", k ? ";" : "", R->nets[k].name, R->nets[k].S->rho[DL_M_GRADCAM][0],
           R->nets[k].S->rho_placed[DL_M_GRADCAM][0]);
    sb(r, "; `spearman_placed_cascade` in `metrics.json`).");
    if (nn > 1) {
        sb(r, " Each cell:");
        for (int k = 0; k < nn; k++) sb(r, "%s %s", k ? " /" : "", R->nets[k].name);
        sb(r, ".");
    }
    sb(r, "\n\n");
    sb(r, "| method | deletion AUC | insertion AUC | avg drop | increase | rho, dense random | rho, all random | sanity |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int mm = 0; mm < NM; mm++) {
        sb(r, "| %s%s |", report_method_name(mm), mm >= DL_M_COUNT ? " (baseline)" : "");
        for (int q = 0; q < 7; q++) {
            sb(r, " ");
            for (int k = 0; k < nn; k++) {
                const stats *S = R->nets[k].S;
                const char *sep = k ? " / " : "";
                switch (q) {
                case 0: sb(r, "%s%.3f", sep, S->del_auc[mm]); break;
                case 1: sb(r, "%s%.3f", sep, S->ins_auc[mm]); break;
                case 2: sb(r, "%s%.1f %%", sep, 100 * S->drop[mm]); break;
                case 3: sb(r, "%s%.1f %%", sep, 100 * S->incr[mm]); break;
                case 4: sb(r, "%s%.2f", sep, S->rho[mm][0]); break;
                case 5: sb(r, "%s%.2f", sep, S->rho[mm][R->nets[k].n_casc - 1]); break;
                default: sb(r, "%s%s", sep, S->pass[mm] ? "pass" : "fail");
                }
            }
            sb(r, " |");
        }
        sb(r, "\n");
    }
    sb(r, "\nTime to compute one map (one image, the predicted class, one core): ");
    for (int k = 0; k < nn; k++) {
        const stats *S = R->nets[k].S;
        const double n = S->n ? S->n : 1;
        sb(r, "%s%s: Grad-CAM %.2f ms, Score-CAM %.2f ms (%d forward passes of masked inputs), Ablation-CAM "
              "%.2f ms", k ? "; " : "", R->nets[k].name, 1e3 * S->map_s[DL_M_GRADCAM] / n, 1e3 * S->map_s[DL_M_SCORECAM] / n,
           R->nets[k].m.cam_k, 1e3 * S->map_s[DL_M_ABLATIONCAM] / n);
    }
    sb(r, " (`map_ms` in `metrics.json`). Measuring a network took ");
    for (int k = 0; k < nn; k++) sb(r, "%s%s (the %s)", k ? ", " : "", duration(R->nets[k].seconds), R->nets[k].name);
    sb(r, ".\n\n");

    /* ---- discussion ---------------------------------------------------------- */
    sb(r, "### Discussion\n\n");
    const stats *SD = D->S;
    if (E) {
        const stats *SE = E->S;
        sb(r, "- **Which layer Grad-CAM reads.** The %s's A is `%s`, the output of its %s convolution: each of "
              "its %dx%d cells sees a %dx%d window of the input, a piece of one stroke. The %s's A is `%s`, "
              "after %d convolutions and %d max-pool%s: each of its %dx%d cells sees %dx%d pixels, a quarter "
              "of the digit's 20x20 box: a junction, a loop's end, a bar. Read there, Grad-CAM's deletion "
              "AUC is %.3fx the random map's (%s: %.3fx) and its insertion AUC %.3fx (%s: %.3fx).\n",
           E->name, cam_layer_name(E), E->n_conv_to_a == 1 ? "first and only" : "last", E->m.grid.side, E->m.grid.side,
           E->rf, E->rf, D->name, cam_layer_name(D), D->n_conv_to_a, pools_to_a(D), pools_to_a(D) == 1 ? "" : "s", D->m.grid.side, D->m.grid.side, D->rf, D->rf,
           SD->del_auc[DL_M_GRADCAM] / SD->del_auc[M_RANDOM], E->name, SE->del_auc[DL_M_GRADCAM] / SE->del_auc[M_RANDOM],
           SD->ins_auc[DL_M_GRADCAM] / SD->ins_auc[M_RANDOM], E->name, SE->ins_auc[DL_M_GRADCAM] / SE->ins_auc[M_RANDOM]);
        if (D->closed_form && E->closed_form)
            sb(r, "- **Alpha is fixed per class in both.** In both networks max-pool, flatten and one dense layer "
                  "follow A, so dy^c/dA is fc.weight[c] routed to each pool window's first maximum, and alpha_k^c "
                  "its mean over the window positions: %d numbers per class for the %s, %d for the %s, the same "
                  "for every input. A class map is a fixed mixture of A's channels in both; what differs is what "
                  "the channels hold. The %s's are stroke detectors of one orientation each, and where a class's "
                  "mixture is negative over the strokes a digit has, its map is empty. Which layer is read "
                  "matters, not whether alpha depends on the input.\n",
               E->m.cam_k, E->name, D->m.cam_k, D->name, E->name);
        else
            sb(r, "- **Alpha.** The %s's alpha is %s; the %s's %s.\n", E->name,
               E->closed_form ? "fixed per class" : "computed per input", D->name,
               D->closed_form ? "fixed per class" : "computed per input");
        {
            const set_result *me = &E->mnist, *md = &D->mnist;
            const int we = worst_empty(me), wd = worst_empty(md);
            sb(r, "- **Empty maps.** The %s's Grad-CAM map of the predicted class is all zero for %s of the %s "
                  "test images (class %d: %s of the %s predicted as %d); the %s's for %s (worst: class %d, %s of "
                  "%s).\n",
               E->name, th(empty_total(me)), th(N), we, th(me->empty_own[we]), th(me->pred_n[we]), we, D->name,
               th(empty_total(md)), wd, th(md->empty_own[wd]), th(md->pred_n[wd]));
        }
        sb(r, "- **Resolution and placement.**");
        for (int k = 0; k < nn; k++) {
            const net *nt = &R->nets[k];
            const dl_grid *g = &nt->m.grid;
            sb(r, " The %s's map is %dx%d, cell q centred on input pixel %s: on the 28x28 input its cells lie "
                  "%g pixel%s apart, from pixel %g to %g.", nt->name, g->side, g->side, cell_at(nt), g->stride,
               g->stride == 1 ? "" : "s", g->off, g->off + g->stride * (g->side - 1));
        }
        sb(r, " The %s's placed map is a bilinear blend of %d values, so it cannot follow a stroke more closely "
              "than %g pixels; the %s's follows it to the pixel, but each of its cells is a %dx%d filter "
              "response, so it spills onto the background beside the stroke. Both are placed by the grid the "
              "layer list gives (`dl_cam_place`), not stretched over the 28 pixels as most libraries do, which "
              "would shift them by up to %.1f (%s) and %.1f pixels (%s) toward the edges.\n",
           D->name, D->m.map_size, D->m.grid.stride, E->name, E->rf, E->rf, stretch_shift(D), D->name,
           stretch_shift(E), E->name);
        sb(r, "- **Sanity checks.** Pass on both networks: %s. Only on the %s: %s. Only on the %s: %s. Fail on "
              "both: %s. A method that fails gives nearly the same map after the weights it claims to explain "
              "are replaced by noise: its map follows A's activations or the ink, whatever the layers above "
              "say. Grad-CAM: rho %.2f with the dense layer random and %.2f with all random on the %s (%s), "
              "%.2f and %.2f on the %s (%s). Eigen-CAM never reads the dense layer (rho %.2f and %.2f after "
              "randomising it). Measured on the placed maps instead, %d would pass on the %s and %d on the "
              "%s.",
           method_list(R, pass_all), R->nets[0].name, method_list(R, pass_0), R->nets[1].name, method_list(R, pass_1),
           method_list(R, fail_all), SD->rho[DL_M_GRADCAM][0], SD->rho[DL_M_GRADCAM][D->n_casc - 1], D->name,
           SD->pass[DL_M_GRADCAM] ? "pass" : "fail", SE->rho[DL_M_GRADCAM][0], SE->rho[DL_M_GRADCAM][E->n_casc - 1],
           E->name, SE->pass[DL_M_GRADCAM] ? "pass" : "fail", SD->rho[DL_M_EIGENCAM][0], SE->rho[DL_M_EIGENCAM][0],
           n_pass_placed(D), D->name, n_pass_placed(E), E->name);
        const int G = DL_M_GUIDED_BACKPROP;
        if (SE->pass[G] && !SD->pass[G])
            sb(r, " Guided backprop passes on the %s (rho %.2f, dense layer random) and fails on the %s (%.2f), "
                  "as Adebayo et al. found for deep networks, where its ReLU masks reconstruct the input "
                  "whatever the weights above; one convolution leaves them little to reconstruct it from.", E->name, SE->rho[G][0], D->name, SD->rho[G][0]);
        sb(r, "\n");
    }
    for (int k = 0; k < nn; k++) {
        const net *nt = &R->nets[k];
        const stats *S = nt->S;
        int bd = 0, bi = 0, beat_del = 0, beat_ins = 0, bp = -1;
        for (int mm = 0; mm < DL_M_COUNT; mm++) {
            if (S->del_auc[mm] < S->del_auc[bd]) bd = mm;
            if (S->ins_auc[mm] > S->ins_auc[bi]) bi = mm;
            beat_del += S->del_auc[mm] < S->del_auc[M_INK];
            beat_ins += S->ins_auc[mm] > S->ins_auc[M_INK];
            if (S->pass[mm] && (bp < 0 || S->del_auc[mm] < S->del_auc[bp])) bp = mm;
        }
        sb(r, "- **Faithfulness, %s.** Lowest deletion AUC: `%s` (%.3f); highest insertion AUC: `%s` (%.3f); "
              "Grad-CAM %.3f and %.3f; the random map %.3f and %.3f. The ink baseline (the input as its own "
              "map) scores %.3f and %.3f: %d of the %d methods beat it on deletion, %d on insertion.",
           nt->name, report_method_name(bd), S->del_auc[bd], report_method_name(bi), S->ins_auc[bi],
           S->del_auc[DL_M_GRADCAM], S->ins_auc[DL_M_GRADCAM], S->del_auc[M_RANDOM], S->ins_auc[M_RANDOM],
           S->del_auc[M_INK], S->ins_auc[M_INK], beat_del, DL_M_COUNT, beat_ins);
        if (bp >= 0)
            sb(r, " Of the methods that pass the sanity checks, `%s` has the lowest deletion AUC (%.3f).\n",
               report_method_name(bp), S->del_auc[bp]);
        else
            sb(r, " No method passes the sanity checks.\n");
    }
    {
        int worse_del = 0, worse_ins = 0;
        for (int mm = 0; mm < DL_M_COUNT; mm++) {
            worse_del += SD->del_auc[mm] > SD->del_auc[M_INK];
            worse_ins += SD->ins_auc[mm] < SD->ins_auc[M_INK];
        }
        sb(r, "- **The ink baseline's caveat.** The ink explains nothing about the network (rho %.2f after "
              "randomising every layer: the same map whatever the weights), yet on the %s its deletion AUC is "
              "lower than %d of the %d methods' and its insertion AUC higher than %d's. On MNIST the ink is "
              "nearly all the signal and the background is 0 already, so removing the brightest pixels first "
              "lowers any class's probability fast and inserting them first raises it fast. Pixel-order "
              "metrics reward a map that follows the ink whether or not it depends on the network: read them "
              "next to the sanity checks, and against the random map rather than as absolute scores.\n",
           SD->rho[M_INK][D->n_casc - 1], D->name, worse_del, DL_M_COUNT, worse_ins);
    }
    if (R->n_drawn && E) {
        sb(r, "- **Digits that are not MNIST's.**");
        for (int k = 0; k < nn; k++) {
            const net *nt = &R->nets[k];
            const double a0 = 100.0 * nt->mnist.correct / N;
            sb(r, " The %s: %.2f %% on MNIST test, %.2f %% on `drawn` (%+.2f points), %.2f %% on `writer` "
                  "(%+.2f).", nt->name, a0, 100.0 * nt->drawn[0].correct / R->drawn[0].n,
               100.0 * nt->drawn[0].correct / R->drawn[0].n - a0, 100.0 * nt->drawn[1].correct / R->drawn[1].n,
               100.0 * nt->drawn[1].correct / R->drawn[1].n - a0);
        }
        int worst = 0, wn = -1;
        for (int y = 0; y < R->drawn[0].n_styles; y++) {
            int lost = 0;
            for (int k = 0; k < nn; k++) lost += R->nets[k].drawn[0].style_n[y] - R->nets[k].drawn[0].style_ok[y];
            if (lost > wn) { wn = lost; worst = y; }
        }
        sb(r, " The style with the most errors of the two together: %s (", R->drawn[0].styles[worst]);
        for (int k = 0; k < nn; k++)
            sb(r, "%s%d of %d", k ? " and " : "", R->nets[k].drawn[0].style_n[worst] - R->nets[k].drawn[0].style_ok[worst],
               R->nets[k].drawn[0].style_n[worst]);
        sb(r, " wrong).\n");
    }
    {
        int met = 0;
        for (int q = 0; q < N_GOALS; q++) met += gl[D - R->nets][q].met;
        sb(r, "- **Goals.** The %s meets %d of the %d goals above", D->name, met, N_GOALS);
        if (met < N_GOALS) {
            sb(r, "; missed:");
            for (int q = 0, f = 0; q < N_GOALS; q++)
                if (!gl[D - R->nets][q].met)
                    sb(r, "%s %s (%s: it needs %s)", f++ ? ";" : "", gl[D - R->nets][q].what, gl[D - R->nets][q].value,
                       gl[D - R->nets][q].need);
        }
        if (E) {
            int me = 0;
            for (int q = 0; q < N_GOALS; q++) me += gl[E - R->nets][q].met;
            sb(r, "; the %s, %d", E->name, me);
        }
        sb(r, ".\n");
    }
    sb(r, "- **A bug found on the way.** tfjs-backend-wasm 4.22's max-pool gradient drops the\n"
          "  windows whose maximum is <= 0 (found by `make bench`), so a Grad-CAM built on it\n"
          "  would miss exactly the all-zero windows whose first cell counts in alpha here.\n");
    sb(r, "<!-- results:end -->");
}
