/* arch.c — networks as data: the two built-in architectures, those a
 * weights file's metadata describes (read and written here), the plan of
 * one (shapes, offsets, where Grad-CAM's cells lie on the input, and every
 * check that it is a network this library runs), its tensors, and loading
 * a weights file into it. Cold code: it runs once per weights file.
 */
#include "digitlens.h"

#include <string.h>

/* ---- architectures ----------------------------------------------------- */

const dl_arch dl_seednet = { 5, 1, {
    { DL_CONV,    "conv",    12, 5 }, /* 1x28x28 -> 12x24x24 */
    { DL_RELU,    "relu",     0, 0 }, /* A: the maps Grad-CAM reads, 24x24 */
    { DL_MAXPOOL, "pool",     2, 0 }, /* -> 12x12x12 */
    { DL_FLATTEN, "flatten",  0, 0 }, /* -> 1728, (C,H,W) order */
    { DL_DENSE,   "fc",      10, 0 }, /* -> 10 logits */
} };

const dl_arch dl_twoconv = { 8, 4, {
    { DL_CONV,    "conv1",   16, 5 }, /* 1x28x28 -> 16x24x24 */
    { DL_RELU,    "relu1",    0, 0 },
    { DL_MAXPOOL, "pool1",    2, 0 }, /* -> 16x12x12 */
    { DL_CONV,    "conv2",   32, 3 }, /* -> 32x10x10 */
    { DL_RELU,    "relu2",    0, 0 }, /* A: the maps Grad-CAM reads, 10x10 */
    { DL_MAXPOOL, "pool2",    2, 0 }, /* -> 32x5x5 */
    { DL_FLATTEN, "flatten",  0, 0 }, /* -> 800 */
    { DL_DENSE,   "fc",      10, 0 }, /* -> 10 logits */
} };

const dl_grid dl_input_grid = { DL_IN_H, 0.0f, 1.0f };

const dl_arch *dl_arch_named(const char *name)
{
    if (!name) return NULL;
    if (strcmp(name, "seednet") == 0) return &dl_seednet;
    if (strcmp(name, "twoconv") == 0) return &dl_twoconv;
    return NULL;
}

static const char *const kind_names[] = { "conv", "relu", "maxpool", "flatten", "dense" };

/* Messages are built without printf, which would bring its weight into the
 * WASM build: a small appender into a fixed buffer. */
typedef struct { char *s; size_t cap, n; } msg;

static void put(msg *m, const char *t)
{
    if (!m->s || !m->cap) return;
    while (*t && m->n + 1 < m->cap) m->s[m->n++] = *t++;
    m->s[m->n] = '\0';
}

static void put_int(msg *m, long v)
{
    char b[24], *p = b + sizeof b;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    *--p = '\0';
    do *--p = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *--p = '-';
    put(m, p);
}

static msg msg_at(char *s, size_t cap)
{
    msg m = { s, cap, 0 };
    if (s && cap) s[0] = '\0';
    return m;
}

/* "layer 3 'conv2': " */
static void put_layer(msg *m, int i, const char *name)
{
    put(m, "layer ");
    put_int(m, i);
    if (name && name[0]) { put(m, " '"); put(m, name); put(m, "'"); }
    put(m, ": ");
}

static int name_ok(const char *n)
{
    size_t len = 0;
    for (; n[len]; len++) {
        char c = n[len];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return len > 0 && len < DL_NAME_MAX;
}

/* ---- the architecture's JSON text -------------------------------------- */

/* The restricted JSON of "architecture": a list of lists, each a kind
 * string, a name string and up to two non-negative integers. Names hold no
 * escapes (letters, digits and _), so a string is read as it stands. */
typedef struct { const char *p, *end; } cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int eat(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) { c->p++; return 1; }
    return 0;
}

