/* safetensors.c — model weights <-> safetensors bytes.
 *
 * Layout:  u64 little-endian N | N bytes of JSON header | data
 * Header:  {"__metadata__": {"key": "value", ...},
 *           "conv.weight": {"dtype": "F32", "shape": [12, 1, 5, 5],
 *                           "data_offsets": [begin, end]}, ...}
 * Offsets count bytes from the start of data, end exclusive.
 *
 * Reduced precision: F16 is read as is. I8 (int8) needs a per-output-channel
 * scale, stored as its own F32 tensor named after it: "fc.weight" I8
 * [10, 1728] comes with "fc.weight_scale" F32 [10], and element (r, ...) is
 * q * scale[r]. A missing scale is DL_ERR_MISSING, a scale of another dtype
 * DL_ERR_DTYPE, of another shape DL_ERR_SHAPE. dl_st_save_as writes F16, or
 * I8 (symmetric, round to nearest) for every tensor of two or
 * more dimensions (scale = max |w| / qmax, qmax <= 127 so that fewer levels
 * compress better), the 1-D biases staying F32.
 *
 * The 4-bit delta form ("d4", written by dl_st_save_how, the page's default
 * weights): "fc.weight_d4" U8 [10, 864] holds the levels q of each row of
 * fc.weight as differences from the level before (the first from 0), 4-bit
 * two's complement (-8..7), two a byte, low nibble first; "fc.weight_scale"
 * F32 [10] is the step of each row, as for I8. Neighbouring weights of a
 * row (neighbouring cells of one feature map) are alike, so the differences
 * take fewer distinct values than the levels and gzip packs them tighter.
 * A "_d4" tensor that is not U8 is DL_ERR_DTYPE, of another shape
 * DL_ERR_SHAPE; levels whose value overflows a float, DL_ERR_NAN.
 *
 * As in the reference implementation (huggingface/safetensors), the tensors
 * must tile the data exactly: sorted by offset they start at 0, touch without
 * gap or overlap, and the last one ends where the file ends. That rule is
 * also what tells a truncated file (the tiling runs past the end of the file:
 * DL_ERR_TRUNCATED) from corrupt offsets (the pieces do not fit together:
 * DL_ERR_OFFSETS).
 *
 * This file is part of the WASM build: no malloc, no stdio. jsmn is compiled
 * in here (static), in strict mode with parent links so that mismatched
 * brackets and bare words are JSON errors; its tokens live on the stack.
 */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#if defined(__has_include)
#if __has_include(<jsmn.h>)
#include <jsmn.h>
#else
/* emcc searches only its own sysroot; jsmn comes from Debian's libjsmn-dev. */
#include "/usr/include/jsmn.h"
#endif
#else
#include <jsmn.h>
#endif

#include <math.h>
#include <string.h>
#include "digitlens.h"

enum {
    ST_MAX_TOKENS = 1024,     /* DL_MAX_TENSORS 4-D tensors + full metadata ~ 500 */
    ST_MAX_ENTRIES = 128,     /* tensors in one file (each needs >= 10 tokens) */
    ST_MAX_HEADER = 100000000, /* the reference's limit; keeps jsmn's int offsets safe */
    ST_MAX_NAME = 64          /* a quantized tensor's name, before "_scale" */
};

/* ---- small helpers ----------------------------------------------------- */

static uint64_t get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* a * b, or UINT64_MAX when it does not fit (no real size can be that big). */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    if (a && b > UINT64_MAX / a) return UINT64_MAX;
    return a * b;
}

static float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* IEEE half -> float, exact: sign | exp 5 (bias 15) | mantissa 10.
 * Subnormal halves (exp 0) are m * 2^-24 and are normal as floats. */
static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    int exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | man << 13);
    if (exp == 0) {
        if (man == 0) return f32_from_bits(sign);
        exp = 1;            /* m * 2^-24: shift until the implicit 1 appears */
        while (!(man & 0x400)) { man <<= 1; exp--; }
        man &= 0x3ff;
    }
    return f32_from_bits(sign | (uint32_t)(exp + 112) << 23 | man << 13); /* 127 - 15 */
}

/* ---- JSON strings ------------------------------------------------------ */

static int hex4(const char *s, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d > 15) return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

static int utf8_put(char out[4], unsigned cp)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decode one character of a JSON string body js[*p .. end) into UTF-8 bytes;
 * returns their count, or -1 for what a C string cannot hold or JSON forbids:
 * a bad escape, a lone surrogate, \u0000, a raw control character. */
