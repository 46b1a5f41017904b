/* digitlens.h — Grad-CAM for handwritten digits: a small ConvNet, its
 * gradients, and the maps that explain its class scores.
 *
 * The library has no main(), prints nothing and never exits: every fallible
 * call returns a dl_status (DL_OK == 0) and dl_strerror() turns it into one
 * line of text. Memory is the caller's: nothing here allocates except the
 * functions marked [native], which are not part of the WASM build.
 *
 * USAGE
 *
 *   dl_model m;                         // plan a network: built in, or from a file
 *   dl_model_plan(&m, &dl_twoconv);     // (dl_model_load: plan and weights from a file)
 *   float params[DL_TWOCONV_PARAMS];    // or dl_model_alloc(&m) [native]
 *   m.params = params;
 *   dl_model_init_he(&m, seed);         // seeded He initialisation
 *
 *   dl_work w;                          // activations for a batch of B images
 *   dl_work_alloc(&w, &m, B);           // [native]; or point into static buffers
 *   dl_forward(&m, &w, x, B);           // x: (B,1,28,28) in 0..1
 *   const float *y = dl_logits(&m, &w); // (B,10) pre-softmax class scores
 *
 *   dl_cam cam;                         // Grad-CAM, all ten classes, one forward
 *   dl_gradcam(&m, &w, x, DL_ALL_CLASSES, &cam);
 *   dl_cam_place(big, 280, 280, dl_cam_map(&cam, 3), &cam.grid); // class 3 on the input
 *   dl_cam_normalize(disp, cam.maps, 10, m.map_size, 1); // one scale for the ten
 *
 *   dl_preprocess(x, gray, width, height); // any grayscale image -> MNIST format
 *
 *   dl_tensor t[DL_MAX_TENSORS];        // weights <-> safetensors bytes
 *   int n = dl_model_tensors(&m, m.params, t);
 *   dl_st_load(buf, len, t, n, &meta);  dl_st_save(out, cap, &len, t, n, &meta);
 *
 *   dl_idx_images(buf, len, &imgs);     // MNIST IDX files (views into buf)
 *   dl_idx_labels(buf, len, &labels);
 *
 * SHAPES are written (B, C, H, W) and stored row-major, NCHW, as PyTorch does.
 */
#ifndef DIGITLENS_H
#define DIGITLENS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------ */

typedef enum {
    DL_OK = 0,
    DL_ERR_ARG,        /* invalid argument (size, index, NULL, NaN) */
    DL_ERR_NOMEM,      /* out of memory */
    DL_ERR_NOT_FOUND,  /* no such file */
    DL_ERR_IS_DIR,     /* is a directory, not a file */
    DL_ERR_IO,         /* read or write failed */
    DL_ERR_EMPTY_FILE, /* file is empty */
    DL_ERR_TRUNCATED,  /* file ends before the data it announces */
    DL_ERR_HEADER_LEN, /* safetensors header length runs past the end */
    DL_ERR_JSON,       /* safetensors header is not the JSON expected */
    DL_ERR_DTYPE,      /* tensor dtype is not F32, F16 or I8 (+ F32 scale) */
    DL_ERR_SHAPE,      /* tensor shape differs from the model's */
    DL_ERR_OFFSETS,    /* tensor data offsets overlap or are out of range */
    DL_ERR_MISSING,    /* a tensor the model needs is absent */
    DL_ERR_NAN,        /* a value is NaN or infinite */
    DL_ERR_MAGIC,      /* IDX magic number is wrong */
    DL_ERR_DIMS,       /* IDX dimensions are not the expected ones */
    DL_ERR_LABEL,      /* IDX label outside 0..9 */
    DL_ERR_NOT_PNG,    /* not a PNG file */
    DL_ERR_IMAGE_SIZE, /* image too small or too large */
    DL_ERR_NO_INK,     /* image has no ink (blank, or ink everywhere) */
    DL_ERR_DIVERGED,   /* training loss became NaN or infinite */
    DL_ERR_ARCH,       /* the architecture metadata is malformed or not one this library runs */
    DL_ERR_CAM_LAYER,  /* cam_layer names no feature map of the architecture */
    DL_ERR_TOO_LARGE,  /* the network is larger than this library's limits */
    DL_ERR_COUNT
} dl_status;

