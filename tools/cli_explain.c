/* cli_explain.c — `digitlens classify` and `digitlens explain`: the digit in
 * each image, and the Grad-CAM maps that explain its class scores. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "png.h"

const char cli_classify_usage[] =
    "usage: digitlens classify [OPTIONS] FILE...\n"
    "\n"
    "The digit in each FILE: a PNG of any size (a drawing or a scan, either\n"
    "polarity; it is preprocessed to MNIST format) or an IDX images file\n"
    "(MNIST format already, e.g. data/mnist/t10k-images-idx3-ubyte).\n"
    "\n"
    "  --weights FILE  weights to use (default " CLI_DEFAULT_WEIGHTS ")\n"
    "  --index N       IDX files: start at image N (alone: only image N)\n"
    "  --limit N       IDX files: at most N images (default: all)\n"
    "  --json          one object per line:\n"
    "                  {\"file\", \"index\" (IDX only), \"digit\", \"probs\": [10]}\n"
    "  --help          this text\n";

const char cli_explain_usage[] =
    "usage: digitlens explain [OPTIONS] FILE...\n"
    "\n"
    "Grad-CAM maps for each image of FILE (a PNG or an IDX images file, as for\n"
    "classify): L^c = ReLU(sum_k alpha_k^c A_k), alpha_k^c the mean of\n"
    "dy^c/dA_k, y^c the logit of class c, A the feature maps of the layer\n"
    "the weights name as cam_layer (two-conv: 32x10x10, seed: 12x24x24).\n"
    "\n"
    "  --weights FILE  weights to use (default " CLI_DEFAULT_WEIGHTS ")\n"
    "  --class C|all   the class to explain: a digit 0-9, or all ten\n"
    "                  (default: the predicted digit)\n"
    "  --method NAME   gradcam (default), gradcam++, xgradcam, hirescam,\n"
    "                  layercam, scorecam, ablationcam, eigencam,\n"
    "                  counterfactual (maps on A's grid), guided-backprop,\n"
    "                  guided-gradcam (28x28 maps on the input); formulas in\n"
    "                  c/cam_methods.c and README\n"
    "  --index N       IDX files: start at image N (alone: only image N)\n"
    "  --limit N       IDX files: at most N images (default 1)\n"
    "  --json          one object per image: {\"file\", \"index\" (IDX only),\n"
    "                  \"method\", \"digit\", \"logits\": [10], \"probs\": [10],\n"
    "                  \"side\": A's side or 28, \"grid\": {\"side\", \"off\",\n"
    "                  \"stride\"} (cell q's centre on input pixel off +\n"
    "                  stride*q), \"maps\": {\"<class>\": side rows of side\n"
    "                  raw values}, \"placed\": {\"<class>\": 28 rows of 28,\n"
    "                  each map on the input's frame}}, and \"undefined\":\n"
    "                  [classes] when the method is undefined for the input\n"
    "                  (those maps are zero)\n"
    "  --out DIR       write PNG overlays to DIR: the input as the network sees\n"
    "                  it, upscaled, with the map blended over it in a\n"
    "                  perceptual colormap; one file per class,\n"
    "                  <name>[-<index>]-class<c>.png. One class: scaled to its\n"
    "                  own maximum; all: one scale for the ten, so they compare\n"
    "  --size N        overlay side in pixels (default 280)\n"
    "  --cmap NAME     inferno (default) or viridis\n"
    "  --help          this text\n"
    "\n"
    "Without --json or --out, each map is drawn in text, scaled to its maximum.\n";

enum { BATCH = 256 };

typedef struct {
    const char *weights;
    int json;
    long index, limit;
    const char **files;
    int n_files;
    /* explain only */
    int cls;            /* -1: predicted digit; 10: all */
    int method;         /* dl_cam_method_id */
    const char *out_dir;
    int size;
    dl_colormap cmap;
} options;

