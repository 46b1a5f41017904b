/* teach_native.c — the training module (c/wasm_train.c) built natively and
 * driven the way web/digitlens-train.js drives the WASM builds, so that
 * tests/node/teach.test.js can compare the weights and losses bit for bit:
 *
 *   teach_native WEIGHTS REPLAY EXAMPLES LABELS N REPLAY_N LAYERS OPT LR SEED STEPS OUT
 *
 * REPLAY: a digits file (samples.bin's format, not compressed); EXAMPLES:
 * N x 784 little-endian float32; LABELS: N bytes; LAYERS 0 head, 1 all;
 * OPT 0 Adam, 1 SGD. Writes the taught weights to OUT and one JSON line,
 * {"loss": [...]}, each loss with 9 significant digits (a float's round
 * trip). Exit 1 with the module's message when a call fails. */
#include <stdio.h>
#include <stdlib.h>

#include "../../c/wasm_train.c"

static uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *buf = NULL;
    if (dl_read_file(path, &buf, len) != DL_OK) {
        fprintf(stderr, "teach_native: cannot read %s\n", path);
        exit(1);
    }
    return buf;
}

static void check(int status)
{
    if (status == DL_OK) return;
    fprintf(stderr, "teach_native: %s\n", train_last_error());
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 13) {
        fprintf(stderr, "usage: teach_native WEIGHTS REPLAY EXAMPLES LABELS N REPLAY_N LAYERS OPT LR SEED STEPS OUT\n");
        return 2;
    }
    const int n = atoi(argv[5]), replay = atoi(argv[6]), layers = atoi(argv[7]), opt = atoi(argv[8]);
    const float lr = strtof(argv[9], NULL);
    const unsigned seed = (unsigned)strtoul(argv[10], NULL, 10);
    const int steps = atoi(argv[11]);
    size_t len;
    uint8_t *w = slurp(argv[1], &len);
    if (len > DL_TRAIN_WEIGHTS_CAP) check(DL_ERR_ARG);
    memcpy(train_weights_buf(), w, len);
    check(train_load_weights((int)len));
    uint8_t *r = slurp(argv[2], &len);
    uint32_t count = r[4] | r[5] << 8 | r[6] << 16 | (uint32_t)r[7] << 24;
    if (memcmp(r, "DLS1", 4) || len != 8 + (size_t)count * 785 || count > DL_TRAIN_MAX_REPLAY) {
        fprintf(stderr, "teach_native: %s: not a digits file of at most 2,000\n", argv[2]);
        return 1;
    }
    memcpy(train_replay_labels(), r + 8, count);
    memcpy(train_replay_buf(), r + 8 + count, (size_t)count * DL_IN_SIZE);
    check(train_set_replay((int)count));
    uint8_t *x = slurp(argv[3], &len);
    if (n < 1 || n > DL_TRAIN_MAX_IMAGES || len != (size_t)n * DL_IN_SIZE * 4) check(DL_ERR_ARG);
    memcpy(train_images_buf(), x, len); /* (x86 and WASM are both little-endian) */
    uint8_t *y = slurp(argv[4], &len);
    if (len != (size_t)n) check(DL_ERR_ARG);
    memcpy(train_labels_buf(), y, len);
    check(train_tune_begin(n, replay, layers, opt, lr, seed));
    printf("{\"loss\": [");
    for (int s = 0; s < steps; s++) {
        check(train_tune_step());
        printf("%s%.9g", s ? ", " : "", train_tune_loss());
    }
    printf("]}\n");
    check(train_save_weights());
    if (dl_write_file_atomic(argv[12], train_out_buf(), (size_t)train_out_len()) != DL_OK) {
        fprintf(stderr, "teach_native: cannot write %s\n", argv[12]);
        return 1;
    }
    free(w); free(r); free(x); free(y);
    return 0;
}
