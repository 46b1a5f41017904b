/* fuzz_idx.c — libFuzzer target: the MNIST IDX readers on arbitrary bytes.
 * What they accept must be what they promise: count >= 1 images of 28x28
 * (or labels in 0..9) lying wholly inside the buffer; every pixel and label
 * is read here, so ASan sees any view that runs past the end. */
#include "digitlens.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dl_idx_imgs im;
    int st = dl_idx_images(data, size, &im);
    FUZZ_CHECK(dl_strerror(st) != NULL);
    if (st == DL_OK) {
        FUZZ_CHECK(im.count >= 1 && im.rows == 28 && im.cols == 28);
        FUZZ_CHECK(im.pixels >= data && (size_t)(im.pixels - data) + (size_t)im.count * 784 == size);
        unsigned sum = 0;
        for (size_t i = 0; i < (size_t)im.count * 784; i++) sum += im.pixels[i];
        (void)sum;
    }
    dl_idx_lbls lb;
    st = dl_idx_labels(data, size, &lb);
    FUZZ_CHECK(dl_strerror(st) != NULL);
    if (st == DL_OK) {
        FUZZ_CHECK(lb.count >= 1);
        FUZZ_CHECK((size_t)(lb.labels - data) + (size_t)lb.count == size);
        for (int i = 0; i < lb.count; i++) FUZZ_CHECK(lb.labels[i] <= 9);
    }
    return 0;
}
