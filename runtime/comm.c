/* seam_comm: an NCCL communicator (owned or borrowed) or a world of one without NCCL, eager
 * collectives with dead-peer detection, and the cross-rank digest check.
 *
 * Dead peers. NCCL kernels wait on their peers without a timeout, so a dead or stuck rank
 * hangs the stream, not the host. After an eager collective seam polls cudaStreamQuery and
 * ncclCommGetAsyncError (NCCL's documented fault-handling loop) with a short backoff; past
 * the timeout it aborts the communicator, which makes the NCCL kernels return, and reports
 * SEAM_ERR_TIMEOUT. Joining (ncclCommInitRank) runs on a helper thread under the same
 * timeout. Connections are set up at init by two tiny collectives while every rank is known
 * to be present, so a later collective never blocks the host in connection setup. Inside
 * CUDA graph capture nothing is polled: the collective is only recorded. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/comm_impl.h"
#include "runtime/cuda_check.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static seam_status check_config(const seam_comm_config *cfg) {
    SEAM_CHECK_ARG(cfg->struct_size == sizeof(seam_comm_config),
                   "config->struct_size=%zu, expected %zu (use SEAM_COMM_CONFIG_INITIALIZER)",
                   cfg->struct_size, sizeof(seam_comm_config));
    SEAM_CHECK_ARG(cfg->timeout_ms >= 0, "config->timeout_ms=%d is negative", cfg->timeout_ms);
    SEAM_CHECK_ARG(cfg->wait_eager == 0 || cfg->wait_eager == 1,
                   "config->wait_eager=%d is not 0 or 1", cfg->wait_eager);
    SEAM_CHECK_ARG(cfg->nccl_single_rank == 0 || cfg->nccl_single_rank == 1,
                   "config->nccl_single_rank=%d is not 0 or 1", cfg->nccl_single_rank);
    return SEAM_OK;
}

/* A new communicator with the config's options; timeout 0 takes SEAM_NCCL_TIMEOUT_MS. */
static seam_status comm_alloc(seam_comm **out, const seam_comm_config *config, const char *func) {
    seam_comm_config defaults = SEAM_COMM_CONFIG_INITIALIZER;
    const seam_comm_config *cfg = config ? config : &defaults;
    SEAM_TRY(check_config(cfg));
    int timeout = cfg->timeout_ms;
    if (timeout == 0) {
        seam_config env;
        SEAM_TRY(seam_config_from_env(&env));
        timeout = env.nccl_timeout_ms;
    }
    seam_comm *c = calloc(1, sizeof *c);
    if (!c) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, func, "communicator allocation failed");
    c->timeout_ms = timeout;
    c->wait_eager = cfg->wait_eager;
    *out = c;
    return SEAM_OK;
}