/* One line, no trailing newline, never NULL. */
const char *dl_strerror(int status);

/* A safetensors file's __metadata__: string keys and values. */
enum { DL_META_MAX = 24, DL_META_KEY = 32, DL_META_VAL = 512 };
typedef struct {
    int n;
    char key[DL_META_MAX][DL_META_KEY];
    char val[DL_META_MAX][DL_META_VAL];
} dl_meta;

/* ---- the network ------------------------------------------------------- */

enum {
    DL_IN_C = 1, DL_IN_H = 28, DL_IN_W = 28, DL_IN_SIZE = 784,
    DL_CLASSES = 10,
    /* The limits of the networks this library runs, stated once: a weights
     * file that asks for more is refused (DL_ERR_TOO_LARGE). Every other
     * size comes from the planned model. */
    DL_MAX_LAYERS = 16,
    DL_MAX_CHANNELS = 64,        /* channels of a conv layer */
    DL_MAX_KERNEL = 7,           /* a conv kernel's side */
    DL_MAX_MAP_SIDE = 27,        /* a Grad-CAM map's side: smaller than the input */
    DL_MAX_MAP_SIZE = DL_IN_SIZE,/* floats of one map: on the CAM layer, or on the input */
    DL_MAX_PARAMS = 1 << 20,     /* floats of weights and biases */
    DL_MAX_ACTS = 1 << 17,       /* activation floats of one image, input included */
    DL_MAX_TENSORS = 2 * DL_MAX_LAYERS,
    DL_NAME_MAX = 24             /* a layer's name, NUL included */
};

typedef enum { DL_CONV, DL_RELU, DL_MAXPOOL, DL_FLATTEN, DL_DENSE } dl_kind;

/* A layer as data: an architecture is a list of these. */
typedef struct {
    dl_kind kind;
    char name[DL_NAME_MAX]; /* state_dict prefix: "conv1" -> conv1.weight, conv1.bias */
    int size;         /* CONV: filters; DENSE: outputs; MAXPOOL: window = stride */
    int k;            /* CONV: kernel side (stride 1, no padding) */
} dl_layer_spec;

/* A network: its layers in order, and the one whose output A Grad-CAM reads. */
typedef struct {
    int n_layers;
    int cam_layer;                      /* index into layers */
    dl_layer_spec layers[DL_MAX_LAYERS];
} dl_arch;

/* The two built-in networks.
 *   seednet: conv 12x5x5 -> relu (A, 24x24) -> maxpool 2 -> flatten -> dense 1728->10
 *   twoconv: conv 16x5x5 -> relu -> maxpool 2 -> conv 32x3x3 -> relu (A, 10x10)
 *            -> maxpool 2 -> flatten -> dense 800->10 */
extern const dl_arch dl_seednet, dl_twoconv;
enum { DL_SEEDNET_MAP = 24, DL_SEEDNET_PARAMS = 12 * 25 + 12 + 10 * 1728 + 10,
       DL_TWOCONV_MAP = 10,
       DL_TWOCONV_PARAMS = 16 * 25 + 16 + 32 * 16 * 9 + 32 + 10 * 800 + 10 };
/* "seednet" or "twoconv" -> the built-in architecture, NULL otherwise. */
const dl_arch *dl_arch_named(const char *name);

/* Where the cells of a map lie on the 28x28 input: cell (i, j) is centred
 * on input pixel (off + stride * i, off + stride * j), in pixel-index
 * coordinates (pixel k covers [k, k+1), its centre is k + 0.5 in edge
 * coordinates). The seed network's 24x24 map: off 2, stride 1 (cell (i,j)
 * summarises the 5x5 window centred on pixel (i+2, j+2)); the two-conv
 * network's 10x10 map: off 4.5, stride 2; the input itself: off 0, stride 1. */
typedef struct { int side; float off, stride; } dl_grid;
extern const dl_grid dl_input_grid; /* {28, 0, 1} */

typedef struct {
    dl_layer_spec spec;
    int in_c, in_h, in_w;      /* input shape of one image */
    int out_c, out_h, out_w;   /* output shape of one image */
    size_t in_size, out_size;  /* floats per image */
    size_t w_off, n_w;         /* weight: params[w_off .. w_off+n_w) */
    size_t b_off, n_b;         /* bias */
    size_t act_off;            /* output: w->acts + act_off*cap, (cap, out_size) */
} dl_layer;