static void parse(options *o, int argc, char **argv, int explain, const char *usage)
{
    memset(o, 0, sizeof *o);
    o->weights = cli_default(CLI_DEFAULT_WEIGHTS);
    o->index = o->limit = -1;
    o->cls = -1;
    o->size = 280;
    o->cmap = DL_INFERNO;
    o->files = calloc((size_t)argc, sizeof *o->files);
    if (!o->files) cli_fail("arguments", DL_ERR_NOMEM);
    int only_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
            o->files[o->n_files++] = a;
        } else if (strcmp(a, "--") == 0) {
            only_files = 1;
        } else if (cli_is_flag(a, "--weights")) {
            o->weights = cli_value(argc, argv, &i, usage);
        } else if (cli_is_flag(a, "--json")) {
            o->json = 1;
        } else if (cli_is_flag(a, "--index")) {
            o->index = cli_int("--index", cli_value(argc, argv, &i, usage), 0,
                               1L << 30, usage);
        } else if (cli_is_flag(a, "--limit")) {
            o->limit = cli_int("--limit", cli_value(argc, argv, &i, usage), 1,
                               1L << 30, usage);
        } else if (explain && cli_is_flag(a, "--class")) {
            const char *v = cli_value(argc, argv, &i, usage);
            o->cls = strcmp(v, "all") == 0 ? 10 : (int)cli_int("--class", v, 0, 9, usage);
        } else if (explain && cli_is_flag(a, "--method")) {
            const char *v = cli_value(argc, argv, &i, usage);
            o->method = dl_cam_method_lookup(v);
            if (o->method < 0) {
                char list[256] = "";
                for (int k = 0; k < DL_M_COUNT; k++) {
                    strcat(list, k ? ", " : "");
                    strcat(list, dl_cam_method_name(k));
                }
                cli_usage_error(usage, "--method: unknown method '%s' (methods: %s)", v, list);
            }
        } else if (explain && cli_is_flag(a, "--out")) {
            o->out_dir = cli_value(argc, argv, &i, usage);
        } else if (explain && cli_is_flag(a, "--size")) {
            o->size = (int)cli_int("--size", cli_value(argc, argv, &i, usage), 28,
                                   1024, usage);
        } else if (explain && cli_is_flag(a, "--cmap")) {
            const char *v = cli_value(argc, argv, &i, usage);
            if (strcmp(v, "inferno") == 0) o->cmap = DL_INFERNO;
            else if (strcmp(v, "viridis") == 0) o->cmap = DL_VIRIDIS;
            else cli_usage_error(usage, "--cmap: '%s' is not inferno or viridis", v);
        } else {
            cli_usage_error(usage, "unknown option '%s'", a);
        }
    }
    if (o->n_files == 0) cli_usage_error(usage, "no FILE given");
}

static void print_head(const cli_input *in, int index)
{
    json_string(stdout, in->path);
    if (in->is_idx) printf(",\"index\":%d", index);
}

/* ---- classify ---------------------------------------------------------- */

int cli_classify(int argc, char **argv)
{
    options o;
    parse(&o, argc, argv, 0, cli_classify_usage);
    dl_model m;
    cli_load_model(&m, o.weights, NULL);
    dl_work w;
    int st = dl_work_alloc(&w, &m, BATCH);
    if (st != DL_OK) cli_fail("work memory", st);
    static float x[BATCH * DL_IN_SIZE];
    int idx[BATCH];

    for (int f = 0; f < o.n_files; f++) {
        cli_input in;
        cli_input_open(&in, o.files[f], o.index, o.limit, -1);
        for (int k0 = 0; k0 < in.count; k0 += BATCH) {
            int B = in.count - k0 < BATCH ? in.count - k0 : BATCH;
            for (int b = 0; b < B; b++)
                cli_input_image(&in, k0 + b, x + (size_t)b * DL_IN_SIZE, &idx[b]);
            if ((st = dl_forward(&m, &w, x, B)) != DL_OK) cli_fail(in.path, st);
            const float *y = dl_logits(&m, &w);
            for (int b = 0; b < B; b++) {
                float p[DL_CLASSES];
                dl_softmax(p, y + b * DL_CLASSES, DL_CLASSES);
                int d = 0;
                for (int c = 1; c < DL_CLASSES; c++)
                    if (y[b * DL_CLASSES + c] > y[b * DL_CLASSES + d]) d = c;
                if (o.json) {
                    fputs("{\"file\":", stdout);
                    print_head(&in, idx[b]);
                    printf(",\"digit\":%d,\"probs\":", d);
                    json_floats(stdout, p, DL_CLASSES);
                    fputs("}\n", stdout);
                } else if (in.is_idx) {
                    printf("%s[%d]: %d (%.1f%%)\n", in.path, idx[b], d, 100.0 * p[d]);
                } else {
                    printf("%s: %d (%.1f%%)\n", in.path, d, 100.0 * p[d]);
                }
            }
        }
        cli_input_close(&in);
    }
    dl_work_free(&w);
    dl_model_free(&m);
    free(o.files);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- explain ----------------------------------------------------------- */

/* "dir/name.png" -> "name"; other names keep their extension. */
static void base_name(char *out, size_t cap, const char *path)
{
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    size_t n = strlen(s);
    if (n > 4 && strcasecmp(s + n - 4, ".png") == 0) n -= 4;
    if (n >= cap) n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static void make_dir(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) cli_failf(dir, "exists and is not a directory");
        return;
    }
    if (mkdir(dir, 0777) != 0)
        cli_failf(dir, "cannot create directory (%s)", strerror(errno));
}

