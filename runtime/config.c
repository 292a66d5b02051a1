/* Configuration from SEAM_* environment variables. One table describes every variable: its
 * name, what it allows, its help text and how to parse and print it, so the parser, the
 * unknown-variable warning, seam-info and the docs cannot drift apart. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/error_impl.h"

extern char **environ;

typedef seam_status (*parse_fn)(seam_config *cfg, const char *fn, const char *name, const char *value);
typedef void (*format_fn)(const seam_config *cfg, char *buf, size_t size);

typedef struct var_desc {
    const char *name;
    const char *allowed;
    const char *help;
    parse_fn parse;
    format_fn format;
} var_desc;

/* fn: the public function the value came through (seam_config_from_env, seam_config_set). */
static seam_status bad_value(const char *fn, const char *name, const char *value,
                             const char *allowed) {
    return seam_fail(SEAM_ERR_CONFIG, fn, "%s='%s' is not allowed: expected %s", name, value,
                     allowed);
}

static seam_status parse_bool(const char *fn, const char *name, const char *value, int *out) {
    if (strcmp(value, "0") == 0) *out = 0;
    else if (strcmp(value, "1") == 0) *out = 1;
    else return bad_value(fn, name, value, "0 or 1");
    return SEAM_OK;
}

/* Names are matched exactly; the tables double as the allowed-value text. */
static seam_status parse_name(const char *fn, const char *name, const char *value,
                              const char *const *names, int count, const char *allowed, int *out) {
    for (int i = 0; i < count; i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return SEAM_OK;
        }
    }
    return bad_value(fn, name, value, allowed);
}

static const char *const backend_names[] = {"radix", "sort"};
static const char *const tie_break_names[] = {"none", "small", "large"};
static const char *const log_names[] = {"error", "warn", "info", "debug"};

#define PARSE_BOOL_FIELD(fn, field)                                                           \
    static seam_status fn(seam_config *cfg, const char *api, const char *name,                \
                          const char *value) {                                                \
        return parse_bool(api, name, value, &cfg->field);                                    \
    }                                                                                         \
    static void fn##_format(const seam_config *cfg, char *buf, size_t size) {                 \
        snprintf(buf, size, "%d", cfg->field);                                                \
    }

PARSE_BOOL_FIELD(parse_graph_safe, graph_safe)
PARSE_BOOL_FIELD(parse_piecewise, piecewise)
PARSE_BOOL_FIELD(parse_deterministic, topk_deterministic)
PARSE_BOOL_FIELD(parse_fuse, topk_fuse)
PARSE_BOOL_FIELD(parse_broadcast, topk_broadcast)

static seam_status parse_backend(seam_config *cfg, const char *fn, const char *name, const char *value) {
    int v = 0;
    SEAM_TRY(parse_name(fn, name, value, backend_names, 2, "radix or sort", &v));
    cfg->topk_backend = (seam_topk_backend)v;
    return SEAM_OK;
}
static void parse_backend_format(const seam_config *cfg, char *buf, size_t size) {
    snprintf(buf, size, "%s", backend_names[cfg->topk_backend]);
}

static seam_status parse_tie_break(seam_config *cfg, const char *fn, const char *name, const char *value) {
    int v = 0;
    SEAM_TRY(parse_name(fn, name, value, tie_break_names, 3, "none, small or large", &v));
    cfg->topk_tie_break = (seam_topk_tie_break)v;
    return SEAM_OK;
}
static void parse_tie_break_format(const seam_config *cfg, char *buf, size_t size) {
    snprintf(buf, size, "%s", tie_break_names[cfg->topk_tie_break]);
}

static seam_status parse_log(seam_config *cfg, const char *fn, const char *name, const char *value) {
    int v = 0;
    SEAM_TRY(parse_name(fn, name, value, log_names, 4, "error, warn, info or debug", &v));
    cfg->log_level = (seam_log_level)v;
    return SEAM_OK;
}
static void parse_log_format(const seam_config *cfg, char *buf, size_t size) {
    snprintf(buf, size, "%s", log_names[cfg->log_level]);
}