typedef struct {
    int n_layers;
    dl_layer layers[DL_MAX_LAYERS];
    int cam_layer;      /* index of the layer whose output A Grad-CAM reads */
    int cam_k;          /* A's channels */
    dl_grid grid;       /* where A's cells lie on the input (side x side) */
    int map_size;       /* floats of one map on A: grid.side^2 */
    size_t n_params;    /* floats in params (and in a gradient buffer) */
    size_t n_acts;      /* activation floats per image, input included */
    float *params;      /* (n_params) weights and biases, layer by layer; caller's */
    const float *gradcam_alpha; /* (10, K) or NULL: see dl_gradcam_prepare */
    const float *packed[DL_MAX_LAYERS]; /* a conv layer's packed kernels, or NULL:
                                         * see dl_model_pack */
    char tensor_names[DL_MAX_TENSORS][DL_NAME_MAX + 8]; /* "conv.weight", ... */
    char why[160];      /* after DL_ERR_ARCH, _CAM_LAYER, _TOO_LARGE, _SHAPE,
                         * _MISSING: what exactly is wrong, one line */
} dl_model;

/* Compute shapes, offsets and Grad-CAM's grid for a 1x28x28 input. The
 * architecture must be one this library runs: layer names of letters,
 * digits and '_', distinct; conv and maxpool before flatten, dense after it;
 * the last layer dense with 10 outputs; the CAM layer a conv or relu whose
 * output is a map (at least 2x2, at most DL_MAX_MAP_SIDE); everything within
 * the DL_MAX_* limits. Otherwise DL_ERR_ARCH, DL_ERR_CAM_LAYER or
 * DL_ERR_TOO_LARGE, and m->why says what. Sets m->params to NULL. */
int dl_model_plan(dl_model *m, const dl_arch *a);
/* A weights file's network, from its metadata: "architecture", the JSON
 * text of its layers as [kind, name, size, k] (kind conv|relu|maxpool|
 * flatten|dense; size: filters, outputs or pool window; k: kernel side;
 * trailing fields a kind does not use omitted), and "cam_layer", the name
 * of the layer Grad-CAM reads. A file without "architecture" is the seed
 * network. DL_ERR_ARCH / DL_ERR_CAM_LAYER with why (cap bytes, may be NULL)
 * saying what is wrong. */
int dl_arch_from_meta(dl_arch *a, const dl_meta *meta, char *why, size_t cap);
/* The metadata entries that describe a ("architecture", "cam_layer"). */
int dl_arch_to_meta(const dl_arch *a, dl_meta *meta);
/* The architecture m was planned from. */
void dl_model_arch(const dl_model *m, dl_arch *a);
/* Plan m from a safetensors file's metadata and load its tensors into params
 * (at least cap floats, the caller's); m->params = params. Nothing is
 * written to params unless the whole file is valid. meta may be NULL.
 * Errors: those of dl_st_load and dl_model_plan, with m->why naming the
 * tensor for DL_ERR_SHAPE and DL_ERR_MISSING; DL_ERR_TOO_LARGE if the
 * network needs more than cap floats. */
int dl_model_load(dl_model *m, const uint8_t *buf, size_t len, float *params, size_t cap,
                  dl_meta *meta);
/* The fast convolution paths read the kernels packed (dl_conv_pack): once
 * per weights file rather than once per forward, for inference (training
 * changes the weights every step, and packs per call). buf: at least
 * dl_model_packed_size(m) floats, the caller's; NULL drops the packs. Call
 * again whenever m->params change: stale packs give wrong outputs. */
size_t dl_model_packed_size(const dl_model *m);
int dl_model_pack(dl_model *m, float *buf, size_t cap);
/* Seeded He-normal weights (std sqrt(2/fan_in)), zero biases. */
int dl_model_init_he(dl_model *m, uint64_t seed);
/* [native] calloc m->params / free it. */
int dl_model_alloc(dl_model *m);
void dl_model_free(dl_model *m);

/* Activations and their gradients for up to `cap` images. */
typedef struct {
    int cap;
    float *acts;     /* (n_acts * cap): input (cap,784), then per layer (cap, out_size) */
    float *dacts;    /* (n_acts * cap): gradients, same layout */
} dl_work;

