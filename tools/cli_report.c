/* cli_report.c — `digitlens report`: one or two networks measured side by
 * side on the MNIST test set (accuracy, empty Grad-CAM maps, the
 * faithfulness and sanity of every CAM method) and on digits that are not
 * MNIST's (the drawn sets of tools/drawn), as figures, metrics.json and
 * index.html in web/results/ and as the text between README's results
 * markers. What is measured, and how: report_measure.c. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"

const char cli_report_usage[] =
    "usage: digitlens report [OPTIONS]\n"
    "\n"
    "Measure one network, or two side by side, on the MNIST test set\n"
    "(accuracy, empty Grad-CAM maps per class; every CAM method's\n"
    "faithfulness: deletion and insertion AUC, average drop and increase in\n"
    "confidence; sanity checks by cascading randomisation) and, with\n"
    "--drawn, on the drawn digits (accuracy per style, Grad-CAM's\n"
    "faithfulness); write the figures, metrics.json and index.html to DIR;\n"
    "with --readme, rewrite the part of FILE between '<!-- results:begin'\n"
    "and '<!-- results:end -->' from the numbers.\n"
    "\n"
    "  --weights FILE  a network's weights; twice: two networks side by side,\n"
    "                  in that order (default " CLI_DEFAULT_WEIGHTS ")\n"
    "  --data DIR      MNIST IDX files (default " CLI_DEFAULT_DATA ")\n"
    "  --drawn DIR     the drawn sets: DIR/drawn/, DIR/writer/ (IDX files) and\n"
    "                  DIR/{drawn,writer}-styles.json, as `make drawn` makes\n"
    "                  them (default: none)\n"
    "  --out DIR       figures (default web/results)\n"
    "  --readme FILE   rewrite FILE's results part (default: leave it)\n"
    "  --faith N       MNIST images for the faithfulness curves (default 1000)\n"
    "  --drawn-faith N drawn images of each set for Grad-CAM's faithfulness\n"
    "                  (default: all)\n"
    "  --sanity N      MNIST images for the sanity checks (default 200)\n"
    "  --threads N     OpenMP threads (default: all cores)\n"
    "  --help          this text\n";

static const char *const drawn_sets[MAX_DRAWN] = {"drawn", "writer"};

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (!p) cli_fail("report", DL_ERR_NOMEM);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* the tiles of a drawn set's figure: with styles, a row per style (its
 * first digit of each class); without, the first three of each class */
static int drawn_tiles(const image_set *s, int *idx)
{
    const int rows = s->n_styles > 1 ? s->n_styles : 3;
    for (int q = 0; q < rows * 10; q++) idx[q] = -1;
    int seen[MAX_STYLES > 3 ? MAX_STYLES : 3][10] = {{0}};
    for (int i = 0; i < s->n; i++) {
        const int c = s->label[i];
        if (s->n_styles > 1) {
            const int r = s->style[i];
            if (!seen[r][c]++) idx[r * 10 + c] = i;
        } else {
            int k = seen[0][c]++;
            if (k < rows) idx[k * 10 + c] = i;
        }
    }
    return rows;
}

