/* wasm_api.c — the only file with exports: the boundary between the page's
 * JavaScript (web/digitlens.js) and the library.
 *
 * All memory is static and sized from the constants below: no malloc, no
 * memory growth (growth would detach every JS view of the memory). JS writes
 * into a buffer whose address and capacity it asks for, calls an export, and
 * reads the result from another buffer. Every call that can fail returns a
 * dl_status (0 = ok); dl_last_error() then points at a NUL-terminated
 * message that says which call failed and why. Arguments are never trusted:
 * sizes, class indices, masks and pixel values are all checked.
 *
 * EXPORTS (all prefixed dl_)
 *
 *   weights (the network is the one the file describes: see digitlens.h,
 *   dl_model_load; the largest accepted is stated once, below)
 *     dl_weights_buf()  -> u8*   copy a safetensors file here (JS side)
 *     dl_weights_cap()  -> int   its capacity in bytes (DL_WASM_WEIGHTS_CAP)
 *     dl_load_weights(len)       plan the network of len bytes of it and load
 *                                its weights; on failure the network and
 *                                weights in use stay in place
 *     dl_weights_loaded() -> 0/1
 *     dl_map_side() -> int       the loaded network's Grad-CAM maps: side x
 *                                side (24: the seed network; 10: two-conv)
 *   the 28x28 input (MNIST scale: 0..1, white ink on black, row-major)
 *     dl_input_buf()    -> f32*  784 floats
 *   preprocessing (any drawing -> the 28x28 input)
 *     dl_image_buf()    -> u8*   RGBA (4 bytes/pixel) or gray (1 byte/pixel)
 *     dl_image_max_side() -> int width and height are each at most this
 *     dl_preprocess_rgba(w, h)   canvas ImageData -> dl_input_buf
 *     dl_preprocess_gray(w, h)   0 = black .. 255 = white -> dl_input_buf
 *     dl_frame()                 after a preprocess: where the 28x28 frame
 *                                lies on that image, in dl_frame_buf()
 *     dl_frame_buf() -> f32*     (scale, ox, oy): image pixel = o + scale *
 *                                28x28 coordinate
 *   inference (reads dl_input_buf, writes the result below)
 *     dl_classify()              forward pass only: digit, logits, probs
 *     dl_explain(mask)           Grad-CAM for the classes in mask (bit c =
 *                                class c; 0x3FF = all ten), one forward
 *     dl_result_digit() -> int   argmax of the logits
 *     dl_result_logits() -> f32* 10 pre-softmax class scores
 *     dl_result_probs()  -> f32* 10 softmax probabilities
 *     dl_result_maps()   -> f32* (10, side, side) raw maps, one after the
 *                                other (side: dl_result_side); JS may write
 *                                maps here too before calling dl_heat
 *   other CAM methods (digitlens.h: dl_cam_method)
 *     dl_explain_method(method, mask)  like dl_explain, by method id (0 =
 *                                gradcam .. dl_method_count()-1)
 *     dl_method_count() -> int   dl_method_name(i) -> char*  ("gradcam++", ...)
 *                                Built with -DDL_WASM_GRADCAM_ONLY (the page's
 *                                default module, without c/cam_methods.c):
 *                                the same exports, and one method, gradcam.
 *     dl_result_side()  -> int   the maps' side: dl_map_side() for maps on the
 *                                CAM layer, 28 for the guided methods' maps
 *                                on the input
 *     dl_result_undefined() -> u32  bit c: the method is undefined for this
 *                                input and class (its map is zero)
 *     dl_set_side(side)          dl_map_side() or 28: where the maps JS wrote
 *                                into dl_result_maps lie, for dl_heat / dl_place
 *   display (from dl_result_maps)
 *     dl_heat(cls, w, h, cmap, flags, mask)  normalise, place (dl_cam_place)
 *                                and colour the map of class cls into w x h
 *                                RGBA; cmap 0 viridis, 1 inferno. flags:
 *                                DL_HEAT_SHARED (bit 0) one scale over the
 *                                classes in mask (0 = all ten), else per map;
 *                                DL_HEAT_ALPHA (bit 1) alpha = value, else 255
 *     dl_place(cls, w, h)        the raw map of cls placed at w x h (floats)
 *     dl_heat_buf()  -> u8*      w*h*4 bytes of the last dl_heat
 *     dl_place_buf() -> f32*     w*h floats of the last dl_heat / dl_place
 *     dl_heat_max_side() -> int  w and h are each at most this
 *   errors
 *     dl_last_error() -> char*   message of the last failure ("" if none)
 *
 * Build: see the Makefile's WASM section (emcc -sSTANDALONE_WASM --no-entry,
 * zero imports; nothing here or in the library may pull in a WASI call).
 */
