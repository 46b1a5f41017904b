/* report.h — what the parts of `digitlens report` share: the image sets,
 * the networks compared and what is measured on each, the figures and the
 * text written from them.
 *
 *   cli_report.c      the command: arguments, the run, its order
 *   report_measure.c  predictions, empty maps, faithfulness, sanity checks
 *   report_draw.c     PNG figures: overlays, galleries, charts
 *   report_text.c     metrics.json, index.html, README's results part
 */
#ifndef DIGITLENS_TOOLS_REPORT_H
#define DIGITLENS_TOOLS_REPORT_H

#include <stdint.h>
#include "cli.h"

enum {
    STEPS = 28, PER_STEP = DL_IN_SIZE / STEPS, /* deletion/insertion: 28 pixels a step */
    TILE = 56,                                 /* a digit in a figure: 2x its 28 pixels */
    MAX_NETS = 2,
    MAX_CASCADE = DL_MAX_LAYERS,               /* sanity steps: one per layer with weights */
    MAX_STYLES = 16,
    MAX_DRAWN = 2,                             /* the drawn sets: drawn, writer */
    N_ERRORS = 10                              /* most confident errors shown */
};
/* The CAM methods (dl_cam_method_id), then two baselines. */
enum { M_RANDOM = DL_M_COUNT, M_INK, NM };
const char *report_method_name(int m);

/* ---- image sets -------------------------------------------------------- */

typedef struct {
    char key[16];             /* "mnist", "drawn", "writer": names in metrics.json */
    char name[32];            /* "MNIST test", "drawn", "writer": names in the text */
    int n;
    float *x;                 /* (n, 784) in 0..1 */
    const uint8_t *label;     /* (n) */
    int n_styles;             /* 0: no styles */
    char styles[MAX_STYLES][24];
    uint8_t *style;           /* (n) index into styles, or NULL */
    cli_dataset d;
} image_set;

/* DIR's t10k-images/labels-idx files; with styles_json, each image's
 * "style" from that file (SET-styles.json of tools/drawn), checked to
 * describe the same images (count, index, label). Exits on failure. */
void set_load(image_set *s, const char *key, const char *name, const char *dir,
              const char *styles_json);
void set_free(image_set *s);

/* ---- what is measured -------------------------------------------------- */

/* Faithfulness and sanity sums, then (stats_finish) means. */
typedef struct {
    double del[NM][STEPS + 1], ins[NM][STEPS + 1]; /* curves: probability of the class */
    double del_auc[NM], ins_auc[NM], drop[NM], incr[NM];
    double map_s[NM];          /* seconds computing the maps (thread time) */
    int empty[NM], undef[NM], n;
    double rho[NM][MAX_CASCADE]; /* Spearman, trained vs after step s of the cascade,
                                  * on the map's own grid */
    double rho_placed[NM][MAX_CASCADE]; /* the same on the maps placed at 28x28 */
    int n_sanity;
    int pass[NM];              /* rho < 0.5 at every step */
} stats;

/* A network on one image set. */
typedef struct {
    int *pred;                 /* (n) predicted class */
    float *prob;               /* (n, 10) softmax */
    int conf[10][10];          /* [true][predicted] */
    int correct;
    int pred_n[10], empty_own[10]; /* predicted as c; of those, Grad-CAM of c all zero */
    int style_ok[MAX_STYLES], style_n[MAX_STYLES];
    stats *faith;              /* Grad-CAM, random and ink on every image (drawn sets) */
} set_result;

typedef struct {
    const char *path;          /* weights file */
    char id[24];               /* "twoconv", "seednet": file names, metrics.json */
    char name[64];             /* "two-conv network", "seed network" */
    int builtin;               /* 0 seed, 1 two-conv, -1 another network */
    dl_model m;
    float *alpha;              /* (10, K) Grad-CAM's fixed alpha, if closed form */
    int closed_form;           /* alpha the same for every input */
    long macs;                 /* multiply-adds of one forward pass */
    int rf;                    /* input pixels a cell of A sees, per side */
    int n_conv_to_a;           /* conv layers up to A */
    int n_casc;                /* sanity cascade: layers with weights, top first */
    int casc[MAX_CASCADE];     /* their layer indices */
    set_result mnist;
    set_result drawn[MAX_DRAWN];
    stats *S;                  /* every method on the MNIST subsets */
    float (*meanmap)[DL_MAX_MAP_SIZE]; /* (10) mean Grad-CAM over correct predictions */
    float (*meanx)[DL_IN_SIZE];
    int mean_n[10];
    int err[N_ERRORS], n_err;  /* most confident errors, MNIST test indices */
    double seconds;            /* measuring it */
} net;

