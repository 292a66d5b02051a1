/* seam runtime basics: status codes, the per-thread last error, versions, logging level,
 * configuration read from SEAM_* environment variables, and device discovery.
 *
 * Every function that can fail returns a seam_status; results come back through
 * out-parameters. On failure seam_last_error() names the function and the argument. */
#ifndef SEAM_RUNTIME_H
#define SEAM_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "seam/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEAM_VERSION_MAJOR 0
#define SEAM_VERSION_MINOR 1
#define SEAM_VERSION_PATCH 0
#define SEAM_VERSION_CODE (SEAM_VERSION_MAJOR * 10000 + SEAM_VERSION_MINOR * 100 + SEAM_VERSION_PATCH)

/* The library's version code (SEAM_VERSION_CODE of the build), for checking the header
 * an engine compiled against matches the library it loaded. */
SEAM_API int seam_version(void);

typedef enum seam_status {
    SEAM_OK = 0,
    SEAM_ERR_INVALID_ARG = 1,   /* an argument is out of range or inconsistent */
    SEAM_ERR_OUT_OF_MEMORY = 2, /* host or device allocation failed */
    SEAM_ERR_CUDA = 3,          /* a CUDA runtime or driver call failed */
    SEAM_ERR_CUBLAS = 4,        /* a cuBLAS call failed */
    SEAM_ERR_NCCL = 5,          /* an NCCL call failed, or NCCL could not be loaded */
    SEAM_ERR_NO_DEVICE = 6,     /* no GPU, or no NVIDIA driver */
    SEAM_ERR_UNSUPPORTED = 7,   /* valid request this build or device cannot do */
    SEAM_ERR_NOT_FOUND = 8,     /* a name (op, variable) is not known */
    SEAM_ERR_ALREADY_EXISTS = 9,/* a name is already registered */
    SEAM_ERR_CAPTURE = 10,      /* CUDA graph capture, instantiation or update failed */
    SEAM_ERR_TIMEOUT = 11,      /* a wait (e.g. on a peer rank) ran past its limit */
    SEAM_ERR_CONFIG = 12,       /* a SEAM_* environment variable has a bad value */
    SEAM_ERR_STATE = 13,        /* call not valid in the object's current state */
    SEAM_ERR_INTERNAL = 14      /* a bug in seam: please report it */
} seam_status;

/* Short constant name of a status ("SEAM_ERR_INVALID_ARG"); never NULL. */
SEAM_API const char *seam_status_string(seam_status status);

/* The message of the last failure on this thread, e.g.
 * "seam_context_set_batch: seq_lens[3]=0 is less than extend_lens[3]=7".
 * Empty string when nothing failed since seam_clear_error(). Valid until the next seam call
 * on this thread. */
SEAM_API const char *seam_last_error(void);
SEAM_API void seam_clear_error(void);

typedef enum seam_log_level {
    SEAM_LOG_ERROR = 0,
    SEAM_LOG_WARN = 1,
    SEAM_LOG_INFO = 2,
    SEAM_LOG_DEBUG = 3
} seam_log_level;

/* Log messages go to stderr. The level is process-wide (like NCCL_DEBUG): set from SEAM_LOG
 * when a config is read from the environment, or here. */
SEAM_API void seam_set_log_level(seam_log_level level);
SEAM_API seam_log_level seam_get_log_level(void);

/* ---- configuration ---------------------------------------------------------------------- */

typedef enum seam_topk_backend {
    SEAM_TOPK_RADIX = 0, /* radix select: the fast one (default) */
    SEAM_TOPK_SORT = 1   /* segmented sort: simple, obviously correct second opinion */
} seam_topk_backend;

typedef enum seam_topk_tie_break {
    SEAM_TIE_BREAK_NONE = 0,  /* any correct set (unless deterministic: then as SMALL) */
    SEAM_TIE_BREAK_SMALL = 1, /* among values equal to the k-th, keep the smallest indices */
    SEAM_TIE_BREAK_LARGE = 2  /* ... keep the largest indices */
} seam_topk_tie_break;

typedef enum seam_config_source {
    SEAM_SOURCE_DEFAULT = 0,
    SEAM_SOURCE_ENV = 1,
    SEAM_SOURCE_CODE = 2
} seam_config_source;

/* One entry per configuration variable, in the order of the table in README.md. */
typedef enum seam_config_var {
    SEAM_VAR_GRAPH_SAFE = 0,
    SEAM_VAR_PIECEWISE,
    SEAM_VAR_CAPTURE_SIZES,
    SEAM_VAR_TOPK_BACKEND,
    SEAM_VAR_TOPK_DETERMINISTIC,
    SEAM_VAR_TOPK_TIE_BREAK,
    SEAM_VAR_TOPK_FUSE,
    SEAM_VAR_TOPK_BROADCAST,
    SEAM_VAR_LOG,
    SEAM_VAR_NCCL_TIMEOUT_MS,
    SEAM_VAR_COUNT
} seam_config_var;