/* a string of at most cap-1 plain characters; 0 if not one */
static int read_string(cursor *c, char *out, size_t cap)
{
    if (!eat(c, '"')) return 0;
    size_t n = 0;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\\' || (unsigned char)*c->p < 0x20 || n + 1 >= cap) return 0;
        out[n++] = *c->p++;
    }
    out[n] = '\0';
    return c->p < c->end && *c->p++ == '"';
}

/* a whole number 0 .. 10^6, 0 if not one */
static int read_int(cursor *c, int *v)
{
    skip_ws(c);
    long x = 0;
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && c->p - start < 7) x = x * 10 + (*c->p++ - '0');
    if (c->p == start || (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E' ||
                                             (*c->p >= '0' && *c->p <= '9'))))
        return 0;
    *v = (int)x;
    return 1;
}

static int parse_layers(dl_arch *a, const char *text, msg *why)
{
    cursor c = { text, text + strlen(text) };
    memset(a, 0, sizeof *a);
    if (!eat(&c, '[')) { put(why, "architecture: not a JSON list of layers"); return DL_ERR_ARCH; }
    if (eat(&c, ']')) { put(why, "architecture: no layers"); return DL_ERR_ARCH; }
    do {
        const int i = a->n_layers;
        if (i == DL_MAX_LAYERS) {
            put(why, "architecture: more than ");
            put_int(why, DL_MAX_LAYERS);
            put(why, " layers");
            return DL_ERR_TOO_LARGE;
        }
        dl_layer_spec *L = &a->layers[i];
        char kind[16];
        memset(L, 0, sizeof *L);
        if (!eat(&c, '[') || !read_string(&c, kind, sizeof kind) || !eat(&c, ',') ||
            !read_string(&c, L->name, sizeof L->name)) {
            put(why, "architecture: ");
            put_layer(why, i, NULL);
            put(why, "not [kind, name, size, k] with a name of at most 23 characters");
            return DL_ERR_ARCH;
        }
        int k = 0, nums[2] = { 0, 0 }, n = 0;
        while (k < 5 && strcmp(kind, kind_names[k]) != 0) k++;
        if (k == 5) {
            put(why, "architecture: ");
            put_layer(why, i, L->name);
            put(why, "unknown kind '");
            put(why, kind);
            put(why, "' (conv, relu, maxpool, flatten or dense)");
            return DL_ERR_ARCH;
        }
        while (n < 2 && eat(&c, ',')) {
            if (!read_int(&c, &nums[n++])) {
                put(why, "architecture: ");
                put_layer(why, i, L->name);
                put(why, "sizes must be whole numbers");
                return DL_ERR_ARCH;
            }
        }
        static const int wants[5] = { 2, 0, 1, 0, 1 }; /* numbers each kind takes */
        if (!eat(&c, ']') || n != wants[k]) {
            put(why, "architecture: ");
            put_layer(why, i, L->name);
            put(why, k == 0 ? "conv takes [\"conv\", name, filters, kernel side]"
                     : k == 2 ? "maxpool takes [\"maxpool\", name, window]"
                     : k == 4 ? "dense takes [\"dense\", name, outputs]"
                              : "relu and flatten take [kind, name]");
            return DL_ERR_ARCH;
        }
        L->kind = (dl_kind)k;
        L->size = nums[0];
        L->k = nums[1];
        a->n_layers++;
    } while (eat(&c, ','));
    if (!eat(&c, ']') || (skip_ws(&c), c.p != c.end)) {
        put(why, "architecture: not a JSON list of layers");
        return DL_ERR_ARCH;
    }
    return DL_OK;
}

int dl_arch_from_meta(dl_arch *a, const dl_meta *meta, char *why, size_t cap)
{
    msg m = msg_at(why, cap);
    if (!a) return DL_ERR_ARG;
    const char *text = meta ? dl_meta_get(meta, "architecture") : NULL;
    const char *cam = meta ? dl_meta_get(meta, "cam_layer") : NULL;
    if (!text) {
        if (cam) { put(&m, "cam_layer without an architecture"); return DL_ERR_ARCH; }
        *a = dl_seednet; /* files from before architectures were written */
        return DL_OK;
    }
    int st = parse_layers(a, text, &m);
    if (st) return st;
    if (!cam) { put(&m, "architecture without a cam_layer"); return DL_ERR_CAM_LAYER; }
    for (a->cam_layer = 0; a->cam_layer < a->n_layers; a->cam_layer++)
        if (strcmp(a->layers[a->cam_layer].name, cam) == 0) return DL_OK;
    put(&m, "cam_layer '");
    put(&m, cam);
    put(&m, "' is not a layer of the architecture");
    return DL_ERR_CAM_LAYER;
}