static int json_char(const char *js, int *p, int end, char out[4])
{
    unsigned char c = (unsigned char)js[*p];
    if (c < 0x20) return -1;
    if (c != '\\') { out[0] = (char)c; (*p)++; return 1; }
    if (*p + 1 >= end) return -1;
    char e = js[*p + 1];
    *p += 2;
    switch (e) {
    case '"': case '\\': case '/': out[0] = e; return 1;
    case 'b': out[0] = '\b'; return 1;
    case 'f': out[0] = '\f'; return 1;
    case 'n': out[0] = '\n'; return 1;
    case 'r': out[0] = '\r'; return 1;
    case 't': out[0] = '\t'; return 1;
    case 'u': break;
    default: return -1;
    }
    unsigned cp, lo;
    if (*p + 4 > end || hex4(js + *p, &cp)) return -1;
    *p += 4;
    if (cp == 0 || (cp >= 0xdc00 && cp < 0xe000)) return -1;
    if (cp >= 0xd800 && cp < 0xdc00) {          /* high surrogate: needs \uDC00.. */
        if (*p + 6 > end || js[*p] != '\\' || js[*p + 1] != 'u' ||
            hex4(js + *p + 2, &lo) || lo < 0xdc00 || lo >= 0xe000)
            return -1;
        *p += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    return utf8_put(out, cp);
}

/* Unescape string token t into dst (cap bytes, NUL-terminated); dst may be
 * NULL to only validate. Returns the length, -1 if invalid, -2 if too long. */
static int tok_string(const char *js, const jsmntok_t *t, char *dst, int cap)
{
    int p = t->start, n = 0, bad = 0;
    char ch[4];
    while (p < t->end) {
        int k = json_char(js, &p, t->end, ch);
        if (k < 0) return -1;
        if (dst && n + k >= cap) bad = 1;
        if (dst && !bad) memcpy(dst + n, ch, (size_t)k);
        n += k;
    }
    if (bad) return -2;
    if (dst) dst[n] = '\0';
    return n;
}

/* Does string token t decode to exactly s? */
static int tok_eq(const char *js, const jsmntok_t *t, const char *s)
{
    int p = t->start;
    size_t i = 0;
    char ch[4];
    while (p < t->end) {
        int k = json_char(js, &p, t->end, ch);
        if (k < 0) return 0;
        /* byte by byte: ch holds no NUL, so a mismatch stops us at s's end */
        for (int j = 0; j < k; j++, i++)
            if (s[i] != ch[j]) return 0;
    }
    return s[i] == '\0';
}

/* Do two string tokens decode to the same bytes? */
static int tok_same(const char *js, const jsmntok_t *a, const jsmntok_t *b)
{
    int pa = a->start, pb = b->start;
    char ca[4], cb[4];
    while (pa < a->end && pb < b->end) {
        int na = json_char(js, &pa, a->end, ca);
        int nb = json_char(js, &pb, b->end, cb);
        if (na < 0 || na != nb || memcmp(ca, cb, (size_t)na) != 0) return 0;
    }
    return pa == a->end && pb == b->end;
}

/* A JSON non-negative integer (digits only); saturates at UINT64_MAX so that
 * absurd values fail the offset checks instead of wrapping around. */
static int tok_uint(const char *js, const jsmntok_t *t, uint64_t *v)
{
    if (t->type != JSMN_PRIMITIVE || t->end <= t->start) return -1;
    *v = 0;
    for (int p = t->start; p < t->end; p++) {
        char c = js[p];
        if (c < '0' || c > '9') return -1;
        uint64_t d = (uint64_t)(c - '0');
        *v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
    }
    return 0;
}

/* Index of the token after token i and everything nested in it: tokens come
 * in document order and children start inside their parent's span. */
static int tok_skip(const jsmntok_t *t, int ntok, int i)
{
    int end = t[i].end;
    for (i++; i < ntok && t[i].start < end; i++) {}
    return i;
}

/* ---- the parsed header -------------------------------------------------- */

typedef enum { ST_F32, ST_F16, ST_I8, ST_U8, ST_OTHER } st_kind;

/* dtypes the loader can size (to check offsets), though it reads only four
 * (U8 only as the levels of a "_d4" tensor). */
static const struct { const char *name; int size; st_kind kind; } st_dtypes[] = {
    {"F32", 4, ST_F32}, {"F16", 2, ST_F16}, {"BF16", 2, ST_OTHER},
    {"F64", 8, ST_OTHER}, {"I64", 8, ST_OTHER}, {"I32", 4, ST_OTHER},
    {"I16", 2, ST_OTHER}, {"I8", 1, ST_I8}, {"U64", 8, ST_OTHER},
    {"U32", 4, ST_OTHER}, {"U16", 2, ST_OTHER}, {"U8", 1, ST_U8},
    {"BOOL", 1, ST_OTHER}, {"F8_E5M2", 1, ST_OTHER}, {"F8_E4M3", 1, ST_OTHER},
};

typedef struct {
    int name;           /* token of the key */
    int shape;          /* token of the shape array */
    st_kind kind;
    uint64_t nbytes;    /* element size * prod(shape), saturated */
    uint64_t begin, end;
} st_entry;

typedef struct {
    const char *js;
    int ntok;
    int meta;           /* token of the __metadata__ object, -1 if none */
    int nent;
    jsmntok_t tok[ST_MAX_TOKENS];
    st_entry ent[ST_MAX_ENTRIES];
} st_header;

/* {"dtype": str, "shape": [uint...], "data_offsets": [uint, uint]}; other
 * keys are ignored, as the reference does. */
static int parse_entry(st_header *h, int key, int obj)
{
    const jsmntok_t *t = h->tok;
    if (t[obj].type != JSMN_OBJECT) return DL_ERR_JSON;
    if (h->nent == ST_MAX_ENTRIES) return DL_ERR_JSON;
    st_entry *e = &h->ent[h->nent];
    int dtype = -1, shape = -1, offs = -1, i = obj + 1;
    for (int k = 0; k < t[obj].size; k++) {
        if (i + 1 >= h->ntok || t[i].type != JSMN_STRING || t[i].size != 1)
            return DL_ERR_JSON;
        int *slot = tok_eq(h->js, &t[i], "dtype") ? &dtype
                  : tok_eq(h->js, &t[i], "shape") ? &shape
                  : tok_eq(h->js, &t[i], "data_offsets") ? &offs : NULL;
        if (slot) {
            if (*slot >= 0) return DL_ERR_JSON;       /* duplicate key */
            *slot = i + 1;
        }
        i = tok_skip(t, h->ntok, i + 1);
    }
    if (dtype < 0 || shape < 0 || offs < 0) return DL_ERR_JSON;
    if (t[dtype].type != JSMN_STRING || t[shape].type != JSMN_ARRAY ||
        t[offs].type != JSMN_ARRAY || t[offs].size != 2)
        return DL_ERR_JSON;

    int size = 0;
    for (size_t d = 0; d < sizeof st_dtypes / sizeof st_dtypes[0]; d++)
        if (tok_eq(h->js, &t[dtype], st_dtypes[d].name)) {
            size = st_dtypes[d].size;
            e->kind = st_dtypes[d].kind;
        }
    if (!size) return DL_ERR_DTYPE;

    e->nbytes = (uint64_t)size;
    for (int d = 0; d < t[shape].size; d++) {
        uint64_t dim;
        if (tok_uint(h->js, &t[shape + 1 + d], &dim)) return DL_ERR_JSON;
        e->nbytes = mul_sat(e->nbytes, dim);
    }
    if (tok_uint(h->js, &t[offs + 1], &e->begin) ||
        tok_uint(h->js, &t[offs + 2], &e->end))
        return DL_ERR_JSON;
    e->name = key;
    e->shape = shape;
    h->nent++;
    return DL_OK;
}

/* {"key": "value", ...}, every string decodable. */
static int check_meta(const st_header *h, int obj)
{
    const jsmntok_t *t = h->tok;
    if (t[obj].type != JSMN_OBJECT) return DL_ERR_JSON;
    for (int k = 0; k < t[obj].size; k++) {
        int key = obj + 1 + 2 * k, val = key + 1;
        if (val >= h->ntok || t[key].type != JSMN_STRING || t[key].size != 1 ||
            t[val].type != JSMN_STRING || t[val].size != 0 ||
            tok_string(h->js, &t[key], NULL, 0) < 0 ||
            tok_string(h->js, &t[val], NULL, 0) < 0)
            return DL_ERR_JSON;
        for (int j = 0; j < k; j++)
            if (tok_same(h->js, &t[key], &t[obj + 1 + 2 * j])) return DL_ERR_JSON;
    }
    return DL_OK;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Tokenise the header and check its structure; fills h->ent. */
static int parse_header(st_header *h, const char *js, int n)
{
    jsmn_parser p;
    jsmn_init(&p);
    h->js = js;
    h->meta = -1;
    h->nent = 0;
    if (jsmn_parse(&p, js, (size_t)n, h->tok, ST_MAX_TOKENS) < 0) return DL_ERR_JSON;
    h->ntok = (int)p.toknext;
    const jsmntok_t *t = h->tok;
    if (h->ntok < 1 || t[0].type != JSMN_OBJECT) return DL_ERR_JSON;
    /* jsmn stops at a NUL and accepts several top-level values: only
     * whitespace (the writer's padding) may follow the object. */
    for (int i = t[0].end; i < n; i++)
        if (!is_space(js[i])) return DL_ERR_JSON;

    int i = 1;
    for (int k = 0; k < t[0].size; k++) {
        if (i + 1 >= h->ntok || t[i].type != JSMN_STRING || t[i].size != 1 ||
            tok_string(js, &t[i], NULL, 0) < 0)
            return DL_ERR_JSON;
        int st;
        if (tok_eq(js, &t[i], "__metadata__")) {
            if (h->meta >= 0) return DL_ERR_JSON;
            h->meta = i + 1;
            st = check_meta(h, i + 1);
        } else {
            for (int e = 0; e < h->nent; e++)
                if (tok_same(js, &t[i], &t[h->ent[e].name])) return DL_ERR_JSON;
            st = parse_entry(h, i, i + 1);
        }
        if (st) return st;
        i = tok_skip(t, h->ntok, i + 1);
    }
    return i == h->ntok ? DL_OK : DL_ERR_JSON;
}

/* Each tensor spans exactly its size; sorted by offset they tile [0, data). */
static int check_tiling(const st_header *h, uint64_t data)
{
    int order[ST_MAX_ENTRIES];
    for (int i = 0; i < h->nent; i++) {
        const st_entry *e = &h->ent[i];
        if (e->end < e->begin || e->end - e->begin != e->nbytes) return DL_ERR_OFFSETS;
        int j = i;                              /* insertion sort by (begin, end) */
        for (; j > 0; j--) {
            const st_entry *o = &h->ent[order[j - 1]];
            if (o->begin < e->begin || (o->begin == e->begin && o->end <= e->end)) break;
            order[j] = order[j - 1];
        }
        order[j] = i;
    }
    uint64_t next = 0;
    for (int i = 0; i < h->nent; i++) {
        const st_entry *e = &h->ent[order[i]];
        if (e->begin != next) return DL_ERR_OFFSETS;    /* overlap or gap */
        next = e->end;
    }
    if (next > data) return DL_ERR_TRUNCATED;
    return next == data ? DL_OK : DL_ERR_OFFSETS;       /* bytes nobody owns */
}

static int find_entry(const st_header *h, const char *name)
{
    for (int e = 0; e < h->nent; e++)
        if (tok_eq(h->js, &h->tok[h->ent[e].name], name)) return e;
    return -1;
}

/* Does entry e have exactly the shape (shape, ndim)? */
static int shape_is(const st_header *h, const st_entry *e, const int *shape, int ndim)
{
    const jsmntok_t *s = &h->tok[e->shape];
    if (s->size != ndim) return 0;
    for (int d = 0; d < ndim; d++) {
        uint64_t dim = UINT64_MAX;
        tok_uint(h->js, s + 1 + d, &dim);   /* checked in parse_entry */
        if (dim != (uint64_t)shape[d]) return 0;
    }
    return 1;
}

/* Elements of one row (all but the first dimension) of t. */
static uint64_t per_row_of(const dl_tensor *t)
{
    uint64_t c = 1;
    for (int d = 1; d < t->ndim; d++) c = mul_sat(c, (uint64_t)t->shape[d]);
    return c;
}

/* Entry "<base><suffix>", or -1 (also when the name is too long to be one). */
static int find_suffixed(const st_header *h, const char *base, const char *suffix)
{
    char name[ST_MAX_NAME + sizeof "_scale"];
    size_t len = strlen(base);
    if (len > ST_MAX_NAME) return -1;
    memcpy(name, base, len);
    memcpy(name + len, suffix, strlen(suffix) + 1);
    return find_entry(h, name);
}

/* The entry for each requested tensor, with the dtype and shape asked for;
 * scale[i] is the entry of its per-channel scale when it is I8 or the U8
 * levels of "<name>_d4", else -1. */
/* *bad gets the index of the tensor at fault, if any */
static int match_tensors(const st_header *h, const dl_tensor *t, int n, int *which,
                         int *scale, int *bad)
{
    for (int i = 0; i < n; i++) {
        *bad = i;
        which[i] = find_entry(h, t[i].name);
        scale[i] = -1;
        if (which[i] >= 0) {
            const st_entry *e = &h->ent[which[i]];
            if (e->kind == ST_OTHER || e->kind == ST_U8 || (e->kind == ST_I8 && t[i].ndim < 1))
                return DL_ERR_DTYPE;
            if (!shape_is(h, e, t[i].shape, t[i].ndim)) return DL_ERR_SHAPE;
            if (e->kind != ST_I8) continue;
        } else {
            /* the 4-bit delta form: "<name>_d4" U8 [rows, ceil(per_row / 2)] */
            if ((which[i] = find_suffixed(h, t[i].name, "_d4")) < 0) return DL_ERR_MISSING;
            const st_entry *e = &h->ent[which[i]];
            if (e->kind != ST_U8 || t[i].ndim < 1) return DL_ERR_DTYPE;
            uint64_t half = (per_row_of(&t[i]) + 1) / 2;
            if (half > INT32_MAX) return DL_ERR_SHAPE;
            int packed[2] = {t[i].shape[0], (int)half};
            if (!shape_is(h, e, packed, 2)) return DL_ERR_SHAPE;
        }
        if ((scale[i] = find_suffixed(h, t[i].name, "_scale")) < 0) return DL_ERR_MISSING;
        if (h->ent[scale[i]].kind != ST_F32) return DL_ERR_DTYPE;
        if (!shape_is(h, &h->ent[scale[i]], t[i].shape, 1)) return DL_ERR_SHAPE;
    }
    *bad = -1;
    return DL_OK;
}

static float get_f32(const uint8_t *s)
{
    return f32_from_bits((uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
                         (uint32_t)s[3] << 24);
}

/* 4-bit two's complement, low nibble of byte b when hi is 0 */
static int nibble(uint8_t b, int hi) { return ((b >> (hi ? 4 : 0)) & 15) ^ 8; }

/* Level j of one row of "_d4" levels p (per_row of them), walking from
 * level *q at j - 1: the running sum of the differences. */
static long d4_next(const uint8_t *p, uint64_t j, long q)
{
    return q + nibble(p[j / 2], (int)(j & 1)) - 8;
}

/* Is every value of an I8 or "_d4" tensor finite once multiplied by its
 * row's scale? (A huge scale times a level can overflow to infinity.) */
static int levels_finite(const uint8_t *p, st_kind kind, const uint8_t *scale, int rows,
                         uint64_t per_row)
{
    for (int r = 0; r < rows; r++) {
        long q = 0, m = 0;
        for (uint64_t j = 0; j < per_row; j++) {
            if (kind == ST_I8) q = (int8_t)p[r * per_row + j];
            else q = d4_next(p + r * ((per_row + 1) / 2), j, q);
            m = q > m ? q : -q > m ? -q : m;
        }
        if (!isfinite((float)m * get_f32(scale + 4 * r))) return 0;
    }
    return 1;
}

static int all_finite(const uint8_t *p, uint64_t nbytes, st_kind kind)
{
    if (kind == ST_I8 || kind == ST_U8) return 1;
    if (kind == ST_F32) {
        for (uint64_t i = 0; i < nbytes; i += 4)
            if ((p[i + 3] & 0x7f) == 0x7f && (p[i + 2] & 0x80)) return 0;
    } else {
        for (uint64_t i = 0; i < nbytes; i += 2)
            if ((p[i + 1] & 0x7c) == 0x7c) return 0;
    }
    return 1;
}

/* F32 or F16 as is; I8 levels, or "_d4" U8 differences summed along the
 * row into levels, times the scale of their row (rows = shape[0]). */
static void convert(float *dst, const uint8_t *p, uint64_t nbytes, st_kind kind,
                    const uint8_t *scale, int rows, uint64_t per_row)
{
    if (kind == ST_I8 || kind == ST_U8) {
        for (int r = 0; r < rows; r++) {
            float k = get_f32(scale + 4 * r);
            long q = 0;
            for (uint64_t j = 0; j < per_row; j++) {
                if (kind == ST_I8) q = (int8_t)p[r * per_row + j];
                else q = d4_next(p + r * ((per_row + 1) / 2), j, q);
                *dst++ = (float)q * k;
            }
        }
    } else if (kind == ST_F32) {
        for (uint64_t i = 0; i < nbytes; i += 4) *dst++ = get_f32(p + i);
    } else {
        for (uint64_t i = 0; i < nbytes; i += 2)
            *dst++ = f16_to_f32((uint16_t)(p[i] | p[i + 1] << 8));
    }
}

/* Metadata into m; entries dl_meta cannot hold (more than DL_META_MAX, a key
 * or value too long) are an error rather than silently dropped. */
static int read_meta(const st_header *h, dl_meta *m)
{
    m->n = 0;
    if (h->meta < 0) return DL_OK;
    const jsmntok_t *t = h->tok;
    if (t[h->meta].size > DL_META_MAX) return DL_ERR_JSON;
    for (int k = 0; k < t[h->meta].size; k++) {
        int key = h->meta + 1 + 2 * k;
        if (tok_string(h->js, &t[key], m->key[k], DL_META_KEY) < 0 ||
            tok_string(h->js, &t[key + 1], m->val[k], DL_META_VAL) < 0)
            return DL_ERR_JSON;
        m->n = k + 1;
    }
    return DL_OK;
}

static int tensor_arg_ok(const dl_tensor *t)
{
    if (!t->name || t->ndim < 0 || t->ndim > 4) return 0;
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] < 0) return 0;
    return 1;
}

int dl_st_load(const uint8_t *buf, size_t len, dl_tensor *t, int n, dl_meta *meta)
{
    int bad;
    return dl_st_load_at(buf, len, t, n, meta, &bad);
}

int dl_st_load_at(const uint8_t *buf, size_t len, dl_tensor *t, int n, dl_meta *meta, int *bad)
{
    int bad_;
    if (!bad) bad = &bad_;
    *bad = -1;
    if ((!buf && len) || n < 0 || (n > 0 && !t)) return DL_ERR_ARG;
    if (n > DL_MAX_TENSORS) return DL_ERR_ARG;
    for (int i = 0; i < n; i++)
        if (!tensor_arg_ok(&t[i]) || !t[i].data) return DL_ERR_ARG;
    if (len < 8) return DL_ERR_TRUNCATED;
    uint64_t hlen = get_u64le(buf);
    if (hlen > (uint64_t)(len - 8) || hlen > ST_MAX_HEADER) return DL_ERR_HEADER_LEN;

    st_header h;
    dl_meta m;
    int which[DL_MAX_TENSORS], scale[DL_MAX_TENSORS];
    int st = parse_header(&h, (const char *)buf + 8, (int)hlen);
    if (!st) st = match_tensors(&h, t, n, which, scale, bad);
    if (!st) st = check_tiling(&h, (uint64_t)(len - 8) - hlen);
    if (!st && meta) st = read_meta(&h, &m);
    if (st) return st;

    const uint8_t *data = buf + 8 + hlen;
    for (int i = 0; i < n; i++) {
        const st_entry *e = &h.ent[which[i]], *s = scale[i] < 0 ? e : &h.ent[scale[i]];
        *bad = i;
        if (!all_finite(data + e->begin, e->nbytes, e->kind) ||
            !all_finite(data + s->begin, s->nbytes, s->kind))
            return DL_ERR_NAN;
        if (scale[i] >= 0 && !levels_finite(data + e->begin, e->kind, data + s->begin,
                                            t[i].shape[0], per_row_of(&t[i])))
            return DL_ERR_NAN;
    }
    *bad = -1;
    /* all valid: only now touch the caller's memory */
    for (int i = 0; i < n; i++) {
        const st_entry *e = &h.ent[which[i]];
        const uint8_t *s = scale[i] < 0 ? NULL : data + h.ent[scale[i]].begin;
        convert(t[i].data, data + e->begin, e->nbytes, e->kind, s, t[i].ndim ? t[i].shape[0] : 0,
                per_row_of(&t[i]));
    }
    if (meta) *meta = m;
    return DL_OK;
}

/* ---- writer ------------------------------------------------------------- */

/* Appends to out while it fits; always counts, so one pass sizes the file. */
typedef struct { uint8_t *out; size_t cap, pos; } st_writer;

static void put(st_writer *w, const char *s, size_t n)
{
    if (w->out && w->pos <= w->cap && n <= w->cap - w->pos)
        memcpy(w->out + w->pos, s, n);
    w->pos += n;
}

static void put_s(st_writer *w, const char *s) { put(w, s, strlen(s)); }

static void put_uint(st_writer *w, uint64_t v)
{
    char d[20];
    int n = 0;
    do { d[19 - n++] = (char)('0' + v % 10); v /= 10; } while (v);
    put(w, d + 20 - n, (size_t)n);
}

/* "s" with ", \ and control characters escaped; other bytes (UTF-8) as is. */
static void put_json_string(st_writer *w, const char *s)
{
    static const char hexd[] = "0123456789abcdef";
    put(w, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (c >= 0x20) { put(w, s, 1); continue; }
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hexd[c >> 4]; esc[5] = hexd[c & 15];
            n = 6;
        }
        put(w, esc, n);
    }
    put(w, "\"", 1);
}