static double elapsed_ms(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Spin briefly (an eager broadcast takes microseconds), then sleep with a growing backoff
 * up to 1 ms so a long wait costs no CPU. */
static void backoff(int *iteration) {
    int i = (*iteration)++;
    if (i < 64) {
        sched_yield();
        return;
    }
    long us = i < 128 ? 20 : i < 256 ? 100 : 1000;
    struct timespec d = {0, us * 1000};
    nanosleep(&d, NULL);
}

/* Abort an owned communicator (its kernels return); a borrowed one is left to the engine. */
static void abort_comm(seam_comm *c) {
    if (c->owned && c->nccl && !c->aborted) {
        c->api->comm_abort(c->nccl);
        c->nccl = NULL;
    }
    if (c->owned) c->aborted = 1;
}

static seam_status check_usable(const seam_comm *c, const char *func) {
    if (c->aborted)
        return seam_fail(SEAM_ERR_STATE, func, "the communicator (rank %d of %d) was aborted after "
                         "an earlier timeout or NCCL error; destroy it and create a new one",
                         c->rank, c->size);
    return SEAM_OK;
}

/* The result of an NCCL call. A synchronous error (bad argument, bad usage) is reported and
 * leaves the communicator usable. ncclInProgress (engines' non-blocking communicators) is
 * polled until the communicator settles, within the timeout; an asynchronous error found
 * there, or the timeout, aborts an owned communicator. */
static seam_status settle(seam_comm *c, seam_nccl_result_t r, const char *expr, int line,
                          const char *func) {
    if (r == SEAM_NCCL_SUCCESS) return SEAM_OK;
    if (r != SEAM_NCCL_IN_PROGRESS) return seam_nccl_fail(c->api, c->nccl, r, expr, __FILE__, line, func);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int it = 0;
    while (r == SEAM_NCCL_IN_PROGRESS) {
        if (elapsed_ms(&t0) > c->timeout_ms) {
            abort_comm(c);
            return seam_fail(SEAM_ERR_TIMEOUT, func, "%s stayed in progress past %d ms "
                             "(SEAM_NCCL_TIMEOUT_MS)%s", expr, c->timeout_ms,
                             c->owned ? "; the communicator was aborted" : "");
        }
        backoff(&it);
        seam_nccl_result_t st = SEAM_NCCL_SUCCESS;
        seam_nccl_result_t q = c->api->comm_get_async_error(c->nccl, &st);
        r = q != SEAM_NCCL_SUCCESS ? q : st;
    }
    if (r != SEAM_NCCL_SUCCESS) {
        seam_status s = seam_nccl_fail(c->api, c->nccl, r, expr, __FILE__, line, func);
        abort_comm(c);
        return s;
    }
    return SEAM_OK;
}

#define NCCL_CALL(c, expr) SEAM_TRY(settle((c), (expr), #expr, __LINE__, __func__))

static seam_status stream_capturing(seam_stream stream, int *capturing) {
    enum cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    SEAM_CUDA_CHECK(cudaStreamIsCapturing((cudaStream_t)stream, &st));
    *capturing = st != cudaStreamCaptureStatusNone;
    return SEAM_OK;
}

static seam_status wait_stream(seam_comm *c, seam_stream stream, const char *func) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int it = 0;
    for (;;) {
        cudaError_t e = cudaStreamQuery((cudaStream_t)stream);
        seam_nccl_result_t st = SEAM_NCCL_SUCCESS;
        seam_nccl_result_t q = c->api->comm_get_async_error(c->nccl, &st);
        seam_nccl_result_t r = q != SEAM_NCCL_SUCCESS ? q : st;
        if (r != SEAM_NCCL_SUCCESS && r != SEAM_NCCL_IN_PROGRESS) {
            seam_status s = seam_nccl_fail(c->api, c->nccl, r, "ncclCommGetAsyncError", __FILE__,
                                           __LINE__, func);
            abort_comm(c);
            return s;
        }
        if (e == cudaSuccess) return SEAM_OK;
        if (e != cudaErrorNotReady) return seam_fail_cuda((int)e, "cudaStreamQuery", __FILE__, __LINE__, func);
        double ms = elapsed_ms(&t0);
        if (ms > c->timeout_ms) {
            abort_comm(c);
            return seam_fail(SEAM_ERR_TIMEOUT, func, "rank %d of %d: the stream did not finish "
                             "within %d ms (SEAM_NCCL_TIMEOUT_MS): a peer rank is dead or hung%s",
                             c->rank, c->size, c->timeout_ms,
                             c->owned ? "; the communicator was aborted"
                                      : "; the borrowed communicator was left to its owner");
        }
        backoff(&it);
    }
}

static seam_status nccl_type(seam_dtype dtype, seam_nccl_data_type_t *t) {
    switch (dtype) {
    case SEAM_DTYPE_F32: *t = SEAM_NCCL_FLOAT32; return SEAM_OK;
    case SEAM_DTYPE_F16: *t = SEAM_NCCL_FLOAT16; return SEAM_OK;
    case SEAM_DTYPE_BF16: *t = SEAM_NCCL_BFLOAT16; return SEAM_OK;
    case SEAM_DTYPE_FP8_E4M3: *t = SEAM_NCCL_UINT8; return SEAM_OK; /* moved as bytes */
    case SEAM_DTYPE_I32: *t = SEAM_NCCL_INT32; return SEAM_OK;
    case SEAM_DTYPE_I64: *t = SEAM_NCCL_INT64; return SEAM_OK;
    case SEAM_DTYPE_U8: *t = SEAM_NCCL_UINT8; return SEAM_OK;
    default: break;
    }
    return seam_fail(SEAM_ERR_INVALID_ARG, "seam_comm_broadcast", "dtype=%d is not a seam_dtype",
                     (int)dtype);
}

/* Makes a device current for a stretch of calls; leave_device restores the caller's. */
typedef struct device_scope {
    int previous;
} device_scope;