#include <math.h>
#include <string.h>

#include "digitlens.h"
#include "simd.h"
#include "wasm_error.h"

#define EXPORT(name) __attribute__((export_name(#name)))

/* The largest network this module runs, stated once: the static buffers
 * below are sized by it, and dl_load_weights refuses a file whose network
 * needs more (DL_ERR_TOO_LARGE, saying which limit). Both built-in networks
 * fit: the seed network has 17,602 weights and 16,346 activation floats
 * (input included), the two-conv network 13,066 and 28,730. */
enum {
    DL_WASM_WEIGHTS_CAP = 256 * 1024,  /* bytes of a safetensors file */
    DL_WASM_MAX_PARAMS = 64 * 1024,    /* floats of weights and biases */
    DL_WASM_MAX_ACTS = 64 * 1024,      /* activation floats for one image */
    DL_WASM_MAX_PACKED = 16 * 1024,    /* packed conv kernels (a larger network
                                        * packs them at every call instead) */
    DL_WASM_IMAGE_SIDE = 1024,         /* preprocess input, each side */
    DL_WASM_HEAT_SIDE = 512,           /* heat output, each side */
    DL_HEAT_SHARED = 1,
    DL_HEAT_ALPHA = 2,
    /* A drawing whose 20x20 box comes out nearly all ink is a scribble over
     * the whole pad, not a digit (MNIST digits ink about 150 of 784 pixels). */
    DL_WASM_MAX_INK = 320
};

static uint8_t weights_buf[DL_WASM_WEIGHTS_CAP];
static float params[DL_WASM_MAX_PARAMS];     /* the live model */
static float staging[DL_WASM_MAX_PARAMS];    /* a load lands here first */
static float acts[DL_WASM_MAX_ACTS], dacts[DL_WASM_MAX_ACTS];
static float input[DL_IN_SIZE];              /* (1, 1, 28, 28) */
static uint8_t image[DL_WASM_IMAGE_SIDE * DL_WASM_IMAGE_SIDE * 4];
static uint8_t gray[DL_WASM_IMAGE_SIDE * DL_WASM_IMAGE_SIDE];
static float place_buf[DL_WASM_HEAT_SIDE * DL_WASM_HEAT_SIDE];
static uint8_t heat_buf[DL_WASM_HEAT_SIDE * DL_WASM_HEAT_SIDE * 4];
static float norm_buf[DL_CLASSES * DL_IN_SIZE];
static float frame_buf[3];                   /* scale, ox, oy */
static const uint8_t *last_gray;             /* the last preprocessed image */
static int last_w, last_h;
static float last_input[DL_IN_SIZE];          /* and what it gave (input changes) */
static dl_cam cam;

static dl_model model, staged; /* the live network, and one being loaded */
static dl_work work = { 1, acts, dacts };
static int loaded;       /* a network and its weights in model, params */

/* ---- errors (wasm_error.h: last_error, append, failed) ------------------- */

EXPORT(dl_last_error) const char *wasm_last_error(void) { return last_error; }

/* ---- set-up ------------------------------------------------------------ */

static int ready(const char *context)
{
    if (!loaded) return failed(DL_ERR_ARG, context, "no weights loaded");
    return DL_OK;
}

/* ---- weights ----------------------------------------------------------- */

EXPORT(dl_weights_buf) uint8_t *wasm_weights_buf(void) { return weights_buf; }
EXPORT(dl_weights_cap) int wasm_weights_cap(void) { return DL_WASM_WEIGHTS_CAP; }
EXPORT(dl_weights_loaded) int wasm_weights_loaded(void) { return loaded; }
EXPORT(dl_map_side) int wasm_map_side(void) { return loaded ? model.grid.side : 0; }

