/* report_measure.c — what `digitlens report` measures, network by network:
 *
 *   accuracy, confusion matrix          every image of a set
 *   empty Grad-CAM maps per class       every image (predicted class)
 *   faithfulness: deletion / insertion  every fstride-th image
 *     pixels removed (set to 0, the background) or inserted (from a blank
 *     image) in the map's order, 28 pixels a step, 28 steps; ties in the
 *     map broken by one random order per image shared by every method and
 *     network; the curve is the softmax probability of the class predicted
 *     on the whole image; AUC by the trapezoid rule over the fraction of
 *     pixels
 *   average drop / increase in confidence (Chattopadhay et al. 2018):
 *     O = p_c(x * map / max map), Y = p_c(x); drop = mean max(0, Y-O)/Y,
 *     increase = share of images with O > Y
 *   sanity (Adebayo et al. 2018): every sstride-th image; cascading
 *     randomisation from the top, one layer with weights at a time (the
 *     seed network: fc, then conv; the two-conv network: fc, conv2, conv1)
 *     to He-initialised weights (seed 7); Spearman rank correlation between
 *     the trained and the randomised model's maps on the map's own grid:
 *     A's cells, or the 28x28 input for the guided methods and the
 *     baselines (ties: average ranks; two flat maps count as 1, one flat
 *     map as 0). A method passes when the mean correlation is below 0.5 at
 *     every step. Not on the maps placed at 28x28: placement is the same
 *     linear map for both, and the zeros it adds around A's grid (27 % of the
 *     pixels for a 24x24 map, 38 % for a 10x10 one) are ties
 *     shared by every pair of maps, which pull the correlation up (the
 *     two-conv network's Grad-CAM, dense layer random: 0.06 on its cells,
 *     0.47 placed). The placed figure is kept as rho_placed.
 * Baselines: `random` (uniform noise per pixel, the same for every network)
 * and `ink` (the input).
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "report.h"

const char *report_method_name(int m)
{
    return m == M_RANDOM ? "random" : m == M_INK ? "ink" : dl_cam_method_name(m);
}

/* ---- image sets -------------------------------------------------------- */

static int tok_is(const char *js, const jsmntok_t *t, const char *s)
{
    size_t n = strlen(s);
    return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n && memcmp(js + t->start, s, n) == 0;
}

/* the token after t[i] and everything inside it */
static int tok_skip(const jsmntok_t *t, int n, int i)
{
    int end = t[i].end, j = i + 1;
    while (j < n && t[j].start < end) j++;
    return j;
}

static void read_styles(image_set *s, const char *path)
{
    uint8_t *buf;
    size_t len;
    int st = dl_read_file(path, &buf, &len);
    if (st != DL_OK) cli_fail(path, st);
    const char *js = (const char *)buf;
    jsmn_parser p;
    jsmn_init(&p);
    int n = jsmn_parse(&p, js, len, NULL, 0);
    jsmntok_t *t = n > 0 ? malloc(sizeof *t * (size_t)n) : NULL;
    if (n > 0 && !t) cli_fail(path, DL_ERR_NOMEM);
    jsmn_init(&p);
    if (n <= 0 || jsmn_parse(&p, js, len, t, (unsigned)n) != n) cli_failf(path, "is not JSON");
    if (t[0].type != JSMN_OBJECT) cli_failf(path, "is not a JSON object");
    int images = -1;
    for (int i = 1, k = 0; k < t[0].size && i + 1 < n; k++) {
        if (tok_is(js, &t[i], "images")) images = i + 1;
        i = tok_skip(t, n, i + 1);
    }
    if (images < 0 || t[images].type != JSMN_ARRAY || t[images].size != s->n)
        cli_failf(path, "has no \"images\" list of the %d images of its set", s->n);
    s->style = malloc((size_t)s->n);
    if (!s->style) cli_fail(path, DL_ERR_NOMEM);
    for (int e = 0, j = images + 1; e < s->n; e++) {
        if (t[j].type != JSMN_OBJECT) cli_failf(path, "image %d is not an object", e);
        int index = -1, label = -1, style = -1;
        for (int f = 0, i = j + 1; f < t[j].size; f++) {
            const jsmntok_t *v = &t[i + 1];
            char val[64];
            int vl = v->end - v->start < 63 ? v->end - v->start : 63;
            memcpy(val, js + v->start, (size_t)vl);
            val[vl] = '\0';
            if (tok_is(js, &t[i], "index")) index = atoi(val);
            else if (tok_is(js, &t[i], "label")) label = atoi(val);
            else if (tok_is(js, &t[i], "style") && v->type == JSMN_STRING) {
                for (style = 0; style < s->n_styles && strcmp(s->styles[style], val) != 0; style++) {}
                if (style == s->n_styles) {
                    if (s->n_styles == MAX_STYLES || vl >= (int)sizeof s->styles[0])
                        cli_failf(path, "more than %d styles, or a style name too long", MAX_STYLES);
                    strcpy(s->styles[s->n_styles++], val);
                }
            }
            i = tok_skip(t, n, i + 1);
        }
        if (index != e || label != s->label[e] || style < 0)
            cli_failf(path, "image %d: index %d, label %d, %s (the IDX file: label %d)", e, index, label,
                      style < 0 ? "no style" : "a style", s->label[e]);
        s->style[e] = (uint8_t)style;
        j = tok_skip(t, n, j);
    }
    free(t);
    free(buf);
}