static seam_status enter_device(int device, device_scope *scope) {
    SEAM_CUDA_CHECK(cudaGetDevice(&scope->previous));
    if (scope->previous != device) SEAM_CUDA_CHECK(cudaSetDevice(device));
    return SEAM_OK;
}

/* Restores the caller's device; a failure is logged (the call's own result stays the one
 * reported). */
static void leave_device(const device_scope *scope) {
    cudaError_t e = cudaSetDevice(scope->previous);
    if (e != cudaSuccess)
        seam_log(SEAM_LOG_WARN, "comm: restoring device %d: %s", scope->previous,
                 cudaGetErrorString(e));
}

/* Ensure the gather scratch holds bytes (device memory on the comm's device). */
static seam_status reserve_scratch(seam_comm *c, size_t bytes) {
    if (c->scratch_bytes >= bytes) return SEAM_OK;
    if (c->scratch) SEAM_CUDA_CHECK(cudaFree(c->scratch));
    c->scratch = NULL;
    c->scratch_bytes = 0;
    SEAM_CUDA_CHECK(cudaMalloc(&c->scratch, bytes));
    c->scratch_bytes = bytes;
    return SEAM_OK;
}

/* ---- creation ----------------------------------------------------------------------------- */

seam_status seam_comm_nccl_version(int *version) {
    SEAM_CHECK_PTR(version);
    const seam_nccl_api *api;
    SEAM_TRY(seam_nccl_load(&api, __func__));
    *version = api->version;
    return SEAM_OK;
}

seam_status seam_comm_unique_id(seam_comm_id *out) {
    SEAM_CHECK_PTR(out);
    const seam_nccl_api *api;
    SEAM_TRY(seam_nccl_load(&api, __func__));
    seam_nccl_unique_id id;
    SEAM_NCCL_CHECK(api, NULL, api->get_unique_id(&id));
    memcpy(out->internal, id.internal, sizeof id.internal);
    return SEAM_OK;
}

/* Two tiny collectives while every rank is present: NCCL (2.22+) connects lazily on a
 * communicator's first collective, and a later first use with a dead peer would block the
 * host inside NCCL instead of timing out on the stream. */
static seam_status warm_up(seam_comm *c) {
    cudaStream_t stream;
    SEAM_TRY(reserve_scratch(c, (size_t)(c->size + 1) * sizeof(int32_t)));
    SEAM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    int32_t *buf = (int32_t *)c->scratch;
    seam_status s = SEAM_OK;
    cudaError_t e = cudaMemsetAsync(buf, 0, (size_t)(c->size + 1) * sizeof(int32_t), stream);
    if (e != cudaSuccess)
        s = seam_fail_cuda((int)e, "cudaMemsetAsync (warm-up)", __FILE__, __LINE__,
                           "seam_comm_init_rank");
    if (s == SEAM_OK)
        s = settle(c, c->api->broadcast(buf, buf, 1, SEAM_NCCL_INT32, 0, c->nccl, stream),
                   "ncclBroadcast (warm-up)", __LINE__, "seam_comm_init_rank");
    if (s == SEAM_OK)
        s = settle(c, c->api->all_gather(buf, buf + 1, 1, SEAM_NCCL_INT32, c->nccl, stream),
                   "ncclAllGather (warm-up)", __LINE__, "seam_comm_init_rank");
    if (s == SEAM_OK) s = wait_stream(c, (seam_stream)stream, "seam_comm_init_rank");
    SEAM_CUDA_KEEP_FIRST(s, cudaStreamDestroy(stream));
    return s;
}

/* ncclCommInitRank returns only when every rank has joined; a rank that never comes would
 * block the caller for good. So the join runs on a helper thread and the caller waits at
 * most the timeout. On a timeout the thread is abandoned: if NCCL ever returns, the thread
 * aborts the communicator it got and frees the job itself. */
typedef struct init_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, abandoned;
    const seam_nccl_api *api;
    int device, nranks, rank;
    seam_nccl_unique_id id;
    seam_nccl_comm_t comm;
    seam_nccl_result_t result;
    cudaError_t cuda_error;
    char last_error[512]; /* ncclGetLastError on the joining thread */
} init_job;

