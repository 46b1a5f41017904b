/* cli_train.c — `digitlens train`: a built-in network (the seed network or
 * the two-conv one) on MNIST, with a progress bar, a checkpoint per epoch,
 * --resume, and atomically written weights that describe their network. */
#include <math.h>
#include <stdarg.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "train.h"

/* Filled by cli_train_usage_init() so that --help shows the real defaults. */
char cli_train_usage[2048];

void cli_train_usage_init(void)
{
    dl_train_config c = dl_train_defaults_twoconv(); /* --arch twoconv, the default */
    snprintf(cli_train_usage, sizeof cli_train_usage,
        "usage: digitlens train [OPTIONS]\n"
        "\n"
        "Train a network on the MNIST training images, report the test accuracy\n"
        "after each epoch, and write the weights (safetensors, with the\n"
        "architecture, test accuracy, recipe and date in the metadata). A\n"
        "checkpoint is written\n"
        "to FILE.ckpt after every epoch; --resume continues from it. Both files\n"
        "are written atomically: an existing FILE stays intact until training\n"
        "has succeeded.\n"
        "\n"
        "  --arch NAME       twoconv (default) or seednet; the defaults below are\n"
        "                    twoconv's (seednet's: README, Training)\n"
        "  --data DIR        MNIST IDX files (default " CLI_DEFAULT_DATA ")\n"
        "  --epochs N        epochs (default %d)\n"
        "  --batch N         minibatch size (default %d)\n"
        "  --lr X            peak learning rate, cosine decay (default %g)\n"
        "  --optimizer NAME  adam or sgd (default %s)\n"
        "  --seed N          random seed: init, shuffle, augmentation (default %llu)\n"
        "  --threads N       OpenMP threads (default %d; the weights depend on it)\n"
        "  --out FILE        weights to write (default weights/NAME.safetensors);\n"
        "                    --weights FILE is the same\n"
        "  --resume          continue from FILE.ckpt\n"
        "  --no-augment      no random affine augmentation (default: shift +-%g px,\n"
        "                    rotation +-%g deg, scale 1 +- %g)\n"
        "  --clean-last N    no augmentation in the last N epochs (default %d)\n"
        "  --aug-shift PX, --aug-rot DEG, --aug-scale S\n"
        "                    augmentation ranges: shift +-PX pixels, rotation\n"
        "                    +-DEG degrees, scale uniform in [1-S, 1+S]\n"
        "  --limit N         train on the first N training images only\n"
        "  --json            one line per epoch on stdout: {\"epoch\", \"train_s\",\n"
        "                    \"images_per_s\", \"loss\", \"test_acc\"}\n"
        "  --help            this text\n"
        "\n"
        "Progress (epoch, images/s, loss, ETA) goes to stderr.\n",
        c.epochs, c.batch, (double)c.lr, c.opt == DL_OPT_SGD ? "sgd" : "adam",
        (unsigned long long)c.seed, c.threads, (double)c.aug_shift, (double)c.aug_rot,
        (double)c.aug_scale, c.clean_last);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fmt_time(char *out, size_t cap, double s)
{
    if (!(s >= 0) || s > 1e7) { snprintf(out, cap, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, cap, "%ld:%02ld", t / 60, t % 60);
}

typedef struct {
    int epoch, epochs;   /* 1-based epoch being trained, of epochs */
    int tty;
    double t0, last;     /* epoch start, last progress print */
    int next_tenth;      /* plain mode: print when done reaches this tenth */
} progress;

/* One status line: a bar updated in place on a terminal, otherwise a plain
 * line at every tenth of the epoch. */
static void on_progress(void *ctx, int done, int n, float loss)
{
    progress *p = ctx;
    double t = now(), el = t - p->t0;
    int tenth = n ? (int)(10LL * done / n) : 10;
    if (p->tty) {
        if (t - p->last < 0.1 && done < n) return;
    } else {
        if (tenth < p->next_tenth) return;
        p->next_tenth = tenth + 1;
    }
    p->last = t;
    double rate = el > 0 ? done / el : 0;
    double left = rate > 0 ? ((double)(n - done) + (double)n * (p->epochs - p->epoch)) / rate : -1;
    char eta[32];
    fmt_time(eta, sizeof eta, left);
    if (p->tty) {
        char bar[21];
        int fill = n ? (int)(20LL * done / n) : 20;
        for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
        bar[20] = '\0';
        fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %3d%%  %6.0f img/s  loss %.4f  ETA %s",
                p->epoch, p->epochs, bar, n ? (int)(100LL * done / n) : 100, rate,
                (double)loss, eta);
    } else {
        fprintf(stderr, "epoch %d/%d  %3d%%  %6.0f img/s  loss %.4f  ETA %s\n", p->epoch,
                p->epochs, n ? (int)(100LL * done / n) : 100, rate, (double)loss, eta);
    }
    fflush(stderr);
}

static void check_out_path(const char *out)
{
    struct stat sb;
    if (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode)) cli_fail(out, DL_ERR_IS_DIR);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        cli_failf(out, "directory %s does not exist", dir);
    if (access(dir, W_OK) != 0) cli_failf(out, "directory %s is not writable", dir);
}

