/* fuzz.h — shared by the libFuzzer targets: a check that aborts, so that a
 * broken invariant is a crash libFuzzer saves, like any memory error. */
#ifndef DIGITLENS_FUZZ_H
#define DIGITLENS_FUZZ_H
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    abort(); } } while (0)

#endif