EXPORT(dl_load_weights) int wasm_load_weights(int len)
{
    if (len <= 0) return failed(DL_ERR_EMPTY_FILE, "weights", NULL);
    if (len > DL_WASM_WEIGHTS_CAP)
        return failed(DL_ERR_ARG, "weights", "file larger than the 256 KB weights buffer");
    /* into the staging model and buffer: the live ones change only when
     * the whole file is good */
    int st = dl_model_load(&staged, weights_buf, (size_t)len, staging, DL_WASM_MAX_PARAMS, NULL);
    if (st) return failed(st, "weights", staged.why[0] ? staged.why : NULL);
    if (staged.n_acts > DL_WASM_MAX_ACTS)
        return failed(DL_ERR_TOO_LARGE, "weights", "the network needs more activations than this module holds (65,536 floats)");
    for (size_t i = 0; i < staged.n_params; i++)
        if (!isfinite(staging[i])) return failed(DL_ERR_NAN, "weights", NULL);
#ifdef DL_WASM_GRADCAM_ONLY
    if (!dl_gradcam_closed_form(&staged))
        return failed(DL_ERR_ARCH, "weights", "this network's Grad-CAM needs the backward pass, "
                    "which only the module with every method has (digitlens-full.wasm)");
#endif
    memcpy(params, staging, staged.n_params * sizeof *params);
    model = staged;
    model.params = params;
    /* Grad-CAM's alpha, once per load, where it does not depend on the
     * input; the convolutions' kernels packed once per load */
    static float alpha[DL_CLASSES * DL_MAX_CHANNELS], packed[DL_WASM_MAX_PACKED];
    dl_gradcam_prepare(&model, dl_gradcam_closed_form(&model) ? alpha : NULL);
    dl_model_pack(&model, dl_model_packed_size(&model) <= DL_WASM_MAX_PACKED ? packed : NULL,
                  DL_WASM_MAX_PACKED);
    memset(&cam, 0, sizeof cam);
    cam.grid = model.grid;
    loaded = 1;
    return DL_OK;
}

/* ---- preprocessing ----------------------------------------------------- */

EXPORT(dl_input_buf) float *wasm_input_buf(void) { return input; }
EXPORT(dl_image_buf) uint8_t *wasm_image_buf(void) { return image; }
EXPORT(dl_image_max_side) int wasm_image_max_side(void) { return DL_WASM_IMAGE_SIDE; }

static int check_side(int w, int h, int max, const char *context)
{
    if (w < 1 || h < 1 || w > max || h > max)
        return failed(DL_ERR_IMAGE_SIZE, context,
                    max == DL_WASM_IMAGE_SIDE
                        ? "width and height must be 1..1024 (downscale larger images first)"
                        : "width and height must be 1..512");
    return DL_OK;
}

/* The paper's grey level: the median of the image's border. */
static int border_paper(const uint8_t *g, int w, int h)
{
    uint32_t hist[256] = {0};
    for (int x = 0; x < w; x++) { hist[g[x]]++; hist[g[(size_t)(h - 1) * w + x]]++; }
    for (int y = 0; y < h; y++) { hist[g[(size_t)y * w]]++; hist[g[(size_t)y * w + w - 1]]++; }
    int paper = 0;
    for (uint32_t seen = 0; paper < 255 && (seen += hist[paper]) <= (uint32_t)(w + h); paper++) {}
    return paper;
}

/* A scribble over the whole pad is not a digit, whichever way the border
 * makes the polarity come out: ink (|v - paper| > 64, paper = the border's
 * median, as preprocessing reads it) on more than 40% of the image, or
 * touching all four edges (then the gaps between strokes would be read as
 * the digit). A digit on a pad or a page leaves margins. */
static int is_scribble(const uint8_t *g, int w, int h)
{
    const int paper = border_paper(g, w, h);
    size_t ink = 0;
    int top = 0, bottom = 0, left = 0, right = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int d = g[(size_t)y * w + x] - paper;
            if (d <= 64 && d >= -64) continue;
            ink++;
            top |= y == 0; bottom |= y == h - 1; left |= x == 0; right |= x == w - 1;
        }
    return ink * 5 > (size_t)w * (size_t)h * 2 || (w >= 8 && h >= 8 && top && bottom && left && right);
}