static void free_job(init_job *j) {
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

static void *init_thread(void *arg) {
    init_job *j = arg;
    seam_nccl_comm_t comm = NULL;
    seam_nccl_result_t r = SEAM_NCCL_UNHANDLED_CUDA_ERROR;
    cudaError_t e = cudaSetDevice(j->device);
    if (e == cudaSuccess) r = j->api->comm_init_rank(&comm, j->nranks, j->id, j->rank);
    pthread_mutex_lock(&j->mu);
    j->done = 1;
    j->comm = comm;
    j->result = r;
    j->cuda_error = e;
    if (r != SEAM_NCCL_SUCCESS && r != SEAM_NCCL_IN_PROGRESS && j->api->get_last_error)
        snprintf(j->last_error, sizeof j->last_error, "%s", j->api->get_last_error(NULL));
    int abandoned = j->abandoned;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (abandoned) {
        if (comm && (r == SEAM_NCCL_SUCCESS || r == SEAM_NCCL_IN_PROGRESS)) j->api->comm_abort(comm);
        free_job(j);
    }
    return NULL;
}

static seam_status join_group(seam_comm *c, const seam_comm_id *id) {
    const char *fn = "seam_comm_init_rank";
    init_job *j = calloc(1, sizeof *j);
    if (!j) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, fn, "init job allocation failed");
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, &attr);
    pthread_condattr_destroy(&attr);
    j->api = c->api;
    j->device = c->device;
    j->nranks = c->size;
    j->rank = c->rank;
    memcpy(j->id.internal, id->internal, sizeof j->id.internal);
    pthread_t thread;
    pthread_attr_t tattr;
    pthread_attr_init(&tattr);
    pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&thread, &tattr, init_thread, j);
    pthread_attr_destroy(&tattr);
    if (err) {
        free_job(j);
        return seam_fail(SEAM_ERR_INTERNAL, fn, "pthread_create failed: %s", strerror(err));
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += c->timeout_ms / 1000;
    deadline.tv_nsec += (long)(c->timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) deadline.tv_sec++, deadline.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&j->mu);
    int rc = 0;
    while (!j->done && rc == 0) rc = pthread_cond_timedwait(&j->cv, &j->mu, &deadline);
    if (!j->done) {
        j->abandoned = 1; /* the thread frees the job if NCCL ever returns */
        pthread_mutex_unlock(&j->mu);
        return seam_fail(SEAM_ERR_TIMEOUT, fn, "rank %d of %d: ncclCommInitRank did not complete "
                         "within %d ms (SEAM_NCCL_TIMEOUT_MS): a rank never joined", c->rank,
                         c->size, c->timeout_ms);
    }
    pthread_mutex_unlock(&j->mu);
    seam_status s = SEAM_OK;
    if (j->cuda_error != cudaSuccess) {
        s = seam_fail_cuda((int)j->cuda_error, "cudaSetDevice", __FILE__, __LINE__, fn);
    } else if (j->result != SEAM_NCCL_SUCCESS && j->result != SEAM_NCCL_IN_PROGRESS) {
        s = seam_fail_nccl(j->result, c->api->get_error_string(j->result), j->last_error,
                           "ncclCommInitRank", __FILE__, __LINE__, fn);
    } else {
        c->nccl = j->comm;
        c->owned = 1;
        s = settle(c, j->result, "ncclCommInitRank", __LINE__, fn);
    }
    free_job(j);
    return s;
}

static seam_status init_nccl(seam_comm *c, const seam_comm_id *id) {
    SEAM_TRY(seam_nccl_load(&c->api, "seam_comm_init_rank"));
    device_scope scope;
    SEAM_TRY(enter_device(c->device, &scope));
    seam_status s = join_group(c, id);
    if (s == SEAM_OK) s = warm_up(c);
    leave_device(&scope);
    return s;
}

seam_status seam_comm_init_rank_config(seam_comm **out, int nranks, const seam_comm_id *id,
                                       int rank, int device, const seam_comm_config *config) {
    SEAM_CHECK_PTR(out);
    *out = NULL;
    SEAM_CHECK_ARG(nranks >= 1 && nranks <= 65536, "nranks=%d is not in [1, 65536]", nranks);
    SEAM_CHECK_ARG(rank >= 0 && rank < nranks, "rank=%d is not in [0, nranks=%d)", rank, nranks);
    SEAM_CHECK_ARG(device >= 0, "device=%d is not a CUDA ordinal", device);
    int use_nccl = nranks > 1 || (config && config->nccl_single_rank == 1);
    SEAM_CHECK_ARG(id != NULL || !use_nccl, "id is NULL (required for %d ranks)", nranks);
    seam_comm *c;
    SEAM_TRY(comm_alloc(&c, config, __func__));
    c->rank = rank;
    c->size = nranks;
    c->device = device;
    if (use_nccl) {
        seam_status s = init_nccl(c, id);
        if (s != SEAM_OK) {
            char keep[1024];
            snprintf(keep, sizeof keep, "%s", seam_last_error());
            abort_comm(c); /* a half-made communicator is aborted, never destroyed */
            c->aborted = 1;
            seam_comm_destroy(c);
            return seam_fail(s, __func__, "rank %d of %d on device %d: %s", rank, nranks, device,
                             keep);
        }
    }
    *out = c;
    return SEAM_OK;
}