int dl_arch_to_meta(const dl_arch *a, dl_meta *meta)
{
    if (!a || !meta || a->n_layers < 1 || a->n_layers > DL_MAX_LAYERS ||
        a->cam_layer < 0 || a->cam_layer >= a->n_layers)
        return DL_ERR_ARG;
    char text[DL_META_VAL];
    msg m = msg_at(text, sizeof text);
    put(&m, "[");
    for (int i = 0; i < a->n_layers; i++) {
        const dl_layer_spec *L = &a->layers[i];
        if ((unsigned)L->kind > DL_DENSE || !name_ok(L->name)) return DL_ERR_ARG;
        put(&m, i ? ",[\"" : "[\"");
        put(&m, kind_names[L->kind]);
        put(&m, "\",\"");
        put(&m, L->name);
        put(&m, "\"");
        if (L->kind == DL_CONV || L->kind == DL_MAXPOOL || L->kind == DL_DENSE) {
            put(&m, ",");
            put_int(&m, L->size);
        }
        if (L->kind == DL_CONV) {
            put(&m, ",");
            put_int(&m, L->k);
        }
        put(&m, "]");
    }
    put(&m, "]");
    if (m.n + 1 >= sizeof text) return DL_ERR_ARG;
    int st = dl_meta_set(meta, "architecture", text);
    return st ? st : dl_meta_set(meta, "cam_layer", a->layers[a->cam_layer].name);
}

/* ---- the plan ------------------------------------------------------------ */

/* dst = a + b; the caller has checked the length */
static void join_name(char *dst, const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    memcpy(dst, a, na);
    memcpy(dst + na, b, nb + 1);
}

/* Set m->why to "layer i 'name': what" and return st. */
static int plan_fail(dl_model *m, int st, int i, const char *what, long v, const char *rest)
{
    msg w = msg_at(m->why, sizeof m->why);
    if (i >= 0) put_layer(&w, i, m->layers[i].spec.name);
    put(&w, what);
    if (rest) { put_int(&w, v); put(&w, rest); }
    return st;
}

