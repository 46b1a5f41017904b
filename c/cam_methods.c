/* cam_methods.c — the CAM methods beyond Grad-CAM, as named variants of one
 * interface: dl_cam_method(model, work, x, method, classes, out).
 *
 * Notation:
 *   x      the input (1, 28, 28)
 *   A_k    channel k of the CAM layer's output, K x side x side (the seed
 *          network: 12 x 24 x 24; the two-conv network: 32 x 10 x 10)
 *   y^c    the pre-softmax logit of class c
 *   G_k    dy^c/dA_k, from the backward pass stopped at A. After max-pool
 *          it is zero except at each window's winner, which gets
 *          fc.weight[c, k, window]: position-specific, unlike its mean.
 *   sum_ij over the Z = side x side cells; every map ends in a ReLU, so it shows the
 *   evidence FOR class c, and it is raw (unnormalised), as dl_gradcam's.
 *
 *   gradcam         w_k = (1/Z) sum_ij G_k                (Selvaraju et al. 2017)
 *                   L = ReLU(sum_k w_k A_k)               (dl_gradcam, closed form)
 *   gradcam++       pytorch-grad-cam's GradCAMPlusPlus, which approximates the
 *                   higher derivatives of exp(y^c) by powers of G (Chattopadhay
 *                   et al. 2018, eq. 19):
 *                   a_k[ij] = G^2 / (2 G^2 + (sum_ij A_k) G^3 + 1e-6), 0 where G = 0
 *                   w_k = sum_ij ReLU(G_k[ij]) a_k[ij]    L = ReLU(sum_k w_k A_k)
 *   xgradcam        w_k = sum_ij G_k A_k / (sum_ij A_k + 1e-7)   (Fu et al. 2020)
 *   hirescam        L = ReLU(sum_k G_k * A_k), elementwise     (Draelos & Carin 2020)
 *   layercam        L = ReLU(sum_k ReLU(G_k) * A_k)            (Jiang et al. 2021)
 *   scorecam        M_k = (A_k - min A_k) / (max A_k - min A_k + 1e-8), placed on
 *                   the 28x28 input (dl_cam_place: the cells on their receptive
 *                   fields' centres, zero beyond);
 *                   w = softmax over k of y^c(x * M_k)    (pytorch-grad-cam's
 *                   ScoreCAM: logits of the masked inputs, softmax over channels)
 *   ablationcam     w_k = (y^c - y^c[A_k := 0]) / y^c     (Desai & Ramaswamy 2020)
 *                   undefined when y^c = 0
 *   eigencam        X = A as a (Z, K) matrix, each column centred; v = the unit
 *                   eigenvector of X^T X with the largest eigenvalue (the first
 *                   right singular vector of X), signed so that sum_k v_k >= 0;
 *                   L = ReLU(X v). Class-free: the same map for every class.
 *                   (Muhammad & Yeasin 2020; pytorch-grad-cam leaves the sign
 *                   to the SVD routine.) Undefined when X = 0.
 *   counterfactual  w_k = -(1/Z) sum_ij G_k                (Selvaraju et al., sec. 5)
 *   guided-backprop R = dy^c/dx where every ReLU's backward passes a gradient
 *                   only if it is positive and the ReLU's input was positive
 *                   (Springenberg et al. 2015); L = ReLU(R), 28 x 28
 *   guided-gradcam  L = ReLU(R) * (Grad-CAM placed on the 28 x 28 input)
 *
 * Every method is undefined for an input whose activations A are all zero
 * (nothing to weigh): its maps are zero and out->undefined has their bits.
 */
#include "digitlens.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static const char *const names[DL_M_COUNT] = {
    "gradcam", "gradcam++", "xgradcam", "hirescam", "layercam", "scorecam",
    "ablationcam", "eigencam", "counterfactual", "guided-backprop", "guided-gradcam",
};

const char *dl_cam_method_name(int method)
{
    return method >= 0 && method < DL_M_COUNT ? names[method] : NULL;
}

int dl_cam_method_lookup(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < DL_M_COUNT; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}


/* Layers first .. n-1 forward again for one image, on what w holds (the
 * same calls as dl_forward, which always starts from the input). */
