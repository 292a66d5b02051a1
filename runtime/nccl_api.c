/* Loading NCCL at run time. libseam must load and run where NCCL is absent (a world of one
 * rank needs none), so NCCL is opened with dlopen on first use and its functions are looked
 * up by name; a missing library or function becomes SEAM_ERR_NCCL naming what is missing. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "runtime/error_impl.h"
#include "runtime/nccl_api.h"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static seam_nccl_api loaded;
static int load_ok;
static char load_error[512];

/* dlsym returns void *; converting it to a function pointer is what POSIX specifies. */
#define LOOKUP(field, name, required)                                                      \
    do {                                                                                   \
        void *sym_ = dlsym(lib, name);                                                     \
        if (!sym_ && (required)) {                                                         \
            snprintf(load_error, sizeof load_error, "%s has no %s (NCCL too old?)", path,   \
                     name);                                                                \
            return;                                                                        \
        }                                                                                  \
        memcpy(&loaded.field, &sym_, sizeof sym_);                                         \
    } while (0)

static void load(void) {
    static const char *const names[] = {"libnccl.so.2", "libnccl.so"};
    void *lib = NULL;
    const char *path = NULL;
    char first_error[256] = "";
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !lib; i++) {
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (lib) path = names[i];
        else if (i == 0) snprintf(first_error, sizeof first_error, "%s", dlerror());
    }
    if (!lib) {
        snprintf(load_error, sizeof load_error,
                 "NCCL is not available: dlopen(libnccl.so.2) failed: %s (install NCCL or "
                 "add its lib folder to LD_LIBRARY_PATH)", first_error);
        return;
    }
    LOOKUP(get_version, "ncclGetVersion", 1);
    LOOKUP(get_unique_id, "ncclGetUniqueId", 1);
    LOOKUP(comm_init_rank, "ncclCommInitRank", 1);
    LOOKUP(broadcast, "ncclBroadcast", 1);
    LOOKUP(all_gather, "ncclAllGather", 1);
    LOOKUP(comm_get_async_error, "ncclCommGetAsyncError", 1);
    LOOKUP(comm_abort, "ncclCommAbort", 1);
    LOOKUP(comm_destroy, "ncclCommDestroy", 1);
    LOOKUP(comm_count, "ncclCommCount", 1);
    LOOKUP(comm_user_rank, "ncclCommUserRank", 1);
    LOOKUP(comm_cu_device, "ncclCommCuDevice", 1);
    LOOKUP(get_error_string, "ncclGetErrorString", 1);
    LOOKUP(get_last_error, "ncclGetLastError", 0);
    if (loaded.get_version(&loaded.version) != SEAM_NCCL_SUCCESS) {
        snprintf(load_error, sizeof load_error, "%s: ncclGetVersion failed", path);
        return;
    }
    load_ok = 1; /* the library stays loaded for the life of the process */
}

seam_status seam_nccl_load(const seam_nccl_api **api, const char *func) {
    pthread_once(&load_once, load);
    if (!load_ok) {
        *api = NULL;
        return seam_fail(SEAM_ERR_NCCL, func, "%s", load_error);
    }
    *api = &loaded;
    return SEAM_OK;
}

seam_status seam_nccl_fail(const seam_nccl_api *api, seam_nccl_comm_t comm, int result,
                           const char *expr, const char *file, int line, const char *func) {
    const char *text = api->get_error_string(result);
    const char *last = api->get_last_error ? api->get_last_error(comm) : NULL;
    return seam_fail_nccl(result, text, last, expr, file, line, func);
}