static int preprocess_gray(const uint8_t *g, int w, int h)
{
    static const char *const covers = "ink covers most of the image: draw a single digit";
    if (is_scribble(g, w, h)) return failed(DL_ERR_NO_INK, "preprocess", covers);
    int st = dl_preprocess(input, g, w, h);
    if (st == DL_ERR_NO_INK)
        return failed(st, "preprocess", "no digit: the image is blank");
    if (st) return failed(st, "preprocess", NULL);
    int ink = 0;
    for (int i = 0; i < DL_IN_SIZE; i++) ink += input[i] > 0.5f;
    if (ink > DL_WASM_MAX_INK) return failed(DL_ERR_NO_INK, "preprocess", covers);
    last_gray = g;
    last_w = w;
    last_h = h;
    memcpy(last_input, input, sizeof last_input);
    return DL_OK;
}

/* Where the network's 28x28 frame lies on the last preprocessed image, so a
 * map can be drawn over the drawing it came from. Preprocessing fits the
 * ink's box into 20x20 and moves the centre of mass to the middle, so the
 * frame is the image scaled by L/20 (L: the box's longer side) about the
 * centre of mass: image pixel = o + scale * (28x28 coordinate). Ink here is
 * a pixel more than 10% of full scale away from the paper (the border's
 * median), weighted by that distance; the 28x28 side is what preprocessing
 * gave (dl_input_buf then; pixels classified since do not move it). */
EXPORT(dl_frame_buf) float *wasm_frame_buf(void) { return frame_buf; }
EXPORT(dl_frame) int wasm_frame(void)
{
    if (!last_gray) return failed(DL_ERR_ARG, "frame", "no image preprocessed");
    const uint8_t *g = last_gray;
    const int w = last_w, h = last_h, paper = border_paper(g, w, h);
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    double m = 0, mx = 0, my = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int d = g[(size_t)y * w + x] - paper;
            if (d < 0) d = -d;
            if (d <= 26) continue;
            if (x < x0) x0 = x;
            if (x > x1) x1 = x;
            if (y < y0) y0 = y;
            if (y > y1) y1 = y;
            m += d; mx += d * (x + 0.5); my += d * (y + 0.5);
        }
    double n = 0, nx = 0, ny = 0; /* of the 28x28 preprocessing gave, whatever came after */
    for (int i = 0; i < DL_IN_SIZE; i++) {
        n += last_input[i];
        nx += last_input[i] * (i % DL_IN_W + 0.5);
        ny += last_input[i] * (i / DL_IN_W + 0.5);
    }
    if (!(m > 0) || !(n > 0)) {
        frame_buf[0] = (float)w / DL_IN_W;
        frame_buf[1] = frame_buf[2] = 0.0f;
        return DL_OK;
    }
    int side = x1 - x0 > y1 - y0 ? x1 - x0 + 1 : y1 - y0 + 1;
    double s = side / 20.0; /* image pixels per 28x28 pixel */
    frame_buf[0] = (float)s;
    frame_buf[1] = (float)(mx / m - s * (nx / n));
    frame_buf[2] = (float)(my / m - s * (ny / n));
    return DL_OK;
}

EXPORT(dl_preprocess_rgba) int wasm_preprocess_rgba(int w, int h)
{
    last_gray = NULL;
    int st = check_side(w, h, DL_WASM_IMAGE_SIDE, "preprocess");
    if (st) return st;
    dl_rgba_to_gray(gray, image, (size_t)w * (size_t)h);
    return preprocess_gray(gray, w, h);
}

EXPORT(dl_preprocess_gray) int wasm_preprocess_gray(int w, int h)
{
    last_gray = NULL;
    int st = check_side(w, h, DL_WASM_IMAGE_SIDE, "preprocess");
    if (st) return st;
    return preprocess_gray(image, w, h);
}

/* ---- inference --------------------------------------------------------- */

static int check_input(const char *context)
{
    /* every drawing passes: one pass four at a time, without branches,
     * first. relu(v) == v is v >= 0, max(v, 1) == 1 is v <= 1; NaN fails both */
    const v4 one = v4_splat(1.0f);
    v4 ok = v4_eq(one, one);
    for (int i = 0; i < DL_IN_SIZE; i += 4) {
        v4 v = v4_load(input + i);
        ok = v4_and(ok, v4_and(v4_eq(v4_relu(v), v), v4_eq(v4_max(v, one), one)));
    }
    if (v4_all(ok)) return DL_OK;
    for (int i = 0; i < DL_IN_SIZE; i++) {
        float v = input[i];
        if (!isfinite(v)) return failed(DL_ERR_NAN, context, "a pixel is NaN or infinite");
        if (v < 0.0f || v > 1.0f)
            return failed(DL_ERR_ARG, context, "pixels must be in 0..1 (MNIST scale)");
    }
    return DL_OK;
}