/* A decimal integer in [lo, hi] with nothing after it. */
static int parse_int_range(const char *text, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

static seam_status parse_timeout(seam_config *cfg, const char *fn, const char *name, const char *value) {
    long v;
    if (!parse_int_range(value, 1, 86400000L, &v))
        return bad_value(fn, name, value, "an integer number of milliseconds from 1 to 86400000");
    cfg->nccl_timeout_ms = (int)v;
    return SEAM_OK;
}
static void parse_timeout_format(const seam_config *cfg, char *buf, size_t size) {
    snprintf(buf, size, "%d", cfg->nccl_timeout_ms);
}

#define CAPTURE_SIZES_ALLOWED                                                                 \
    "a comma-separated ascending list of distinct token counts from 1 to 1048576 (at most 256)"

static seam_status parse_capture_sizes(seam_config *cfg, const char *fn, const char *name,
                                       const char *value) {
    int sizes[SEAM_MAX_CAPTURE_SIZES];
    int count = 0;
    const char *p = value;
    if (*p == '\0') return bad_value(fn, name, value, CAPTURE_SIZES_ALLOWED);
    while (*p) {
        char item[32];
        size_t len = strcspn(p, ",");
        long v;
        if (len == 0 || len >= sizeof item || count == SEAM_MAX_CAPTURE_SIZES)
            return bad_value(fn, name, value, CAPTURE_SIZES_ALLOWED);
        memcpy(item, p, len);
        item[len] = '\0';
        if (!parse_int_range(item, 1, 1048576, &v) || (count > 0 && v <= sizes[count - 1]))
            return bad_value(fn, name, value, CAPTURE_SIZES_ALLOWED);
        sizes[count++] = (int)v;
        p += len;
        if (*p == ',') {
            p++;
            if (*p == '\0') return bad_value(fn, name, value, CAPTURE_SIZES_ALLOWED);
        }
    }
    memcpy(cfg->capture_sizes, sizes, (size_t)count * sizeof sizes[0]);
    cfg->num_capture_sizes = count;
    return SEAM_OK;
}

static void parse_capture_sizes_format(const seam_config *cfg, char *buf, size_t size) {
    if (cfg->num_capture_sizes == 0) {
        snprintf(buf, size, "default");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < cfg->num_capture_sizes && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%d", i ? "," : "", cfg->capture_sizes[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
}

static const var_desc vars[SEAM_VAR_COUNT] = {
    [SEAM_VAR_GRAPH_SAFE] = {"SEAM_GRAPH_SAFE", "0 or 1",
                             "indexer ops (k-cache store, logits, top-k) run inside CUDA graphs, "
                             "so pieces merge",
                             parse_graph_safe, parse_graph_safe_format},
    [SEAM_VAR_PIECEWISE] = {"SEAM_PIECEWISE", "0 or 1",
                            "use piecewise CUDA graphs at all (0: every forward runs eagerly)",
                            parse_piecewise, parse_piecewise_format},
    [SEAM_VAR_CAPTURE_SIZES] = {"SEAM_CAPTURE_SIZES", CAPTURE_SIZES_ALLOWED,
                                "token-count buckets to capture; default 4..32 step 4, 48..256 "
                                "step 16, 288..512 step 32, 640..4096 step 128, capped by max "
                                "tokens",
                                parse_capture_sizes, parse_capture_sizes_format},
    [SEAM_VAR_TOPK_BACKEND] = {"SEAM_TOPK_BACKEND", "radix or sort",
                               "top-k implementation: radix select (fast) or segmented sort "
                               "(baseline)",
                               parse_backend, parse_backend_format},
    [SEAM_VAR_TOPK_DETERMINISTIC] = {"SEAM_TOPK_DETERMINISTIC", "0 or 1",
                                     "bitwise-reproducible top-k: ties at the k-th value broken "
                                     "by index, output in ascending index order",
                                     parse_deterministic, parse_deterministic_format},
    [SEAM_VAR_TOPK_TIE_BREAK] = {"SEAM_TOPK_TIE_BREAK", "none, small or large",
                                 "which indices win ties at the k-th value; small or large "
                                 "implies deterministic",
                                 parse_tie_break, parse_tie_break_format},
    [SEAM_VAR_TOPK_FUSE] = {"SEAM_TOPK_FUSE", "0 or 1",
                            "fuse the page-table (decode) or ragged (prefill) index transform "
                            "into the top-k kernel",
                            parse_fuse, parse_fuse_format},
    [SEAM_VAR_TOPK_BROADCAST] = {"SEAM_TOPK_BROADCAST", "0 or 1",
                                 "broadcast rank 0's final top-k indices to the other "
                                 "tensor-parallel ranks",
                                 parse_broadcast, parse_broadcast_format},
    [SEAM_VAR_LOG] = {"SEAM_LOG", "error, warn, info or debug",
                      "log level of messages on stderr", parse_log, parse_log_format},
    [SEAM_VAR_NCCL_TIMEOUT_MS] = {"SEAM_NCCL_TIMEOUT_MS",
                                  "an integer number of milliseconds from 1 to 86400000",
                                  "how long a collective may wait on a peer before the "
                                  "communicator is aborted",
                                  parse_timeout, parse_timeout_format},
};

/* Variables read by parts of seam other than the config (the Python binding; seam-launch
 * and seam_comm_init_launched). */
static const char *const other_known_vars[] = {"SEAM_LIBRARY", "SEAM_LAUNCH_RANK", "SEAM_LAUNCH_SIZE",
                                               "SEAM_LAUNCH_DEVICE", "SEAM_LAUNCH_ID_FILE"};

static int valid_var(seam_config_var var) { return var >= 0 && var < SEAM_VAR_COUNT; }

const char *seam_config_var_name(seam_config_var var) { return valid_var(var) ? vars[var].name : NULL; }
const char *seam_config_var_allowed(seam_config_var var) { return valid_var(var) ? vars[var].allowed : NULL; }
const char *seam_config_var_help(seam_config_var var) { return valid_var(var) ? vars[var].help : NULL; }

const char *seam_config_source_string(seam_config_source source) {
    switch (source) {
    case SEAM_SOURCE_DEFAULT: return "default";
    case SEAM_SOURCE_ENV: return "environment";
    case SEAM_SOURCE_CODE: return "code";
    }
    return "unknown";
}

seam_status seam_config_set(seam_config *cfg, seam_config_var var, const char *value) {
    SEAM_CHECK_PTR(cfg);
    SEAM_CHECK_PTR(value);
    SEAM_CHECK_ARG(valid_var(var), "var=%d is not a seam_config_var", (int)var);
    SEAM_CHECK_ARG(cfg->struct_size == sizeof(seam_config),
                   "cfg->struct_size=%zu, expected %zu (initialize with SEAM_CONFIG_INITIALIZER)",
                   cfg->struct_size, sizeof(seam_config));
    seam_config tmp = *cfg;
    SEAM_TRY(vars[var].parse(&tmp, __func__, vars[var].name, value));
    tmp.source[var] = SEAM_SOURCE_CODE;
    *cfg = tmp;
    return SEAM_OK;
}

seam_status seam_config_format(const seam_config *cfg, seam_config_var var, char *buf, size_t size) {
    SEAM_CHECK_PTR(cfg);
    SEAM_CHECK_PTR(buf);
    SEAM_CHECK_ARG(size > 0, "size=0");
    SEAM_CHECK_ARG(valid_var(var), "var=%d is not a seam_config_var", (int)var);
    SEAM_TRY(seam_config_validate(cfg)); /* the formatters index name tables by its enums */
    vars[var].format(cfg, buf, size);
    return SEAM_OK;
}

static int is_known_var(const char *name, size_t len) {
    for (int i = 0; i < SEAM_VAR_COUNT; i++)
        if (strlen(vars[i].name) == len && strncmp(vars[i].name, name, len) == 0) return 1;
    for (size_t i = 0; i < sizeof other_known_vars / sizeof other_known_vars[0]; i++)
        if (strlen(other_known_vars[i]) == len && strncmp(other_known_vars[i], name, len) == 0)
            return 1;
    return 0;
}

seam_status seam_config_from_env(seam_config *cfg) {
    SEAM_CHECK_PTR(cfg);
    seam_config tmp = SEAM_CONFIG_INITIALIZER;
    for (int i = 0; i < SEAM_VAR_COUNT; i++) {
        const char *value = getenv(vars[i].name);
        if (value == NULL) continue;
        SEAM_TRY(vars[i].parse(&tmp, __func__, vars[i].name, value));
        tmp.source[i] = SEAM_SOURCE_ENV;
    }
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "SEAM_", 5) != 0) continue;
        size_t len = strcspn(*e, "=");
        if (!is_known_var(*e, len))
            seam_log(SEAM_LOG_WARN, "unknown environment variable %.*s is ignored (typo?)",
                     (int)len, *e);
    }
    SEAM_TRY(seam_config_validate(&tmp));
    *cfg = tmp;
    seam_set_log_level(cfg->log_level);
    return SEAM_OK;
}