void set_load(image_set *s, const char *key, const char *name, const char *dir,
              const char *styles_json)
{
    memset(s, 0, sizeof *s);
    snprintf(s->key, sizeof s->key, "%s", key);
    snprintf(s->name, sizeof s->name, "%s", name);
    cli_load_dataset(&s->d, dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
    s->n = s->d.imgs.count;
    s->label = s->d.lbls.labels;
    s->x = malloc(sizeof(float) * DL_IN_SIZE * (size_t)s->n);
    if (!s->x) cli_fail(dir, DL_ERR_NOMEM);
    for (size_t i = 0; i < (size_t)s->n * DL_IN_SIZE; i++) s->x[i] = s->d.imgs.pixels[i] / 255.0f;
    if (styles_json) read_styles(s, styles_json);
}

void set_free(image_set *s)
{
    free(s->x);
    free(s->style);
    cli_free_dataset(&s->d);
}

/* ---- networks ---------------------------------------------------------- */

static int same_arch(const dl_arch *a, const dl_arch *b)
{
    if (a->n_layers != b->n_layers || a->cam_layer != b->cam_layer) return 0;
    for (int i = 0; i < a->n_layers; i++) {
        const dl_layer_spec *p = &a->layers[i], *q = &b->layers[i];
        if (p->kind != q->kind) return 0;
        if ((p->kind == DL_CONV || p->kind == DL_DENSE || p->kind == DL_MAXPOOL) && p->size != q->size) return 0;
        if (p->kind == DL_CONV && p->k != q->k) return 0;
    }
    return 1;
}

void net_load(net *nt, const char *path)
{
    memset(nt, 0, sizeof *nt);
    nt->path = path;
    cli_load_model(&nt->m, path, NULL);
    dl_model *m = &nt->m;
    dl_arch a;
    dl_model_arch(m, &a);
    nt->builtin = same_arch(&a, &dl_seednet) ? 0 : same_arch(&a, &dl_twoconv) ? 1 : -1;
    if (nt->builtin >= 0) {
        snprintf(nt->id, sizeof nt->id, "%s", nt->builtin ? "twoconv" : "seednet");
        snprintf(nt->name, sizeof nt->name, "%s", nt->builtin ? "two-conv network" : "seed network");
    } else { /* another network: named after its file */
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        int k = 0;
        for (; b[k] && b[k] != '.' && k < (int)sizeof nt->id - 1; k++)
            nt->id[k] = (char)((b[k] >= 'a' && b[k] <= 'z') || (b[k] >= 'A' && b[k] <= 'Z') ||
                               (b[k] >= '0' && b[k] <= '9') || b[k] == '-' ? b[k] : '_');
        nt->id[k] = '\0';
        if (!k) snprintf(nt->id, sizeof nt->id, "net");
        snprintf(nt->name, sizeof nt->name, "network %s", nt->id);
    }
    nt->closed_form = dl_gradcam_closed_form(m);
    if (nt->closed_form) {
        nt->alpha = malloc(sizeof(float) * DL_CLASSES * (size_t)m->cam_k);
        if (!nt->alpha || dl_gradcam_prepare(m, nt->alpha) != DL_OK) cli_fail(path, DL_ERR_NOMEM);
    }
    /* receptive field of a cell of A: r += (k-1) j for a conv or pool of
     * side k, j *= the pool's stride */
    int r = 1, j = 1;
    for (int i = 0; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        if (L->spec.kind == DL_CONV) {
            nt->macs += (long)L->out_c * L->out_h * L->out_w * L->in_c * L->spec.k * L->spec.k;
            if (i <= m->cam_layer) { r += (L->spec.k - 1) * j; nt->n_conv_to_a++; }
        } else if (L->spec.kind == DL_MAXPOOL && i <= m->cam_layer) {
            r += (L->spec.size - 1) * j;
            j *= L->spec.size;
        } else if (L->spec.kind == DL_DENSE) {
            nt->macs += (long)L->in_size * L->out_size;
        }
    }
    nt->rf = r;
    for (int i = m->n_layers - 1; i >= 0; i--)
        if (m->layers[i].n_w) nt->casc[nt->n_casc++] = i;
    nt->meanmap = calloc(10, sizeof *nt->meanmap);
    nt->meanx = calloc(10, sizeof *nt->meanx);
    if (!nt->meanmap || !nt->meanx) cli_fail(path, DL_ERR_NOMEM);
}

static void result_free(set_result *r)
{
    free(r->pred);
    free(r->prob);
    free(r->faith);
}

void net_free(net *nt)
{
    result_free(&nt->mnist);
    for (int k = 0; k < MAX_DRAWN; k++) result_free(&nt->drawn[k]);
    free(nt->S);
    free(nt->meanmap);
    free(nt->meanx);
    free(nt->alpha);
    dl_model_free(&nt->m);
}

/* ---- every image ------------------------------------------------------- */

void measure_set(net *nt, const image_set *s, set_result *r, int mean)
{
    const int N = s->n, Z = nt->m.map_size;
    r->pred = malloc(sizeof(int) * (size_t)N);
    r->prob = malloc(sizeof(float) * 10 * (size_t)N);
    if (!r->pred || !r->prob) cli_fail("report", DL_ERR_NOMEM);
#pragma omp parallel
    {
        dl_work w;
        dl_cam *cam = malloc(sizeof *cam);
        if (!cam || dl_work_alloc(&w, &nt->m, 1) != DL_OK) cli_fail("report", DL_ERR_NOMEM);
#pragma omp for schedule(static)
        for (int i = 0; i < N; i++) {
            const float *x = s->x + (size_t)i * DL_IN_SIZE;
            if (dl_gradcam(&nt->m, &w, x, DL_ALL_CLASSES, cam) != DL_OK) cli_fail("report", DL_ERR_ARG);
            const int c = cam->digit, t = s->label[i];
            r->pred[i] = c;
            memcpy(r->prob + (size_t)i * 10, cam->probs, sizeof cam->probs);
            float mx = 0;
            for (int p = 0; p < Z; p++) mx = fmaxf(mx, dl_cam_map(cam, c)[p]);
#pragma omp critical
            {
                r->conf[t][c]++;
                r->pred_n[c]++;
                r->empty_own[c] += !(mx > 0);
                if (s->style) { r->style_n[s->style[i]]++; r->style_ok[s->style[i]] += c == t; }
                if (mean && c == t) {
                    nt->mean_n[c]++;
                    for (int p = 0; p < Z; p++) nt->meanmap[c][p] += dl_cam_map(cam, c)[p];
                    for (int p = 0; p < DL_IN_SIZE; p++) nt->meanx[c][p] += x[p];
                }
            }
        }
        free(cam);
        dl_work_free(&w);
    }
    for (int c = 0; c < 10; c++) r->correct += r->conf[c][c];
}

void find_errors(net *nt, const image_set *s)
{
    const set_result *r = &nt->mnist;
    nt->n_err = 0;
    for (int k = 0; k < N_ERRORS; k++) {
        int best = -1;
        for (int i = 0; i < s->n; i++) {
            if (r->pred[i] == s->label[i]) continue;
            int seen = 0;
            for (int j = 0; j < nt->n_err; j++) seen |= nt->err[j] == i;
            if (!seen && (best < 0 || r->prob[(size_t)i * 10 + r->pred[i]] > r->prob[(size_t)best * 10 + r->pred[best]]))
                best = i;
        }
        if (best < 0) break;
        nt->err[nt->n_err++] = best;
    }
}

/* ---- faithfulness and sanity ------------------------------------------- */

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

/* The 28x28 map of method m (or a baseline) for class c of image x; with
 * raw != NULL also the map on its own grid (A's cells; the input's for the
 * guided methods and the baselines), *raw_n values. */
static void map28(float *out, float *raw, int *raw_n, const dl_model *mdl, dl_work *w, dl_cam *cam,
                  const float *x, int m, int c, uint64_t seed, int *empty, int *undef)
{
    *empty = *undef = 0;
    if (m == M_INK) memcpy(out, x, sizeof(float) * DL_IN_SIZE);
    else if (m == M_RANDOM) {
        uint64_t r = seed;
        for (int i = 0; i < DL_IN_SIZE; i++) out[i] = dl_rand_uniform(&r);
    } else {
        int st = dl_cam_method(mdl, w, x, m, 1u << c, cam);
        if (st != DL_OK) cli_fail("report", st);
        dl_cam_place(out, DL_IN_H, DL_IN_W, dl_cam_map(cam, c), &cam->grid);
        float mx = 0;
        for (int i = 0; i < DL_IN_SIZE; i++) mx = fmaxf(mx, out[i]);
        *empty = !(mx > 0);
        *undef = (cam->undefined >> c) & 1;
        if (raw) {
            *raw_n = cam->grid.side * cam->grid.side;
            memcpy(raw, dl_cam_map(cam, c), sizeof(float) * (size_t)*raw_n);
        }
        return;
    }
    if (raw) {
        *raw_n = DL_IN_SIZE;
        memcpy(raw, out, sizeof(float) * DL_IN_SIZE);
    }
}

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
        a->drop[m] += b->drop[m]; a->incr[m] += b->incr[m]; a->map_s[m] += b->map_s[m];
        a->empty[m] += b->empty[m]; a->undef[m] += b->undef[m];
        for (int k = 0; k < MAX_CASCADE; k++) {
            a->rho[m][k] += b->rho[m][k];
            a->rho_placed[m][k] += b->rho_placed[m][k];
        }
    }
    a->n += b->n;
    a->n_sanity += b->n_sanity;
}

