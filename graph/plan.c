/* The plan: which calls form a piece (one CUDA graph per bucket) and which run eagerly.
 * Pure CPU logic, tested without a GPU. A piece is a maximal run of consecutive capturable
 * calls; every call that may not be captured is a split step of its own, so adjacent split
 * ops produce no empty piece between them and a split at either end produces no empty
 * piece before or after it. */
#include "graph/graph_impl.h"

int seam_graph_plan_split(const unsigned char *capturable, int n, plan_step *steps, int *num_pieces) {
    int count = 0, pieces = 0;
    for (int i = 0; i < n;) {
        plan_step *s = &steps[count++];
        s->first_call = i;
        if (!capturable[i]) {
            s->kind = SEAM_GRAPH_STEP_SPLIT;
            s->piece = -1;
            s->num_calls = 1;
            i++;
            continue;
        }
        int j = i;
        while (j < n && capturable[j]) j++;
        s->kind = SEAM_GRAPH_STEP_PIECE;
        s->piece = pieces++;
        s->num_calls = j - i;
        i = j;
    }
    *num_pieces = pieces;
    return count;
}

int seam_graph_plan_bucket_index(const int *buckets, int num_buckets, int tokens) {
    int lo = 0, hi = num_buckets - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (buckets[mid] == tokens) return mid;
        if (buckets[mid] < tokens) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}
