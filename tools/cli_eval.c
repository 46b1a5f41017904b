/* cli_eval.c — `digitlens eval`: accuracy on the MNIST test set, per class,
 * and the confusion matrix. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "train.h"

const char cli_eval_usage[] =
    "usage: digitlens eval [OPTIONS]\n"
    "\n"
    "Accuracy of the weights on the 10,000 MNIST test images, per class, and\n"
    "the confusion matrix (rows: true digit, columns: predicted).\n"
    "\n"
    "  --weights FILE  weights to evaluate (default " CLI_DEFAULT_WEIGHTS ")\n"
    "  --data DIR      MNIST IDX files (default " CLI_DEFAULT_DATA ")\n"
    "  --threads N     OpenMP threads (default: all cores)\n"
    "  --json          one object: {\"accuracy\", \"correct\", \"total\",\n"
    "                  \"per_class\": [10], \"confusion\": [10][10]}\n"
    "  --help          this text\n";

int cli_eval(int argc, char **argv)
{
    const char *usage = cli_eval_usage;
    const char *weights = cli_default(CLI_DEFAULT_WEIGHTS), *data = cli_default(CLI_DEFAULT_DATA);
    int json = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_flag(a, "--weights")) weights = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--data")) data = cli_value(argc, argv, &i, usage);
        else if (cli_is_flag(a, "--threads"))
            threads = (int)cli_int("--threads", cli_value(argc, argv, &i, usage), 1, 256, usage);
        else if (cli_is_flag(a, "--json")) json = 1;
        else if (a[0] == '-') cli_usage_error(usage, "unknown option '%s'", a);
        else cli_usage_error(usage, "unexpected argument '%s'", a);
    }
    if (threads == 0) threads = omp_get_max_threads();

    dl_model m;
    cli_load_model(&m, weights, NULL);
    cli_dataset d;
    cli_load_dataset(&d, data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");

    int correct = 0, conf[10][10];
    memset(conf, 0, sizeof conf);
    int n = d.imgs.count;
    int st = dl_evaluate(&m, d.imgs.pixels, d.lbls.labels, n, threads, &correct, conf);
    if (st != DL_OK) cli_fail(data, st);

    double per[10];
    int total[10];
    for (int t = 0; t < 10; t++) {
        total[t] = 0;
        for (int p = 0; p < 10; p++) total[t] += conf[t][p];
        per[t] = total[t] ? (double)conf[t][t] / total[t] : 0.0;
    }
    double acc = (double)correct / n;

    if (json) {
        printf("{\"accuracy\":%.9g,\"correct\":%d,\"total\":%d,\"per_class\":[",
               acc, correct, n);
        for (int t = 0; t < 10; t++) printf("%s%.9g", t ? "," : "", per[t]);
        fputs("],\"confusion\":[", stdout);
        for (int t = 0; t < 10; t++) {
            fputs(t ? ",[" : "[", stdout);
            for (int p = 0; p < 10; p++) printf("%s%d", p ? "," : "", conf[t][p]);
            fputc(']', stdout);
        }
        fputs("]}\n", stdout);
    } else {
        printf("weights  %s\naccuracy %.2f%% (%d of %d)\n\n", weights, 100.0 * acc,
               correct, n);
        printf("true  accuracy | predicted\n");
        printf("               |");
        for (int p = 0; p < 10; p++) printf("%6d", p);
        printf("\n");
        for (int t = 0; t < 10; t++) {
            printf("%4d  %7.2f%% |", t, 100.0 * per[t]);
            for (int p = 0; p < 10; p++) printf("%6d", conf[t][p]);
            printf("\n");
        }
    }
    cli_free_dataset(&d);
    dl_model_free(&m);
    return fflush(stdout) == 0 ? 0 : 1;
}
