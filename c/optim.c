/* optim.c — Adam and SGD over the whole parameter block, and seeded,
 * portable randomness.
 */
#include "digitlens.h"

#include <math.h>

/* ---- optimisers -------------------------------------------------------- */

/* m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 * p -= lr * m_hat / (sqrt(v_hat) + eps),  x_hat = x / (1 - b^t) */
void dl_adam_update(const dl_adam *a, float lr, float *params, const float *grads,
                    size_t first, size_t n)
{
    const float c1 = 1.0f - powf(a->beta1, (float)a->t);
    const float c2 = 1.0f - powf(a->beta2, (float)a->t);
    float *m = a->m + first, *v = a->v + first;
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        m[i] = a->beta1 * m[i] + (1.0f - a->beta1) * g;
        v[i] = a->beta2 * v[i] + (1.0f - a->beta2) * g * g;
        params[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + a->eps);
    }
}

void dl_adam_step(dl_adam *a, float *params, const float *grads, size_t n)
{
    a->t++;
    dl_adam_update(a, a->lr, params, grads, 0, n);
}

/* vel = mom * vel + g;  p -= lr * vel */
void dl_sgd_step(float *params, const float *grads, float *vel, size_t n,
                 float lr, float mom)
{
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        if (vel) g = vel[i] = mom * vel[i] + g;
        params[i] -= lr * g;
    }
}

/* ---- randomness -------------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, portable. */
uint64_t dl_rand_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float dl_rand_uniform(uint64_t *state)
{
    return (float)(dl_rand_u64(state) >> 40) * (1.0f / 16777216.0f);
}

/* Box-Muller; 1 - u keeps the log away from 0. */
float dl_rand_normal(uint64_t *state)
{
    float u1 = 1.0f - dl_rand_uniform(state), u2 = dl_rand_uniform(state);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}

