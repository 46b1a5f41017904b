/* test_io.c — safetensors, IDX and file I/O: round trips give identical
 * bytes and values, and every kind of corrupt input is refused with its own
 * status, leaving the destination untouched. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"

#define assert_status(call, want) do {                                        \
        int got_ = (call);                                                    \
        if (got_ != (want))                                                   \
            fail_msg("%s -> %d (%s), want %d (%s)", #call, got_,              \
                     dl_strerror(got_), (int)(want), dl_strerror(want));      \
    } while (0)

#define assert_float_exact(a, b) do {                                         \
        float a_ = (a), b_ = (b);                                             \
        if (memcmp(&a_, &b_, sizeof a_) != 0)                                 \
            fail_msg("%s = %.9g, want %.9g (bitwise)", #a, a_, b_);           \
    } while (0)

/* ---- helpers: safetensors files built by hand --------------------------- */

/* u64le(strlen(json)) | json | data, malloc'd. */
static uint8_t *st_build(const char *json, const void *data, size_t dlen, size_t *len)
{
    size_t n = strlen(json);
    *len = 8 + n + dlen;
    uint8_t *b = malloc(*len + 1);
    assert_non_null(b);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    if (dlen) memcpy(b + 8 + n, data, dlen);
    return b;
}

/* The small file most tests corrupt: a (2,2) then b (3), F32. */
static const float A_VALS[4] = {1.0f, -2.0f, 0.5f, 3.25f};
static const float B_VALS[3] = {0.1f, -7.0f, 1e-3f};
#define HDR_OK "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}," \
               "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}"

static void ab_data(uint8_t data[28])
{
    memcpy(data, A_VALS, 16);   /* little-endian host, as x86 and wasm are */
    memcpy(data + 16, B_VALS, 12);
}

typedef struct {
    float a[4], b[3];
    dl_tensor t[2];
    dl_meta meta;
} ab_dest;

/* Destination for tensors a (2,2) and b (3), filled with a sentinel. */
static void ab_init(ab_dest *d)
{
    for (int i = 0; i < 4; i++) d->a[i] = 777.0f;
    for (int i = 0; i < 3; i++) d->b[i] = 777.0f;
    d->t[0] = (dl_tensor){.name = "a", .ndim = 2, .shape = {2, 2}, .data = d->a};
    d->t[1] = (dl_tensor){.name = "b", .ndim = 1, .shape = {3}, .data = d->b};
    memset(&d->meta, 0x5a, sizeof d->meta);
}

static void ab_assert_untouched(const ab_dest *d)
{
    for (int i = 0; i < 4; i++) assert_float_exact(d->a[i], 777.0f);
    for (int i = 0; i < 3; i++) assert_float_exact(d->b[i], 777.0f);
    dl_meta m;
    memset(&m, 0x5a, sizeof m);
    assert_memory_equal(&d->meta, &m, sizeof m);
}

/* Loading the file (json | data) fails with `want` and writes nothing. */
static void expect_reject(const char *json, const void *data, size_t dlen, int want)
{
    size_t len;
    uint8_t *buf = st_build(json, data, dlen, &len);
    ab_dest d;
    ab_init(&d);
    int got = dl_st_load(buf, len, d.t, 2, &d.meta);
    if (got != want)
        fail_msg("header %s: got %d (%s), want %d (%s)", json, got, dl_strerror(got),
                 want, dl_strerror(want));
    ab_assert_untouched(&d);
    free(buf);
}

/* ---- safetensors: round trip --------------------------------------------- */

static void test_roundtrip_seednet(void **state)
{
    dl_model m;
    assert_ok(dl_model_plan(&m, &dl_seednet));
    assert_int_equal(m.n_params, DL_SEEDNET_PARAMS);
    float *p1 = malloc(sizeof(float) * DL_SEEDNET_PARAMS);
    float *p2 = calloc(DL_SEEDNET_PARAMS, sizeof(float));
    assert_non_null(p1);
    assert_non_null(p2);
    m.params = p1;
    assert_ok(dl_model_init_he(&m, 1234));
    p1[0] = 1e-40f;                      /* a float subnormal must survive too */
    p1[DL_SEEDNET_PARAMS - 1] = -0.0f;

    dl_meta meta = {0};
    assert_ok(dl_meta_set(&meta, "arch", "seednet"));
    assert_ok(dl_meta_set(&meta, "note", "q\"b\\n\nt\t\x01/é"));
    dl_tensor t[DL_MAX_TENSORS];
    int n = dl_model_tensors(&m, p1, t);
    assert_int_equal(n, 4);

    size_t len1 = 0;
    assert_ok(dl_st_save(NULL, 0, &len1, t, n, &meta));
    uint8_t *f1 = malloc(len1), *f2 = malloc(len1);
    assert_non_null(f1);
    assert_non_null(f2);
    size_t got = 0;
    assert_status(dl_st_save(f1, len1 - 1, &got, t, n, &meta), DL_ERR_ARG);
    assert_ok(dl_st_save(f1, len1, &got, t, n, &meta));
    assert_int_equal(got, len1);

    /* the layout: u64le N, N % 8 == 0, JSON padded with spaces, then data */
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | f1[i];
    assert_int_equal(hlen % 8, 0);
    assert_int_equal(len1, 8 + hlen + 4 * (size_t)DL_SEEDNET_PARAMS);
    char *hdr = strndup((const char *)f1 + 8, (size_t)hlen);
    assert_non_null(hdr);
    const char *want_start =
        "{\"__metadata__\":{\"arch\":\"seednet\",\"note\":\"q\\\"b\\\\n\\n"
        "t\\t\\u0001/é\"},\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[12,1,5,5],"
        "\"data_offsets\":[0,1200]},\"conv.bias\":{\"dtype\":\"F32\",\"shape\":[12],"
        "\"data_offsets\":[1200,1248]},\"fc.weight\":{\"dtype\":\"F32\","
        "\"shape\":[10,1728],\"data_offsets\":[1248,70368]},\"fc.bias\":{\"dtype\":"
        "\"F32\",\"shape\":[10],\"data_offsets\":[70368,70408]}}";
    assert_int_equal(strncmp(hdr, want_start, strlen(want_start)), 0);
    for (size_t i = strlen(want_start); i < hlen; i++) assert_int_equal(hdr[i], ' ');
    assert_true(hlen - strlen(want_start) < 8);
    free(hdr);

    /* load into fresh memory: exact values and metadata */
    dl_tensor t2[DL_MAX_TENSORS];
    assert_int_equal(dl_model_tensors(&m, p2, t2), 4);
    dl_meta meta2;
    assert_ok(dl_st_load(f1, len1, t2, 4, &meta2));
    assert_memory_equal(p1, p2, sizeof(float) * DL_SEEDNET_PARAMS);
    assert_int_equal(meta2.n, 2);
    assert_string_equal(dl_meta_get(&meta2, "arch"), "seednet");
    assert_string_equal(dl_meta_get(&meta2, "note"), "q\"b\\n\nt\t\x01/é");

    /* and save again: the same bytes */
    assert_ok(dl_st_save(f2, len1, &got, t2, 4, &meta2));
    assert_int_equal(got, len1);
    assert_memory_equal(f1, f2, len1);
    free(f1); free(f2); free(p1); free(p2);
}