seam_status seam_comm_init_rank(seam_comm **out, int nranks, const seam_comm_id *id, int rank,
                                int device) {
    return seam_comm_init_rank_config(out, nranks, id, rank, device, NULL);
}

static seam_status env_int(const char *name, int lo, int hi, int *out) {
    const char *v = getenv(name);
    if (!v) return seam_fail(SEAM_ERR_NOT_FOUND, "seam_comm_init_launched", "%s is not set (start "
                             "the program with seam-launch -n N)", name);
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi)
        return seam_fail(SEAM_ERR_CONFIG, "seam_comm_init_launched", "%s='%s' is not an integer "
                         "in [%d, %d]", name, v, lo, hi);
    *out = (int)x;
    return SEAM_OK;
}

seam_status seam_comm_init_launched(seam_comm **out, const seam_comm_config *config) {
    SEAM_CHECK_PTR(out);
    *out = NULL;
    int size = 0, rank = 0, device = 0;
    SEAM_TRY(env_int("SEAM_LAUNCH_SIZE", 1, 65536, &size));
    SEAM_TRY(env_int("SEAM_LAUNCH_RANK", 0, size - 1, &rank));
    SEAM_TRY(env_int("SEAM_LAUNCH_DEVICE", 0, 1 << 16, &device));
    seam_comm_id id;
    const seam_comm_id *idp = NULL;
    int use_nccl = size > 1 || (config && config->nccl_single_rank == 1);
    if (use_nccl) {
        const char *path = getenv("SEAM_LAUNCH_ID_FILE");
        if (!path)
            return seam_fail(SEAM_ERR_NOT_FOUND, __func__, "SEAM_LAUNCH_ID_FILE is not set (%d "
                             "ranks need an NCCL id: start the program with seam-launch)", size);
        FILE *f = fopen(path, "rb");
        if (!f)
            return seam_fail(SEAM_ERR_CONFIG, __func__, "SEAM_LAUNCH_ID_FILE='%s' cannot be "
                             "opened: %s", path, strerror(errno));
        size_t got = fread(id.internal, 1, sizeof id.internal, f);
        fclose(f);
        if (got != sizeof id.internal)
            return seam_fail(SEAM_ERR_CONFIG, __func__, "SEAM_LAUNCH_ID_FILE='%s' holds %zu "
                             "bytes, expected %d", path, got, SEAM_COMM_ID_BYTES);
        idp = &id;
    }
    return seam_comm_init_rank_config(out, size, idp, rank, device, config);
}

seam_status seam_comm_borrow(seam_comm **out, void *nccl_comm, const seam_comm_config *config) {
    SEAM_CHECK_PTR(out);
    *out = NULL;
    SEAM_CHECK_PTR(nccl_comm);
    const seam_nccl_api *api;
    SEAM_TRY(seam_nccl_load(&api, __func__));
    seam_nccl_comm_t nc = (seam_nccl_comm_t)nccl_comm;
    int size = 0, rank = 0, device = 0;
    SEAM_NCCL_CHECK(api, nc, api->comm_count(nc, &size));
    SEAM_NCCL_CHECK(api, nc, api->comm_user_rank(nc, &rank));
    SEAM_NCCL_CHECK(api, nc, api->comm_cu_device(nc, &device));
    seam_comm *c;
    SEAM_TRY(comm_alloc(&c, config, __func__));
    c->api = api;
    c->nccl = nc;
    c->owned = 0;
    c->size = size;
    c->rank = rank;
    c->device = device;
    *out = c;
    return SEAM_OK;
}