int cli_report(int argc, char **argv)
{
    const char *usage = cli_report_usage;
    const char *weights[MAX_NETS], *data = cli_default(CLI_DEFAULT_DATA), *out = cli_default("web/results");
    const char *readme = NULL, *drawn = NULL;
    int n_faith = 1000, n_sanity = 200, n_drawn_faith = 0, threads = 0, n_nets = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_flag(a, "--weights")) {
            const char *v = cli_value(argc, argv, &i, usage);
            if (n_nets == MAX_NETS) cli_usage_error(usage, "--weights: at most %d networks", MAX_NETS);
            weights[n_nets++] = v;
        } else if (cli_is_flag(a, "--data")) data = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--drawn")) drawn = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--out")) out = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--readme")) readme = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--faith"))
            n_faith = (int)cli_int("--faith", cli_value(argc, argv, &i, usage), 1, 10000, usage);
        else if (cli_is_flag(a, "--drawn-faith"))
            n_drawn_faith = (int)cli_int("--drawn-faith", cli_value(argc, argv, &i, usage), 1, 100000, usage);
        else if (cli_is_flag(a, "--sanity"))
            n_sanity = (int)cli_int("--sanity", cli_value(argc, argv, &i, usage), 1, 10000, usage);
        else if (cli_is_flag(a, "--threads"))
            threads = (int)cli_int("--threads", cli_value(argc, argv, &i, usage), 1, 256, usage);
        else if (a[0] == '-') cli_usage_error(usage, "unknown option '%s'", a);
        else cli_usage_error(usage, "unexpected argument '%s'", a);
    }
    if (!n_nets) weights[n_nets++] = cli_default(CLI_DEFAULT_WEIGHTS);
    if (threads) omp_set_num_threads(threads);
    const double t0 = omp_get_wtime();

    report *R = calloc(1, sizeof *R);
    if (!R) cli_fail("report", DL_ERR_NOMEM);
    R->out = out;
    R->drawn_dir = drawn;
    {
        size_t k = (size_t)snprintf(R->command, sizeof R->command, "build/digitlens report");
        for (int i = 1; i < argc && k < sizeof R->command; i++)
            k += (size_t)snprintf(R->command + k, sizeof R->command - k, " %s", argv[i]);
    }
    /* everything that can fail on input, before the long run */
    for (int k = 0; k < n_nets; k++) {
        net_load(&R->nets[k], weights[k]);
        for (int j = 0; j < k; j++)
            if (strcmp(R->nets[j].id, R->nets[k].id) == 0) {
                size_t l = strlen(R->nets[k].id);
                snprintf(R->nets[k].id + (l < 20 ? l : 20), 4, "-%d", k + 1);
                snprintf(R->nets[k].name + strlen(R->nets[k].name),
                         sizeof R->nets[k].name - strlen(R->nets[k].name), " %d", k + 1);
            }
    }
    R->n_nets = n_nets;
    set_load(&R->mnist, "mnist", "MNIST test", data, NULL);
    if (drawn) {
        for (int k = 0; k < MAX_DRAWN; k++) {
            char *dir = path_join(drawn, drawn_sets[k]), name[64];
            snprintf(name, sizeof name, "%s-styles.json", drawn_sets[k]);
            char *js = path_join(drawn, name);
            set_load(&R->drawn[k], drawn_sets[k], drawn_sets[k], dir, js);
            free(dir);
            free(js);
        }
        R->n_drawn = MAX_DRAWN;
    }
    struct stat st_;
    if (stat(out, &st_) != 0 && mkdir(out, 0777) != 0) cli_failf(out, "cannot create directory");
    if (readme) {
        uint8_t *buf; size_t len;
        int st = dl_read_file(readme, &buf, &len);
        if (st != DL_OK) cli_fail(readme, st);
        if (!strstr((char *)buf, "<!-- results:begin") || !strstr((char *)buf, "<!-- results:end -->"))
            cli_failf(readme, "has no '<!-- results:begin' ... '<!-- results:end -->' markers");
        free(buf);
    }

    /* ---- measures ------------------------------------------------------- */
    const int N = R->mnist.n;
    R->fstride = N / n_faith > 0 ? N / n_faith : 1;
    R->sstride = N / n_sanity > 0 ? N / n_sanity : 1;
    int all[NM];
    for (int mm = 0; mm < NM; mm++) all[mm] = mm;
    const int lite[3] = {DL_M_GRADCAM, M_RANDOM, M_INK};
    for (int k = 0; k < n_nets; k++) {
        net *nt = &R->nets[k];
        double t = omp_get_wtime();
        measure_set(nt, &R->mnist, &nt->mnist, 1);
        find_errors(nt, &R->mnist);
        if (!(nt->S = malloc(sizeof *nt->S))) cli_fail("report", DL_ERR_NOMEM);
        measure_faith(nt, &R->mnist, &nt->mnist, R->fstride, R->sstride, all, NM, nt->S);
        for (int s = 0; s < R->n_drawn; s++) {
            set_result *r = &nt->drawn[s];
            measure_set(nt, &R->drawn[s], r, 0);
            if (!(r->faith = malloc(sizeof *r->faith))) cli_fail("report", DL_ERR_NOMEM);
            const int n = R->drawn[s].n, stride = n_drawn_faith && n / n_drawn_faith > 1 ? n / n_drawn_faith : 1;
            measure_faith(nt, &R->drawn[s], r, stride, 0, lite, 3, r->faith);
        }
        nt->seconds = omp_get_wtime() - t;
    }

    /* ---- figures: the same digits, a file per network --------------------- */
    for (int c = 0; c < 10; c++) {
        R->first_of_class[c] = -1;
        for (int i = 0, k = 0; i < N && k < 10; i++)
            if (R->mnist.label[i] == c) {
                if (!k) R->first_of_class[c] = i;
                R->gallery[c * 10 + k++] = i;
            }
    }
    for (int s = 0; s < R->n_drawn; s++) R->drawn_rows[s] = drawn_tiles(&R->drawn[s], R->drawn_tiles[s]);
    for (int k = 0; k < n_nets; k++) {
        const net *nt = &R->nets[k];
        char f[96];
#define FIG(name) (snprintf(f, sizeof f, "%s-%s.png", name, nt->id), f)
        fig_confusion(out, FIG("confusion"), nt->mnist.conf);
        fig_tiles(out, FIG("gallery"), nt, &R->mnist, &nt->mnist, R->gallery, 10, 10);
        fig_mean(out, FIG("mean_gradcam"), nt);
        fig_errors(out, FIG("errors"), nt, &R->mnist);
        fig_methods(out, FIG("methods"), nt, &R->mnist, R->first_of_class);
        fig_chart(out, FIG("deletion"), &nt->S->del[0][0], NM, STEPS + 1, 0, 1);
        fig_chart(out, FIG("insertion"), &nt->S->ins[0][0], NM, STEPS + 1, 0, 1);
        {
            double ys[NM][MAX_CASCADE + 1];
            for (int mm = 0; mm < NM; mm++) {
                ys[mm][0] = 1;
                for (int q = 0; q < nt->n_casc; q++) ys[mm][q + 1] = nt->S->rho[mm][q];
            }
            /* rows of n_casc + 1 points: repack the MAX_CASCADE + 1 wide rows */
            double packed[NM * (MAX_CASCADE + 1)];
            for (int mm = 0; mm < NM; mm++)
                memcpy(packed + mm * (nt->n_casc + 1), ys[mm], sizeof(double) * (size_t)(nt->n_casc + 1));
            fig_chart(out, FIG("sanity"), packed, NM, nt->n_casc + 1, -0.2, 1);
        }
        for (int s = 0; s < R->n_drawn; s++)
            fig_tiles(out, FIG(R->drawn[s].key), nt, &R->drawn[s], &nt->drawn[s], R->drawn_tiles[s],
                      R->drawn_rows[s], 10);
#undef FIG
    }
    R->seconds = omp_get_wtime() - t0;

    /* ---- text ------------------------------------------------------------- */
    write_metrics(R);
    write_page(R);
    if (readme) {
        sbuf r = {0};
        readme_part(R, &r);
        uint8_t *buf; size_t len;
        int st = dl_read_file(readme, &buf, &len);
        if (st != DL_OK) cli_fail(readme, st);
        char *b = (char *)buf, *s0 = strstr(b, "<!-- results:begin"), *e0 = s0 ? strstr(s0, "<!-- results:end -->") : NULL;
        if (!s0 || !e0) cli_failf(readme, "has no '<!-- results:begin' ... '<!-- results:end -->' markers");
        e0 += strlen("<!-- results:end -->");
        sbuf o = {0};
        sb(&o, "%.*s%s%.*s", (int)(s0 - b), b, r.s, (int)(len - (size_t)(e0 - b)), e0);
        if ((st = dl_write_file_atomic(readme, (const uint8_t *)o.s, o.n)) != DL_OK) cli_fail(readme, st);
        free(buf);
        free(o.s);
        free(r.s);
    }

    printf("report: %d test images, %d for faithfulness, %d for sanity, %.1f s -> %s/index.html\n",
           N, R->nets[0].S->n, R->nets[0].S->n_sanity, R->seconds, out);
    for (int k = 0; k < n_nets; k++) {
        const net *nt = &R->nets[k];
        const stats *S = nt->S;
        printf("%s (%s): %.2f %%", nt->name, nt->path, 100.0 * nt->mnist.correct / N);
        for (int s = 0; s < R->n_drawn; s++)
            printf(", %s %.2f %%", R->drawn[s].name, 100.0 * nt->drawn[s].correct / R->drawn[s].n);
        printf("; %.1f s\n", nt->seconds);
        for (int mm = 0; mm < NM; mm++)
            printf("  %-16s deletion %.3f  insertion %.3f  drop %5.1f%%  incr %5.1f%%  rho %5.2f %5.2f  %s  %6.2f ms/map\n",
                   report_method_name(mm), S->del_auc[mm], S->ins_auc[mm], 100 * S->drop[mm], 100 * S->incr[mm],
                   S->rho[mm][0], S->rho[mm][nt->n_casc - 1], S->pass[mm] ? "pass" : "fail",
                   1e3 * S->map_s[mm] / S->n);
    }
    for (int k = 0; k < n_nets; k++) net_free(&R->nets[k]);
    set_free(&R->mnist);
    for (int s = 0; s < R->n_drawn; s++) set_free(&R->drawn[s]);
    free(R);
    return fflush(stdout) == 0 ? 0 : 1;
}
