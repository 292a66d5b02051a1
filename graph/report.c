/* What the builder did: stats, the plan's steps, per-bucket capture times, as numbers, as
 * text (seam-graph) and as Graphviz DOT; one captured piece through cudaGraphDebugDotPrint. */
#include <string.h>

#include "graph/graph_impl.h"
#include "runtime/cuda_check.h"

seam_status seam_graph_get_stats(const seam_graph *g, seam_graph_stats *out) {
    SEAM_CHECK_PTR(g);
    SEAM_CHECK_PTR(out);
    SEAM_CHECK_ARG(out->struct_size == sizeof(seam_graph_stats),
                   "out->struct_size=%zu, expected %zu (use SEAM_GRAPH_STATS_INITIALIZER)",
                   out->struct_size, sizeof(seam_graph_stats));
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->num_calls = g->num_calls;
    out->num_steps = g->num_steps;
    out->num_pieces = g->num_pieces;
    out->num_split_ops = g->num_split_ops;
    for (int i = 0; i < g->num_pieces; i++) {
        const graph_piece *p = &g->pieces[i];
        out->num_eager_pieces += p->eager;
        out->num_execs += p->num_slots;
        for (int b = 0; b < g->num_buckets; b++) out->num_graphs += p->graphs[b] != NULL;
    }
    out->num_buckets = g->num_buckets;
    out->graph_safe = g->graph_safe;
    out->piecewise = g->piecewise;
    out->captured = g->captured;
    out->exec_mode = g->opts.exec_mode;
    out->arena_tokens = g->max_tokens;
    out->arena_bytes = g->arena_bytes;
    out->arena_need_bytes = g->arena_need;
    for (int i = 0; i < g->num_tensors; i++) out->num_scratch += g->tensors[i].scratch;
    out->warmup_ms = g->warmup_ms;
    out->build_ms = g->build_ms;
    for (int b = 0; b < g->num_buckets; b++) {
        const seam_graph_bucket *st = &g->bucket_stats[b];
        out->capture_total_ms += st->capture_ms + st->instantiate_ms + st->update_ms;
    }
    out->runtime_updates = g->runtime_updates;
    out->runtime_instantiations = g->runtime_instantiations;
    return SEAM_OK;
}

seam_status seam_graph_get_step(const seam_graph *g, int index, seam_graph_step *out) {
    SEAM_CHECK_PTR(g);
    SEAM_CHECK_PTR(out);
    SEAM_CHECK_ARG(index >= 0 && index < g->num_steps, "index=%d is not in [0, %d)", index, g->num_steps);
    const plan_step *st = &g->steps[index];
    out->kind = st->kind;
    out->piece = st->piece;
    out->first_call = st->first_call;
    out->num_calls = st->num_calls;
    out->eager = 0;
    out->failed_op = NULL;
    out->failure = "";
    if (st->kind == SEAM_GRAPH_STEP_PIECE) {
        const graph_piece *p = &g->pieces[st->piece];
        out->eager = p->eager;
        out->failed_op = p->failed_op[0] ? p->failed_op : NULL;
        out->failure = p->failure;
    }
    return SEAM_OK;
}

seam_status seam_graph_get_bucket(const seam_graph *g, int index, seam_graph_bucket *out) {
    SEAM_CHECK_PTR(g);
    SEAM_CHECK_PTR(out);
    SEAM_CHECK_ARG(index >= 0 && index < g->num_buckets, "index=%d is not in [0, %d)", index,
                   g->num_buckets);
    *out = g->bucket_stats[index];
    return SEAM_OK;
}

/* Op names of calls [first, first + count), runs of one op as "name x4", at most 16 runs. */
static void write_op_runs(const seam_graph *g, int first, int count, FILE *f) {
    int runs = 0, end = first + count;
    for (int c = first; c < end;) {
        int n = 1;
        while (c + n < end && g->calls[c + n].op == g->calls[c].op) n++;
        if (runs++ == 16) {
            fprintf(f, " ... (%d more ops)", end - c);
            return;
        }
        fprintf(f, n > 1 ? " %s x%d" : " %s", g->calls[c].op->name, n);
        c += n;
    }
}

static const char *piece_state(const seam_graph *g, const graph_piece *p) {
    if (!p->eager) return "captured";
    if (p->failed_op[0]) return "EAGER (capture failed)";
    return g->captured ? "eager" : "not captured";
}

