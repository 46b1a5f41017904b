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

#endif