seam_status seam_comm_destroy(seam_comm *comm) {
    if (comm == NULL) return SEAM_OK;
    seam_status s = SEAM_OK;
    if (comm->scratch) {
        device_scope scope;
        if (enter_device(comm->device, &scope) == SEAM_OK) {
            cudaError_t e = cudaFree(comm->scratch);
            if (e != cudaSuccess)
                s = seam_fail_cuda((int)e, "cudaFree(scratch)", __FILE__, __LINE__, __func__);
            leave_device(&scope);
        }
    }
    if (comm->owned && comm->nccl && !comm->aborted) {
        seam_nccl_result_t r = comm->api->comm_destroy(comm->nccl);
        if (r != SEAM_NCCL_SUCCESS && s == SEAM_OK)
            s = seam_nccl_fail(comm->api, NULL, r, "ncclCommDestroy", __FILE__, __LINE__, __func__);
    }
    free(comm);
    return s;
}

/* ---- queries ------------------------------------------------------------------------------ */

seam_status seam_comm_rank(const seam_comm *comm, int *rank) {
    SEAM_CHECK_PTR(comm);
    SEAM_CHECK_PTR(rank);
    *rank = comm->rank;
    return SEAM_OK;
}

seam_status seam_comm_size(const seam_comm *comm, int *size) {
    SEAM_CHECK_PTR(comm);
    SEAM_CHECK_PTR(size);
    *size = comm->size;
    return SEAM_OK;
}

seam_status seam_comm_device(const seam_comm *comm, int *device) {
    SEAM_CHECK_PTR(comm);
    SEAM_CHECK_PTR(device);
    *device = comm->device;
    return SEAM_OK;
}

seam_status seam_comm_set_timeout(seam_comm *comm, int timeout_ms) {
    SEAM_CHECK_PTR(comm);
    SEAM_CHECK_ARG(timeout_ms > 0, "timeout_ms=%d is not positive", timeout_ms);
    comm->timeout_ms = timeout_ms;
    return SEAM_OK;
}

seam_status seam_comm_nccl_handle(const seam_comm *comm, void **nccl_comm) {
    SEAM_CHECK_PTR(comm);
    SEAM_CHECK_PTR(nccl_comm);
    *nccl_comm = (void *)comm->nccl;
    return SEAM_OK;
}

seam_status seam_comm_can_capture(const seam_comm *comm, int *can_capture) {
    SEAM_CHECK_PTR(comm);
    SEAM_CHECK_PTR(can_capture);
    /* NCCL kernels can be captured since NCCL 2.9; a world of one records nothing. */
    *can_capture = comm->api == NULL || comm->api->version >= SEAM_NCCL_VERSION(2, 9, 0);
    return SEAM_OK;
}

/* ---- collectives -------------------------------------------------------------------------- */

seam_status seam_comm_broadcast(seam_comm *comm, void *buf, size_t count, seam_dtype dtype,
                                int root, seam_stream stream) {
    SEAM_CHECK_PTR(comm);
    SEAM_CHECK_ARG(root >= 0 && root < comm->size, "root=%d is not in [0, size=%d)", root,
                   comm->size);
    SEAM_CHECK_ARG(buf != NULL || count == 0, "buf is NULL with count=%zu", count);
    seam_nccl_data_type_t t = SEAM_NCCL_INT32;
    SEAM_TRY(nccl_type(dtype, &t));
    SEAM_TRY(check_usable(comm, __func__));
    if (comm->api == NULL || count == 0) return SEAM_OK; /* a world of one: nothing moves */
    NCCL_CALL(comm, comm->api->broadcast(buf, buf, count, t, root, comm->nccl, (seam_nccl_stream_t)stream));
    if (!comm->wait_eager) return SEAM_OK;
    int capturing = 0;
    SEAM_TRY(stream_capturing(stream, &capturing));
    return capturing ? SEAM_OK : wait_stream(comm, stream, __func__);
}

seam_status seam_comm_wait(seam_comm *comm, seam_stream stream) {
    SEAM_CHECK_PTR(comm);
    SEAM_TRY(check_usable(comm, __func__));
    if (comm->api == NULL) return SEAM_OK;
    int capturing = 0;
    SEAM_TRY(stream_capturing(stream, &capturing));
    if (capturing)
        return seam_fail(SEAM_ERR_STATE, __func__, "stream is being captured into a CUDA graph; "
                         "wait after replaying the graph instead");
    return wait_stream(comm, stream, __func__);
}

/* ---- digest ------------------------------------------------------------------------------- */