seam_status seam_graph_write_plan(const seam_graph *g, FILE *f) {
    SEAM_CHECK_PTR(g);
    SEAM_CHECK_PTR(f);
    seam_graph_stats s = SEAM_GRAPH_STATS_INITIALIZER;
    SEAM_TRY(seam_graph_get_stats(g, &s));
    int external = 0;
    for (int i = 0; i < g->num_tensors; i++) external += g->tensors[i].external;
    fprintf(f, "program: %d calls, %d tensors (%d arena, %d external)\n", g->num_calls, g->num_tensors,
            g->num_tensors - external, external);
    fprintf(f, "mode: graph_safe=%d piecewise=%d exec=%s%s\n", g->graph_safe, g->piecewise,
            g->opts.exec_mode == SEAM_GRAPH_EXEC_UPDATE ? "update" : "per-bucket",
            g->has_device ? "" : " (host context: plan only)");
    fprintf(f, "plan: %d steps = %d pieces + %d split ops\n", g->num_steps, g->num_pieces, g->num_split_ops);
    fprintf(f, "arena: %zu bytes (%.2f MiB) for %d tokens; tensors need %zu bytes unshared (%d scratch "
            "tensors share by live range)\n", g->arena_bytes, (double)g->arena_bytes / (1 << 20), g->max_tokens,
            g->arena_need, s.num_scratch);
    fprintf(f, "buckets (%d):", g->num_buckets);
    for (int b = 0; b < g->num_buckets; b++) fprintf(f, "%s%d", b ? "," : " ", g->buckets[b]);
    fprintf(f, "\nsteps:\n");
    for (int i = 0; i < g->num_steps; i++) {
        const plan_step *st = &g->steps[i];
        if (st->kind == SEAM_GRAPH_STEP_SPLIT) {
            const seam_op *op = g->calls[st->first_call].op;
            fprintf(f, "  split      call %-4d %s (%s)\n", st->first_call, op->name, seam_op_class_string(op));
            continue;
        }
        const graph_piece *p = &g->pieces[st->piece];
        fprintf(f, "  piece %-4d calls %d-%d (%d op%s), %s:", st->piece, st->first_call,
                st->first_call + st->num_calls - 1, st->num_calls, st->num_calls == 1 ? "" : "s",
                piece_state(g, p));
        write_op_runs(g, st->first_call, st->num_calls, f);
        fprintf(f, "\n");
        if (p->failure[0]) fprintf(f, "             %s\n", p->failure);
    }
    if (g->captured) {
        fprintf(f, "capture (ms): bucket tokens capture instantiate update inst/upd/refused\n");
        for (int b = g->num_buckets - 1; b >= 0; b--) {
            const seam_graph_bucket *st = &g->bucket_stats[b];
            fprintf(f, "  %3d %6d %8.2f %8.2f %8.2f %4d/%d/%d\n", b, st->tokens, st->capture_ms,
                    st->instantiate_ms, st->update_ms, st->instantiations, st->updates, st->update_refusals);
        }
        fprintf(f, "capture total %.1f ms, warm-up %.1f ms, build %.1f ms; %d graphs, %d executables\n",
                s.capture_total_ms, s.warmup_ms, s.build_ms, s.num_graphs, s.num_execs);
    }
    return SEAM_OK;
}

/* DOT identifiers are quoted; op names are registry names, escaped anyway. */
static void dot_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

seam_status seam_graph_write_dot(const seam_graph *g, FILE *f) {
    SEAM_CHECK_PTR(g);
    SEAM_CHECK_PTR(f);
    fprintf(f, "digraph seam_plan {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n");
    fprintf(f, "  label=\"seam plan: %d pieces, %d split ops, %d buckets, arena %zu bytes, graph_safe=%d\";\n",
            g->num_pieces, g->num_split_ops, g->num_buckets, g->arena_bytes, g->graph_safe);
    for (int i = 0; i < g->num_steps; i++) {
        const plan_step *st = &g->steps[i];
        if (st->kind == SEAM_GRAPH_STEP_SPLIT) {
            fprintf(f, "  c%d [label=", st->first_call);
            dot_string(f, g->calls[st->first_call].op->name);
            fprintf(f, ", style=filled, fillcolor=\"#f4b6b6\", color=red];\n");
            continue;
        }
        const graph_piece *p = &g->pieces[st->piece];
        fprintf(f, "  subgraph cluster_piece%d {\n    label=\"piece %d (%s)\";\n    style=%s;\n",
                st->piece, st->piece, piece_state(g, p), p->failed_op[0] ? "dashed" : "rounded");
        for (int c = st->first_call; c < st->first_call + st->num_calls; c++) {
            fprintf(f, "    c%d [label=", c);
            dot_string(f, g->calls[c].op->name);
            fprintf(f, "];\n");
        }
        fprintf(f, "  }\n");
    }
    for (int c = 0; c + 1 < g->num_calls; c++) fprintf(f, "  c%d -> c%d;\n", c, c + 1);
    fprintf(f, "}\n");
    return SEAM_OK;
}

seam_status seam_graph_dump_piece(const seam_graph *g, int piece, int tokens, const char *path) {
    SEAM_CHECK_PTR(g);
    SEAM_CHECK_PTR(path);
    SEAM_CHECK_ARG(piece >= 0 && piece < g->num_pieces, "piece=%d is not in [0, %d)", piece, g->num_pieces);
    int b = seam_graph_plan_bucket_index(g->buckets, g->num_buckets, tokens);
    SEAM_CHECK_ARG(b >= 0, "tokens=%d is not one of the graph's %d buckets", tokens, g->num_buckets);
    const graph_piece *p = &g->pieces[piece];
    if (!p->graphs || !p->graphs[b])
        return seam_fail(SEAM_ERR_STATE, __func__, "piece %d was not captured at %d tokens%s%s", piece,
                         tokens, p->failure[0] ? ": " : "", p->failure);
    SEAM_CUDA_CHECK(cudaGraphDebugDotPrint(p->graphs[b], path, cudaGraphDebugDotFlagsVerbose));
    return SEAM_OK;
}