static void test_save_without_meta(void **state)
{
    float w[3] = {1, 2, 3};
    dl_tensor t = {.name = "w", .ndim = 1, .shape = {3}, .data = w};
    dl_meta empty = {0};
    uint8_t a[128], b[128];
    size_t la, lb;
    assert_ok(dl_st_save(a, sizeof a, &la, &t, 1, NULL));
    assert_ok(dl_st_save(b, sizeof b, &lb, &t, 1, &empty));
    const char *hdr = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}";
    /* 55 bytes of JSON, padded to 56 */
    assert_int_equal(la, 8 + 56 + 12);
    assert_int_equal(lb, la);
    assert_memory_equal(a, b, la);
    assert_int_equal(a[0], 56);
    assert_memory_equal(a + 8, hdr, strlen(hdr));
    assert_int_equal(a[8 + 55], ' ');
    assert_memory_equal(a + 64, w, 12);
}

static void test_save_refuses_nan(void **state)
{
    float w[2] = {1, NAN};
    dl_tensor t = {.name = "w", .ndim = 1, .shape = {2}, .data = w};
    uint8_t out[128];
    memset(out, 0xee, sizeof out);
    size_t len;
    assert_status(dl_st_save(out, sizeof out, &len, &t, 1, NULL), DL_ERR_NAN);
    for (size_t i = 0; i < sizeof out; i++) assert_int_equal(out[i], 0xee);
    dl_tensor dup[2] = {t, t};
    w[1] = 2;
    assert_status(dl_st_save(out, sizeof out, &len, dup, 2, NULL), DL_ERR_ARG);
}

static void test_load_small_file(void **state)
{
    uint8_t data[32];
    ab_data(data);
    size_t len;
    uint8_t *buf = st_build(HDR_OK, data, 28, &len);
    ab_dest d;
    ab_init(&d);
    assert_ok(dl_st_load(buf, len, d.t, 2, &d.meta));
    for (int i = 0; i < 4; i++) assert_float_exact(d.a[i], A_VALS[i]);
    for (int i = 0; i < 3; i++) assert_float_exact(d.b[i], B_VALS[i]);
    assert_int_equal(d.meta.n, 0);
    free(buf);

    /* file order need not be the request order; an extra tensor is ignored */
    uint8_t data2[32];
    memcpy(data2, B_VALS, 12);
    memcpy(data2 + 12, A_VALS, 16);
    memcpy(data2 + 28, "\x01\x02\x03\x04", 4);
    buf = st_build("{\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                   "\"c\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[28,32]},"
                   "\"a\":{\"shape\":[2,2],\"dtype\":\"F32\",\"data_offsets\":[12,28]}}",
                   data2, 32, &len);
    ab_init(&d);
    assert_ok(dl_st_load(buf, len, d.t, 2, NULL));
    for (int i = 0; i < 4; i++) assert_float_exact(d.a[i], A_VALS[i]);
    for (int i = 0; i < 3; i++) assert_float_exact(d.b[i], B_VALS[i]);
    free(buf);
}

/* F16 by hand: normal, negative, subnormal, largest, -0. */
static void test_load_f16(void **state)
{
    static const uint16_t h[8] = {
        0x3c00, /* 1 */          0xc000, /* -2 */
        0x0001, /* 2^-24, smallest subnormal */
        0x83ff, /* -1023 * 2^-24, largest subnormal, negative */
        0x0400, /* 2^-14, smallest normal */
        0x7bff, /* 65504, largest */
        0x3555, /* 0.333251953125 */
        0x8000, /* -0 */
    };
    const float want[8] = {1.0f, -2.0f, 5.9604644775390625e-08f,
                           -6.097555160522461e-05f, 6.103515625e-05f, 65504.0f,
                           0.333251953125f, -0.0f};
    const char *json = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,4],\"data_offsets\":[0,16]}}";
    size_t len;
    uint8_t *buf = st_build(json, h, 16, &len);
    float out[8];
    dl_tensor t = {.name = "h", .ndim = 2, .shape = {2, 4}, .data = out};
    assert_ok(dl_st_load(buf, len, &t, 1, NULL));
    for (int i = 0; i < 8; i++) assert_float_exact(out[i], want[i]);
    assert_true(signbit(out[7]));
    free(buf);

    /* F16 infinity and NaN are refused like F32 ones */
    const uint16_t bad[2][8] = {{0x3c00, 0x7c00}, {0x3c00, 0, 0, 0, 0, 0, 0x7e00}};
    for (int k = 0; k < 2; k++) {
        buf = st_build(json, bad[k], 16, &len);
        for (int i = 0; i < 8; i++) out[i] = 9.0f;
        assert_status(dl_st_load(buf, len, &t, 1, NULL), DL_ERR_NAN);
        for (int i = 0; i < 8; i++) assert_float_exact(out[i], 9.0f);
        free(buf);
    }
}