seam_status seam_digest_create(seam_digest **out, int num_layers, int max_rows, int device) {
    SEAM_CHECK_PTR(out);
    *out = NULL;
    SEAM_CHECK_ARG(num_layers >= 1 && num_layers <= 4096, "num_layers=%d is not in [1, 4096]",
                   num_layers);
    SEAM_CHECK_ARG(max_rows >= 1 && max_rows <= (1 << 20), "max_rows=%d is not in [1, 1048576]",
                   max_rows);
    SEAM_CHECK_ARG(device >= 0, "device=%d is not a CUDA ordinal", device);
    int count;
    SEAM_TRY(seam_device_count(&count));
    SEAM_CHECK_ARG(device < count, "device=%d is not in [0, %d)", device, count);
    seam_digest *d = calloc(1, sizeof *d);
    if (!d) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "digest allocation failed");
    d->num_layers = num_layers;
    d->max_rows = max_rows;
    d->device = device;
    size_t bytes = (size_t)num_layers * (2 + (size_t)max_rows) * sizeof(uint64_t);
    device_scope scope;
    seam_status s = enter_device(device, &scope);
    if (s != SEAM_OK) {
        free(d);
        return s;
    }
    cudaError_t e = cudaMalloc((void **)&d->block, bytes);
    if (e == cudaSuccess) e = cudaMemset(d->block, 0, bytes);
    leave_device(&scope);
    if (e != cudaSuccess) {
        if (d->block) cudaFree(d->block);
        free(d);
        return seam_fail_cuda((int)e, "cudaMalloc/cudaMemset(digest)", __FILE__, __LINE__, __func__);
    }
    *out = d;
    return SEAM_OK;
}

seam_status seam_digest_destroy(seam_digest *digest) {
    if (digest == NULL) return SEAM_OK;
    cudaError_t e = cudaFree(digest->block);
    free(digest);
    if (e != cudaSuccess) return seam_fail_cuda((int)e, "cudaFree(digest)", __FILE__, __LINE__, __func__);
    return SEAM_OK;
}

seam_status seam_digest_reset(seam_digest *digest, seam_stream stream) {
    SEAM_CHECK_PTR(digest);
    size_t bytes = (size_t)digest->num_layers * (2 + (size_t)digest->max_rows) * sizeof(uint64_t);
    SEAM_CUDA_CHECK(cudaMemsetAsync(digest->block, 0, bytes, (cudaStream_t)stream));
    return SEAM_OK;
}

seam_status seam_digest_shape(const seam_digest *digest, int *num_layers, int *max_rows) {
    SEAM_CHECK_PTR(digest);
    if (num_layers) *num_layers = digest->num_layers;
    if (max_rows) *max_rows = digest->max_rows;
    return SEAM_OK;
}

seam_status seam_digest_read(const seam_digest *digest, int layer, seam_stream stream,
                             uint64_t *layer_hash, int *rows, uint64_t *row_hashes) {
    SEAM_CHECK_PTR(digest);
    SEAM_CHECK_ARG(layer >= 0 && layer < digest->num_layers, "layer=%d is not in [0, %d)", layer,
                   digest->num_layers);
    uint64_t entry[2];
    cudaStream_t s = (cudaStream_t)stream;
    SEAM_CUDA_CHECK(cudaMemcpyAsync(entry, seam_digest_layer_entry(digest, layer), sizeof entry,
                                    cudaMemcpyDeviceToHost, s));
    if (row_hashes)
        SEAM_CUDA_CHECK(cudaMemcpyAsync(row_hashes, seam_digest_row_hashes(digest, layer),
                                        (size_t)digest->max_rows * sizeof(uint64_t),
                                        cudaMemcpyDeviceToHost, s));
    SEAM_CUDA_CHECK(cudaStreamSynchronize(s));
    if (layer_hash) *layer_hash = entry[0];
    if (rows) *rows = (int)entry[1];
    return SEAM_OK;
}

/* All-gather count uint64 from send (device) into host memory [size][count], waiting with
 * dead-peer detection. */