static void meta_setf(dl_meta *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void meta_setf(dl_meta *m, const char *key, const char *fmt, ...)
{
    char v[DL_META_VAL];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    int st = dl_meta_set(m, key, v);
    if (st != DL_OK) cli_fail(key, st);
}

/* What produced the weights, in the safetensors metadata. */
static void recipe_meta(dl_meta *meta, const dl_train_config *c, int n_train)
{
    meta_setf(meta, "format", "digitlens v2");
    meta_setf(meta, "epochs", "%d", c->epochs);
    meta_setf(meta, "seed", "%llu", (unsigned long long)c->seed);
    meta_setf(meta, "batch", "%d", c->batch);
    meta_setf(meta, "lr", "%g", (double)c->lr);
    meta_setf(meta, "lr_schedule", "cosine to %g x lr", (double)c->lr_final);
    if (c->opt == DL_OPT_SGD) meta_setf(meta, "optimizer", "sgd momentum %g", (double)c->momentum);
    else meta_setf(meta, "optimizer", "adam");
    if (c->augment)
        meta_setf(meta, "augmentation",
                  "random affine: shift +-%g px, rotation +-%g deg, scale 1 +- %g; "
                  "none in the last %d epochs",
                  (double)c->aug_shift, (double)c->aug_rot, (double)c->aug_scale, c->clean_last);
    else meta_setf(meta, "augmentation", "none");
    meta_setf(meta, "threads", "%d", c->threads);
    meta_setf(meta, "train_images", "%d", n_train);
}

/* A resumed run continues the same schedule (the cosine decay spans all the
 * epochs) only with the same recipe: refuse another one. */
static void check_recipe(const char *ckpt, const dl_meta *now)
{
    static const char *const keys[] = {"architecture", "epochs", "batch", "lr", "lr_schedule",
                                       "optimizer", "augmentation", "threads", "train_images"};
    uint8_t *buf;
    size_t len;
    dl_meta was = {0};
    dl_tensor none[1];
    int st = dl_read_file(ckpt, &buf, &len);
    if (st == DL_OK) st = dl_st_load(buf, len, none, 0, &was);
    if (st != DL_OK) cli_fail(ckpt, st);
    free(buf);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *a = dl_meta_get(&was, keys[k]), *b = dl_meta_get(now, keys[k]);
        if (a && b && strcmp(a, b) != 0)
            cli_failf(ckpt, "written with %s '%s', this run has '%s': resume with the same flags",
                      keys[k], a, b);
    }
}