EXPORT(dl_classify) int wasm_classify(void)
{
    int st = ready("classify");
    if (st) return st;
    if ((st = check_input("classify"))) return st;
    if ((st = dl_forward(&model, &work, input, 1))) return failed(st, "classify", NULL);
    const float *y = dl_logits(&model, &work);
    memset(&cam, 0, sizeof cam);
    memcpy(cam.logits, y, sizeof cam.logits);
    dl_softmax(cam.probs, cam.logits, DL_CLASSES);
    for (int c = 1; c < DL_CLASSES; c++)
        if (cam.logits[c] > cam.logits[cam.digit]) cam.digit = c;
    return DL_OK;
}

EXPORT(dl_explain) int wasm_explain(unsigned mask)
{
    int st = ready("explain");
    if (st) return st;
    if (mask == 0 || mask > DL_ALL_CLASSES)
        return failed(DL_ERR_ARG, "explain", "class mask must be 1..0x3FF (classes 0..9)");
    if ((st = check_input("explain"))) return st;
    if ((st = dl_gradcam(&model, &work, input, mask, &cam))) return failed(st, "explain", NULL);
    return DL_OK;
}

#ifdef DL_WASM_GRADCAM_ONLY
/* The page's default module: Grad-CAM alone, without c/cam_methods.c (a
 * fifth of the module, gzipped). Method 0 is dl_cam_method(DL_M_GRADCAM) to
 * the bit: dl_gradcam, and when all of A is zero, every class undefined and
 * the alphas zero. */
enum { N_METHODS = 1 };
static const char *method_name(int i) { return i == DL_M_GRADCAM ? "gradcam" : NULL; }
static int cam_method(int method, unsigned mask)
{
    int st = dl_gradcam(&model, &work, input, mask, &cam);
    if (st) return st;
    const float *A = dl_layer_out(&model, &work, model.cam_layer);
    const int n = model.cam_k * model.map_size;
    int dead = 1;
    for (int i = 0; i < n && dead; i++) dead = A[i] == 0.0f;
    if (dead) {
        cam.undefined = mask;
        memset(cam.alpha, 0, sizeof cam.alpha);
    }
    return DL_OK;
}
#else
enum { N_METHODS = DL_M_COUNT };
static const char *method_name(int i) { return dl_cam_method_name(i); }
static int cam_method(int method, unsigned mask)
{
    return dl_cam_method(&model, &work, input, method, mask, &cam);
}
#endif

EXPORT(dl_explain_method) int wasm_explain_method(int method, unsigned mask)
{
    int st = ready("explain");
    if (st) return st;
    if (!method_name(method))
        return failed(DL_ERR_ARG, "explain", "unknown method (0 .. dl_method_count()-1)");
    if (mask == 0 || mask > DL_ALL_CLASSES)
        return failed(DL_ERR_ARG, "explain", "class mask must be 1..0x3FF (classes 0..9)");
    if ((st = check_input("explain"))) return st;
    if ((st = cam_method(method, mask))) return failed(st, "explain", NULL);
    return DL_OK;
}

EXPORT(dl_method_count) int wasm_method_count(void) { return N_METHODS; }
EXPORT(dl_method_name) const char *wasm_method_name(int i)
{
    const char *n = method_name(i);
    return n ? n : "";
}
/* where the maps in cam.maps lie: the model's grid, or the input's (28) */
static int side_of(void) { return cam.grid.side ? cam.grid.side : model.grid.side; }
EXPORT(dl_result_side) int wasm_result_side(void) { return side_of(); }
EXPORT(dl_result_undefined) unsigned wasm_result_undefined(void) { return cam.undefined; }
EXPORT(dl_set_side) int wasm_set_side(int side)
{
    if (!loaded) return failed(DL_ERR_ARG, "maps", "no weights loaded");
    if (side == DL_IN_H) cam.grid = dl_input_grid;
    else if (side == model.grid.side) cam.grid = model.grid;
    else return failed(DL_ERR_ARG, "maps", "side must be the network's map side or 28");
    return DL_OK;
}
static const float *map_of(int c) { return dl_cam_map(&cam, c); }