static void forward_from(const dl_model *m, dl_work *w, int first)
{
    const float *p = m->params;
    for (int i = first; i < m->n_layers; i++) {
        const dl_layer *L = &m->layers[i];
        const float *in = dl_layer_out(m, w, i - 1);
        float *out = dl_layer_out(m, w, i);
        switch (L->spec.kind) {
        case DL_CONV:
            if (m->packed[i])
                dl_conv_forward_packed(out, in, m->packed[i], 1, L->in_c, L->in_h, L->in_w,
                                       L->out_c, L->spec.k);
            else
                dl_conv_forward(out, in, p + L->w_off, p + L->b_off, 1, L->in_c, L->in_h,
                                L->in_w, L->out_c, L->spec.k);
            break;
        case DL_RELU: dl_relu_forward(out, in, L->out_size); break;
        case DL_MAXPOOL:
            dl_maxpool_forward(out, in, 1, L->in_c, L->in_h, L->in_w, L->spec.size);
            break;
        case DL_DENSE:
            dl_dense_forward(out, in, p + L->w_off, p + L->b_off, 1, (int)L->in_size,
                             (int)L->out_size);
            break;
        case DL_FLATTEN: break;
        }
    }
}

/* R = dy^c/dx with guided ReLUs: from out = max(inp, 0),
 *   dinp += dout where out > 0 and dout > 0 (else 0).
 * The other layers' backward as in dl_backward; R in dl_layer_grad(-1). */
static void guided_backward(const dl_model *m, dl_work *w, int c)
{
    for (int i = -1; i < m->n_layers; i++)
        memset(dl_layer_grad(m, w, i), 0,
               (i < 0 ? DL_IN_SIZE : m->layers[i].out_size) * sizeof(float));
    dl_layer_grad(m, w, m->n_layers - 1)[c] = 1.0f;
    const float *p = m->params;
    for (int i = m->n_layers - 1; i >= 0; i--) {
        const dl_layer *L = &m->layers[i];
        const float *in = dl_layer_out(m, w, i - 1), *out = dl_layer_out(m, w, i);
        const float *dout = dl_layer_grad(m, w, i);
        float *din = dl_layer_grad(m, w, i - 1);
        switch (L->spec.kind) {
        case DL_CONV:
            dl_conv_backward(din, NULL, NULL, dout, in, p + L->w_off, 1, L->in_c, L->in_h,
                             L->in_w, L->out_c, L->spec.k);
            break;
        case DL_RELU:
            for (size_t j = 0; j < L->out_size; j++)
                din[j] += out[j] > 0.0f && dout[j] > 0.0f ? dout[j] : 0.0f;
            break;
        case DL_MAXPOOL:
            dl_maxpool_backward(din, dout, in, out, 1, L->in_c, L->in_h, L->in_w, L->spec.size);
            break;
        case DL_DENSE:
            dl_dense_backward(din, NULL, NULL, dout, in, p + L->w_off, 1, (int)L->in_size,
                              (int)L->out_size);
            break;
        case DL_FLATTEN: break; /* shares its input's block */
        }
    }
}

/* map = ReLU(sum_k wk[k] A_k), Z cells */
static void wsum_relu(float *map, const float *wk, const float *A, int K, int Z)
{
    for (int p = 0; p < Z; p++) {
        float s = 0.0f;
        for (int k = 0; k < K; k++) s += wk[k] * A[(size_t)k * Z + p];
        map[p] = s > 0.0f ? s : 0.0f;
    }
}

/* The unit eigenvector of the symmetric K x K matrix a with the largest
 * eigenvalue, by cyclic Jacobi rotations (a is destroyed). */
static void top_eigenvector(double *vec, double *a, int K)
{
    double v[DL_MAX_CHANNELS * DL_MAX_CHANNELS];
    for (int i = 0; i < K * K; i++) v[i] = 0.0;
    for (int i = 0; i < K; i++) v[i * K + i] = 1.0;
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0.0, diag = 0.0;
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                if (i != j) off += a[i * K + j] * a[i * K + j];
                else diag += a[i * K + i] * a[i * K + i];
            }
        if (off <= 1e-30 * diag) break;
        for (int p = 0; p < K; p++)
            for (int q = p + 1; q < K; q++) {
                double apq = a[p * K + q];
                if (apq == 0.0) continue;
                double theta = (a[q * K + q] - a[p * K + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double cs = 1.0 / sqrt(t * t + 1.0), sn = t * cs;
                for (int k = 0; k < K; k++) { /* a = a J (columns p, q) */
                    double akp = a[k * K + p], akq = a[k * K + q];
                    a[k * K + p] = cs * akp - sn * akq;
                    a[k * K + q] = sn * akp + cs * akq;
                }
                for (int k = 0; k < K; k++) { /* a = J^T a (rows p, q) */
                    double apk = a[p * K + k], aqk = a[q * K + k];
                    a[p * K + k] = cs * apk - sn * aqk;
                    a[q * K + k] = sn * apk + cs * aqk;
                }
                for (int k = 0; k < K; k++) { /* v = v J */
                    double vkp = v[k * K + p], vkq = v[k * K + q];
                    v[k * K + p] = cs * vkp - sn * vkq;
                    v[k * K + q] = sn * vkp + cs * vkq;
                }
            }
    }
    int best = 0;
    for (int i = 1; i < K; i++) if (a[i * K + i] > a[best * K + best]) best = i;
    for (int k = 0; k < K; k++) vec[k] = v[k * K + best];
}