seam_status seam_config_validate(const seam_config *cfg) {
    SEAM_CHECK_PTR(cfg);
    SEAM_CHECK_ARG(cfg->struct_size == sizeof(seam_config),
                   "cfg->struct_size=%zu, expected %zu (initialize with SEAM_CONFIG_INITIALIZER)",
                   cfg->struct_size, sizeof(seam_config));
    SEAM_CHECK_ARG(cfg->graph_safe == 0 || cfg->graph_safe == 1, "graph_safe=%d is not 0 or 1",
                   cfg->graph_safe);
    SEAM_CHECK_ARG(cfg->piecewise == 0 || cfg->piecewise == 1, "piecewise=%d is not 0 or 1",
                   cfg->piecewise);
    SEAM_CHECK_ARG(cfg->num_capture_sizes >= 0 && cfg->num_capture_sizes <= SEAM_MAX_CAPTURE_SIZES,
                   "num_capture_sizes=%d is not in [0, %d]", cfg->num_capture_sizes,
                   SEAM_MAX_CAPTURE_SIZES);
    for (int i = 0; i < cfg->num_capture_sizes; i++) {
        SEAM_CHECK_ARG(cfg->capture_sizes[i] > 0, "capture_sizes[%d]=%d is not positive", i,
                       cfg->capture_sizes[i]);
        SEAM_CHECK_ARG(i == 0 || cfg->capture_sizes[i] > cfg->capture_sizes[i - 1],
                       "capture_sizes[%d]=%d is not above capture_sizes[%d]=%d", i,
                       cfg->capture_sizes[i], i - 1, cfg->capture_sizes[i - 1]);
    }
    SEAM_CHECK_ARG(cfg->topk_backend == SEAM_TOPK_RADIX || cfg->topk_backend == SEAM_TOPK_SORT,
                   "topk_backend=%d is not a seam_topk_backend", (int)cfg->topk_backend);
    SEAM_CHECK_ARG(cfg->topk_deterministic == 0 || cfg->topk_deterministic == 1,
                   "topk_deterministic=%d is not 0 or 1", cfg->topk_deterministic);
    SEAM_CHECK_ARG(cfg->topk_tie_break >= SEAM_TIE_BREAK_NONE &&
                       cfg->topk_tie_break <= SEAM_TIE_BREAK_LARGE,
                   "topk_tie_break=%d is not a seam_topk_tie_break", (int)cfg->topk_tie_break);
    SEAM_CHECK_ARG(cfg->topk_fuse == 0 || cfg->topk_fuse == 1, "topk_fuse=%d is not 0 or 1",
                   cfg->topk_fuse);
    SEAM_CHECK_ARG(cfg->topk_broadcast == 0 || cfg->topk_broadcast == 1,
                   "topk_broadcast=%d is not 0 or 1", cfg->topk_broadcast);
    SEAM_CHECK_ARG(cfg->log_level >= SEAM_LOG_ERROR && cfg->log_level <= SEAM_LOG_DEBUG,
                   "log_level=%d is not a seam_log_level", (int)cfg->log_level);
    SEAM_CHECK_ARG(cfg->nccl_timeout_ms > 0, "nccl_timeout_ms=%d is not positive",
                   cfg->nccl_timeout_ms);
    return SEAM_OK;
}