EXPORT(dl_result_digit) int wasm_result_digit(void) { return cam.digit; }
EXPORT(dl_result_logits) float *wasm_result_logits(void) { return cam.logits; }
EXPORT(dl_result_probs) float *wasm_result_probs(void) { return cam.probs; }
EXPORT(dl_result_maps) float *wasm_result_maps(void) { return cam.maps; }

/* ---- display ----------------------------------------------------------- */

EXPORT(dl_heat_buf) uint8_t *wasm_heat_buf(void) { return heat_buf; }
EXPORT(dl_place_buf) float *wasm_place_buf(void) { return place_buf; }
EXPORT(dl_heat_max_side) int wasm_heat_max_side(void) { return DL_WASM_HEAT_SIDE; }

static int check_class(int cls, const char *context)
{
    if (cls < 0 || cls >= DL_CLASSES)
        return failed(DL_ERR_ARG, context, "class must be 0..9");
    return DL_OK;
}

static int check_maps(const char *context)
{
    if (!loaded) return failed(DL_ERR_ARG, context, "no weights loaded (the maps' grid is the network's)");
    int n = side_of() * side_of();
    for (int c = 0; c < DL_CLASSES; c++)
        for (int i = 0; i < n; i++)
            if (!isfinite(map_of(c)[i])) return failed(DL_ERR_NAN, context, "a map value is NaN or infinite");
    return DL_OK;
}

EXPORT(dl_place) int wasm_place(int cls, int w, int h)
{
    int st;
    if ((st = check_class(cls, "place")) || (st = check_side(w, h, DL_WASM_HEAT_SIDE, "place")) ||
        (st = check_maps("place")))
        return st;
    if ((st = dl_cam_place(place_buf, h, w, map_of(cls), &cam.grid))) return failed(st, "place", NULL);
    return DL_OK;
}

EXPORT(dl_heat) int wasm_heat(int cls, int w, int h, int cmap, int flags, unsigned mask)
{
    int st;
    if ((st = check_class(cls, "heat")) || (st = check_side(w, h, DL_WASM_HEAT_SIDE, "heat")))
        return st;
    if (cmap != DL_VIRIDIS && cmap != DL_INFERNO)
        return failed(DL_ERR_ARG, "heat", "colormap must be 0 (viridis) or 1 (inferno)");
    if (flags & ~(DL_HEAT_SHARED | DL_HEAT_ALPHA))
        return failed(DL_ERR_ARG, "heat", "unknown flag");
    if (mask > DL_ALL_CLASSES)
        return failed(DL_ERR_ARG, "heat", "class mask must be 0..0x3FF (0 = all ten)");
    if ((st = check_maps("heat"))) return st;

    /* Shared scale: the maps of the classes in mask, copied together so one
     * dl_cam_normalize sees them all. */
    const float *map;
    const int S = side_of(), SS = S * S;
    if (flags & DL_HEAT_SHARED) {
        if (mask == 0) mask = DL_ALL_CLASSES;
        int n = 0, at = 0;
        for (int c = 0; c < DL_CLASSES; c++) {
            if (!(mask & (1u << c))) continue;
            if (c == cls) at = n;
            memcpy(norm_buf + n++ * SS, map_of(c), SS * sizeof(float));
        }
        if (!(mask & (1u << cls))) {  /* a class not explained: all zeros */
            at = n;
            memset(norm_buf + n++ * SS, 0, SS * sizeof(float));
        }
        dl_cam_normalize(norm_buf, norm_buf, n, SS, 1);
        map = norm_buf + at * SS;
    } else {
        dl_cam_normalize(norm_buf, map_of(cls), 1, SS, 0);
        map = norm_buf;
    }
    if ((st = dl_cam_place(place_buf, h, w, map, &cam.grid))) return failed(st, "heat", NULL);
    size_t n = (size_t)w * (size_t)h;
    for (size_t i = 0; i < n; i++) {
        float t = place_buf[i];
        dl_colormap_rgb(heat_buf + 4 * i, t, (dl_colormap)cmap);
        t = t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
        heat_buf[4 * i + 3] = (flags & DL_HEAT_ALPHA) ? (uint8_t)(t * 255.0f + 0.5f) : 255;
    }
    return DL_OK;
}