/* I8 with a per-row F32 scale: q[r][j] * scale[r], exactly; the scale must
 * be there, F32, one per row, finite. */
static void test_load_i8(void **state)
{
    const int8_t q[6] = {127, -127, 0, 1, -2, 64};        /* rows of 3 */
    const float sc[2] = {0.5f, 0.03125f};
    uint8_t data[6 + 8];
    memcpy(data, q, 6);
    memcpy(data + 6, sc, 8);
    const char *json = "{\"w\":{\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[0,6]},"
                       "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[6,14]}}";
    size_t len;
    uint8_t *buf = st_build(json, data, sizeof data, &len);
    float out[6];
    dl_tensor t = {.name = "w", .ndim = 2, .shape = {2, 3}, .data = out};
    assert_ok(dl_st_load(buf, len, &t, 1, NULL));
    const float want[6] = {63.5f, -63.5f, 0.0f, 0.03125f, -0.0625f, 2.0f};
    for (int i = 0; i < 6; i++) assert_float_exact(out[i], want[i]);
    free(buf);

    /* each bad scale is refused with its own status, out left alone */
    static const struct { const char *json; size_t dlen; int want; } bad[] = {
        {"{\"w\":{\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[0,6]},"            /* missing */
         "\"w_scal\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[6,14]}}", 14, DL_ERR_MISSING},
        {"{\"w\":{\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[0,6]},"            /* [1,2] */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[6,14]}}", 14, DL_ERR_SHAPE},
        {"{\"w\":{\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[0,6]},"            /* per column */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[6,18]}}", 18, DL_ERR_SHAPE},
        {"{\"w\":{\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[0,6]},"            /* I32 */
         "\"w_scale\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[6,14]}}", 14, DL_ERR_DTYPE},
        {"{\"w\":{\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[0,6]},"            /* I8 scale */
         "\"w_scale\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[6,8]}}", 8, DL_ERR_DTYPE},
        {"{\"w\":{\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[0,6]},"            /* gap */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[7,15]}}", 15, DL_ERR_OFFSETS},
    };
    uint8_t big[6 + 12];
    memcpy(big, data, sizeof data);
    memset(big + sizeof data, 0, 4);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        buf = st_build(bad[k].json, big, bad[k].dlen, &len);
        for (int i = 0; i < 6; i++) out[i] = 9.0f;
        int got = dl_st_load(buf, len, &t, 1, NULL);
        if (got != bad[k].want)
            fail_msg("case %zu -> %d (%s), want %d", k, got, dl_strerror(got), bad[k].want);
        for (int i = 0; i < 6; i++) assert_float_exact(out[i], 9.0f);
        free(buf);
    }
    /* a NaN or infinite scale is refused like a NaN weight */
    const float nan_sc[2][2] = {{0.5f, NAN}, {INFINITY, 1.0f}};
    for (int k = 0; k < 2; k++) {
        memcpy(data + 6, nan_sc[k], 8);
        buf = st_build(json, data, sizeof data, &len);
        assert_status(dl_st_load(buf, len, &t, 1, NULL), DL_ERR_NAN);
        free(buf);
    }
}

static int has_bytes(const uint8_t *buf, size_t len, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, s, n) == 0) return 1;
    return 0;
}

/* dl_st_save_as: I8 keeps every weight within half a step of its row's
 * scale and biases exact; F16 is exact for values a half can hold. */
static void test_save_quantized(void **state)
{
    float w[2 * 4] = {1.0f, -0.5f, 0.25f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}, b[2] = {0.1f, -3.0f};
    dl_tensor t[2] = {{.name = "fc.weight", .ndim = 2, .shape = {2, 4}, .data = w},
                      {.name = "fc.bias", .ndim = 1, .shape = {2}, .data = b}};
    w[4] = 3e-3f; w[5] = -1e-3f; w[6] = 2.5e-3f; w[7] = 1e-5f;
    uint8_t out[512];
    size_t len;
    assert_ok(dl_st_save_as(out, sizeof out, &len, t, 2, NULL, DL_ST_I8, 127));
    assert_true(has_bytes(out, len, "\"fc.weight\":{\"dtype\":\"I8\",\"shape\":[2,4]"));
    assert_true(has_bytes(out, len, "\"fc.weight_scale\":{\"dtype\":\"F32\",\"shape\":[2]"));
    assert_true(has_bytes(out, len, "\"fc.bias\":{\"dtype\":\"F32\""));
    float w2[8], b2[2];
    dl_tensor t2[2] = {t[0], t[1]};
    t2[0].data = w2; t2[1].data = b2;
    assert_ok(dl_st_load(out, len, t2, 2, NULL));
    for (int r = 0; r < 2; r++) {
        float step = (r ? 3e-3f : 1.0f) / 127.0f;
        for (int j = 0; j < 4; j++) assert_true(fabsf(w2[4 * r + j] - w[4 * r + j]) <= step / 2 * 1.0001f);
        assert_float_exact(w2[4 * r], w[4 * r]);       /* the row's max is exact (127 * step) */
    }
    for (int i = 0; i < 2; i++) assert_float_exact(b2[i], b[i]);

    /* F16: halves round-trip exactly, the rest to the nearest half */
    const float exact[8] = {1.0f, -2.0f, 65504.0f, 6.103515625e-05f, 5.9604644775390625e-08f,
                            -0.0f, 0.333251953125f, 2047.0f};
    memcpy(w, exact, sizeof w);
    assert_ok(dl_st_save_as(out, sizeof out, &len, t, 2, NULL, DL_ST_F16, 0));
    assert_ok(dl_st_load(out, len, t2, 2, NULL));
    for (int i = 0; i < 8; i++) assert_float_exact(w2[i], exact[i]);
    assert_float_exact(b2[1], -3.0f);
    assert_true(fabsf(b2[0] - 0.1f) < 1e-4f);
    w[0] = 65520.0f;                                    /* would be infinite */
    assert_status(dl_st_save_as(out, sizeof out, &len, t, 2, NULL, DL_ST_F16, 0), DL_ERR_ARG);
    /* a tensor named like another's scale is refused */
    t[1].name = "fc.weight_scale";
    w[0] = 1.0f;
    assert_status(dl_st_save_as(out, sizeof out, &len, t, 2, NULL, DL_ST_I8, 127), DL_ERR_ARG);
    assert_status(dl_st_save_as(out, sizeof out, &len, t, 2, NULL, (dl_st_dtype)7, 127), DL_ERR_ARG);
    t[1].name = "fc.bias";
    assert_status(dl_st_save_as(out, sizeof out, &len, t, 2, NULL, DL_ST_I8, 128), DL_ERR_ARG);
    /* qmax 31: q in -31..31, the row's max exactly 31 steps */
    const float row0[4] = {1.0f, -0.5f, 0.25f, 0.1f};
    memcpy(w, row0, sizeof row0);
    assert_ok(dl_st_save_as(out, sizeof out, &len, t, 2, NULL, DL_ST_I8, 31));
    assert_ok(dl_st_load(out, len, t2, 2, NULL));
    for (int j = 0; j < 4; j++) assert_true(fabsf(w2[j] - w[j]) <= 1.0f / 31 / 2 * 1.0001f);
    assert_float_exact(w2[0], 1.0f);
}