int dl_model_plan(dl_model *m, const dl_arch *a)
{
    if (!m || !a) return DL_ERR_ARG;
    memset(m, 0, sizeof *m);
    if (a->n_layers < 1 || a->n_layers > DL_MAX_LAYERS)
        return plan_fail(m, DL_ERR_TOO_LARGE, -1, "an architecture has 1 to ", DL_MAX_LAYERS, " layers");
    int c = DL_IN_C, h = DL_IN_H, w = DL_IN_W, flat = 0, nt = 0;
    size_t np = 0, na = DL_IN_SIZE;
    /* where the current layer's cells lie on the input (dl_grid) */
    float off = 0.0f, stride = 1.0f;
    for (int i = 0; i < a->n_layers; i++) {
        dl_layer *L = &m->layers[i];
        const dl_layer_spec *S = &a->layers[i];
        L->spec = *S;
        L->spec.name[DL_NAME_MAX - 1] = '\0';
        L->in_c = c; L->in_h = h; L->in_w = w;
        if (!name_ok(L->spec.name))
            return plan_fail(m, DL_ERR_ARCH, i, "a name is letters, digits and _, at most 23", 0, NULL);
        for (int j = 0; j < i; j++)
            if (strcmp(m->layers[j].spec.name, L->spec.name) == 0)
                return plan_fail(m, DL_ERR_ARCH, i, "two layers have this name", 0, NULL);
        switch (S->kind) {
        case DL_CONV:
            if (flat) return plan_fail(m, DL_ERR_ARCH, i, "a conv after flatten", 0, NULL);
            if (S->size < 1 || S->size > DL_MAX_CHANNELS)
                return plan_fail(m, DL_ERR_TOO_LARGE, i, "filters must be 1 to ", DL_MAX_CHANNELS, "");
            if (S->k < 1 || S->k > DL_MAX_KERNEL)
                return plan_fail(m, DL_ERR_ARCH, i, "the kernel side must be 1 to ", DL_MAX_KERNEL, "");
            if (S->k > h || S->k > w)
                return plan_fail(m, DL_ERR_ARCH, i, "the kernel is larger than its input, side ", h, "");
            L->n_w = (size_t)S->size * c * S->k * S->k;
            L->n_b = (size_t)S->size;
            off += (float)(S->k - 1) / 2.0f * stride;
            c = S->size; h = h - S->k + 1; w = w - S->k + 1;
            break;
        case DL_MAXPOOL:
            if (flat) return plan_fail(m, DL_ERR_ARCH, i, "a maxpool after flatten", 0, NULL);
            if (S->size < 1 || S->size > h || S->size > w)
                return plan_fail(m, DL_ERR_ARCH, i, "the window must be 1 to the input's side, ", h, "");
            off += (float)(S->size - 1) / 2.0f * stride;
            stride *= (float)S->size;
            h /= S->size; w /= S->size;
            break;
        case DL_DENSE:
            if (!flat) return plan_fail(m, DL_ERR_ARCH, i, "a dense layer needs a flatten before it", 0, NULL);
            if (S->size < 1 || S->size > DL_MAX_PARAMS)
                return plan_fail(m, DL_ERR_TOO_LARGE, i, "outputs must be 1 to ", DL_MAX_PARAMS, "");
            L->n_w = (size_t)S->size * c * h * w;
            L->n_b = (size_t)S->size;
            c = S->size; h = 1; w = 1;
            break;
        case DL_FLATTEN:
            if (flat) return plan_fail(m, DL_ERR_ARCH, i, "a second flatten", 0, NULL);
            flat = 1;
            c = c * h * w; h = 1; w = 1;
            break;
        case DL_RELU:
            break;
        default:
            return plan_fail(m, DL_ERR_ARCH, i, "unknown kind", 0, NULL);
        }
        L->out_c = c; L->out_h = h; L->out_w = w;
        L->in_size = (size_t)L->in_c * L->in_h * L->in_w;
        L->out_size = (size_t)c * h * w;
        L->w_off = np; np += L->n_w;
        L->b_off = np; np += L->n_b;
        if (np > DL_MAX_PARAMS)
            return plan_fail(m, DL_ERR_TOO_LARGE, i, "more weights than the limit, ", DL_MAX_PARAMS, "");
        /* Flatten only renames its input: it shares the input's block. */
        if (S->kind == DL_FLATTEN) {
            L->act_off = i > 0 ? m->layers[i - 1].act_off : 0;
        } else {
            L->act_off = na;
            na += L->out_size;
        }
        if (na > DL_MAX_ACTS)
            return plan_fail(m, DL_ERR_TOO_LARGE, i, "more activations than the limit, ", DL_MAX_ACTS, "");
        if (L->n_w) {
            join_name(m->tensor_names[nt++], L->spec.name, ".weight");
            join_name(m->tensor_names[nt++], L->spec.name, ".bias");
        }
        if (i == a->cam_layer) {
            m->grid.side = h;
            m->grid.off = off;
            m->grid.stride = stride;
        }
    }
    const int n = a->n_layers;
    const dl_layer *last = &m->layers[n - 1];
    if (last->spec.kind != DL_DENSE || last->out_size != DL_CLASSES)
        return plan_fail(m, DL_ERR_ARCH, n - 1, "the last layer must be dense with 10 outputs", 0, NULL);
    if (a->cam_layer < 0 || a->cam_layer >= n)
        return plan_fail(m, DL_ERR_CAM_LAYER, -1, "cam_layer is not a layer", 0, NULL);
    const dl_layer *A = &m->layers[a->cam_layer];
    if ((A->spec.kind != DL_CONV && A->spec.kind != DL_RELU) || A->out_h < 2 ||
        A->out_h > DL_MAX_MAP_SIDE || A->out_w != A->out_h)
        return plan_fail(m, DL_ERR_CAM_LAYER, a->cam_layer,
                         "cam_layer must be a conv or relu whose output is a map, 2x2 to 27x27", 0, NULL);
    m->n_layers = n;
    m->cam_layer = a->cam_layer;
    m->cam_k = A->out_c;
    m->map_size = m->grid.side * m->grid.side;
    m->n_params = np;
    m->n_acts = na;
    m->params = NULL;
    return DL_OK;
}