int dl_work_alloc(dl_work *w, const dl_model *m, int cap); /* [native] */
void dl_work_free(dl_work *w);                             /* [native] */

/* Forward pass for B images x (B,1,28,28). Copies x into the work. */
int dl_forward(const dl_model *m, dl_work *w, const float *x, int B);
/* Output of layer i for the last forward (B, out_size); i == -1 is the input. */
float *dl_layer_out(const dl_model *m, const dl_work *w, int i);
float *dl_layer_grad(const dl_model *m, const dl_work *w, int i);
const float *dl_logits(const dl_model *m, const dl_work *w); /* (B,10) */

/* Backward from dlogits (B,10). Fills dl_layer_grad(i) for every i >= stop
 * (stop = -1: the input's gradient too). With grads == NULL it stops there
 * (Grad-CAM: stop = cam_layer); with grads != NULL it goes on through every
 * layer and ADDS the parameter gradients to grads (n_params). */
int dl_backward(const dl_model *m, dl_work *w, const float *dlogits, int B,
                int stop, float *grads);

/* Softmax cross-entropy, mean over B. probs, dlogits (B,10) may be NULL.
 * dlogits = (softmax(logits) - onehot(label)) / B. Returns the mean loss. */
float dl_softmax_xent(float *probs, float *dlogits, const float *logits,
                      const uint8_t *labels, int B);
void dl_softmax(float *probs, const float *logits, int n);

/* ---- layers: pure forward/backward pairs, raw pointers, no allocation --
 * Backward ADDS into dinp/dw/db; any of them may be NULL when not needed. */
void dl_conv_forward(float *out, const float *inp, const float *w, const float *b,
                     int B, int C, int H, int W, int OC, int K);
void dl_conv_backward(float *dinp, float *dw, float *db, const float *dout,
                      const float *inp, const float *w,
                      int B, int C, int H, int W, int OC, int K);
/* How dl_conv_forward computes a shape (conv.c says why): the scatter of an
 * image's non-zero pixels (one input channel); Winograd F(2x2, 3x3) for 3x3
 * kernels over feature maps with an even output; plain loops otherwise. The fast paths take the kernels packed (dl_conv_pack, into
 * dl_conv_packed_size floats: 0 for the plain loops); a model packs them
 * once per weights file (dl_model_pack) rather than once per call. */
enum { DL_CONV_PLAIN, DL_CONV_SCATTER, DL_CONV_WINOGRAD };
int dl_conv_path(int C, int H, int W, int OC, int K);
size_t dl_conv_packed_size(int C, int H, int W, int OC, int K);
void dl_conv_pack(float *packed, const float *w, const float *b, int C, int H, int W, int OC,
                  int K);
void dl_conv_forward_packed(float *out, const float *inp, const float *packed, int B, int C,
                            int H, int W, int OC, int K);
void dl_relu_forward(float *out, const float *inp, size_t n);
void dl_relu_backward(float *dinp, const float *dout, const float *out, size_t n);
void dl_maxpool_forward(float *out, const float *inp, int B, int C, int H, int W, int P);
void dl_maxpool_backward(float *dinp, const float *dout, const float *inp, const float *out,
                         int B, int C, int H, int W, int P);
void dl_dense_forward(float *out, const float *inp, const float *w, const float *b,
                      int B, int IN, int OUT);
void dl_dense_backward(float *dinp, float *dw, float *db, const float *dout,
                       const float *inp, const float *w, int B, int IN, int OUT);

/* ---- optimisers: one flat loop over the whole parameter block ---------- */

typedef struct {
    float lr, beta1, beta2, eps;
    int64_t t;        /* steps taken */
    float *m, *v;     /* (n) moment estimates, caller's memory, start at 0 */
} dl_adam;
void dl_adam_step(dl_adam *a, float *params, const float *grads, size_t n);
/* The update of step a->t (already counted) with rate lr, for parameters
 * first .. first+n-1 (params and grads point at `first`; a->m and a->v are
 * indexed from 0): dl_adam_step is t++ then this over all n. Per parameter,
 * so slices updated apart give the same bits as one call. */
void dl_adam_update(const dl_adam *a, float lr, float *params, const float *grads,
                    size_t first, size_t n);
