/* train.h — [native] training of a dl_model on MNIST-format images:
 * augmentation, minibatches split across OpenMP threads, Adam or SGD,
 * checkpoints. Nothing here prints: progress goes to a callback.
 *
 *   dl_train_config cfg = dl_train_defaults();
 *   dl_trainer t;
 *   dl_trainer_init(&t, &model, &cfg);      // allocates grads, Adam state
 *   for (e = 0; e < cfg.epochs; e++)
 *       dl_train_epoch(&t, imgs, labels, n, 0, progress_cb, ctx, &loss);
 *   dl_evaluate(&model, test_imgs, test_labels, n_test, cfg.threads,
 *               &correct, confusion);
 *   dl_checkpoint_save(&t, "run.ckpt", NULL);   // resume: dl_checkpoint_load
 *   dl_trainer_free(&t);
 *
 * Reproducible: the same seed and thread count give the same weights. Every
 * random draw (shuffle, augmentation) comes from a stream derived from
 * (seed, epoch, image), so it does not depend on the thread count; only the
 * order of the per-thread gradient sums does. A run resumed from a
 * checkpoint is bit-identical to one that never stopped.
 *
 * Returns: DL_OK, DL_ERR_ARG (bad config or sizes), DL_ERR_NOMEM,
 * DL_ERR_DIVERGED (dl_train_epoch), and the file/safetensors codes of
 * dl_read_file / dl_write_file_atomic / dl_st_load for checkpoints.
 */
#ifndef DIGITLENS_TRAIN_H
#define DIGITLENS_TRAIN_H

#include "digitlens.h"

typedef enum { DL_OPT_ADAM = 0, DL_OPT_SGD = 1 } dl_optimizer;

typedef struct {
    int epochs, batch, threads;
    float lr;           /* peak learning rate */
    float lr_final;     /* cosine decay to lr * lr_final at the last step */
    uint64_t seed;
    dl_optimizer opt;
    float momentum;     /* SGD only */
    int augment;        /* random affine per image when non-zero */
    float aug_shift;    /* max shift in pixels, each axis, uniform +- */
    float aug_rot;      /* max rotation in degrees, uniform +- */
    float aug_scale;    /* scale uniform in [1 - s, 1 + s] */
    int clean_last;     /* the last clean_last epochs are not augmented */
} dl_train_config;

dl_train_config dl_train_defaults(void);          /* the seed network's recipe */
dl_train_config dl_train_defaults_twoconv(void);  /* the two-conv network's */

/* Learning rate of global step g (epoch * steps_per_epoch + step) of a run
 * of `total` steps: lr * (f + (1 - f) * (1 + cos(pi * g / (total - 1))) / 2),
 * f = lr_final; lr at g = 0, lr * f at g = total - 1 and after. */
float dl_train_lr(const dl_train_config *cfg, int64_t g, int64_t total);

typedef struct {
    dl_model *model;
    dl_train_config cfg;
    int epoch;          /* epochs completed (calls of dl_train_epoch) */
    float *grads;       /* (threads, g_stride) one gradient buffer per chunk */
    float *adam_m, *adam_v; /* (n_params) Adam moments; SGD keeps its
                               velocity in adam_m (adam_v stays 0) */
    dl_adam adam;       /* adam.t = optimizer steps taken (SGD too) */
    dl_work *work;      /* (threads) capacity ceil(batch / threads) each */
    size_t g_stride;    /* floats between gradient buffers: n_params
                           rounded up to 64 bytes */
    float *batch_x;     /* (batch, 784) augmented images */
    float *dlogits;     /* (batch, 10) */
    float *chunk_loss;  /* (threads) mean loss of each chunk of a batch */
    uint8_t *batch_y;   /* (batch) */
    int *perm;          /* (perm_n) epoch order; grown by dl_train_epoch */
    int perm_n;
} dl_trainer;

/* Copies cfg; m->params must be allocated and initialised. */
int dl_trainer_init(dl_trainer *t, dl_model *m, const dl_train_config *cfg);
void dl_trainer_free(dl_trainer *t);

/* Called after each batch: images done in this epoch, of n; mean loss of
 * the epoch so far. */
typedef void (*dl_progress_fn)(void *ctx, int done, int n, float loss);

/* One pass over n images (uint8 28x28, labels 0..9) in a shuffled order.
 * max_steps > 0 stops early (tests); the call still counts as an epoch.
 * *mean_loss (may be NULL) gets the mean loss over the images seen.
 * DL_ERR_DIVERGED if a batch loss or gradient is NaN or infinite: the
 * weights are untouched by that step and t->epoch is not advanced. */
int dl_train_epoch(dl_trainer *t, const uint8_t *images, const uint8_t *labels,
                   int n, int max_steps, dl_progress_fn cb, void *ctx,
                   float *mean_loss);

/* Random affine of one 28x28 image (bilinear, zero outside): rotation about
 * the centre, scale, shift, drawn from rng within cfg's ranges (four draws:
 * angle, scale, dx, dy). Output in 0..1. */
void dl_augment(float *out, const uint8_t *img, const dl_train_config *cfg,
                uint64_t *rng);
/* The affine itself: out(p) = img(T^-1 p) with T p = s R(rot) (p - c) + c + d,
 * c = (14,14) in pixel-edge coordinates (pixel centres at k + 0.5),
 * d = (dx, dy) (dx moves ink right, dy down), rot in degrees (positive turns
 * the image counter-clockwise on screen). Identity parameters give exactly
 * img / 255. */
void dl_affine_sample(float *out, const uint8_t *img, float rot_deg, float scale,
                      float dx, float dy);

/* Accuracy of the model on n images; confusion (10x10, [true][pred]) may be
 * NULL. Uses `threads` OpenMP threads. Prediction = first maximal logit. */
int dl_evaluate(const dl_model *m, const uint8_t *images, const uint8_t *labels,
                int n, int threads, int *correct, int confusion[10][10]);

/* Checkpoint: weights + optimizer state + epoch in one safetensors file,
 * written atomically. Tensors "conv.weight".. plus "adam.m", "adam.v"
 * (n_params each); metadata "epoch", "adam_t", "seed", "n_params", "opt",
 * then `extra` (may be NULL; the reserved keys in it are ignored). Load:
 * DL_ERR_ARG if n_params or the optimizer differ from the trainer's, or the
 * metadata is missing; nothing is changed then. The checkpoint's seed
 * replaces t->cfg.seed, so the resumed run draws the same shuffles and
 * augmentations; the rest of t->cfg (lr, epochs, batch, ...) is the
 * caller's: keep it equal for an exact resume. */
int dl_checkpoint_save(const dl_trainer *t, const char *path, const dl_meta *extra);
int dl_checkpoint_load(dl_trainer *t, const char *path);

#endif