void measure_faith(const net *nt, const image_set *s, const set_result *r, int fstride,
                   int sstride, const int *methods, int n_methods, stats *S)
{
    memset(S, 0, sizeof *S);
    const dl_model *m = &nt->m;
    const int nc = sstride > 0 ? nt->n_casc : 0, N = s->n;
    /* the cascade: mr[k] has the top k layers with weights randomised */
    dl_model mr[MAX_CASCADE + 1], rnd = *m;
    mr[0] = *m;
    if (nc) {
        if (dl_model_alloc(&rnd) != DL_OK) cli_fail("report", DL_ERR_NOMEM);
        dl_model_init_he(&rnd, 7);
    }
    for (int k = 1; k <= nc; k++) {
        mr[k] = *m;
        mr[k].gradcam_alpha = NULL; /* the trained model's */
        if (dl_model_alloc(&mr[k]) != DL_OK) cli_fail("report", DL_ERR_NOMEM);
        memcpy(mr[k].params, m->params, sizeof(float) * m->n_params);
        for (int q = 0; q < k; q++) {
            const dl_layer *L = &m->layers[nt->casc[q]];
            memcpy(mr[k].params + L->w_off, rnd.params + L->w_off, sizeof(float) * L->n_w);
            memcpy(mr[k].params + L->b_off, rnd.params + L->b_off, sizeof(float) * L->n_b);
        }
    }
#pragma omp parallel
    {
        stats *T = calloc(1, sizeof *T);
        dl_work w, bw;
        dl_cam *cam = malloc(sizeof *cam);
        if (!T || !cam || dl_work_alloc(&w, m, 1) != DL_OK || dl_work_alloc(&bw, m, 2 * (STEPS + 1) + 1) != DL_OK)
            cli_fail("report", DL_ERR_NOMEM);
        float map[DL_IN_SIZE], map2[DL_IN_SIZE], raw[DL_MAX_MAP_SIZE], raw2[DL_MAX_MAP_SIZE];
#pragma omp for schedule(dynamic, 4)
        for (int i = 0; i < N; i++) {
            const float *x = s->x + (size_t)i * DL_IN_SIZE;
            int c = r->pred[i], e, u;
            uint64_t seed = 0x5EEDull * (uint64_t)(i + 1);
            if (i % fstride == 0) {
                T->n++;
                for (int q = 0; q < n_methods; q++) {
                    const int mm = methods[q];
                    double t0 = omp_get_wtime();
                    map28(map, NULL, NULL, m, &w, cam, x, mm, c, seed, &e, &u);
                    T->map_s[mm] += omp_get_wtime() - t0;
                    T->empty[mm] += e;
                    T->undef[mm] += u;
                    faith_one(T, mm, m, &bw, x, map, c, r->prob[(size_t)i * 10 + c], seed + 1);
                }
            }
            if (nc && i % sstride == 0) {
                T->n_sanity++;
                for (int q = 0; q < n_methods; q++) {
                    const int mm = methods[q];
                    int n1, n2;
                    map28(map, raw, &n1, &mr[0], &w, cam, x, mm, c, seed, &e, &u);
                    for (int k = 1; k <= nc; k++) {
                        map28(map2, raw2, &n2, &mr[k], &w, cam, x, mm, c, seed + (mm == M_RANDOM ? (uint64_t)k : 0), &e, &u);
                        T->rho[mm][k - 1] += spearman(raw, raw2, n1);
                        T->rho_placed[mm][k - 1] += spearman(map, map2, DL_IN_SIZE);
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
    for (int k = 1; k <= nc; k++) dl_model_free(&mr[k]);
    if (nc) dl_model_free(&rnd);
    /* sums to means */
    const int nf = S->n ? S->n : 1, ns = S->n_sanity ? S->n_sanity : 1;
    for (int mm = 0; mm < NM; mm++) {
        for (int st = 0; st <= STEPS; st++) { S->del[mm][st] /= nf; S->ins[mm][st] /= nf; }
        S->del_auc[mm] /= nf; S->ins_auc[mm] /= nf; S->drop[mm] /= nf; S->incr[mm] /= nf;
        S->pass[mm] = nc > 0;
        for (int k = 0; k < nc; k++) {
            S->rho[mm][k] /= ns;
            S->rho_placed[mm][k] /= ns;
            S->pass[mm] &= S->rho[mm][k] < 0.5;
        }
    }
}

/* ---- goals -------------------------------------------------------------- */

void goals_of(const net *nt, const image_set *mnist, goal g[N_GOALS])
{
    const set_result *r = &nt->mnist;
    const stats *S = nt->S;
    int empty = 0, worst = 0;
    double wr = -1;
    for (int c = 0; c < 10; c++) {
        empty += r->empty_own[c];
        double f = r->pred_n[c] ? (double)r->empty_own[c] / r->pred_n[c] : 0;
        if (f > wr) { wr = f; worst = c; }
    }
    g[0] = (goal){ .what = "MNIST test accuracy >= 99.3 %", .v = 100.0 * r->correct / mnist->n, .target = 99.3 };
    g[0].met = g[0].v >= g[0].target;
    snprintf(g[0].value, sizeof g[0].value, "%.2f %%", g[0].v);
    snprintf(g[0].need, sizeof g[0].need, "%s correct of %s", report_th((993L * mnist->n + 999) / 1000), report_th(mnist->n));
    g[1] = (goal){ .what = "Grad-CAM deletion AUC <= 0.55 x the random map's", .target = 0.55,
                   .v = S->del_auc[DL_M_GRADCAM] / S->del_auc[M_RANDOM] };
    g[1].met = g[1].v <= g[1].target;
    snprintf(g[1].value, sizeof g[1].value, "%.3f / %.3f = %.3fx", S->del_auc[DL_M_GRADCAM], S->del_auc[M_RANDOM], g[1].v);
    snprintf(g[1].need, sizeof g[1].need, "a deletion AUC of at most %.4f, has %.4f", 0.55 * S->del_auc[M_RANDOM],
             S->del_auc[DL_M_GRADCAM]);
    g[2] = (goal){ .what = "Grad-CAM insertion AUC >= 1.2 x the random map's", .target = 1.2,
                   .v = S->ins_auc[DL_M_GRADCAM] / S->ins_auc[M_RANDOM] };
    g[2].met = g[2].v >= g[2].target;
    snprintf(g[2].value, sizeof g[2].value, "%.3f / %.3f = %.3fx", S->ins_auc[DL_M_GRADCAM], S->ins_auc[M_RANDOM], g[2].v);
    snprintf(g[2].need, sizeof g[2].need, "an insertion AUC of at least %.4f, has %.4f", 1.2 * S->ins_auc[M_RANDOM],
             S->ins_auc[DL_M_GRADCAM]);
    g[3] = (goal){ .what = "empty Grad-CAM maps < 1 % of the test images", .target = 1, .v = 100.0 * empty / mnist->n };
    g[3].met = g[3].v < g[3].target;
    snprintf(g[3].value, sizeof g[3].value, "%.2f %% (%s of %s)", g[3].v, report_th(empty), report_th(mnist->n));
    snprintf(g[3].need, sizeof g[3].need, "fewer than %s empty maps, has %s", report_th((mnist->n + 99) / 100), report_th(empty));
    g[4] = (goal){ .what = "empty Grad-CAM maps < 5 % of any predicted class", .target = 5, .v = 100 * wr };
    g[4].met = g[4].v < g[4].target;
    snprintf(g[4].value, sizeof g[4].value, "%.2f %% (class %d: %s of %s)", g[4].v, worst, report_th(r->empty_own[worst]),
             report_th(r->pred_n[worst]));
    snprintf(g[4].need, sizeof g[4].need, "fewer than %s empty maps of class %d, has %s",
             report_th((r->pred_n[worst] + 19) / 20), worst, report_th(r->empty_own[worst]));
}