/* SGD with momentum (mom = 0: plain). vel (n) may be NULL when mom == 0. */
void dl_sgd_step(float *params, const float *grads, float *vel, size_t n,
                 float lr, float mom);

/* ---- randomness: seeded, portable (splitmix64) ------------------------- */

uint64_t dl_rand_u64(uint64_t *state);
float dl_rand_uniform(uint64_t *state); /* [0, 1) */
float dl_rand_normal(uint64_t *state);  /* N(0, 1) */

/* ---- Grad-CAM ----------------------------------------------------------
 *   y^c      the pre-softmax logit of class c
 *   A_k      the k-th channel of the CAM layer's output, side x side
 *   alpha_k^c = (1/Z) sum_ij dy^c/dA_k[i][j],   Z = side * side
 *   L^c      = ReLU(sum_k alpha_k^c A_k)        raw, unnormalised, on A's grid
 * All classes asked for come from one forward pass. When A is followed by
 * max-pool, flatten and the last dense layer (both built-in networks),
 * dy^c/dA, stopped at A, is fc.weight[c] routed to each pool window's first
 * maximum, and alpha its mean: a closed form, the same for every input
 * (gradcam.c). After any other tail, one backward pass per class from its
 * logit to A gives dy^c/dA. */

#define DL_ALL_CLASSES 0x3FFu

typedef struct {
    int digit;                              /* argmax of logits */
    float logits[DL_CLASSES], probs[DL_CLASSES];
    unsigned classes;                       /* bit c set: maps[c], alpha[c] filled */
    int method;                             /* dl_cam_method_id that filled it */
    dl_grid grid;                           /* where the maps' cells lie: the model's
                                             * grid (maps on A) or dl_input_grid */
    unsigned undefined;                     /* bit c: the method is undefined for this
                                             * input and class (e.g. every activation
                                             * zero); maps[c] is then all zero */
    float alpha[DL_CLASSES][DL_MAX_CHANNELS]; /* (10, K) channel weights, if any */
    float maps[DL_CLASSES * DL_MAX_MAP_SIZE]; /* (10, side, side) raw maps, one after
                                             * the other: dl_cam_map(cam, c) */
} dl_cam;

/* w must hold at least one image. Classes not in the mask are zeroed. */
int dl_gradcam(const dl_model *m, dl_work *w, const float *x, unsigned classes,
               dl_cam *out);

/* When alpha does not depend on the input (max-pool -> flatten -> dense
 * after A), it is computed once into buf (10 * K floats, the caller's) and
 * read by every later dl_gradcam, which otherwise computes it each call.
 * Call again whenever m->params change (a stale buf gives wrong maps); buf
 * NULL switches it off. DL_ERR_ARG for an architecture without the closed
 * form (dl_gradcam then runs the backward passes). */
int dl_gradcam_prepare(dl_model *m, float *buf);
/* Whether m's Grad-CAM has the closed form above. */
int dl_gradcam_closed_form(const dl_model *m);

/* ---- CAM methods: named variants of the same interface ------------------
 * G_k = dy^c/dA_k (backward from the logit, stopped at A), sums over the
 * Z cells ij of A; every map ends in a ReLU (the evidence FOR class c).
 *   gradcam        w_k = mean_ij G_k                  L = ReLU(sum_k w_k A_k)
 *   gradcam++      pytorch-grad-cam's formula: a = G^2 / (2G^2 + (sum_ij A_k) G^3 + 1e-6)
 *                  (0 where G = 0), w_k = sum_ij ReLU(G_k) a_k, L as gradcam
 *   xgradcam       w_k = sum_ij G_k A_k / (sum_ij A_k + 1e-7), L as gradcam
 *   hirescam       L = ReLU(sum_k G_k * A_k)          (elementwise)
 *   layercam       L = ReLU(sum_k ReLU(G_k) * A_k)
 *   scorecam       M_k = minmax(A_k) placed on the input; w = softmax_k y^c(x * M_k)
 *   ablationcam    w_k = (y^c - y^c[A_k := 0]) / y^c   (undefined if y^c = 0)
 *   eigencam       L = ReLU(first principal component of the centred (Z, K)
 *                  matrix of A, projected); sign: loadings sum >= 0; class-free
 *   counterfactual w_k = -mean_ij G_k                 (what argues against c)
 *   guided-backprop  R = dy^c/dx with each ReLU passing only positive
 *                  gradients where its input was positive; L = ReLU(R), 28x28
 *   guided-gradcam L = ReLU(R) * gradcam placed at 28x28
 * The two guided methods give maps on the input (grid dl_input_grid); the
 * others on A (the model's grid). */
