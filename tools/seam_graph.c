/* seam-graph: the piecewise plan of a sample DSA-like forward (toy ops, tools/toy_ops.h):
 * pieces, ops per piece, split points, buckets, arena bytes; as text and as Graphviz DOT.
 * Works without a GPU (a host context plans only). With --gpu it also captures every bucket
 * (capture times per bucket in the plan) and can dump one captured piece through
 * cudaGraphDebugDotPrint.
 *
 *   seam-graph [--layers N] [--kernels M] [--width W] [--max-tokens T] [--graph-safe]
 *              [--exec update|per-bucket] [--dot FILE|-] [--gpu]
 *              [--dump-piece P --dump-tokens T --dump FILE]
 *
 * SEAM_CAPTURE_SIZES, SEAM_PIECEWISE and SEAM_LOG apply as usual; --graph-safe overrides
 * SEAM_GRAPH_SAFE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "seam.h"
#include "tools/toy_ops.h"

static int fail(const char *what, seam_status s) {
    fprintf(stderr, "seam-graph: %s: %s: %s\n", what, seam_status_string(s), seam_last_error());
    return 1;
}

static void usage(void) {
    fprintf(stderr,
            "usage: seam-graph [--layers N] [--kernels M] [--width W] [--max-tokens T] [--graph-safe]\n"
            "                  [--exec update|per-bucket] [--dot FILE|-] [--gpu]\n"
            "                  [--dump-piece P --dump-tokens T --dump FILE]\n");
}

typedef struct options {
    int layers, kernels, width, max_tokens, graph_safe, gpu;
    seam_graph_exec_mode exec_mode;
    const char *dot;
    int dump_piece, dump_tokens;
    const char *dump;
} options;

static int parse(int argc, char **argv, options *o) {
    o->layers = 4;
    o->kernels = 20;
    o->width = 512;
    o->max_tokens = 512;
    o->graph_safe = -1;
    o->gpu = 0;
    o->exec_mode = SEAM_GRAPH_EXEC_UPDATE;
    o->dot = NULL;
    o->dump_piece = -1;
    o->dump_tokens = 0;
    o->dump = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define INT_OPT(name, field)                                                                  \
    if (strcmp(a, name) == 0 && v) {                                                          \
        o->field = atoi(v);                                                                   \
        i++;                                                                                  \
        continue;                                                                             \
    }
        INT_OPT("--layers", layers)
        INT_OPT("--kernels", kernels)
        INT_OPT("--width", width)
        INT_OPT("--max-tokens", max_tokens)
        INT_OPT("--dump-piece", dump_piece)
        INT_OPT("--dump-tokens", dump_tokens)
#undef INT_OPT
        if (strcmp(a, "--graph-safe") == 0) o->graph_safe = 1;
        else if (strcmp(a, "--gpu") == 0) o->gpu = 1;
        else if (strcmp(a, "--dot") == 0 && v) o->dot = v, i++;
        else if (strcmp(a, "--dump") == 0 && v) o->dump = v, i++;
        else if (strcmp(a, "--exec") == 0 && v && strcmp(v, "update") == 0) o->exec_mode = SEAM_GRAPH_EXEC_UPDATE, i++;
        else if (strcmp(a, "--exec") == 0 && v && strcmp(v, "per-bucket") == 0) o->exec_mode = SEAM_GRAPH_EXEC_PER_BUCKET, i++;
        else return 0;
    }
    if (o->layers < 1 || o->kernels < 4 || o->width < 1 || o->max_tokens < 1) return 0;
    if (o->dump && (!o->gpu || o->dump_piece < 0 || o->dump_tokens < 1)) return 0;
    return 1;
}

int main(int argc, char **argv) {
    options o;
    if (!parse(argc, argv, &o)) {
        usage();
        return 2;
    }
    seam_config cfg;
    seam_status s = seam_config_from_env(&cfg);
    if (s != SEAM_OK) return fail("reading the configuration", s);
    if (o.graph_safe >= 0) cfg.graph_safe = o.graph_safe;
    seam_registry *reg;
    if ((s = seam_registry_create(&reg)) != SEAM_OK) return fail("seam_registry_create", s);
    if ((s = toy_register_ops(reg)) != SEAM_OK) return fail("registering the toy ops", s);

    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = o.gpu ? 0 : SEAM_DEVICE_HOST;
    p.max_tokens = o.max_tokens;
    p.max_batch = o.max_tokens < 64 ? o.max_tokens : 64;
    p.max_context = o.max_tokens + 64;
    p.num_layers = o.layers;
    p.workspace_bytes = 0;
    p.config = &cfg;
    seam_context *ctx;
    if ((s = seam_context_create(&ctx, &p)) != SEAM_OK) return fail("seam_context_create", s);

    /* Planning never touches the input; with a GPU it is a real buffer. */
    void *input = NULL;
    static float host_placeholder[1];
    if (o.gpu) {
        size_t bytes = (size_t)o.max_tokens * (size_t)o.width * sizeof(float);
        cudaError_t e = cudaMalloc(&input, bytes);
        if (e != cudaSuccess) {
            fprintf(stderr, "seam-graph: cudaMalloc(%zu): %s\n", bytes, cudaGetErrorString(e));
            return 1;
        }
        cudaMemset(input, 0, bytes);
    } else {
        input = host_placeholder;
    }
    seam_program *prog;
    if ((s = seam_program_create(&prog, reg)) != SEAM_OK) return fail("seam_program_create", s);
    int out_id;
    if ((s = toy_build_layers(prog, input, o.max_tokens, o.width, o.layers, o.kernels, &out_id)) != SEAM_OK)
        return fail("building the sample program", s);

    seam_graph_options opts = SEAM_GRAPH_OPTIONS_INITIALIZER;
    opts.exec_mode = o.exec_mode;
    seam_graph *graph;
    if ((s = seam_graph_build(&graph, prog, ctx, &opts)) != SEAM_OK) return fail("seam_graph_build", s);
    seam_program_destroy(prog);

    printf("sample: %d layers x %d kernels, width %d, max_tokens %d%s\n", o.layers, o.kernels, o.width,
           o.max_tokens, o.gpu ? "" : " (no GPU: plan only; --gpu captures)");
    seam_graph_write_plan(graph, stdout);
    int rc = 0;
    if (o.dot) {
        FILE *f = strcmp(o.dot, "-") == 0 ? stdout : fopen(o.dot, "w");
        if (!f) {
            perror(o.dot);
            rc = 1;
        } else {
            seam_graph_write_dot(graph, f);
            if (f != stdout) {
                fclose(f);
                printf("plan DOT written to %s (render: dot -Tsvg %s -o plan.svg)\n", o.dot, o.dot);
            }
        }
    }
    if (o.dump) {
        s = seam_graph_dump_piece(graph, o.dump_piece, o.dump_tokens, o.dump);
        if (s != SEAM_OK) rc = fail("seam_graph_dump_piece", s);
        else printf("piece %d at %d tokens written to %s\n", o.dump_piece, o.dump_tokens, o.dump);
    }
    seam_graph_destroy(graph);
    if (o.gpu) cudaFree(input);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
    return rc;
}
