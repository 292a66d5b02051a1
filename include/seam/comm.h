/* seam_comm: the tensor-parallel group seam broadcasts top-k indices over, and the cross-rank
 * determinism digest that proves when the broadcast is no longer needed.
 *
 * NCCL is loaded at run time (dlopen "libnccl.so.2", then "libnccl.so"), so libseam loads and
 * runs where NCCL is absent; a call that needs NCCL then returns SEAM_ERR_NCCL saying so.
 * A world of one rank needs no NCCL at all: every collective on it is a no-op.
 *
 * Lifetimes: a communicator made by seam_comm_init_rank is owned and destroyed by seam; one
 * made by seam_comm_borrow wraps the engine's ncclComm_t, which seam never destroys or aborts
 * (seam_comm_destroy only forgets it).
 *
 * Dead or hung peers: after an eager collective seam waits for the stream while polling
 * ncclCommGetAsyncError; past the timeout (SEAM_NCCL_TIMEOUT_MS, or the config's timeout_ms)
 * an owned communicator is aborted and the call returns SEAM_ERR_TIMEOUT; an asynchronous
 * NCCL error returns SEAM_ERR_NCCL. Later calls on an aborted communicator return
 * SEAM_ERR_STATE. A borrowed communicator is never aborted: the error is returned and the
 * engine decides. Inside CUDA graph capture nothing waits (the op is enqueued only).
 *
 * Determinism digest: seam_topk_digest hashes each layer's final top-k output on the device
 * into a seam_digest (one entry per layer: a hash of the whole layer plus one hash per row);
 * seam_comm_check_digest gathers the per-layer hashes of every rank and, where they differ,
 * the row hashes of the first differing layer, and reports the first layer and row where a
 * rank disagrees with rank 0.
 *
 * The hash (the tests recompute it on the CPU from this description):
 *   mix(x)        = the splitmix64 finalizer: x ^= x >> 30; x *= 0xbf58476d1ce4e5b9;
 *                   x ^= x >> 27; x *= 0x94d049bb133111eb; x ^= x >> 31
 *   row hash      = mix(S + k * 0x9e3779b97f4a7c15), where S is the sum (mod 2^64) over the
 *                   row's k entries j of mix((uint32)v[j] | (uint64)j << 32)
 *   layer hash    = mix(R ^ rows), where R is the sum over rows i < rows of
 *                   mix(row_hash[i] ^ (uint64)i * 0x9e3779b97f4a7c15)
 * Sums are order-free, so the kernel reduces in any order and stays bitwise reproducible.
 * rows is the real row count (the context's top-k row count, not the graph's bucket), so an
 * eager forward and a padded graph replay of the same batch give the same digest. */
#ifndef SEAM_COMM_H
#define SEAM_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "seam/export.h"
#include "seam/op.h"
#include "seam/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct seam_comm seam_comm;

/* NCCL's unique id, passed between processes as 128 opaque bytes. */
#define SEAM_COMM_ID_BYTES 128
typedef struct seam_comm_id {
    char internal[SEAM_COMM_ID_BYTES];
} seam_comm_id;

/* Options of a communicator. timeout_ms 0 takes SEAM_NCCL_TIMEOUT_MS (default 600000).
 * wait_eager 1: an eager collective (stream not capturing) returns only when the stream has
 * finished it, with dead-peer detection; 0: it is only enqueued, and the caller waits with
 * seam_comm_wait at its own synchronization point. nccl_single_rank 1: a world of one rank
 * still creates an NCCL communicator (tests and benchmarks of NCCL's own cost); 0: no NCCL. */
typedef struct seam_comm_config {
    size_t struct_size;
    int timeout_ms;
    int wait_eager;
    int nccl_single_rank;
} seam_comm_config;

#define SEAM_COMM_CONFIG_INITIALIZER { sizeof(seam_comm_config), 0, 1, 0 }

/* The version of the NCCL that seam loads (ncclGetVersion, e.g. 22803 for 2.28.3); loads
 * it on first use. SEAM_ERR_NCCL, naming what is missing, when NCCL cannot be loaded. */
SEAM_API seam_status seam_comm_nccl_version(int *version);

/* A new unique id (ncclGetUniqueId). Call it in one process and hand the bytes to every rank
 * (seam-launch writes it to the file named by SEAM_LAUNCH_ID_FILE). Needs NCCL. */
SEAM_API seam_status seam_comm_unique_id(seam_comm_id *out);

/* Join a group of nranks ranks on CUDA device `device` (ncclCommInitRank: it returns when
 * every rank has joined, or SEAM_ERR_TIMEOUT when one has not within the timeout). nranks 1
 * needs no id, no NCCL and no GPU (unless config asks for NCCL).
 * After joining, one small broadcast and all-gather set up NCCL's connections, so later
 * collectives (and graph capture) never wait on connection setup. config may be NULL. */
SEAM_API seam_status seam_comm_init_rank(seam_comm **out, int nranks, const seam_comm_id *id,
                                         int rank, int device);
SEAM_API seam_status seam_comm_init_rank_config(seam_comm **out, int nranks,
                                                const seam_comm_id *id, int rank, int device,
                                                const seam_comm_config *config);