/* Eigen-CAM's map (class-free); returns 0 when X = 0 (undefined). */
static int eigencam(float *map, const float *A, int K, int Z)
{
    double mean[DL_MAX_CHANNELS], C[DL_MAX_CHANNELS * DL_MAX_CHANNELS], v[DL_MAX_CHANNELS];
    for (int k = 0; k < K; k++) {
        double s = 0.0;
        for (int p = 0; p < Z; p++) s += A[(size_t)k * Z + p];
        mean[k] = s / Z;
    }
    double trace = 0.0;
    for (int i = 0; i < K; i++)
        for (int j = i; j < K; j++) {
            double s = 0.0;
            for (int p = 0; p < Z; p++)
                s += (A[(size_t)i * Z + p] - mean[i]) * (A[(size_t)j * Z + p] - mean[j]);
            C[i * K + j] = C[j * K + i] = s;
            if (i == j) trace += s;
        }
    if (!(trace > 0.0)) {
        memset(map, 0, (size_t)Z * sizeof(float));
        return 0;
    }
    top_eigenvector(v, C, K);
    double sv = 0.0;
    for (int k = 0; k < K; k++) sv += v[k];
    double sign = sv < 0.0 ? -1.0 : 1.0;
    for (int p = 0; p < Z; p++) {
        double s = 0.0;
        for (int k = 0; k < K; k++) s += (A[(size_t)k * Z + p] - mean[k]) * v[k];
        s *= sign;
        map[p] = s > 0.0 ? (float)s : 0.0f;
    }
    return 1;
}