/* The 4-bit delta form: "w_d4" U8 [rows, ceil(n/2)], low nibble first, each
 * nibble the difference from the level before; value = level * w_scale[r]. */
static void test_load_d4(void **state)
{
    /* rows of 3 levels: {1, -7, 0} and {-8, -1, 6}; differences
     * {1, -8, 7 | pad 0} and {-8, 7, 7 | pad 0} */
    const uint8_t d[4] = {0x1 | 0x8 << 4, 0x7, 0x8 | 0x7 << 4, 0x7};
    const float sc[2] = {0.5f, 0.25f};
    uint8_t data[4 + 8];
    memcpy(data, d, 4);
    memcpy(data + 4, sc, 8);
    const char *json = "{\"w_d4\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"
                       "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    size_t len;
    uint8_t *buf = st_build(json, data, sizeof data, &len);
    float out[6];
    dl_tensor t = {.name = "w", .ndim = 2, .shape = {2, 3}, .data = out};
    assert_ok(dl_st_load(buf, len, &t, 1, NULL));
    const float want[6] = {0.5f, -3.5f, 0.0f, -2.0f, -0.25f, 1.5f};
    for (int i = 0; i < 6; i++) assert_float_exact(out[i], want[i]);
    free(buf);

    /* each bad file is refused with its own status, out left alone */
    static const struct { const char *json; size_t dlen; int want; } bad[] = {
        {"{\"w_d4\":{\"dtype\":\"I8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"          /* not U8 */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, DL_ERR_DTYPE},
        {"{\"w_d4\":{\"dtype\":\"U8\",\"shape\":[2,3],\"data_offsets\":[0,6]},"          /* unpacked */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[6,14]}}", 14, DL_ERR_SHAPE},
        {"{\"w_d4\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"            /* flat */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, DL_ERR_SHAPE},
        {"{\"w_d4\":{\"dtype\":\"U8\",\"shape\":[2,1],\"data_offsets\":[0,2]},"          /* short rows */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[2,10]}}", 10, DL_ERR_SHAPE},
        {"{\"w_d4\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"          /* no scale */
         "\"w_scal\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, DL_ERR_MISSING},
        {"{\"w_d4\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"          /* codebook-sized scale */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[4,68]}}", 68, DL_ERR_SHAPE},
        {"{\"w_d4\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"          /* F16 scale */
         "\"w_scale\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}", 8, DL_ERR_DTYPE},
        {"{\"w_d4\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"          /* truncated */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 9, DL_ERR_TRUNCATED},
        {"{\"w_d4\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[0,3]},"          /* short levels */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3,11]}}", 11, DL_ERR_OFFSETS},
        {"{\"w_d\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"           /* no levels */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, DL_ERR_MISSING},
        {"{\"w\":{\"dtype\":\"U8\",\"shape\":[2,3],\"data_offsets\":[0,6]},"             /* bare U8 */
         "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[6,14]}}", 14, DL_ERR_DTYPE},
    };
    uint8_t big[80] = {0};
    memcpy(big, data, sizeof data);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        buf = st_build(bad[k].json, big, bad[k].dlen, &len);
        for (int i = 0; i < 6; i++) out[i] = 9.0f;
        int got = dl_st_load(buf, len, &t, 1, NULL);
        if (got != bad[k].want)
            fail_msg("case %zu -> %d (%s), want %d", k, got, dl_strerror(got), bad[k].want);
        for (int i = 0; i < 6; i++) assert_float_exact(out[i], 9.0f);
        free(buf);
    }
    /* a NaN scale, or one whose product with a level overflows: DL_ERR_NAN */
    const float bad_sc[3][2] = {{0.5f, NAN}, {INFINITY, 1.0f}, {0.5f, 1e38f}};
    for (int k = 0; k < 3; k++) {
        memcpy(data + 4, bad_sc[k], 8);
        buf = st_build(json, data, sizeof data, &len);
        for (int i = 0; i < 6; i++) out[i] = 9.0f;
        assert_status(dl_st_load(buf, len, &t, 1, NULL), DL_ERR_NAN);
        for (int i = 0; i < 6; i++) assert_float_exact(out[i], 9.0f);
        free(buf);
    }
    /* "w" itself, when present, wins over "w_d4" (extra tensors are ignored) */
    const char *both = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                       "\"w_d4\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[24,28]},"
                       "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[28,36]}}";
    uint8_t bd[36];
    memcpy(bd, want, 24);
    memcpy(bd + 24, d, 4);
    memset(bd + 28, 0, 8);
    buf = st_build(both, bd, sizeof bd, &len);
    assert_ok(dl_st_load(buf, len, &t, 1, NULL));
    for (int i = 0; i < 6; i++) assert_float_exact(out[i], want[i]);
    free(buf);
}