/* floats in t, as the writer stores them; SIZE_MAX if it overflows */
static size_t tensor_count(const dl_tensor *t)
{
    uint64_t c = 1;
    for (int d = 0; d < t->ndim; d++) c = mul_sat(c, (uint64_t)t->shape[d]);
    return c > SIZE_MAX / 4 ? SIZE_MAX : (size_t)c;
}

/* Rows (the first dimension) and elements per row of a quantized tensor. */
static size_t tensor_rows(const dl_tensor *t) { return t->ndim ? (size_t)t->shape[0] : 0; }
static size_t tensor_per_row(const dl_tensor *t)
{
    return tensor_rows(t) ? tensor_count(t) / tensor_rows(t) : 0;
}

static int quantized(dl_st_dtype d) { return d == DL_ST_I8 || d == DL_ST_D4; }

static int save_args_ok(const dl_tensor *t, int n, const dl_meta *meta, const dl_st_how *how)
{
    for (int i = 0; i < n; i++) {
        dl_st_dtype d = how[i].dtype;
        if (d != DL_ST_F32 && d != DL_ST_F16 && d != DL_ST_I8 && d != DL_ST_D4) return 0;
        if (!tensor_arg_ok(&t[i]) || tensor_count(&t[i]) == SIZE_MAX ||
            strcmp(t[i].name, "__metadata__") == 0)
            return 0;
        if (quantized(d) && (t[i].ndim < 1 || strlen(t[i].name) > ST_MAX_NAME)) return 0;
        if (d == DL_ST_I8 && !how[i].scale && (how[i].qmax < 1 || how[i].qmax > 127)) return 0;
        if (d == DL_ST_D4 && !how[i].scale) return 0;
        for (int j = 0; j < n; j++) {
            if (j < i && strcmp(t[i].name, t[j].name) == 0) return 0;
            /* "w_scale" would be both a tensor and the scale of "w"; "w_d4" both
             * a tensor and the levels of "w" */
            size_t lj = strlen(t[j].name);
            if (quantized(how[j].dtype) && strncmp(t[i].name, t[j].name, lj) == 0 &&
                (strcmp(t[i].name + lj, "_scale") == 0 || strcmp(t[i].name + lj, "_d4") == 0))
                return 0;
        }
    }
    if (!meta) return 1;
    if (meta->n < 0 || meta->n > DL_META_MAX) return 0;
    for (int k = 0; k < meta->n; k++) {
        if (!memchr(meta->key[k], 0, DL_META_KEY) || !memchr(meta->val[k], 0, DL_META_VAL))
            return 0;
        for (int j = 0; j < k; j++)
            if (strcmp(meta->key[k], meta->key[j]) == 0) return 0;
    }
    return 1;
}