/* Join the group seam-launch started this process in (SEAM_LAUNCH_RANK, SEAM_LAUNCH_SIZE,
 * SEAM_LAUNCH_DEVICE, SEAM_LAUNCH_ID_FILE). SEAM_ERR_NOT_FOUND when the process was not
 * started by seam-launch. config may be NULL. */
SEAM_API seam_status seam_comm_init_launched(seam_comm **out, const seam_comm_config *config);

/* Wrap an engine's ncclComm_t (passed as void *). Rank, size and device come from NCCL.
 * seam never destroys or aborts it. config may be NULL (nccl_single_rank is ignored). */
SEAM_API seam_status seam_comm_borrow(seam_comm **out, void *nccl_comm,
                                      const seam_comm_config *config);

/* Owned: ncclCommDestroy (nothing more after an abort). Borrowed: forgets it. Accepts NULL. */
SEAM_API seam_status seam_comm_destroy(seam_comm *comm);

SEAM_API seam_status seam_comm_rank(const seam_comm *comm, int *rank);
SEAM_API seam_status seam_comm_size(const seam_comm *comm, int *size);
SEAM_API seam_status seam_comm_device(const seam_comm *comm, int *device);
/* Change the dead-peer timeout (ms, > 0) for later calls, e.g. a long one for joining and a
 * short one for collectives. */
SEAM_API seam_status seam_comm_set_timeout(seam_comm *comm, int timeout_ms);
/* The ncclComm_t (NULL for a world of one without NCCL). */
SEAM_API seam_status seam_comm_nccl_handle(const seam_comm *comm, void **nccl_comm);
/* 1 when collectives on this communicator may be captured in a CUDA graph: no NCCL (a
 * no-op), or NCCL >= 2.9. When 0, use the split op "topk_broadcast_split". */
SEAM_API seam_status seam_comm_can_capture(const seam_comm *comm, int *can_capture);

/* In-place broadcast of count elements of buf (device memory on the comm's device) from
 * `root` to every rank, on stream. Capturable: inside capture it is only enqueued; eagerly it
 * waits per the config's wait_eager. A world of one: no-op. */
SEAM_API seam_status seam_comm_broadcast(seam_comm *comm, void *buf, size_t count,
                                         seam_dtype dtype, int root, seam_stream stream);

/* Wait until stream has finished, polling the communicator for asynchronous errors; past
 * the timeout an owned communicator is aborted (SEAM_ERR_TIMEOUT). Use it after replaying a
 * graph that holds collectives, or after eager collectives with wait_eager 0. SEAM_ERR_STATE
 * while the stream is being captured. A world of one without NCCL returns at once (its
 * collectives enqueue nothing). */
SEAM_API seam_status seam_comm_wait(seam_comm *comm, seam_stream stream);

/* ---- determinism digest ----------------------------------------------------------------- */

typedef struct seam_digest seam_digest;

/* Device state for num_layers layers of up to max_rows rows each, zeroed. */
SEAM_API seam_status seam_digest_create(seam_digest **out, int num_layers, int max_rows,
                                        int device);
SEAM_API seam_status seam_digest_destroy(seam_digest *digest); /* accepts NULL */
/* Zero every layer's entry (an async memset on stream: capturable). */
SEAM_API seam_status seam_digest_reset(seam_digest *digest, seam_stream stream);
SEAM_API seam_status seam_digest_shape(const seam_digest *digest, int *num_layers, int *max_rows);
/* Copy layer `layer`'s hash, row count and (when row_hashes is not NULL) its max_rows row
 * hashes to the host; synchronizes stream. */
SEAM_API seam_status seam_digest_read(const seam_digest *digest, int layer, seam_stream stream,
                                      uint64_t *layer_hash, int *rows, uint64_t *row_hashes);

/* The digest kernel: hash the first real rows of topk int32 [rows, k] (row-major, contiguous)
 * into layer `layer` of digest. rows is the launch shape (a graph's bucket); real_rows is a
 * device int32 holding the real row count (values above rows are clamped), or NULL for
 * rows. Capturable: fixed launches, no allocation, no host reads. */
SEAM_API seam_status seam_topk_digest(seam_digest *digest, int layer, const int32_t *topk,
                                      int rows, int k, const int32_t *real_rows,
                                      seam_stream stream);

/* Where the ranks' digests disagree. layer, row and rank are -1 when every rank agrees. */
typedef struct seam_digest_mismatch {
    int layer; /* first layer whose hash differs between some rank and rank 0 */
    int row;   /* first row of that layer whose hash differs (or that only some ranks have) */
    int rank;  /* lowest rank that differs from rank 0 at that layer */
    int rows_rank0, rows_rank; /* real rows the two ranks hashed at that layer */
} seam_digest_mismatch;

/* Gather every rank's digest and compare it with rank 0's. Collective: every rank calls it
 * with the same digest shape. Returns SEAM_OK when the check ran, whether or not the ranks
 * agree; on disagreement the description ("rank 1 differs from rank 0 at layer 3, row 17
 * ...") is also left in seam_last_error(). Every rank gets the same answer. Synchronizes
 * stream (not capturable); a world of one agrees without touching the device. */
SEAM_API seam_status seam_comm_check_digest(seam_comm *comm, const seam_digest *digest,
                                            seam_stream stream, seam_digest_mismatch *out);

#ifdef __cplusplus
}
#endif

#endif
