/* cli_common.c — errors, flags, JSON and loading shared by the commands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "png.h"

/* ---- errors ------------------------------------------------------------ */

void cli_fail(const char *what, int status)
{
    fprintf(stderr, "digitlens: %s: %s\n", what, dl_strerror(status));
    exit(1);
}

void cli_failf(const char *what, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "digitlens: %s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    fputs("digitlens: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n%s", usage);
    exit(2);
}

/* ---- default paths ----------------------------------------------------- */

static char checkout[4096]; /* "" when the working directory is the checkout */

void cli_find_checkout(void)
{
    char exe[4096], cwd[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || !getcwd(cwd, sizeof cwd)) return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');          /* .../build/digitlens */
    if (!slash) return;
    *slash = '\0';
    slash = strrchr(exe, '/');
    if (!slash || strcmp(slash + 1, "build") != 0) return;
    *slash = '\0';                            /* the checkout */
    if (strcmp(exe, cwd) != 0 && strlen(exe) < sizeof checkout)
        memcpy(checkout, exe, strlen(exe) + 1);
}

const char *cli_default(const char *rel)
{
    static char paths[4][4096 + 64];
    static int next;
    if (!checkout[0] || strlen(rel) > 63) return rel;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", checkout, rel);
    return p;
}

/* ---- flags ------------------------------------------------------------- */

int cli_is_flag(const char *arg, const char *flag)
{
    size_t n = strlen(flag);
    return strncmp(arg, flag, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

const char *cli_value(int argc, char **argv, int *i, const char *usage)
{
    const char *eq = strchr(argv[*i], '=');
    if (eq) return eq + 1;
    if (*i + 1 >= argc)
        cli_usage_error(usage, "%s needs a value", argv[*i]);
    return argv[++*i];
}

long cli_int(const char *flag, const char *s, long lo, long hi, const char *usage)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno)
        cli_usage_error(usage, "%s: '%s' is not an integer", flag, s);
    if (v < lo || v > hi)
        cli_usage_error(usage, "%s: %ld is out of range (%ld to %ld)", flag, v, lo, hi);
    return v;
}

double cli_float(const char *flag, const char *s, double lo, double hi,
                 const char *usage)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno || !isfinite(v))
        cli_usage_error(usage, "%s: '%s' is not a number", flag, s);
    if (v < lo || v > hi)
        cli_usage_error(usage, "%s: %g is out of range (%g to %g)", flag, v, lo, hi);
    return v;
}

void cli_help(int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
    }
}

/* ---- JSON -------------------------------------------------------------- */

void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

void json_number(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.9g", v);
    else fputs("null", f);
}

void json_floats(FILE *f, const float *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', f);
        json_number(f, v[i]);
    }
    fputc(']', f);
}

/* ---- loading ----------------------------------------------------------- */

void cli_load_model(dl_model *m, const char *path, dl_meta *meta)
{
    uint8_t *buf;
    size_t len;
    int st = dl_read_file(path, &buf, &len);
    if (st != DL_OK) cli_fail(path, st);
    float *params = malloc((size_t)DL_MAX_PARAMS * sizeof *params);
    if (!params) cli_fail(path, DL_ERR_NOMEM);
    st = dl_model_load(m, buf, len, params, DL_MAX_PARAMS, meta);
    free(buf);
    if (st != DL_OK) cli_fail_model(path, m, st);
    /* keep what the network needs (dl_model_free frees m->params) */
    float *fit = realloc(params, m->n_params * sizeof *params);
    m->params = fit ? fit : params;
}

void cli_fail_model(const char *what, const dl_model *m, int status)
{
    if (m->why[0]) cli_failf(what, "%s", m->why);
    cli_fail(what, status);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p) cli_fail(name, DL_ERR_NOMEM);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void cli_load_dataset(cli_dataset *d, const char *dir, const char *images,
                      const char *labels)
{
    char *ip = join(dir, images), *lp = join(dir, labels);
    size_t len;
    int st;
    if ((st = dl_read_file(ip, &d->img_buf, &len)) != DL_OK) cli_fail(ip, st);
    if ((st = dl_idx_images(d->img_buf, len, &d->imgs)) != DL_OK) cli_fail(ip, st);
    if ((st = dl_read_file(lp, &d->lbl_buf, &len)) != DL_OK) cli_fail(lp, st);
    if ((st = dl_idx_labels(d->lbl_buf, len, &d->lbls)) != DL_OK) cli_fail(lp, st);
    if (d->lbls.count != d->imgs.count)
        cli_failf(lp, "%d labels for the %d images of %s", d->lbls.count,
                  d->imgs.count, ip);
    free(ip);
    free(lp);
}

void cli_free_dataset(cli_dataset *d)
{
    free(d->img_buf);
    free(d->lbl_buf);
    d->img_buf = d->lbl_buf = NULL;
}

static int ends_with_png(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".png") == 0;
}

void cli_input_open(cli_input *in, const char *path, long index, long limit,
                    long limit_default)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memset(in, 0, sizeof *in);
    in->path = path;

    size_t len;
    int st = dl_read_file(path, &in->buf, &len);
    if (st != DL_OK) cli_fail(path, st);

    if (len >= 8 && memcmp(in->buf, png_sig, 8) == 0) {
        free(in->buf);
        in->buf = NULL;
        uint8_t *gray = NULL;
        int w = 0, h = 0;
        if ((st = png_read_gray(path, &gray, &w, &h)) != DL_OK) cli_fail(path, st);
        st = dl_preprocess(in->png_x, gray, w, h);
        free(gray);
        if (st != DL_OK) cli_fail(path, st);
        in->first = 0;
        in->count = 1;
        return;
    }
    if (ends_with_png(path)) cli_fail(path, DL_ERR_NOT_PNG);

    /* Anything else must be an IDX images file: its magic says if it is. */
    if ((st = dl_idx_images(in->buf, len, &in->imgs)) != DL_OK) cli_fail(path, st);
    in->is_idx = 1;
    int n = in->imgs.count;
    if (index >= n)
        cli_failf(path, "--index %ld is past the last image (the file holds %d)",
                  index, n);
    in->first = index < 0 ? 0 : (int)index;
    if (limit < 0) limit = index >= 0 ? 1 : limit_default;
    long left = n - in->first;
    in->count = (int)(limit < 0 || limit > left ? left : limit);
}

void cli_input_image(const cli_input *in, int k, float *x, int *index)
{
    if (!in->is_idx) {
        memcpy(x, in->png_x, sizeof in->png_x);
        *index = 0;
        return;
    }
    *index = in->first + k;
    const uint8_t *p = in->imgs.pixels + (size_t)*index * DL_IN_SIZE;
    for (int i = 0; i < DL_IN_SIZE; i++) x[i] = p[i] / 255.0f;
}

void cli_input_close(cli_input *in)
{
    free(in->buf);
    in->buf = NULL;
}
