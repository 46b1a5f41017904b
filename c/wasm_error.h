/* wasm_error.h — the text of a WASM module's last failure, which its
 * dl_last_error export returns: "context: detail", or "context: " and what
 * dl_strerror says of the status. Included once by each module
 * (wasm_api.c, wasm_train.c): each has its own buffer. */
#ifndef DL_WASM_ERROR_H
#define DL_WASM_ERROR_H

#include <stddef.h>

#include "digitlens.h"

static char last_error[256];

/* last_error[*n..] = s, cut to fit; *n moves past it */
static void append(size_t *n, const char *s)
{
    while (*s && *n + 1 < sizeof last_error) last_error[(*n)++] = *s++;
    last_error[*n] = '\0';
}

/* last_error = "context: detail" (or "context: dl_strerror(status)"); status.
 * (Not fail(): the C tests that include wasm_train.c have cmocka's macro.) */
static int failed(int status, const char *context, const char *detail)
{
    size_t n = 0;
    append(&n, context);
    append(&n, ": ");
    append(&n, detail ? detail : dl_strerror(status));
    return status;
}

#endif