typedef enum {
    DL_M_GRADCAM = 0, DL_M_GRADCAMPP, DL_M_XGRADCAM, DL_M_HIRESCAM, DL_M_LAYERCAM,
    DL_M_SCORECAM, DL_M_ABLATIONCAM, DL_M_EIGENCAM, DL_M_COUNTERFACTUAL,
    DL_M_GUIDED_BACKPROP, DL_M_GUIDED_GRADCAM, DL_M_COUNT
} dl_cam_method_id;

/* "gradcam", "gradcam++", ... ; NULL for an unknown id. */
const char *dl_cam_method_name(int method);
/* The id of a name, or -1. */
int dl_cam_method_lookup(const char *name);
/* Maps of the classes in `classes` by `method`; w must hold one image.
 * out->grid says where they lie. Never NaN: where a method is
 * undefined the map is zero and out->undefined says so. */
int dl_cam_method(const dl_model *m, dl_work *w, const float *x, int method,
                  unsigned classes, dl_cam *out);
/* The map of class c: cam->grid.side^2 floats from cam->maps + c * that. */
const float *dl_cam_map(const dl_cam *cam, int c);

/* Placement: a map on grid g, resized onto the 28x28 input seen at
 * out_h x out_w: output pixel (y, x) reads input position
 * s = (y + 0.5) * 28 / out_h - 0.5 (pixel-index coordinates, clamped to
 * 0..27), i.e. cell coordinate u = (s - g.off) / g.stride, bilinear between
 * the cells around u, zero outside the map. A map lands on the pixels its
 * cells came from: the seed network's 24x24 map gets a 2-pixel zero border,
 * the two-conv network's 10x10 one sits on pixels 4.5 .. 22.5, two apart;
 * stretching a map over the 28 pixels, as most libraries do, would shift
 * its features toward the edges. */
int dl_cam_place(float *out, int out_h, int out_w, const float *map, const dl_grid *g);
/* Where cell (i, j) of the model's map is centred on the input. */
dl_grid dl_model_grid(const dl_model *m);

/* Display normalisation of n maps of `size` values: (v - min) / (max - min),
 * per map (shared = 0) or over all n maps (shared = 1). A map whose range is
 * zero (all zero, constant) becomes all zeros; never NaN. in may equal out. */
void dl_cam_normalize(float *out, const float *in, int n, int size, int shared);

typedef enum { DL_VIRIDIS = 0, DL_INFERNO = 1 } dl_colormap;
/* t in 0..1 (clamped; NaN -> 0) to 8-bit RGB. */
void dl_colormap_rgb(uint8_t rgb[3], float t, dl_colormap cmap);

/* ---- preprocessing -----------------------------------------------------
 * Any grayscale image (0 = black, 255 = white; width x height, row-major)
 * to MNIST format (28x28, 0..1, white ink on black), as LeCun describes:
 * polarity read from the border (the paper is the border's majority), the
 * ink's bounding box scaled to fit 20x20 keeping aspect ratio with
 * area-averaging, then shifted so the centre of mass lies at (14,14) in
 * pixel-edge coordinates (the centre of the 28x28 field).
 * DL_ERR_NO_INK for an image without ink; DL_ERR_IMAGE_SIZE when a side
 * is < 1 or > DL_MAX_SIDE. */
enum { DL_MAX_SIDE = 8192 };
int dl_preprocess(float *out, const uint8_t *gray, int width, int height);
/* RGBA (canvas ImageData) -> gray, alpha composited over white. */
void dl_rgba_to_gray(uint8_t *gray, const uint8_t *rgba, size_t n_pixels);

/* ---- safetensors ------------------------------------------------------- */

typedef struct {
    const char *name;  /* "conv.weight" */
    int ndim;
    int shape[4];
    float *data;       /* load: destination; save: source */
} dl_tensor;


/* Fill t with the model's tensors over `params` (PyTorch names and shapes:
 * conv.weight [12,1,5,5], conv.bias [12], fc.weight [10,1728], fc.bias [10]).
 * Returns the count. */