/* Bytes of tensor t's data in the file (levels or values, then any scales). */
static uint64_t data_bytes(const dl_tensor *t, const dl_st_how *how)
{
    uint64_t c = tensor_count(t), rows = tensor_rows(t);
    switch (how->dtype) {
    case DL_ST_I8: return c + 4 * rows;
    case DL_ST_D4: return rows * ((tensor_per_row(t) + 1) / 2) + 4 * rows;
    case DL_ST_F16: return 2 * c;
    default: return 4 * c;
    }
}

static void put_entry(st_writer *w, const char *name, const char *suffix, const char *dtype,
                      const int *shape, int ndim, uint64_t *off, uint64_t bytes)
{
    put_s(w, ",");
    if (suffix) {       /* name + suffix, as one JSON string */
        char full[ST_MAX_NAME + sizeof "_scale"];
        size_t n = strlen(name);
        memcpy(full, name, n);
        memcpy(full + n, suffix, strlen(suffix) + 1);
        put_json_string(w, full);
    } else {
        put_json_string(w, name);
    }
    put_s(w, ":{\"dtype\":\"");
    put_s(w, dtype);
    put_s(w, "\",\"shape\":[");
    for (int d = 0; d < ndim; d++) {
        if (d) put_s(w, ",");
        put_uint(w, (uint64_t)shape[d]);
    }
    put_s(w, "],\"data_offsets\":[");
    put_uint(w, *off);
    put_s(w, ",");
    *off += bytes;
    put_uint(w, *off);
    put_s(w, "]}");
}