static seam_status gather_to_host(seam_comm *c, const uint64_t *send, size_t count,
                                  seam_stream stream, uint64_t *host) {
    size_t bytes = count * (size_t)c->size * sizeof(uint64_t);
    SEAM_TRY(reserve_scratch(c, bytes));
    NCCL_CALL(c, c->api->all_gather(send, c->scratch, count, SEAM_NCCL_UINT64, c->nccl,
                                    (seam_nccl_stream_t)stream));
    SEAM_TRY(wait_stream(c, stream, "seam_comm_check_digest"));
    SEAM_CUDA_CHECK(cudaMemcpyAsync(host, c->scratch, bytes, cudaMemcpyDeviceToHost,
                                    (cudaStream_t)stream));
    SEAM_CUDA_CHECK(cudaStreamSynchronize((cudaStream_t)stream));
    return SEAM_OK;
}

static seam_status compare_digests(seam_comm *c, const seam_digest *d, seam_stream stream,
                                   uint64_t *host, seam_digest_mismatch *out) {
    const int L = d->num_layers, n = c->size;
    SEAM_TRY(gather_to_host(c, d->block, 2 * (size_t)L, stream, host));
    int layer = -1, rank = -1;
    for (int l = 0; l < L && layer < 0; l++)
        for (int r = 1; r < n && layer < 0; r++)
            if (memcmp(&host[(size_t)r * 2 * L + 2 * l], &host[2 * l], 2 * sizeof(uint64_t)) != 0)
                layer = l, rank = r;
    if (layer < 0) return SEAM_OK;
    uint64_t hash0 = host[2 * layer], hash_r = host[(size_t)rank * 2 * L + 2 * layer];
    int rows0 = (int)host[2 * layer + 1], rows_r = (int)host[(size_t)rank * 2 * L + 2 * layer + 1];
    /* Every rank found the same layer from the same gathered data, so every rank takes part
     * in this second gather. */
    const size_t m = (size_t)d->max_rows;
    SEAM_TRY(gather_to_host(c, seam_digest_row_hashes(d, layer), m, stream, host));
    int common = rows0 < rows_r ? rows0 : rows_r;
    int row = -1;
    for (int i = 0; i < common && row < 0; i++)
        if (host[(size_t)rank * m + (size_t)i] != host[i]) row = i;
    if (row < 0 && rows0 != rows_r) row = common;
    out->layer = layer;
    out->row = row;
    out->rank = rank;
    out->rows_rank0 = rows0;
    out->rows_rank = rows_r;
    if (row >= 0)
        seam_fail(SEAM_ERR_STATE, "seam_comm_check_digest", "rank %d differs from rank 0 at layer "
                  "%d, row %d (rows: rank 0 %d, rank %d %d; layer hash %016llx vs %016llx)",
                  rank, layer, row, rows0, rank, rows_r, (unsigned long long)hash0,
                  (unsigned long long)hash_r);
    else
        seam_fail(SEAM_ERR_STATE, "seam_comm_check_digest", "rank %d differs from rank 0 at layer "
                  "%d: layer hash %016llx vs %016llx with equal row hashes (a hash collision or "
                  "a row past max_rows)", rank, layer, (unsigned long long)hash0,
                  (unsigned long long)hash_r);
    return SEAM_OK;
}

seam_status seam_comm_check_digest(seam_comm *comm, const seam_digest *digest, seam_stream stream,
                                   seam_digest_mismatch *out) {
    SEAM_CHECK_PTR(comm);
    SEAM_CHECK_PTR(digest);
    SEAM_CHECK_PTR(out);
    out->layer = out->row = out->rank = -1;
    out->rows_rank0 = out->rows_rank = 0;
    SEAM_TRY(check_usable(comm, __func__));
    if (comm->api == NULL) return SEAM_OK; /* a world of one agrees with itself */
    SEAM_CHECK_ARG(digest->device == comm->device, "digest is on device %d, the communicator on "
                   "device %d", digest->device, comm->device);
    int capturing = 0;
    SEAM_TRY(stream_capturing(stream, &capturing));
    if (capturing)
        return seam_fail(SEAM_ERR_STATE, __func__, "stream is being captured: the check "
                         "synchronizes and cannot run inside a CUDA graph");
    size_t per_rank = 2 * (size_t)digest->num_layers;
    if ((size_t)digest->max_rows > per_rank) per_rank = (size_t)digest->max_rows;
    uint64_t *host = malloc(per_rank * (size_t)comm->size * sizeof(uint64_t));
    if (!host) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "host gather buffer allocation failed");
    device_scope scope;
    seam_status s = enter_device(comm->device, &scope);
    if (s == SEAM_OK) {
        s = compare_digests(comm, digest, stream, host, out);
        leave_device(&scope);
    }
    free(host);
    return s;
}