int dl_model_tensors(const dl_model *m, float *params, dl_tensor *t);

/* Load the n tensors named in t (shapes must match) from a safetensors
 * buffer; F32, F16 and I8 are read (I8 "x" needs "x_scale", F32, one scale
 * per index of x's first dimension: x[r, ...] = q * scale[r]), and so is
 * the 4-bit delta form: when "x" is absent, "x_d4" U8 [rows, ceil(n/2)]
 * (rows = x's first dimension, n = the elements of one row) holds, two a
 * byte, low nibble first, 4-bit two's-complement differences d; with
 * "x_scale" as for I8, row r is q_j * scale[r], q_j = q_{j-1} + d_j, q_-1 = 0.
 * Extra tensors in the file are ignored (so "x" wins over "x_d4").
 * meta may be NULL. Nothing is written to t[].data unless all is valid. */
int dl_st_load(const uint8_t *buf, size_t len, dl_tensor *t, int n, dl_meta *meta);
/* The same; on a fault in one tensor (shape, dtype, missing, NaN), *bad
 * gets its index in t, else -1. */
int dl_st_load_at(const uint8_t *buf, size_t len, dl_tensor *t, int n, dl_meta *meta, int *bad);
/* Serialise as F32, tensors in the given order, header padded with spaces
 * to 8 bytes. *len gets the size; with out == NULL only the size is computed. */
int dl_st_save(uint8_t *out, size_t cap, size_t *len, const dl_tensor *t, int n,
               const dl_meta *meta);
/* The same at reduced precision: DL_ST_F16 stores every tensor as F16;
 * DL_ST_I8 stores tensors of 2+ dimensions as I8 q = round(w / scale),
 * |q| <= qmax (1..127), with "<name>_scale" (F32, max |w| / qmax per index
 * of the first dimension), and 1-D ones as F32. qmax is ignored otherwise. */
typedef enum { DL_ST_F32, DL_ST_F16, DL_ST_I8, DL_ST_D4 } dl_st_dtype;
int dl_st_save_as(uint8_t *out, size_t cap, size_t *len, const dl_tensor *t, int n,
                  const dl_meta *meta, dl_st_dtype dtype, int qmax);
/* Each tensor its own way, how[i] for t[i]. For DL_ST_I8 and DL_ST_D4 the
 * level of w in row r is q = round(w / scale[r]); scale == NULL (I8 only)
 * means max |w| / qmax of the row, levels clamped to +-qmax. With the
 * caller's scales (finite, >= 0) the levels must fit as they are: I8 within
 * -127..127, D4 (the "_d4" form dl_st_load reads) one from the previous
 * within -8..7; otherwise DL_ERR_ARG. Weights already on the grid
 * (w = q * scale[r]) are stored exactly. */
typedef struct {
    dl_st_dtype dtype;
    int qmax;           /* I8 without scales: 1..127 */
    const float *scale; /* I8, D4: one step per index of the first dimension */
} dl_st_how;
int dl_st_save_how(uint8_t *out, size_t cap, size_t *len, const dl_tensor *t, int n,
                   const dl_meta *meta, const dl_st_how *how);
int dl_meta_set(dl_meta *meta, const char *key, const char *val);
const char *dl_meta_get(const dl_meta *meta, const char *key); /* NULL if absent */

/* ---- MNIST IDX files (views into the caller's buffer) ------------------ */

typedef struct { int count, rows, cols; const uint8_t *pixels; } dl_idx_imgs;
typedef struct { int count; const uint8_t *labels; } dl_idx_lbls;
/* magic 0x00000803, rows = cols = 28, count >= 1 */
int dl_idx_images(const uint8_t *buf, size_t len, dl_idx_imgs *out);
/* magic 0x00000801, every label in 0..9 */
int dl_idx_labels(const uint8_t *buf, size_t len, dl_idx_lbls *out);

/* ---- files [native] ---------------------------------------------------- */

/* Read a whole file (malloc'd, free() it). */
int dl_read_file(const char *path, uint8_t **buf, size_t *len);
/* Write atomically: path.tmp, fsync, rename. The old file stays intact
 * until the new one is complete. */
int dl_write_file_atomic(const char *path, const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* DIGITLENS_H */