/* Load, plan, name the network of a weights file. Exits on failure. */
void net_load(net *nt, const char *path);
void net_free(net *nt);

/* Every image of s: prediction, probabilities, confusion, Grad-CAM of the
 * predicted class empty or not, per style; with mean != 0, the mean input
 * and Grad-CAM per class over the correct predictions (nt->meanmap). */
void measure_set(net *nt, const image_set *s, set_result *r, int mean);
/* Faithfulness of the methods in `methods` (n of them) on every fstride-th
 * image of s, and (sstride > 0) the sanity cascade on every sstride-th,
 * for the class r predicted; results in S (means). */
void measure_faith(const net *nt, const image_set *s, const set_result *r, int fstride,
                   int sstride, const int *methods, int n_methods, stats *S);
/* The N_ERRORS most confident errors on s. */
void find_errors(net *nt, const image_set *s);

/* ---- goals the deeper network is held to -------------------------------- */

enum { N_GOALS = 5 };
typedef struct {
    const char *what;          /* "MNIST test accuracy >= 99.3 %" */
    char value[96];            /* "99.43 %" */
    char need[96];             /* what meeting it takes, in the measure's own terms */
    double v, target;
    int met;
} goal;
void goals_of(const net *nt, const image_set *mnist, goal g[N_GOALS]);

/* ---- figures (report_draw.c) -------------------------------------------- */

/* Tiles of digits with the Grad-CAM map of the predicted class (own scale),
 * rows x cols, idx[r * cols + c] an image of s or -1 (blank); a tile is
 * TILE x TILE at (c * (TILE + 2) + 1, r * (TILE + 2) + 1), framed in red
 * when the prediction is wrong. */
void fig_tiles(const char *dir, const char *file, const net *nt, const image_set *s,
               const set_result *r, const int *idx, int rows, int cols);
void fig_confusion(const char *dir, const char *file, const int conf[10][10]);
void fig_mean(const char *dir, const char *file, const net *nt);
void fig_errors(const char *dir, const char *file, const net *nt, const image_set *s);
/* every method on idx[c] (c = 0..9), the predicted class */
void fig_methods(const char *dir, const char *file, const net *nt, const image_set *s,
                 const int idx[10]);
/* n series of np points (x: 0..1 evenly, y: ylo..yhi), 480x320 */
void fig_chart(const char *dir, const char *file, const double *ys, int n, int np,
               double ylo, double yhi);
extern const uint8_t report_palette[NM][3];

/* ---- text (report_text.c) ----------------------------------------------- */

typedef struct { char *s; size_t n, cap; } sbuf;
/* 1234 -> "1,234", in one of a ring of static buffers */
const char *report_th(long v);
void sb(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_write(const char *dir, const char *name, const sbuf *b);

/* Everything one run measured. */
typedef struct {
    net nets[MAX_NETS];
    int n_nets;
    image_set mnist, drawn[MAX_DRAWN];
    int n_drawn;
    const char *drawn_dir;
    int fstride, sstride;      /* MNIST subsets: every fstride-th, sstride-th image */
    int gallery[100];          /* the first ten test digits of each class */
    int drawn_tiles[MAX_DRAWN][100], drawn_rows[MAX_DRAWN];
    int first_of_class[10];    /* the methods figure's digits */
    double seconds;
    const char *out;
    char command[1024];        /* how the run was asked for, for the README */
} report;

void write_metrics(const report *R);
void write_page(const report *R);
/* README's results part, markers included */
void readme_part(const report *R, sbuf *r);

#endif