/* The JSON header, without padding. Every entry is written with a leading
 * comma, then the first one is overwritten by the opening brace. */
static void write_header(st_writer *w, const dl_tensor *t, int n, const dl_meta *meta,
                         const dl_st_how *how)
{
    size_t start = w->pos;
    if (meta && meta->n > 0) {
        put_s(w, ",\"__metadata__\":{");
        for (int k = 0; k < meta->n; k++) {
            if (k) put_s(w, ",");
            put_json_string(w, meta->key[k]);
            put_s(w, ":");
            put_json_string(w, meta->val[k]);
        }
        put_s(w, "}");
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        uint64_t rows = tensor_rows(&t[i]), bytes = data_bytes(&t[i], &how[i]);
        switch (how[i].dtype) {
        case DL_ST_D4: {
            int packed[2] = {t[i].shape[0], (int)((tensor_per_row(&t[i]) + 1) / 2)};
            put_entry(w, t[i].name, "_d4", "U8", packed, 2, &off, bytes - 4 * rows);
            break;
        }
        case DL_ST_I8:
            put_entry(w, t[i].name, NULL, "I8", t[i].shape, t[i].ndim, &off, bytes - 4 * rows);
            break;
        default:
            put_entry(w, t[i].name, NULL, how[i].dtype == DL_ST_F16 ? "F16" : "F32",
                      t[i].shape, t[i].ndim, &off, bytes);
        }
        if (quantized(how[i].dtype))
            put_entry(w, t[i].name, "_scale", "F32", t[i].shape, 1, &off, 4 * rows);
    }
    if (w->pos == start) put_s(w, "{");
    else if (w->out && start < w->cap) w->out[start] = '{';
    put_s(w, "}");
}