/* dl_st_save_how: d4 stores weights on the grid exactly, with the names and
 * shapes dl_st_load reads; levels that do not fit are refused. */
static void test_save_d4(void **state)
{
    float w[2 * 5], b[2] = {0.1f, -3.0f}, cw[4] = {0.5f, -1.0f, 0.25f, 2.0f};
    const int lv[2][5] = {{0, 7, -1, -9, -2}, {3, 3, 3, -5, 2}};
    const float sc[2] = {0.125f, 0.3f};
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < 5; j++) w[5 * r + j] = (float)lv[r][j] * sc[r];
    dl_tensor t[3] = {{.name = "c", .ndim = 2, .shape = {2, 2}, .data = cw},
                      {.name = "fc.weight", .ndim = 3, .shape = {2, 1, 5}, .data = w},
                      {.name = "fc.bias", .ndim = 1, .shape = {2}, .data = b}};
    dl_st_how how[3] = {{DL_ST_I8, 127, NULL}, {DL_ST_D4, 0, sc}, {DL_ST_F32, 0, NULL}};
    uint8_t out[1024];
    size_t len, len0;
    assert_ok(dl_st_save_how(NULL, 0, &len0, t, 3, NULL, how));
    assert_ok(dl_st_save_how(out, sizeof out, &len, t, 3, NULL, how));
    assert_int_equal(len, len0);
    assert_true(has_bytes(out, len, "\"fc.weight_d4\":{\"dtype\":\"U8\",\"shape\":[2,3]"));
    assert_true(has_bytes(out, len, "\"fc.weight_scale\":{\"dtype\":\"F32\",\"shape\":[2]"));
    assert_true(has_bytes(out, len, "\"c\":{\"dtype\":\"I8\""));
    float w2[10], b2[2], c2[4];
    dl_tensor t2[3] = {t[0], t[1], t[2]};
    t2[0].data = c2; t2[1].data = w2; t2[2].data = b2;
    assert_ok(dl_st_load(out, len, t2, 3, NULL));
    for (int i = 0; i < 10; i++) assert_float_exact(w2[i], w[i]);
    for (int i = 0; i < 2; i++) assert_float_exact(b2[i], b[i]);
    for (int i = 0; i < 4; i++) assert_true(fabsf(c2[i] - cw[i]) <= 2.0f / 127 / 2 * 1.0001f);

    /* a jump of 9 levels (-9 after 0 would be 0 -> -9: -9 < -8) */
    w[0] = 0.0f; w[1] = -9 * sc[0];
    assert_status(dl_st_save_how(out, sizeof out, &len, t, 3, NULL, how), DL_ERR_ARG);
    w[1] = 7 * sc[0];
    float neg[2] = {-1.0f, 0.3f};
    how[1].scale = neg;                                   /* negative step */
    assert_status(dl_st_save_how(out, sizeof out, &len, t, 3, NULL, how), DL_ERR_ARG);
    how[1].scale = NULL;                                  /* d4 needs steps */
    assert_status(dl_st_save_how(out, sizeof out, &len, t, 3, NULL, how), DL_ERR_ARG);
    how[1].scale = sc;
    t[2].name = "fc.weight_d4";                           /* clashes with the levels */
    assert_status(dl_st_save_how(out, sizeof out, &len, t, 3, NULL, how), DL_ERR_ARG);
    t[2].name = "fc.bias";
    how[2].dtype = (dl_st_dtype)9;
    assert_status(dl_st_save_how(out, sizeof out, &len, t, 3, NULL, how), DL_ERR_ARG);
    how[2].dtype = DL_ST_F32;
    assert_ok(dl_st_save_how(out, sizeof out, &len, t, 3, NULL, how));
    assert_status(dl_st_save_as(out, sizeof out, &len, t, 3, NULL, DL_ST_D4, 127), DL_ERR_ARG);
}

static void test_meta_unescape(void **state)
{
    uint8_t data[28];
    ab_data(data);
    size_t len;
    uint8_t *buf = st_build(
        "{\"__metadata__\":{\"k\\u0031\":\"a\\\"b\\\\c\\/d\\n\\t\\u0041\\u00e9\\ud83d\\ude00\","
        "\"empty\":\"\"},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
        data, 28, &len);
    ab_dest d;
    ab_init(&d);
    assert_ok(dl_st_load(buf, len, d.t, 2, &d.meta));
    assert_int_equal(d.meta.n, 2);
    assert_string_equal(d.meta.key[0], "k1");
    assert_string_equal(dl_meta_get(&d.meta, "k1"), "a\"b\\c/d\n\tA\xc3\xa9\xf0\x9f\x98\x80");
    assert_string_equal(dl_meta_get(&d.meta, "empty"), "");
    assert_null(dl_meta_get(&d.meta, "k"));
    free(buf);
}

static void test_meta_set_get(void **state)
{
    dl_meta m = {0};
    assert_null(dl_meta_get(&m, "x"));
    assert_ok(dl_meta_set(&m, "x", "1"));
    assert_ok(dl_meta_set(&m, "y", "2"));
    assert_ok(dl_meta_set(&m, "x", "3"));          /* replaces, keeps order */
    assert_int_equal(m.n, 2);
    assert_string_equal(m.key[0], "x");
    assert_string_equal(dl_meta_get(&m, "x"), "3");
    assert_string_equal(dl_meta_get(&m, "y"), "2");

    char longkey[DL_META_KEY + 1], longval[DL_META_VAL + 1];
    memset(longkey, 'k', DL_META_KEY); longkey[DL_META_KEY] = 0;
    memset(longval, 'v', DL_META_VAL); longval[DL_META_VAL] = 0;
    assert_status(dl_meta_set(&m, longkey, "v"), DL_ERR_ARG);
    assert_status(dl_meta_set(&m, "z", longval), DL_ERR_ARG);
    longkey[DL_META_KEY - 1] = 0;                  /* 31 chars: fits */
    assert_ok(dl_meta_set(&m, longkey, "v"));
    for (int i = m.n; i < DL_META_MAX; i++) {
        char k[8] = {'k', (char)('a' + i), 0};
        assert_ok(dl_meta_set(&m, k, "v"));
    }
    assert_int_equal(m.n, DL_META_MAX);
    assert_status(dl_meta_set(&m, "one-too-many", "v"), DL_ERR_ARG);
    assert_ok(dl_meta_set(&m, "y", "still replaceable"));
}