int seam_config_topk_is_deterministic(const seam_config *cfg) {
    return cfg && (cfg->topk_deterministic || cfg->topk_tie_break != SEAM_TIE_BREAK_NONE);
}

/* SGLang's piecewise token buckets. */
static int default_capture_sizes(int *sizes) {
    static const struct { int from, to, step; } ranges[] = {
        {4, 32, 4}, {48, 256, 16}, {288, 512, 32}, {640, 4096, 128}};
    int n = 0;
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
        for (int s = ranges[r].from; s <= ranges[r].to; s += ranges[r].step) sizes[n++] = s;
    return n;
}

seam_status seam_config_capture_sizes(const seam_config *cfg, int max_tokens, int *sizes,
                                      int capacity, int *count) {
    SEAM_CHECK_PTR(cfg);
    SEAM_CHECK_PTR(count);
    SEAM_CHECK_ARG(max_tokens > 0, "max_tokens=%d is not positive", max_tokens);
    SEAM_CHECK_ARG(capacity >= 0 && (sizes != NULL || capacity == 0),
                   "sizes is NULL or capacity=%d is negative", capacity);
    SEAM_TRY(seam_config_validate(cfg));
    int all[SEAM_MAX_CAPTURE_SIZES];
    int n = cfg->num_capture_sizes;
    if (n == 0) n = default_capture_sizes(all);
    else memcpy(all, cfg->capture_sizes, (size_t)n * sizeof all[0]);
    int kept = 0;
    for (int i = 0; i < n && all[i] <= max_tokens; i++) kept++;
    /* With the default list, the largest forward the context allows still gets a bucket. */
    int add_max = cfg->num_capture_sizes == 0 && kept < n && (kept == 0 || all[kept - 1] != max_tokens);
    int total = kept + add_max;
    SEAM_CHECK_ARG(total <= capacity, "capacity=%d is below the %d capture sizes", capacity, total);
    memcpy(sizes, all, (size_t)kept * sizeof all[0]);
    if (add_max) sizes[kept] = max_tokens;
    *count = total;
    return SEAM_OK;
}