/* IEEE half, round to nearest even; |f| < 65520 (else it would be infinite). */
static uint16_t f16_from_f32(float f)
{
    uint32_t u = f32_bits(f), sign = (u >> 16) & 0x8000u;
    u &= 0x7fffffffu;
    if (u < 0x38800000u)        /* below 2^-14: a subnormal half, m * 2^-24 */
        return (uint16_t)(sign | (uint32_t)lrintf(f32_from_bits(u) * 16777216.0f));
    uint32_t h = ((u >> 23) - 112) << 10 | (u & 0x7fffffu) >> 13, rest = u & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) h++;   /* a carry moves the exponent */
    return (uint16_t)(sign | h);
}

static void put_f32(st_writer *w, float f)
{
    uint32_t u = f32_bits(f);
    uint8_t b[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
    put(w, (const char *)b, 4);
}

/* The step of row r: the caller's, or max |w| / qmax (0 for a row of zeros). */
static float row_scale(const dl_tensor *t, const dl_st_how *how, size_t r)
{
    if (how->scale) return how->scale[r];
    size_t per_row = tensor_per_row(t);
    float m = 0.0f;
    for (size_t j = 0; j < per_row; j++) m = fmaxf(m, fabsf(t->data[r * per_row + j]));
    return m / (float)how->qmax;
}

/* The level of w on a grid of step k: round to nearest (0 when k is 0). */
static long level(float w, float k) { return k > 0.0f ? lrintf(w / k) : 0; }

/* Can t be stored as how says? Steps finite and >= 0; I8 levels given by the
 * caller's steps within -127..127; D4 levels one from the next within -8..7. */
static int levels_fit(const dl_tensor *t, const dl_st_how *how)
{
    if (!quantized(how->dtype) || !how->scale) return 1;
    size_t rows = tensor_rows(t), per_row = tensor_per_row(t);
    for (size_t r = 0; r < rows; r++) {
        float k = how->scale[r];
        if (!(k >= 0.0f && k <= 3.4e38f)) return 0;
        long prev = 0;
        for (size_t j = 0; j < per_row; j++) {
            float x = t->data[r * per_row + j] / (k > 0.0f ? k : 1.0f);
            if (!(fabsf(x) < 1e6f)) return 0;
            long q = level(t->data[r * per_row + j], k);
            if (how->dtype == DL_ST_I8 ? (q < -127 || q > 127) : (q - prev < -8 || q - prev > 7))
                return 0;
            prev = q;
        }
    }
    return 1;
}

static void write_data(st_writer *w, const dl_tensor *t, const dl_st_how *how)
{
    size_t c = tensor_count(t), rows = tensor_rows(t), per_row = tensor_per_row(t);
    if (how->dtype == DL_ST_I8) {
        long qmax = how->scale ? 127 : how->qmax;
        for (size_t r = 0; r < rows; r++) {
            float k = row_scale(t, how, r);
            for (size_t j = 0; j < per_row; j++) {
                long q = level(t->data[r * per_row + j], k);
                int8_t b = (int8_t)(q > qmax ? qmax : q < -qmax ? -qmax : q);
                put(w, (const char *)&b, 1);
            }
        }
        for (size_t r = 0; r < rows; r++) put_f32(w, row_scale(t, how, r));
    } else if (how->dtype == DL_ST_D4) {
        /* two 4-bit two's-complement differences a byte, the first in the low
         * nibble; a row of odd length ends with a zero nibble */
        for (size_t r = 0; r < rows; r++) {
            long prev = 0;
            for (size_t j = 0; j < per_row; j += 2) {
                long q0 = level(t->data[r * per_row + j], how->scale[r]);
                long q1 = j + 1 < per_row ? level(t->data[r * per_row + j + 1], how->scale[r]) : q0;
                uint8_t b = (uint8_t)(((q0 - prev) & 15) | ((q1 - q0) & 15) << 4);
                prev = q1;
                put(w, (const char *)&b, 1);
            }
        }
        for (size_t r = 0; r < rows; r++) put_f32(w, how->scale[r]);
    } else if (how->dtype == DL_ST_F16) {
        for (size_t j = 0; j < c; j++) {
            uint16_t h = f16_from_f32(t->data[j]);
            uint8_t b[2] = {(uint8_t)h, (uint8_t)(h >> 8)};
            put(w, (const char *)b, 2);
        }
    } else {
        for (size_t j = 0; j < c; j++) put_f32(w, t->data[j]);
    }
}

int dl_st_save(uint8_t *out, size_t cap, size_t *len, const dl_tensor *t, int n,
               const dl_meta *meta)
{
    return dl_st_save_as(out, cap, len, t, n, meta, DL_ST_F32, 127);
}

int dl_st_save_as(uint8_t *out, size_t cap, size_t *len, const dl_tensor *t, int n,
                  const dl_meta *meta, dl_st_dtype dtype, int qmax)
{
    if (n < 0 || n > DL_MAX_TENSORS || (n > 0 && !t)) return DL_ERR_ARG;
    if (dtype != DL_ST_F32 && dtype != DL_ST_F16 && dtype != DL_ST_I8) return DL_ERR_ARG;
    if (dtype == DL_ST_I8 && (qmax < 1 || qmax > 127)) return DL_ERR_ARG;
    dl_st_how how[DL_MAX_TENSORS];
    for (int i = 0; i < n; i++) {
        /* I8 for tensors of 2+ dimensions (one scale per output channel);
         * the 1-D biases stay F32 */
        int i8 = dtype == DL_ST_I8 && t[i].ndim >= 2;
        how[i] = (dl_st_how){i8 ? DL_ST_I8 : dtype == DL_ST_F16 ? DL_ST_F16 : DL_ST_F32, qmax, NULL};
    }
    return dl_st_save_how(out, cap, len, t, n, meta, how);
}

int dl_st_save_how(uint8_t *out, size_t cap, size_t *len, const dl_tensor *t, int n,
                   const dl_meta *meta, const dl_st_how *how)
{
    if (!len || n < 0 || (n > 0 && (!t || !how)) || !save_args_ok(t, n, meta, how))
        return DL_ERR_ARG;

    st_writer w = {NULL, 0, 8};
    write_header(&w, t, n, meta, how);
    size_t hlen = (w.pos - 8 + 7) / 8 * 8;       /* spaces pad it to 8 bytes */
    size_t total = 8 + hlen;
    for (int i = 0; i < n; i++) {
        size_t c = tensor_count(&t[i]);
        if (c > (SIZE_MAX - total) / 8) return DL_ERR_ARG;
        total += (size_t)data_bytes(&t[i], &how[i]);
    }
    *len = total;
    if (!out) return DL_OK;
    if (cap < total) return DL_ERR_ARG;
    for (int i = 0; i < n; i++) {
        size_t c = tensor_count(&t[i]);
        if (c && !t[i].data) return DL_ERR_ARG;
        for (size_t j = 0; j < c; j++) {  /* the loader would refuse the file */
            if ((f32_bits(t[i].data[j]) & 0x7f800000u) == 0x7f800000u) return DL_ERR_NAN;
            if (how[i].dtype == DL_ST_F16 && fabsf(t[i].data[j]) >= 65520.0f)
                return DL_ERR_ARG;                 /* would be an infinite half */
        }
        if (!levels_fit(&t[i], &how[i])) return DL_ERR_ARG;
    }

    put_u64le(out, hlen);
    w = (st_writer){out, cap, 8};
    write_header(&w, t, n, meta, how);
    while (w.pos < 8 + hlen) put_s(&w, " ");
    for (int i = 0; i < n; i++) write_data(&w, &t[i], &how[i]);
    return DL_OK;
}

/* ---- metadata ----------------------------------------------------------- */

int dl_meta_set(dl_meta *meta, const char *key, const char *val)
{
    if (!meta || !key || !val || meta->n < 0 || meta->n > DL_META_MAX) return DL_ERR_ARG;
    if (strlen(key) >= DL_META_KEY || strlen(val) >= DL_META_VAL) return DL_ERR_ARG;
    int k = 0;
    while (k < meta->n && strcmp(meta->key[k], key) != 0) k++;
    if (k == DL_META_MAX) return DL_ERR_ARG;
    if (k == meta->n) {
        memcpy(meta->key[k], key, strlen(key) + 1);
        meta->n++;
    }
    memcpy(meta->val[k], val, strlen(val) + 1);
    return DL_OK;
}

const char *dl_meta_get(const dl_meta *meta, const char *key)
{
    if (!meta || !key) return NULL;
    for (int k = 0; k < meta->n && k < DL_META_MAX; k++)
        if (strncmp(meta->key[k], key, DL_META_KEY) == 0) return meta->val[k];
    return NULL;
}