/* ---- safetensors: corrupt files, one status each ------------------------- */

static void test_reject_truncated(void **state)
{
    uint8_t data[28];
    ab_data(data);
    size_t len;
    uint8_t *buf = st_build(HDR_OK, data, 28, &len);
    const size_t cuts[] = {len - 1, len - 12, 7, 1, 0};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        ab_dest d;
        ab_init(&d);
        assert_status(dl_st_load(buf, cuts[i], d.t, 2, &d.meta), DL_ERR_TRUNCATED);
        ab_assert_untouched(&d);
    }
    free(buf);
}

static void test_reject_header_len(void **state)
{
    uint8_t data[28];
    ab_data(data);
    size_t len;
    uint8_t *buf = st_build(HDR_OK, data, 28, &len);
    const uint64_t lens[] = {len - 8 + 1, (uint64_t)1 << 40, UINT64_MAX,
                             UINT64_MAX - 7};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(lens[k] >> (8 * i));
        ab_dest d;
        ab_init(&d);
        assert_status(dl_st_load(buf, len, d.t, 2, &d.meta), DL_ERR_HEADER_LEN);
        ab_assert_untouched(&d);
    }
    /* a header cut in the middle of the file's JSON: the same code */
    assert_status(dl_st_load(buf, 8 + 20, NULL, 0, NULL), DL_ERR_HEADER_LEN);
    free(buf);
}

static void test_reject_json(void **state)
{
    uint8_t data[28];
    ab_data(data);
    static const char *bad[] = {
        "",
        "[]",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}",   /* no } */
        HDR_OK "x",                                                     /* trailing */
        HDR_OK "{}",                                                  /* two values */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]]," /* ]] */
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":\"2,2\",\"data_offsets\":[0,16]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16,16]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[-16,28]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0,2],\"data_offsets\":[0,16]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
        "{\"a\":{\"dtype\":32,\"shape\":[2,2],\"data_offsets\":[0,16]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2]},"                 /* no offsets */
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
        "{\"a\":[0,16],"                                        /* not an object */
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
        "{\"a\" {\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"  /* no : */
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
        "{\"__metadata__\":{\"k\":1},"                         /* value not a string */
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
        "{\"__metadata__\":{\"k\":\"\\q\"},"                          /* bad escape */
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",  /* dup */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_reject(bad[i], data, 28, DL_ERR_JSON);

    /* jsmn stops at a NUL: what follows it must not be taken as padding */
    size_t len;
    char hdr[200];
    snprintf(hdr, sizeof hdr, "%s", HDR_OK);
    size_t hl = strlen(hdr);
    uint8_t *buf = st_build(HDR_OK "  ", data, 28, &len);
    buf[8 + hl] = 0;
    ab_dest d;
    ab_init(&d);
    assert_status(dl_st_load(buf, len, d.t, 2, &d.meta), DL_ERR_JSON);
    ab_assert_untouched(&d);
    buf[8 + hl] = ' ';                      /* the same file, padded: fine */
    assert_ok(dl_st_load(buf, len, d.t, 2, &d.meta));
    free(buf);
}

static void test_reject_dtype(void **state)
{
    uint8_t data[44] = {0};
    expect_reject("{\"a\":{\"dtype\":\"I64\",\"shape\":[2,2],\"data_offsets\":[0,32]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[32,44]}}",
                  data, 44, DL_ERR_DTYPE);
    expect_reject("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[8,20]}}",
                  data, 20, DL_ERR_DTYPE);
    expect_reject("{\"a\":{\"dtype\":\"f32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
                  data, 28, DL_ERR_DTYPE);
    /* an extra tensor of unknown dtype cannot be sized, so offsets cannot be
     * checked: refused too */
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]},"
                  "\"c\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[28,28]}}",
                  data, 28, DL_ERR_DTYPE);
}

static void test_reject_shape(void **state)
{
    uint8_t data[28];
    ab_data(data);
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
                  data, 28, DL_ERR_SHAPE);
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,4],\"data_offsets\":[0,16]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
                  data, 28, DL_ERR_SHAPE);
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2,1],\"data_offsets\":[0,16]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
                  data, 28, DL_ERR_SHAPE);
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1,3],\"data_offsets\":[16,28]}}",
                  data, 28, DL_ERR_SHAPE);
}

static void test_reject_offsets(void **state)
{
    uint8_t data[40] = {0};
    ab_data(data);
    static const struct { const char *json; size_t dlen; } bad[] = {
        /* overlapping: b starts inside a */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,24]}}", 28},
        /* b lies inside a, both end where the data ends */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[4,16]}}", 16},
        /* b inside a, both starting at 0 */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", 16},
        /* overlapping with a tensor nobody asked for */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]},"
         "\"c\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", 28},
        /* out of range */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[100,112]}}", 28},
        /* near 2^64: end - begin must not wrap to the right size */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[3],"
         "\"data_offsets\":[18446744073709551604,18446744073709551616]}}", 28},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[3],"
         "\"data_offsets\":[16,99999999999999999999999999]}}", 28},
        /* end before begin */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[28,16]}}", 28},
        /* span != 4 * 3 bytes */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,24]}}", 28},
        /* a gap before b */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[20,32]}}", 32},
        /* a shape whose byte count overflows 64 bits */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]},"
         "\"c\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
         "\"data_offsets\":[28,28]}}", 28},
        /* valid tensors, but 4 data bytes that nobody owns */
        {HDR_OK, 32},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_reject(bad[i].json, data, bad[i].dlen, DL_ERR_OFFSETS);
}

static void test_reject_missing(void **state)
{
    uint8_t data[28];
    ab_data(data);
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                  "\"bb\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
                  data, 28, DL_ERR_MISSING);
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                  "\"\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]}}",
                  data, 28, DL_ERR_MISSING);
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}",
                  data, 16, DL_ERR_MISSING);
}