/* The input as the network sees it (white ink on black), upscaled with
 * nearest neighbour so its pixels stay visible and dimmed to half so that
 * heat on the ink shows, and the placed, normalised heat t in 0..1 blended
 * over it with opacity 0.8 t. */
static void write_overlay(const options *o, const char *path, const float *x,
                          const float *heat)
{
    int S = o->size;
    uint8_t *rgb = malloc((size_t)S * S * 3);
    if (!rgb) cli_fail(path, DL_ERR_NOMEM);
    for (int i = 0; i < S; i++) {
        for (int j = 0; j < S; j++) {
            float g = 0.5f * 255.0f * x[(i * DL_IN_H / S) * DL_IN_W + j * DL_IN_W / S];
            float t = heat[(size_t)i * S + j];
            float a = 0.8f * t;
            uint8_t c[3];
            dl_colormap_rgb(c, t, o->cmap);
            for (int k = 0; k < 3; k++) {
                float v = (1.0f - a) * g + a * c[k];
                rgb[((size_t)i * S + j) * 3 + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
            }
        }
    }
    int st = png_write_rgb(path, rgb, S, S);
    free(rgb);
    if (st != DL_OK) cli_fail(path, st);
}

static void write_overlays(const options *o, const cli_input *in, int index,
                           const float *x, const dl_cam *cam, const int *cls, int n)
{
    size_t S2 = (size_t)o->size * o->size;
    float *heat = malloc(sizeof(float) * S2 * (size_t)n);
    if (!heat) cli_fail(in->path, DL_ERR_NOMEM);
    for (int j = 0; j < n; j++) {
        int st = dl_cam_place(heat + j * S2, o->size, o->size, dl_cam_map(cam, cls[j]),
                              &cam->grid);
        if (st != DL_OK) cli_fail(in->path, st);
    }
    dl_cam_normalize(heat, heat, n, (int)S2, n > 1);

    char base[256], path[4096];
    base_name(base, sizeof base, in->path);
    for (int j = 0; j < n; j++) {
        if (in->is_idx)
            snprintf(path, sizeof path, "%s/%s-%d-class%d.png", o->out_dir, base, index, cls[j]);
        else
            snprintf(path, sizeof path, "%s/%s-class%d.png", o->out_dir, base, cls[j]);
        write_overlay(o, path, x, heat + j * S2);
    }
    free(heat);
}

static void print_json(const cli_input *in, int index, const dl_cam *cam,
                       const int *cls, int n)
{
    fputs("{\"file\":", stdout);
    print_head(in, index);
    fputs(",\"method\":", stdout);
    json_string(stdout, dl_cam_method_name(cam->method));
    printf(",\"digit\":%d,\"logits\":", cam->digit);
    json_floats(stdout, cam->logits, DL_CLASSES);
    fputs(",\"probs\":", stdout);
    json_floats(stdout, cam->probs, DL_CLASSES);
    const int S = cam->grid.side;
    printf(",\"side\":%d,\"grid\":{\"side\":%d,\"off\":", S, S);
    json_number(stdout, cam->grid.off);
    fputs(",\"stride\":", stdout);
    json_number(stdout, cam->grid.stride);
    fputs("},\"maps\":{", stdout);
    int undef = 0;
    for (int j = 0; j < n; j++) {
        printf("%s\"%d\":[", j ? "," : "", cls[j]);
        for (int r = 0; r < S; r++) {
            if (r) fputc(',', stdout);
            json_floats(stdout, dl_cam_map(cam, cls[j]) + r * S, S);
        }
        fputc(']', stdout);
        undef += (cam->undefined >> cls[j]) & 1;
    }
    /* each map on the 28x28 input (dl_cam_place): comparable with pixels
     * without knowing the network's geometry */
    fputs("},\"placed\":{", stdout);
    for (int j = 0; j < n; j++) {
        float placed[DL_IN_SIZE];
        dl_cam_place(placed, DL_IN_H, DL_IN_W, dl_cam_map(cam, cls[j]), &cam->grid);
        printf("%s\"%d\":[", j ? "," : "", cls[j]);
        for (int r = 0; r < DL_IN_H; r++) {
            if (r) fputc(',', stdout);
            json_floats(stdout, placed + r * DL_IN_W, DL_IN_W);
        }
        fputc(']', stdout);
    }
    fputc('}', stdout);
    if (undef) { /* zero maps by definition, not by evidence */
        fputs(",\"undefined\":[", stdout);
        for (int j = 0, k = 0; j < n; j++)
            if ((cam->undefined >> cls[j]) & 1) printf("%s%d", k++ ? "," : "", cls[j]);
        fputc(']', stdout);
    }
    fputs("}\n", stdout);
}

/* Each map in ten shades, scaled to its own maximum. */
static void print_text(const cli_input *in, int index, const dl_cam *cam,
                       const int *cls, int n)
{
    static const char shade[] = " .:-=+*#%@";
    if (in->is_idx) printf("%s[%d]", in->path, index);
    else printf("%s", in->path);
    printf(": %d (%.1f%%)\n", cam->digit, 100.0 * cam->probs[cam->digit]);
    int S = cam->grid.side;
    for (int j = 0; j < n; j++) {
        float norm[DL_IN_SIZE];
        const float *map = dl_cam_map(cam, cls[j]);
        float mx = 0;
        for (int i = 0; i < S * S; i++) if (map[i] > mx) mx = map[i];
        dl_cam_normalize(norm, map, 1, S * S, 0);
        printf("class %d: logit %.4g, %s map max %.4g%s\n", cls[j], cam->logits[cls[j]],
               dl_cam_method_name(cam->method), mx,
               (cam->undefined >> cls[j]) & 1 ? " (undefined for this input)" : "");
        for (int r = 0; r < S; r++) {
            fputs("  |", stdout);
            for (int c = 0; c < S; c++) {
                int s = (int)(norm[r * S + c] * 9.0f + 0.5f);
                s = s < 0 ? 0 : s > 9 ? 9 : s;
                fputc(shade[s], stdout);
                fputc(shade[s], stdout);
            }
            fputs("|\n", stdout);
        }
    }
}

int cli_explain(int argc, char **argv)
{
    options o;
    parse(&o, argc, argv, 1, cli_explain_usage);
    dl_model m;
    cli_load_model(&m, o.weights, NULL);
    dl_work w;
    int st = dl_work_alloc(&w, &m, 1);
    if (st != DL_OK) cli_fail("work memory", st);
    if (o.out_dir) make_dir(o.out_dir);
    static dl_cam cam;

    for (int f = 0; f < o.n_files; f++) {
        cli_input in;
        cli_input_open(&in, o.files[f], o.index, o.limit, 1);
        for (int k = 0; k < in.count; k++) {
            float x[DL_IN_SIZE];
            int index;
            cli_input_image(&in, k, x, &index);
            /* All ten maps cost one forward and ten short backwards; the
             * predicted digit is only known after the forward. */
            if ((st = dl_cam_method(&m, &w, x, o.method, DL_ALL_CLASSES, &cam)) != DL_OK)
                cli_fail(in.path, st);
            int cls[DL_CLASSES], n = 0;
            if (o.cls == 10) for (int c = 0; c < DL_CLASSES; c++) cls[n++] = c;
            else cls[n++] = o.cls < 0 ? cam.digit : o.cls;

            if (o.json) print_json(&in, index, &cam, cls, n);
            if (o.out_dir) write_overlays(&o, &in, index, x, &cam, cls, n);
            if (!o.json && !o.out_dir) print_text(&in, index, &cam, cls, n);
        }
        cli_input_close(&in);
    }
    dl_work_free(&w);
    dl_model_free(&m);
    free(o.files);
    return fflush(stdout) == 0 ? 0 : 1;
}
