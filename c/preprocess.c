/* preprocess.c — any grayscale image -> MNIST format (28x28, 0..1, white ink
 * on black), following LeCun's description of how MNIST was made:
 *
 *   "The original black and white images from NIST were size normalized to
 *    fit in a 20x20 pixel box while preserving their aspect ratio. The
 *    resulting images contain grey levels as a result of the anti-aliasing
 *    technique used by the normalization algorithm. The images were centered
 *    in a 28x28 image by computing the center of mass of the pixels, and
 *    translating the image so as to position this point at the center of
 *    the 28x28 field."
 *
 * The network only ever saw digits prepared that way, so a drawing must be
 * brought into the same frame before classification or Grad-CAM: same
 * polarity, same size, same position, same kind of grey edges.
 *
 * Memory: the image may be up to DL_MAX_SIDE x DL_MAX_SIDE (64 Mpixel), and
 * this file is also compiled to WebAssembly with fixed memory, so nothing
 * here allocates and every buffer has a constant size (two 256-bin
 * histograms, a 256-entry lookup table, a 20x20 accumulator). The image is
 * read in four streaming passes: border, histogram, ink bounding box,
 * resampling of the box.
 */
#include "digitlens.h"

/* Paper/ink decisions, in 0..255 contrast units d = |v - paper| measured
 * towards the ink side. */
enum {
    PP_MIN_CONTRAST = 32, /* some pixel must stand out this much to be ink */
    PP_NOISE = 8          /* |v - paper| <= 8 is paper grain / scanner noise */
};
/* After mapping paper -> 0 and full ink -> 1, values below this are paper:
 * they are zeroed and do not count for the bounding box. */
#define PP_INK_T 0.1f
/* "Full ink" is the level reached by the top 2% of the ink pixels, not the
 * single darkest one, so one speck of dust does not set the scale. */
#define PP_FULL_FRAC 0.02

enum { PP_BOX = 20, PP_FIELD = 28 };

/* Lower median of a 256-bin histogram holding n > 0 values. */
static int hist_median(const uint32_t hist[256], uint64_t n)
{
    uint64_t want = (n - 1) / 2, seen = 0;
    for (int v = 0; v < 256; v++) {
        seen += hist[v];
        if (seen > want) return v;
    }
    return 255;
}

/* Build the gray -> ink lookup for one polarity (dark = 1: ink darker than
 * the paper). Returns 0 when nothing stands out from the paper by at least
 * PP_MIN_CONTRAST on that side. */
static int build_ink_lut(float lut[256], const uint32_t hist[256], int paper,
                         int dark)
{
    /* dh[d]: how many pixels lie d levels from the paper, towards the ink */
    uint64_t dh[256] = {0}, n_cand = 0;
    for (int v = 0; v < 256; v++) {
        int d = dark ? paper - v : v - paper;
        if (d >= PP_MIN_CONTRAST) { dh[d] += hist[v]; n_cand += hist[v]; }
    }
    if (n_cand == 0) return 0;

    uint64_t k = (uint64_t)(PP_FULL_FRAC * (double)n_cand + 0.999999);
    if (k < 1) k = 1;
    int full = PP_MIN_CONTRAST;
    uint64_t above = 0;
    for (int d = 255; d >= PP_MIN_CONTRAST; d--) {
        above += dh[d];
        if (above >= k) { full = d; break; }
    }

    for (int v = 0; v < 256; v++) {
        int d = dark ? paper - v : v - paper;
        float s = (float)d / (float)full;
        if (s > 1.0f) s = 1.0f;
        lut[v] = (d <= PP_NOISE || s < PP_INK_T) ? 0.0f : s;
    }
    return 1;
}