static void test_reject_nan_inf(void **state)
{
    const float bad[] = {NAN, INFINITY, -INFINITY, -NAN};
    for (int k = 0; k < 4; k++) {
        uint8_t data[28];
        ab_data(data);
        memcpy(data + 16 + 4 * (k % 3), &bad[k], 4);  /* in b: a is valid */
        expect_reject(HDR_OK, data, 28, DL_ERR_NAN);
        ab_data(data);
        memcpy(data + 4 * k, &bad[k], 4);             /* in a */
        expect_reject(HDR_OK, data, 28, DL_ERR_NAN);
    }
    /* the largest finite float is fine */
    uint8_t data[28];
    ab_data(data);
    const float big = 3.40282347e38f;
    memcpy(data + 20, &big, 4);
    size_t len;
    uint8_t *buf = st_build(HDR_OK, data, 28, &len);
    ab_dest d;
    ab_init(&d);
    assert_ok(dl_st_load(buf, len, d.t, 2, NULL));
    assert_float_exact(d.b[1], big);
    free(buf);
}

/* ---- IDX ----------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);  p[3] = (uint8_t)v;
}

enum { IMGS_LEN = 16 + 2 * 784 };

/* two 28x28 images whose pixel k is (k * 7 + image) mod 256 */
static void make_images(uint8_t *b)
{
    put_be32(b, 0x00000803);
    put_be32(b + 4, 2);
    put_be32(b + 8, 28);
    put_be32(b + 12, 28);
    for (int i = 0; i < 2 * 784; i++) b[16 + i] = (uint8_t)((i % 784) * 7 + i / 784);
}

static void expect_images_fail(const uint8_t *b, size_t len, int want)
{
    dl_idx_imgs out, ref;
    memset(&out, 0x6b, sizeof out);
    memcpy(&ref, &out, sizeof out);
    assert_status(dl_idx_images(b, len, &out), want);
    assert_memory_equal(&out, &ref, sizeof out);
}

static void expect_labels_fail(const uint8_t *b, size_t len, int want)
{
    dl_idx_lbls out, ref;
    memset(&out, 0x6b, sizeof out);
    memcpy(&ref, &out, sizeof out);
    assert_status(dl_idx_labels(b, len, &out), want);
    assert_memory_equal(&out, &ref, sizeof out);
}

static void test_idx_images(void **state)
{
    static uint8_t b[IMGS_LEN + 1];
    make_images(b);
    dl_idx_imgs im;
    assert_ok(dl_idx_images(b, IMGS_LEN, &im));
    assert_int_equal(im.count, 2);
    assert_int_equal(im.rows, 28);
    assert_int_equal(im.cols, 28);
    assert_ptr_equal(im.pixels, b + 16);
    assert_int_equal(im.pixels[784 + 5], 36);        /* image 1, pixel 5 */
    assert_int_equal(im.pixels[100], (100 * 7) % 256);

    expect_images_fail(b, 0, DL_ERR_EMPTY_FILE);
    expect_images_fail(NULL, 0, DL_ERR_EMPTY_FILE);
    expect_images_fail(b, 3, DL_ERR_TRUNCATED);
    expect_images_fail(b, 10, DL_ERR_TRUNCATED);          /* inside the header */
    expect_images_fail(b, IMGS_LEN - 1, DL_ERR_TRUNCATED);
    expect_images_fail(b, 16 + 784, DL_ERR_TRUNCATED);    /* one image of two */
    expect_images_fail(b, IMGS_LEN + 1, DL_ERR_DIMS);     /* a byte too many */

    b[2] = 0x09; expect_images_fail(b, IMGS_LEN, DL_ERR_MAGIC);   /* int8 type */
    b[2] = 0x08; b[0] = 0x12; expect_images_fail(b, IMGS_LEN, DL_ERR_MAGIC);
    b[0] = 0;
    put_be32(b + 8, 27); expect_images_fail(b, IMGS_LEN, DL_ERR_DIMS);
    put_be32(b + 8, 28); put_be32(b + 12, 29); expect_images_fail(b, IMGS_LEN, DL_ERR_DIMS);
    put_be32(b + 12, 28); put_be32(b + 4, 0); expect_images_fail(b, 16, DL_ERR_DIMS);
    put_be32(b + 4, 0xffffffffu); expect_images_fail(b, IMGS_LEN, DL_ERR_DIMS);
    put_be32(b + 4, 2);
    assert_ok(dl_idx_images(b, IMGS_LEN, &im));           /* restored: valid */

    /* a 2-D file (magic 0x802): 2 images of 28*28 bytes each as rows */
    uint8_t flat[12 + 2 * 784];
    put_be32(flat, 0x00000802);
    put_be32(flat + 4, 2);
    put_be32(flat + 8, 784);
    memset(flat + 12, 0, 2 * 784);
    expect_images_fail(flat, sizeof flat, DL_ERR_DIMS);
    /* a labels file is not an images file */
    uint8_t lab[9] = {0, 0, 8, 1, 0, 0, 0, 1, 3};
    expect_images_fail(lab, sizeof lab, DL_ERR_DIMS);
}

static void test_idx_labels(void **state)
{
    uint8_t b[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9};
    dl_idx_lbls lb;
    assert_ok(dl_idx_labels(b, sizeof b, &lb));
    assert_int_equal(lb.count, 3);
    assert_ptr_equal(lb.labels, b + 8);
    assert_int_equal(lb.labels[0], 7);
    assert_int_equal(lb.labels[1], 0);
    assert_int_equal(lb.labels[2], 9);

    expect_labels_fail(b, 0, DL_ERR_EMPTY_FILE);
    expect_labels_fail(b, 6, DL_ERR_TRUNCATED);
    expect_labels_fail(b, sizeof b - 1, DL_ERR_TRUNCATED);
    b[10] = 10; expect_labels_fail(b, sizeof b, DL_ERR_LABEL);
    b[10] = 255; expect_labels_fail(b, sizeof b, DL_ERR_LABEL);
    b[10] = 9;
    b[3] = 3; expect_labels_fail(b, sizeof b, DL_ERR_DIMS);      /* 0x803 */
    b[3] = 1; b[2] = 0x0d; expect_labels_fail(b, sizeof b, DL_ERR_MAGIC);  /* float */
    b[2] = 8; b[1] = 1; expect_labels_fail(b, sizeof b, DL_ERR_MAGIC);
    b[1] = 0;
    assert_ok(dl_idx_labels(b, sizeof b, &lb));
}

