/* testutil.h — what every cmocka test of digitlens includes. */
#ifndef DIGITLENS_TESTUTIL_H
#define DIGITLENS_TESTUTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>
#include "digitlens.h"

/* |a - b| <= atol + rtol * max(|a|, |b|), with the values in the message. */
#define assert_close(a, b, atol, rtol) do {                                   \
        double a_ = (a), b_ = (b);                                            \
        double tol_ = (atol) + (rtol) * fmax(fabs(a_), fabs(b_));             \
        if (!(fabs(a_ - b_) <= tol_))                                         \
            fail_msg("%s = %.9g, %s = %.9g, |diff| %.3g > tol %.3g",          \
                     #a, a_, #b, b_, fabs(a_ - b_), tol_);                    \
    } while (0)

#define assert_ok(call) do {                                                  \
        int st_ = (call);                                                     \
        if (st_ != DL_OK) fail_msg("%s -> %s", #call, dl_strerror(st_));     \
    } while (0)

/* The seed network after A, written again in double precision without the
 * library's backward, as an independent reference: max-pool 2x2 (first
 * maximum wins), flatten, dense. logits (10) from A (12, 24, 24). */
static inline void ref_seednet_tail(double *logits, const double *A, const dl_model *m)
{
    const dl_layer *fc = &m->layers[4];
    double pooled[1728];
    for (int k = 0; k < 12; k++)
        for (int y = 0; y < 12; y++)
            for (int x = 0; x < 12; x++) {
                const double *a = A + k * 576 + (2 * y) * 24 + 2 * x;
                double best = a[0];
                if (a[1] > best) best = a[1];
                if (a[24] > best) best = a[24];
                if (a[25] > best) best = a[25];
                pooled[k * 144 + y * 12 + x] = best;
            }
    for (int c = 0; c < 10; c++) {
        double s = m->params[fc->b_off + c];
        for (int i = 0; i < 1728; i++) s += (double)m->params[fc->w_off + c * 1728 + i] * pooled[i];
        logits[c] = s;
    }
}

#endif