int cli_train(int argc, char **argv)
{
    const char *usage = cli_train_usage;
    dl_train_config cfg = dl_train_defaults();
    const char *data = cli_default(CLI_DEFAULT_DATA), *out = NULL, *arch_name = "twoconv";
    int resume = 0, json = 0;
    long limit = -1;
    /* the architecture first: its recipe is the default the flags change */
    for (int i = 1; i < argc; i++)
        if (cli_is_flag(argv[i], "--arch")) arch_name = cli_value(argc, argv, &i, usage);
    const dl_arch *arch = dl_arch_named(arch_name);
    if (!arch) cli_usage_error(usage, "--arch: '%s' is not seednet or twoconv", arch_name);
    if (arch == &dl_twoconv) cfg = dl_train_defaults_twoconv();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_flag(a, "--arch")) cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--data")) data = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--epochs"))
            cfg.epochs = (int)cli_int("--epochs", cli_value(argc, argv, &i, usage), 1, 10000, usage);
        else if (cli_is_flag(a, "--batch"))
            cfg.batch = (int)cli_int("--batch", cli_value(argc, argv, &i, usage), 1, 65536, usage);
        else if (cli_is_flag(a, "--lr"))
            cfg.lr = (float)cli_float("--lr", cli_value(argc, argv, &i, usage), 1e-9, 1e30, usage);
        else if (cli_is_flag(a, "--seed"))
            cfg.seed = (uint64_t)cli_int("--seed", cli_value(argc, argv, &i, usage), 0, 0x7fffffffffffffffL, usage);
        else if (cli_is_flag(a, "--threads"))
            cfg.threads = (int)cli_int("--threads", cli_value(argc, argv, &i, usage), 1, 256, usage);
        else if (cli_is_flag(a, "--optimizer")) {
            const char *v = cli_value(argc, argv, &i, usage);
            if (strcmp(v, "adam") == 0) cfg.opt = DL_OPT_ADAM;
            else if (strcmp(v, "sgd") == 0) cfg.opt = DL_OPT_SGD;
            else cli_usage_error(usage, "--optimizer: '%s' is not adam or sgd", v);
        }
        else if (cli_is_flag(a, "--out") || cli_is_flag(a, "--weights"))
            out = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--resume")) resume = 1;
        else if (cli_is_flag(a, "--no-augment")) cfg.augment = 0;
        else if (cli_is_flag(a, "--clean-last"))
            cfg.clean_last = (int)cli_int("--clean-last", cli_value(argc, argv, &i, usage), 0, 10000, usage);
        else if (cli_is_flag(a, "--aug-shift"))
            cfg.aug_shift = (float)cli_float("--aug-shift", cli_value(argc, argv, &i, usage), 0, 10, usage);
        else if (cli_is_flag(a, "--aug-rot"))
            cfg.aug_rot = (float)cli_float("--aug-rot", cli_value(argc, argv, &i, usage), 0, 90, usage);
        else if (cli_is_flag(a, "--aug-scale"))
            cfg.aug_scale = (float)cli_float("--aug-scale", cli_value(argc, argv, &i, usage), 0, 0.5, usage);
        else if (cli_is_flag(a, "--limit"))
            limit = cli_int("--limit", cli_value(argc, argv, &i, usage), 1, 1L << 30, usage);
        else if (cli_is_flag(a, "--json")) json = 1;
        else if (a[0] == '-') cli_usage_error(usage, "unknown option '%s'", a);
        else cli_usage_error(usage, "unexpected argument '%s'", a);
    }
    if (cfg.threads < 1) cfg.threads = omp_get_max_threads();
    char default_out[64];
    if (!out) {
        snprintf(default_out, sizeof default_out, "weights/%s.safetensors", arch_name);
        out = cli_default(default_out);
    }

    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
    check_out_path(out);

    cli_dataset train, test;
    cli_load_dataset(&train, data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    cli_load_dataset(&test, data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
    int n = train.imgs.count;
    if (limit > 0 && limit < n) n = (int)limit;

    dl_model m;
    int st = dl_model_plan(&m, arch);
    if (st == DL_OK) st = dl_model_alloc(&m);
    if (st == DL_OK) st = dl_model_init_he(&m, cfg.seed);
    if (st != DL_OK) cli_fail(arch_name, st);
    dl_trainer t;
    if ((st = dl_trainer_init(&t, &m, &cfg)) != DL_OK) cli_fail("trainer", st);
    if (resume && (st = dl_checkpoint_load(&t, ckpt)) != DL_OK) {
        if (st == DL_ERR_ARG)
            cli_failf(ckpt, "not a digitlens checkpoint of this model and optimizer");
        cli_fail(ckpt, st);
    }
    int first = resume ? t.epoch : 0;

    dl_meta extra = {0};
    if ((st = dl_arch_to_meta(arch, &extra)) != DL_OK) cli_fail(arch_name, st);
    recipe_meta(&extra, &t.cfg, n); /* t.cfg: the seed may come from the checkpoint */
    if (resume) check_recipe(ckpt, &extra);

    double train_s_total = 0;
    float acc = 0;
    int tty = isatty(STDERR_FILENO);
    for (int e = first; e < cfg.epochs; e++) {
        progress p = {.epoch = e + 1, .epochs = cfg.epochs, .tty = tty, .t0 = now(),
                      .last = 0, .next_tenth = 1};
        float loss = 0;
        st = dl_train_epoch(&t, train.imgs.pixels, train.lbls.labels, n, 0,
                            on_progress, &p, &loss);
        double train_s = now() - p.t0;
        if (tty) fputs("\r\033[K", stderr);
        if (st == DL_ERR_DIVERGED)
            cli_failf(out, "not written: epoch %d: %s (lower --lr?)", e + 1, dl_strerror(st));
        if (st != DL_OK) cli_fail("training", st);
        t.epoch = e + 1;
        train_s_total += train_s;

        int correct = 0;
        st = dl_evaluate(&m, test.imgs.pixels, test.lbls.labels, test.imgs.count,
                         cfg.threads, &correct, NULL);
        if (st != DL_OK) cli_fail("evaluation", st);
        acc = (float)correct / test.imgs.count;
        /* Saved before the epoch is reported: a reported epoch is never lost. */
        if ((st = dl_checkpoint_save(&t, ckpt, &extra)) != DL_OK) cli_fail(ckpt, st);
        double rate = train_s > 0 ? n / train_s : 0;
        fprintf(stderr, "epoch %d/%d  loss %.4f  test accuracy %.2f%%  %.1f s  %.0f img/s\n",
                e + 1, cfg.epochs, (double)loss, 100.0 * acc, train_s, rate);
        if (json) {
            printf("{\"epoch\":%d,\"train_s\":", e + 1);
            json_number(stdout, train_s);
            fputs(",\"images_per_s\":", stdout);
            json_number(stdout, rate);
            fputs(",\"loss\":", stdout);
            json_number(stdout, loss);
            fputs(",\"test_acc\":", stdout);
            json_number(stdout, acc);
            fputs("}\n", stdout);
            fflush(stdout);
        }
    }
    if (first >= cfg.epochs) {
        /* Resumed a finished run: only the test accuracy is left to measure. */
        int correct = 0;
        st = dl_evaluate(&m, test.imgs.pixels, test.lbls.labels, test.imgs.count,
                         cfg.threads, &correct, NULL);
        if (st != DL_OK) cli_fail("evaluation", st);
        acc = (float)correct / test.imgs.count;
    }

    dl_meta meta = extra;
    char date[32];
    time_t tt = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&tt));
    meta_setf(&meta, "test_accuracy", "%.4f", (double)acc);
    meta_setf(&meta, "train_seconds", "%.1f", train_s_total);
    meta_setf(&meta, "date", "%s", date);

    dl_tensor tens[DL_MAX_TENSORS];
    int nt = dl_model_tensors(&m, m.params, tens);
    size_t len = 0;
    if ((st = dl_st_save(NULL, 0, &len, tens, nt, &meta)) != DL_OK) cli_fail(out, st);
    uint8_t *buf = malloc(len);
    if (!buf) cli_fail(out, DL_ERR_NOMEM);
    if ((st = dl_st_save(buf, len, &len, tens, nt, &meta)) != DL_OK) cli_fail(out, st);
    if ((st = dl_write_file_atomic(out, buf, len)) != DL_OK) cli_fail(out, st);
    free(buf);
    /* The run is complete: a later --resume must not pick up its checkpoint. */
    unlink(ckpt);
    fprintf(stderr, "wrote %s (test accuracy %.2f%%)\n", out, 100.0 * acc);

    dl_trainer_free(&t);
    dl_model_free(&m);
    cli_free_dataset(&train);
    cli_free_dataset(&test);
    return 0;
}
