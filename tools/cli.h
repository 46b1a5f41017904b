/* cli.h — what the parts of the `digitlens` command share: error exits,
 * flag parsing, JSON output, loading weights, data sets and input images.
 * Only the CLI prints and exits; the library returns dl_status codes. */
#ifndef DIGITLENS_CLI_H
#define DIGITLENS_CLI_H

#include <stdio.h>
#include "digitlens.h"

#define CLI_DEFAULT_WEIGHTS "weights/twoconv.safetensors"
#define CLI_DEFAULT_DATA    "data/mnist"

/* A default path (CLI_DEFAULT_*, "web/results") in the checkout the binary
 * was built in (the directory above build/), so that the defaults work from
 * any working directory: `rel` itself when that is the working directory
 * (or the binary is not in a build/ folder), else the checkout's path. A
 * path the user gives stays relative to the working directory. */
void cli_find_checkout(void);
const char *cli_default(const char *rel);

/* Each command: its entry point and its usage text (printed by --help to
 * stdout, and to stderr after a usage error). */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} cli_command;

int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_bench(int argc, char **argv);
extern const char cli_bench_usage[];
int cli_classify(int argc, char **argv);
int cli_explain(int argc, char **argv);
int cli_report(int argc, char **argv);
extern const char cli_report_usage[];
int cli_quantize(int argc, char **argv);
extern const char cli_quantize_usage[];
extern const char cli_eval_usage[], cli_classify_usage[], cli_explain_usage[];
/* train's usage shows dl_train_defaults(): call the init before using it. */
extern char cli_train_usage[];
void cli_train_usage_init(void);

/* ---- errors: one line on stderr, then exit ----------------------------- */

/* "digitlens: WHAT: dl_strerror(status)", exit 1. */
_Noreturn void cli_fail(const char *what, int status);
/* "digitlens: WHAT: <formatted>", exit 1. */
_Noreturn void cli_failf(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "digitlens: <formatted>", then the usage text on stderr, exit 2. */
_Noreturn void cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- flags ------------------------------------------------------------- */

/* The argument loop of every command: argv[*i] is "--name" or
 * "--name=value". cli_is_flag says whether it names `flag`; cli_value returns
 * its value (the "=value" part or the next argument, advancing *i), or makes
 * a usage error when there is none. */
int cli_is_flag(const char *arg, const char *flag);
const char *cli_value(int argc, char **argv, int *i, const char *usage);
/* Whole-string numbers within [lo, hi]; anything else is a usage error. */
long cli_int(const char *flag, const char *s, long lo, long hi, const char *usage);
double cli_float(const char *flag, const char *s, double lo, double hi,
                 const char *usage);
/* "--help" or "-h" anywhere in argv: print usage to stdout, exit 0. */
void cli_help(int argc, char **argv, const char *usage);

/* ---- JSON -------------------------------------------------------------- */

void json_string(FILE *f, const char *s);
/* %.9g (a float round-trips), null for NaN or infinity: JSON has neither. */
void json_number(FILE *f, double v);
void json_floats(FILE *f, const float *v, int n);

/* ---- loading ----------------------------------------------------------- */

/* Plan the network a weights file describes (the seed network when it says
 * nothing), allocate its parameters and load `path` into them. meta may be
 * NULL. Exits with "digitlens: PATH: problem" on failure. */
void cli_load_model(dl_model *m, const char *path, dl_meta *meta);
/* "digitlens: WHAT: m->why" when the plan or load said why, else
 * dl_strerror(status); exit 1. */
_Noreturn void cli_fail_model(const char *what, const dl_model *m, int status);

/* An IDX images file and its labels file from DIR, read whole and checked
 * to hold the same number of items. Exits on failure. */
typedef struct {
    uint8_t *img_buf, *lbl_buf;
    dl_idx_imgs imgs;
    dl_idx_lbls lbls;
} cli_dataset;
void cli_load_dataset(cli_dataset *d, const char *dir, const char *images,
                      const char *labels);
void cli_free_dataset(cli_dataset *d);

/* One FILE argument of classify/explain: a PNG (preprocessed to MNIST
 * format) or an IDX images file (recognised by its magic number), with the
 * images picked by --index/--limit. Exits on failure. */
typedef struct {
    const char *path;
    int is_idx;
    uint8_t *buf;       /* IDX bytes */
    dl_idx_imgs imgs;
    int first, count;   /* images picked: first .. first+count-1 */
    float png_x[DL_IN_SIZE]; /* the PNG, preprocessed */
} cli_input;
/* index < 0: from 0 (limit < 0: to the end); index >= 0 and limit < 0: one
 * image. limit_default is used when limit < 0 and index < 0 (-1: all). */
void cli_input_open(cli_input *in, const char *path, long index, long limit,
                    long limit_default);
/* k-th picked image as (1,28,28) floats in 0..1; *index gets its IDX index. */
void cli_input_image(const cli_input *in, int k, float *x, int *index);
void cli_input_close(cli_input *in);

#endif