int dl_preprocess(float *out, const uint8_t *gray, int width, int height)
{
    if (!out || !gray) return DL_ERR_ARG;
    if (width < 1 || height < 1 || width > DL_MAX_SIDE || height > DL_MAX_SIDE)
        return DL_ERR_IMAGE_SIZE;
    const size_t W = (size_t)width, H = (size_t)height;

    /* (a)+(b) The paper is what the border shows: a drawing or a scan has
     * margins, so most border pixels are paper. Its median is the paper
     * level (robust to strokes that touch the edge and to scanner noise),
     * and a light paper means dark ink. The border rule is the primary one;
     * only if nothing stands out on that side of the paper (mid-grey paper
     * with lighter ink) is the other side tried. */
    uint32_t bhist[256] = {0};
    uint64_t nb = 0;
    for (size_t x = 0; x < W; x++) {
        bhist[gray[x]]++; nb++;
        if (H > 1) { bhist[gray[(H - 1) * W + x]]++; nb++; }
    }
    for (size_t y = 1; y + 1 < H; y++) {
        bhist[gray[y * W]]++; nb++;
        if (W > 1) { bhist[gray[y * W + W - 1]]++; nb++; }
    }
    const int paper = hist_median(bhist, nb);

    uint32_t hist[256] = {0};
    for (size_t i = 0, n = W * H; i < n; i++) hist[gray[i]]++;

    /* Map paper -> 0 and full ink -> 1, clamped: a light-grey paper with
     * dark-grey ink gives the same values as black on white. */
    float lut[256];
    int dark = paper >= 128;
    if (!build_ink_lut(lut, hist, paper, dark)) {
        dark = !dark;
        if (!build_ink_lut(lut, hist, paper, dark)) return DL_ERR_NO_INK;
    }

    /* (c) The ink's bounding box [bx0,bx1) x [by0,by1). */
    size_t bx0 = W, bx1 = 0, by0 = H, by1 = 0;
    for (size_t y = 0; y < H; y++) {
        const uint8_t *row = gray + y * W;
        size_t first = W, last = 0;
        for (size_t x = 0; x < W; x++)
            if (lut[row[x]] > 0.0f) { first = x; break; }
        if (first == W) continue;
        for (size_t x = W; x-- > first;)
            if (lut[row[x]] > 0.0f) { last = x; break; }
        if (first < bx0) bx0 = first;
        if (last + 1 > bx1) bx1 = last + 1;
        if (y < by0) by0 = y;
        by1 = y + 1;
    }
    if (bx1 <= bx0 || by1 <= by0) return DL_ERR_NO_INK;

    /* (d) Scale the box so its long side L becomes 20 pixels, keeping the
     * aspect ratio (small drawings are scaled up too). Source pixel k of the
     * box covers [k*20/L, (k+1)*20/L) in output units. Area averaging: an
     * output pixel is the mean of the source area it covers, i.e. the sum of
     * source value times overlap area (output pixels have area 1; the part
     * of an edge pixel the box does not cover counts as paper). This is the
     * anti-aliasing that gives MNIST its grey edges, and it preserves the
     * ink's mass. Separable: per source row, a horizontal pass into 20
     * columns, then that row spread over the 1-2 output rows it overlaps
     * (up to 21 when scaling up). Accumulated in double: a source box of
     * 8192 pixels sums ~410 pixels per output value. */
    const size_t bw = bx1 - bx0, bh = by1 - by0;
    const size_t L = bw > bh ? bw : bh;
    const double Ld = (double)L;
    double acc[PP_BOX][PP_BOX] = {{0}};
    for (size_t y = by0; y < by1; y++) {
        const uint8_t *row = gray + y * W;
        double racc[PP_BOX] = {0};
        int any = 0;
        double x0 = 0.0;
        for (size_t x = bx0; x < bx1; x++) {
            /* (k*20)/L is exact in double at k = L, so the box ends at 20 */
            double x1 = (double)((x - bx0 + 1) * PP_BOX) / Ld;
            float s = lut[row[x]];
            if (s > 0.0f) {
                any = 1;
                for (int j = (int)x0; j < PP_BOX && (double)j < x1; j++) {
                    double lo = x0 > j ? x0 : j, hi = x1 < j + 1 ? x1 : j + 1;
                    racc[j] += (double)s * (hi - lo);
                }
            }
            x0 = x1;
        }
        if (!any) continue;
        double y0 = (double)((y - by0) * PP_BOX) / Ld;
        double y1 = (double)((y - by0 + 1) * PP_BOX) / Ld;
        for (int i = (int)y0; i < PP_BOX && (double)i < y1; i++) {
            double lo = y0 > i ? y0 : i, hi = y1 < i + 1 ? y1 : i + 1;
            double ov = hi - lo;
            for (int j = 0; j < PP_BOX; j++) acc[i][j] += ov * racc[j];
        }
    }
    /* pixels the scaled box touches: ceil(bw*20/L) x ceil(bh*20/L) */
    const int cw = (int)((bw * PP_BOX + L - 1) / L);
    const int ch = (int)((bh * PP_BOX + L - 1) / L);

    /* (e) Centre of mass in pixel-edge coordinates (pixel j covers [j,j+1),
     * so its mass sits at j + 0.5), moved to (14,14), the centre of the
     * 28x28 field. The shift is an integer, rounded, as LeCun did: the
     * digit keeps the exact grey levels of the area averaging (no second
     * blur) and stays within 20x20 pixels, like every MNIST digit; the
     * centre of mass then lies within 0.5 px of (14,14). The shift is
     * clamped so the box stays inside the field: ink is never cut off
     * (only a very lopsided digit is then off-centre). */
    double mass = 0.0, mx = 0.0, my = 0.0;
    for (int i = 0; i < ch; i++)
        for (int j = 0; j < cw; j++) {
            double v = acc[i][j];
            mass += v;
            mx += v * (j + 0.5);
            my += v * (i + 0.5);
        }
    if (!(mass > 0.0)) return DL_ERR_NO_INK;
    double fx = 0.5 * PP_FIELD - mx / mass + 0.5;
    double fy = 0.5 * PP_FIELD - my / mass + 0.5;
    int sx = (int)fx - (fx < (int)fx); /* floor */
    int sy = (int)fy - (fy < (int)fy);
    if (sx > PP_FIELD - cw) sx = PP_FIELD - cw;
    if (sy > PP_FIELD - ch) sy = PP_FIELD - ch;
    if (sx < 0) sx = 0;
    if (sy < 0) sy = 0;

    for (int i = 0; i < DL_IN_SIZE; i++) out[i] = 0.0f;
    for (int i = 0; i < ch; i++)
        for (int j = 0; j < cw; j++) {
            float v = (float)acc[i][j];
            out[(i + sy) * PP_FIELD + (j + sx)] = v > 1.0f ? 1.0f : v < 0.0f ? 0.0f : v;
        }
    return DL_OK;
}

/* Canvas ImageData is RGBA, not premultiplied; a cleared canvas is
 * transparent black, so compositing over white makes it white paper and
 * opaque strokes keep their colour. Luminance uses the Rec.601 weights
 * (0.299, 0.587, 0.114), as JPEG, PIL's convert("L") and the NIST-era tools
 * did. Integer arithmetic (weights x1000, alpha /255), rounded half up:
 *   gray = round((a * Y + (255 - a) * 255) / 255),  Y = .299 R + .587 G + .114 B */
void dl_rgba_to_gray(uint8_t *gray, const uint8_t *rgba, size_t n_pixels)
{
    if (!gray || !rgba) return;
    for (size_t i = 0; i < n_pixels; i++) {
        const uint8_t *p = rgba + 4 * i;
        uint32_t a = p[3];
        uint32_t y1000 = 299u * p[0] + 587u * p[1] + 114u * p[2]; /* 0..255000 */
        uint32_t t = a * y1000 + (255u - a) * 255000u;             /* /255000 */
        gray[i] = (uint8_t)((t + 127500u) / 255000u);
    }
}
