/* digitlens.c — the `digitlens` command: usage and dispatch.
 *
 *   digitlens train    [--data DIR] [--epochs N] ... [--out FILE]
 *   digitlens eval     [--data DIR] [--weights FILE] [--json]
 *   digitlens classify [--json] [--index N] [--limit N] FILE...
 *   digitlens explain  [--class C|all] [--json] [--out DIR] FILE...
 *   digitlens bench    [--json] [--quick] ...
 *   digitlens report   [--weights FILE [--weights FILE]] [--drawn DIR] [--out DIR] ...
 *   digitlens quantize --out FILE [--dtype d4|int8|f16] [--weights FILE]
 *
 * Exit status: 0 done, 1 bad input (one line on stderr naming the file and
 * the problem), 2 usage error. */
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: digitlens COMMAND [OPTIONS]\n"
    "\n"
    "Grad-CAM for handwritten digits: a small ConvNet and the maps that\n"
    "explain its class scores.\n"
    "\n"
    "commands:\n"
    "  train     train a network (two-conv or seed) on MNIST, write its weights\n"
    "  eval      accuracy on the MNIST test set, per class, confusion matrix\n"
    "  classify  the digit in PNG images or IDX image files\n"
    "  explain   Grad-CAM maps of the class scores, as JSON or PNG overlays\n"
    "  bench     native speed of each job, and how far it is from the floor\n"
    "  report    one or two networks side by side: every CAM method on MNIST,\n"
    "            accuracy on drawn digits; figures, README results\n"
    "  quantize  store the weights as d4, int8 or F16, accuracy before and after\n"
    "\n"
    "Every command takes --weights FILE (default " CLI_DEFAULT_WEIGHTS ")\n"
    "and --help. Exit status: 0 ok, 1 bad input, 2 usage error.\n";

static const cli_command commands[] = {
    {"train", cli_train, cli_train_usage},
    {"eval", cli_eval, cli_eval_usage},
    {"classify", cli_classify, cli_classify_usage},
    {"explain", cli_explain, cli_explain_usage},
    {"bench", cli_bench, cli_bench_usage},
    {"report", cli_report, cli_report_usage},
    {"quantize", cli_quantize, cli_quantize_usage},
};

int main(int argc, char **argv)
{
    cli_find_checkout();
    cli_train_usage_init();
    if (argc < 2) cli_usage_error(usage, "no command given");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) == 0) {
            cli_help(argc - 1, argv + 1, commands[i].usage);
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    cli_usage_error(usage, "unknown command '%s'", cmd);
}
