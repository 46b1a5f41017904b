/* model.c — a planned network (arch.c) run: seeded initialisation,
 * activation memory, and the forward and backward passes over its layer
 * list.
 */
#include "digitlens.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t dl_model_packed_size(const dl_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        if (L->spec.kind == DL_CONV)
            n += dl_conv_packed_size(L->in_c, L->in_h, L->in_w, L->out_c, L->spec.k);
    }
    return n;
}

int dl_model_pack(dl_model *m, float *buf, size_t cap)
{
    if (!m || !m->params) return DL_ERR_ARG;
    memset(m->packed, 0, sizeof m->packed);
    if (!buf) return DL_OK;
    if (cap < dl_model_packed_size(m)) return DL_ERR_ARG;
    for (int i = 0; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        if (L->spec.kind != DL_CONV) continue;
        const size_t n = dl_conv_packed_size(L->in_c, L->in_h, L->in_w, L->out_c, L->spec.k);
        if (!n) continue;
        dl_conv_pack(buf, m->params + L->w_off, m->params + L->b_off, L->in_c, L->in_h, L->in_w,
                     L->out_c, L->spec.k);
        m->packed[i] = buf;
        buf += n;
    }
    return DL_OK;
}

int dl_model_init_he(dl_model *m, uint64_t seed)
{
    if (!m || !m->params) return DL_ERR_ARG;
    uint64_t rng = seed;
    for (int i = 0; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        if (!L->n_w) continue;
        /* He: Var(w) = 2 / fan_in keeps the ReLU activations' scale. */
        float std = sqrtf(2.0f / (float)(L->n_w / L->n_b));
        for (size_t k = 0; k < L->n_w; k++)
            m->params[L->w_off + k] = std * dl_rand_normal(&rng);
        memset(m->params + L->b_off, 0, L->n_b * sizeof(float));
    }
    return DL_OK;
}

#ifndef __EMSCRIPTEN__
int dl_model_alloc(dl_model *m)
{
    m->params = calloc(m->n_params, sizeof(float));
    return m->params ? DL_OK : DL_ERR_NOMEM;
}

void dl_model_free(dl_model *m)
{
    free(m->params);
    m->params = NULL;
}

int dl_work_alloc(dl_work *w, const dl_model *m, int cap)
{
    memset(w, 0, sizeof *w);
    if (cap < 1) return DL_ERR_ARG;
    w->cap = cap;
    w->acts = calloc(m->n_acts * cap, sizeof(float));
    w->dacts = calloc(m->n_acts * cap, sizeof(float));
    if (!w->acts || !w->dacts) {
        dl_work_free(w);
        return DL_ERR_NOMEM;
    }
    return DL_OK;
}

void dl_work_free(dl_work *w)
{
    free(w->acts);
    free(w->dacts);
    memset(w, 0, sizeof *w);
}
#endif

float *dl_layer_out(const dl_model *m, const dl_work *w, int i)
{
    return w->acts + (i < 0 ? 0 : m->layers[i].act_off * w->cap);
}

float *dl_layer_grad(const dl_model *m, const dl_work *w, int i)
{
    return w->dacts + (i < 0 ? 0 : m->layers[i].act_off * w->cap);
}

const float *dl_logits(const dl_model *m, const dl_work *w)
{
    return dl_layer_out(m, w, m->n_layers - 1);
}

int dl_forward(const dl_model *m, dl_work *w, const float *x, int B)
{
    if (!m || !m->params || !w || !x || B < 1 || B > w->cap) return DL_ERR_ARG;
    memcpy(w->acts, x, (size_t)B * DL_IN_SIZE * sizeof(float));
    for (int i = 0; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        const float *in = dl_layer_out(m, w, i - 1);
        float *out = dl_layer_out(m, w, i);
        const float *p = m->params;
        switch (L->spec.kind) {
        case DL_CONV:
            if (m->packed[i])
                dl_conv_forward_packed(out, in, m->packed[i], B, L->in_c, L->in_h, L->in_w,
                                       L->out_c, L->spec.k);
            else
                dl_conv_forward(out, in, p + L->w_off, p + L->b_off, B,
                                L->in_c, L->in_h, L->in_w, L->out_c, L->spec.k);
            break;
        case DL_RELU:
            dl_relu_forward(out, in, (size_t)B * L->out_size);
            break;
        case DL_MAXPOOL:
            dl_maxpool_forward(out, in, B, L->in_c, L->in_h, L->in_w, L->spec.size);
            break;
        case DL_DENSE:
            dl_dense_forward(out, in, p + L->w_off, p + L->b_off, B,
                             (int)L->in_size, (int)L->out_size);
            break;
        case DL_FLATTEN:
            break; /* shares its input's block */
        }
    }
    return DL_OK;
}

int dl_backward(const dl_model *m, dl_work *w, const float *dlogits, int B,
                int stop, float *grads)
{
    if (!m || !w || !dlogits || B < 1 || B > w->cap ||
        stop < -1 || stop >= m->n_layers)
        return DL_ERR_ARG;
    /* Zero the gradient blocks this pass will accumulate into. */
    for (int i = stop; i < m->n_layers; i++) {
        size_t n = (size_t)B * (i < 0 ? DL_IN_SIZE : m->layers[i].out_size);
        memset(dl_layer_grad(m, w, i), 0, n * sizeof(float));
    }
    memcpy(dl_layer_grad(m, w, m->n_layers - 1), dlogits,
           (size_t)B * DL_CLASSES * sizeof(float));
    int lowest = grads ? 0 : stop + 1;
    for (int i = m->n_layers - 1; i >= lowest; i--) {
        const dl_layer *L = &m->layers[i];
        const float *in = dl_layer_out(m, w, i - 1);
        const float *out = dl_layer_out(m, w, i);
        const float *dout = dl_layer_grad(m, w, i);
        float *din = i - 1 >= stop ? dl_layer_grad(m, w, i - 1) : NULL;
        const float *p = m->params;
        float *dw = grads ? grads + L->w_off : NULL;
        float *db = grads ? grads + L->b_off : NULL;
        switch (L->spec.kind) {
        case DL_CONV:
            dl_conv_backward(din, dw, db, dout, in, p + L->w_off, B,
                             L->in_c, L->in_h, L->in_w, L->out_c, L->spec.k);
            break;
        case DL_RELU:
            if (din) dl_relu_backward(din, dout, out, (size_t)B * L->out_size);
            break;
        case DL_MAXPOOL:
            if (din)
                dl_maxpool_backward(din, dout, in, out, B, L->in_c, L->in_h, L->in_w,
                                    L->spec.size);
            break;
        case DL_DENSE:
            dl_dense_backward(din, dw, db, dout, in, p + L->w_off, B,
                              (int)L->in_size, (int)L->out_size);
            break;
        case DL_FLATTEN:
            break; /* its gradient block is its input's */
        }
    }
    return DL_OK;
}