int dl_cam_method(const dl_model *m, dl_work *w, const float *x, int method,
                  unsigned classes, dl_cam *out)
{
    if (method < 0 || method >= DL_M_COUNT || !out) return DL_ERR_ARG;
    int st = dl_gradcam(m, w, x, classes, out); /* checks, forward, Grad-CAM */
    if (st) return st;
    out->method = method;
    const int guided = method == DL_M_GUIDED_BACKPROP || method == DL_M_GUIDED_GRADCAM;

    const int L = m->cam_layer, K = m->cam_k, Z = m->map_size;
    float *A = dl_layer_out(m, w, L); /* (K, side, side) */
    int dead = 1;
    for (int i = 0; i < K * Z && dead; i++) dead = A[i] == 0.0f;
    if (dead) { /* every map is 0 * something: zero by definition */
        memset(out->maps, 0, sizeof out->maps);
        memset(out->alpha, 0, sizeof out->alpha);
        out->undefined = classes;
        if (guided) out->grid = dl_input_grid;
        return DL_OK;
    }
    if (method == DL_M_GRADCAM) return DL_OK;

    /* Copies of A and of the logits: Score-CAM and Ablation-CAM run the
     * network again on modified inputs or activations. */
    float Ac[K * Z];
    memcpy(Ac, A, sizeof Ac);
    float y0[DL_CLASSES];
    memcpy(y0, out->logits, sizeof y0);

    if (method == DL_M_SCORECAM || method == DL_M_ABLATIONCAM) {
        float score[K][DL_CLASSES];
        for (int k = 0; k < K; k++) {
            const float *a = Ac + (size_t)k * Z;
            if (method == DL_M_SCORECAM) {
                float lo = a[0], hi = a[0], mk[Z], M[DL_IN_SIZE], xm[DL_IN_SIZE];
                for (int p = 1; p < Z; p++) { lo = fminf(lo, a[p]); hi = fmaxf(hi, a[p]); }
                for (int p = 0; p < Z; p++) mk[p] = (a[p] - lo) / (hi - lo + 1e-8f);
                dl_cam_place(M, DL_IN_H, DL_IN_W, mk, &m->grid);
                for (int i = 0; i < DL_IN_SIZE; i++) xm[i] = x[i] * M[i];
                if ((st = dl_forward(m, w, xm, 1))) return st;
            } else {
                memset(A + (size_t)k * Z, 0, (size_t)Z * sizeof(float));
                forward_from(m, w, L + 1);
                memcpy(A + (size_t)k * Z, a, (size_t)Z * sizeof(float));
            }
            memcpy(score[k], dl_logits(m, w), sizeof score[k]);
        }
        if ((st = dl_forward(m, w, x, 1))) return st; /* w as the caller left it */
        for (int c = 0; c < DL_CLASSES; c++) {
            if (!(classes & (1u << c))) continue;
            float *wk = out->alpha[c];
            memset(wk, 0, sizeof out->alpha[c]);
            if (method == DL_M_SCORECAM) {
                float mx = score[0][c], s = 0.0f;
                for (int k = 1; k < K; k++) mx = fmaxf(mx, score[k][c]);
                for (int k = 0; k < K; k++) s += (wk[k] = expf(score[k][c] - mx));
                for (int k = 0; k < K; k++) wk[k] /= s;
            } else if (y0[c] == 0.0f) {
                out->undefined |= 1u << c;
            } else {
                for (int k = 0; k < K; k++) wk[k] = (y0[c] - score[k][c]) / y0[c];
            }
            wsum_relu(out->maps + (size_t)c * Z, wk, Ac, K, Z);
        }
        return DL_OK;
    }

    if (method == DL_M_EIGENCAM) {
        float map[Z];
        int ok = eigencam(map, Ac, K, Z);
        for (int c = 0; c < DL_CLASSES; c++) {
            if (!(classes & (1u << c))) continue;
            memset(out->alpha[c], 0, sizeof out->alpha[c]);
            memcpy(out->maps + (size_t)c * Z, map, sizeof map);
            if (!ok) out->undefined |= 1u << c;
        }
        return DL_OK;
    }

    if (guided) {
        /* The maps move to the input's grid (784 values each): the
         * Grad-CAM maps they weigh are copied out first. */
        float cam[DL_CLASSES * Z];
        memcpy(cam, out->maps, sizeof cam);
        memset(out->maps, 0, sizeof out->maps);
        out->grid = dl_input_grid;
        for (int c = 0; c < DL_CLASSES; c++) {
            if (!(classes & (1u << c))) continue;
            float up[DL_IN_SIZE];
            dl_cam_place(up, DL_IN_H, DL_IN_W, cam + (size_t)c * Z, &m->grid); /* Grad-CAM on 28x28 */
            guided_backward(m, w, c);
            const float *R = dl_layer_grad(m, w, -1);
            float *pm = out->maps + (size_t)c * DL_IN_SIZE;
            for (int i = 0; i < DL_IN_SIZE; i++) {
                float r = R[i] > 0.0f ? R[i] : 0.0f;
                pm[i] = method == DL_M_GUIDED_GRADCAM ? r * up[i] : r;
            }
            memset(out->alpha[c], 0, sizeof out->alpha[c]);
        }
        return DL_OK;
    }

    for (int c = 0; c < DL_CLASSES; c++) {
        if (!(classes & (1u << c))) continue;
        float *map = out->maps + (size_t)c * Z, *wk = out->alpha[c];
        if (method == DL_M_COUNTERFACTUAL) {
            for (int k = 0; k < K; k++) wk[k] = -wk[k];
            wsum_relu(map, wk, Ac, K, Z);
            continue;
        }
        float onehot[DL_CLASSES] = { 0 };
        onehot[c] = 1.0f;
        if ((st = dl_backward(m, w, onehot, 1, L, NULL))) return st;
        const float *G = dl_layer_grad(m, w, L); /* (K, side, side) */
        memset(wk, 0, sizeof out->alpha[c]);
        if (method == DL_M_HIRESCAM || method == DL_M_LAYERCAM) {
            for (int p = 0; p < Z; p++) {
                float s = 0.0f;
                for (int k = 0; k < K; k++) {
                    float g = G[(size_t)k * Z + p];
                    if (method == DL_M_LAYERCAM && g < 0.0f) g = 0.0f;
                    s += g * Ac[(size_t)k * Z + p];
                }
                map[p] = s > 0.0f ? s : 0.0f;
            }
            continue;
        }
        for (int k = 0; k < K; k++) {
            const float *g = G + (size_t)k * Z, *a = Ac + (size_t)k * Z;
            double sa = 0.0, s = 0.0;
            for (int p = 0; p < Z; p++) sa += a[p];
            for (int p = 0; p < Z; p++) {
                double gp = g[p];
                if (method == DL_M_XGRADCAM) {
                    s += gp * a[p];
                } else if (gp > 0.0) { /* gradcam++: ReLU(G) a; a = 0 where G = 0 */
                    double g2 = gp * gp;
                    s += gp * g2 / (2.0 * g2 + sa * g2 * gp + 1e-6);
                }
            }
            wk[k] = (float)(method == DL_M_XGRADCAM ? s / (sa + 1e-7) : s);
        }
        wsum_relu(map, wk, Ac, K, Z);
    }
    return DL_OK;
}