#define SEAM_MAX_CAPTURE_SIZES 256

/* Runtime configuration. Fill it with SEAM_CONFIG_INITIALIZER (defaults) or
 * seam_config_from_env(); then override fields in code, directly or with seam_config_set()
 * (which parses text like the environment does and records the source as code).
 * struct_size lets later versions add fields without breaking callers. */
typedef struct seam_config {
    size_t struct_size;
    int graph_safe;                 /* SEAM_GRAPH_SAFE: indexer ops run inside graphs */
    int piecewise;                  /* SEAM_PIECEWISE: use piecewise graphs at all */
    int num_capture_sizes;          /* 0 = the default bucket list (see below) */
    int capture_sizes[SEAM_MAX_CAPTURE_SIZES]; /* ascending, distinct, > 0 */
    seam_topk_backend topk_backend; /* SEAM_TOPK_BACKEND */
    int topk_deterministic;         /* SEAM_TOPK_DETERMINISTIC (forced on by tie-break) */
    seam_topk_tie_break topk_tie_break; /* SEAM_TOPK_TIE_BREAK */
    int topk_fuse;                  /* SEAM_TOPK_FUSE: fused page-table/ragged transform */
    int topk_broadcast;             /* SEAM_TOPK_BROADCAST: rank 0's top-k to all TP ranks */
    seam_log_level log_level;       /* SEAM_LOG */
    int nccl_timeout_ms;            /* SEAM_NCCL_TIMEOUT_MS: dead-peer detection */
    seam_config_source source[SEAM_VAR_COUNT]; /* where each value came from */
} seam_config;

#define SEAM_CONFIG_INITIALIZER                                                              \
    {                                                                                        \
        sizeof(seam_config), 0, 1, 0, {0}, SEAM_TOPK_RADIX, 0, SEAM_TIE_BREAK_NONE, 1, 0,    \
            SEAM_LOG_WARN, 600000, { SEAM_SOURCE_DEFAULT }                                   \
    }

/* Defaults, then every SEAM_* variable present in the environment. A bad value returns
 * SEAM_ERR_CONFIG with a message naming the variable, the value and what is allowed; cfg is
 * then left as it was. Unknown SEAM_* variables are logged as warnings. Also sets the
 * process log level from SEAM_LOG. */
SEAM_API seam_status seam_config_from_env(seam_config *cfg);

/* Parse one variable's text value into cfg, with the environment's rules and messages. */
SEAM_API seam_status seam_config_set(seam_config *cfg, seam_config_var var, const char *value);

/* Check a config filled in code: capture sizes ascending and positive, enums in range. */
SEAM_API seam_status seam_config_validate(const seam_config *cfg);

/* Effective top-k determinism: on when asked for, or when a tie-break is chosen. */
SEAM_API int seam_config_topk_is_deterministic(const seam_config *cfg);

/* The capture buckets in force for a given max token count: cfg's list, or the default
 * (4..32 step 4, 48..256 step 16, 288..512 step 32, 640..4096 step 128), keeping only sizes
 * <= max_tokens; when max_tokens is not itself a bucket and is below the default's largest,
 * it is added as the last bucket. Writes at most `capacity` sizes, ascending. */
SEAM_API seam_status seam_config_capture_sizes(const seam_config *cfg, int max_tokens,
                                               int *sizes, int capacity, int *count);

/* Introspection of the variables, for tools and documentation. */
SEAM_API const char *seam_config_var_name(seam_config_var var);    /* "SEAM_GRAPH_SAFE" */
SEAM_API const char *seam_config_var_allowed(seam_config_var var); /* "0 or 1" */
SEAM_API const char *seam_config_var_help(seam_config_var var);
/* The value as text ("1", "radix", "4,8,12"), written into buf (always NUL-terminated). */
SEAM_API seam_status seam_config_format(const seam_config *cfg, seam_config_var var, char *buf,
                                        size_t size);
SEAM_API const char *seam_config_source_string(seam_config_source source);

/* ---- devices ---------------------------------------------------------------------------- */

typedef struct seam_device_info {
    int ordinal;
    char name[256];
    int cc_major, cc_minor;
    int multiprocessors;
    size_t total_memory;
    size_t l2_bytes;
    int driver_version;  /* e.g. 13000 */
    int runtime_version; /* the CUDA runtime seam was built with */
} seam_device_info;

/* Number of usable GPUs. SEAM_ERR_NO_DEVICE (count set to 0) when there is no GPU or no
 * NVIDIA driver; never crashes on a machine without one. */
SEAM_API seam_status seam_device_count(int *count);
SEAM_API seam_status seam_device_get_info(int ordinal, seam_device_info *info);

#ifdef __cplusplus
}
#endif

#endif