void dl_model_arch(const dl_model *m, dl_arch *a)
{
    memset(a, 0, sizeof *a);
    a->n_layers = m->n_layers;
    a->cam_layer = m->cam_layer;
    for (int i = 0; i < m->n_layers; i++) a->layers[i] = m->layers[i].spec;
}

int dl_model_load(dl_model *m, const uint8_t *buf, size_t len, float *params, size_t cap,
                  dl_meta *meta)
{
    if (!m || !params) return DL_ERR_ARG;
    memset(m, 0, sizeof *m);
    dl_meta md;
    dl_arch a;
    char why[sizeof m->why];
    int st = dl_st_load(buf, len, NULL, 0, &md); /* the header and its metadata */
    if (st) return st;
    if ((st = dl_arch_from_meta(&a, &md, why, sizeof why))) {
        memcpy(m->why, why, sizeof why);
        return st;
    }
    if ((st = dl_model_plan(m, &a))) return st;
    if (m->n_params > cap)
        return plan_fail(m, DL_ERR_TOO_LARGE, -1, "more weights than the buffer holds, ", (long)cap, "");
    dl_tensor t[DL_MAX_TENSORS];
    int n = dl_model_tensors(m, params, t), bad;
    if ((st = dl_st_load_at(buf, len, t, n, NULL, &bad))) {
        if (bad >= 0) {
            msg w = msg_at(m->why, sizeof m->why);
            put(&w, "tensor ");
            put(&w, t[bad].name);
            put(&w, st == DL_ERR_SHAPE ? ": its shape is not the architecture's"
                    : st == DL_ERR_MISSING ? ": the architecture needs it; the file has none" : ": ");
            if (st != DL_ERR_SHAPE && st != DL_ERR_MISSING) put(&w, dl_strerror(st));
            if (st == DL_ERR_MISSING && !dl_meta_get(&md, "architecture"))
                put(&w, " (a file without architecture metadata is the seed network)");
        }
        return st;
    }
    m->params = params;
    if (meta) *meta = md;
    return DL_OK;
}

int dl_model_tensors(const dl_model *m, float *params, dl_tensor *t)
{
    int n = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        if (!L->n_w) continue;
        dl_tensor *tw = &t[n], *tb = &t[n + 1];
        memset(tw, 0, sizeof *tw);
        memset(tb, 0, sizeof *tb);
        tw->name = m->tensor_names[n];
        tb->name = m->tensor_names[n + 1];
        tw->data = params + L->w_off;
        tb->data = params + L->b_off;
        if (L->spec.kind == DL_CONV) {         /* (OC, C, K, K) */
            tw->ndim = 4;
            tw->shape[0] = L->out_c; tw->shape[1] = L->in_c;
            tw->shape[2] = tw->shape[3] = L->spec.k;
        } else {                               /* (OUT, IN) */
            tw->ndim = 2;
            tw->shape[0] = (int)L->out_size; tw->shape[1] = (int)L->in_size;
        }
        tb->ndim = 1;
        tb->shape[0] = (int)L->n_b;
        n += 2;
    }
    return n;
}