/* ---- files ---------------------------------------------------------------- */

typedef struct { char dir[64]; char path[384]; } tmp_dir;

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static const char *in_dir(tmp_dir *t, const char *name)
{
    snprintf(t->path, sizeof t->path, "%s/%s", t->dir, name);
    return t->path;
}

static int tmp_setup(void **state)
{
    tmp_dir *t = calloc(1, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/dl_test_io.XXXXXX");
    if (!mkdtemp(t->dir)) return -1;
    *state = t;
    return 0;
}

static int tmp_teardown(void **state)
{
    tmp_dir *t = *state;
    DIR *d = opendir(t->dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        const char *p = in_dir(t, e->d_name);
        if (unlink(p) != 0) {                 /* a directory: one level deep */
            char sub[400];
            snprintf(sub, sizeof sub, "%s/x", p);
            unlink(sub);
            rmdir(p);
        }
    }
    if (d) closedir(d);
    rmdir(t->dir);
    free(t);
    return 0;
}

static void write_plain(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

static void assert_file_is(const char *path, const char *s)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_ok(dl_read_file(path, &buf, &len));
    assert_int_equal(len, strlen(s));
    assert_memory_equal(buf, s, len);
    free(buf);
}

static void test_read_file(void **state)
{
    tmp_dir *t = *state;
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 99;
    assert_status(dl_read_file(in_dir(t, "absent"), &buf, &len), DL_ERR_NOT_FOUND);
    assert_null(buf);
    assert_status(dl_read_file(in_dir(t, "absent/deeper"), &buf, &len), DL_ERR_NOT_FOUND);
    assert_status(dl_read_file(t->dir, &buf, &len), DL_ERR_IS_DIR);
    write_plain(in_dir(t, "empty"), "");
    assert_status(dl_read_file(in_dir(t, "empty"), &buf, &len), DL_ERR_EMPTY_FILE);
    assert_null(buf);
    write_plain(in_dir(t, "hello"), "hello\nworld");
    assert_file_is(in_dir(t, "hello"), "hello\nworld");
}

static void test_write_atomic(void **state)
{
    tmp_dir *t = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/w.bin", t->dir);
    assert_ok(dl_write_file_atomic(path, (const uint8_t *)"old", 3));
    assert_file_is(path, "old");
    chmod(path, 0640);
    const char *s = "new, longer content";
    assert_ok(dl_write_file_atomic(path, (const uint8_t *)s, strlen(s)));
    assert_file_is(path, s);
    assert_int_equal(count_entries(t->dir), 1);       /* no temporary left */
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);        /* mode kept */

    /* a stale temporary of our pid (a crashed earlier run) is replaced */
    char stale[200];
    snprintf(stale, sizeof stale, "%s.tmp.%ld", path, (long)getpid());
    write_plain(stale, "stale");
    assert_ok(dl_write_file_atomic(path, (const uint8_t *)"third", 5));
    assert_file_is(path, "third");
    assert_int_equal(count_entries(t->dir), 1);
}

static void test_write_atomic_failures(void **state)
{
    tmp_dir *t = *state;
    /* into a directory that does not exist: nothing is created */
    assert_status(dl_write_file_atomic(in_dir(t, "nodir/out.bin"),
                                       (const uint8_t *)"x", 1), DL_ERR_IO);
    struct stat sb;
    assert_int_equal(stat(in_dir(t, "nodir"), &sb), -1);
    assert_int_equal(count_entries(t->dir), 0);

    /* rename fails (the target is a non-empty directory): it stays, no temp */
    assert_int_equal(mkdir(in_dir(t, "d"), 0755), 0);
    write_plain(in_dir(t, "d/x"), "inside");
    assert_status(dl_write_file_atomic(in_dir(t, "d"), (const uint8_t *)"x", 1), DL_ERR_IO);
    assert_file_is(in_dir(t, "d/x"), "inside");
    assert_int_equal(count_entries(t->dir), 1);

    /* the write itself fails half-way (file size limit): old file intact */
    char path[160];
    snprintf(path, sizeof path, "%s/keep.bin", t->dir);
    assert_ok(dl_write_file_atomic(path, (const uint8_t *)"original", 8));
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 1000;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    static uint8_t big[4096];
    int st = dl_write_file_atomic(path, big, sizeof big);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_status(st, DL_ERR_IO);
    assert_file_is(path, "original");
    assert_int_equal(count_entries(t->dir), 2);       /* d and keep.bin */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_seednet),
        cmocka_unit_test(test_load_i8),
        cmocka_unit_test(test_save_quantized),
        cmocka_unit_test(test_load_d4),
        cmocka_unit_test(test_save_d4),
        cmocka_unit_test(test_save_without_meta),
        cmocka_unit_test(test_save_refuses_nan),
        cmocka_unit_test(test_load_small_file),
        cmocka_unit_test(test_load_f16),
        cmocka_unit_test(test_meta_unescape),
        cmocka_unit_test(test_meta_set_get),
        cmocka_unit_test(test_reject_truncated),
        cmocka_unit_test(test_reject_header_len),
        cmocka_unit_test(test_reject_json),
        cmocka_unit_test(test_reject_dtype),
        cmocka_unit_test(test_reject_shape),
        cmocka_unit_test(test_reject_offsets),
        cmocka_unit_test(test_reject_missing),
        cmocka_unit_test(test_reject_nan_inf),
        cmocka_unit_test(test_idx_images),
        cmocka_unit_test(test_idx_labels),
        cmocka_unit_test_setup_teardown(test_read_file, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_failures, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
