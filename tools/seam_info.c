/* seam-info: version, configuration (with where each value came from), devices and the
 * registered ops. Exits non-zero, naming the variable, when the environment holds a bad
 * SEAM_* value. */
#include <stdio.h>

#include "seam.h"

static int fail(const char *what, seam_status s) {
    fprintf(stderr, "seam-info: %s failed: %s: %s\n", what, seam_status_string(s), seam_last_error());
    return 1;
}

static void print_config(const seam_config *cfg) {
    printf("config:\n");
    for (int v = 0; v < SEAM_VAR_COUNT; v++) {
        char value[2048];
        seam_config_format(cfg, (seam_config_var)v, value, sizeof value);
        printf("  %-24s %-12s (%s)\n", seam_config_var_name((seam_config_var)v), value,
               seam_config_source_string(cfg->source[v]));
    }
}

static void print_devices(void) {
    int n;
    seam_status s = seam_device_count(&n);
    if (s != SEAM_OK) {
        printf("devices: none (%s: %s)\n", seam_status_string(s), seam_last_error());
        printf("GPU work is skipped on this machine: it needs an NVIDIA GPU and driver.\n");
        return;
    }
    printf("devices: %d\n", n);
    for (int i = 0; i < n; i++) {
        seam_device_info info;
        if (seam_device_get_info(i, &info) != SEAM_OK) {
            printf("  %d: %s\n", i, seam_last_error());
            continue;
        }
        printf("  %d: %s, sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB, driver %d, runtime %d\n", i,
               info.name, info.cc_major, info.cc_minor, info.multiprocessors,
               (double)info.total_memory / (1 << 30), (double)info.l2_bytes / (1 << 20),
               info.driver_version, info.runtime_version);
    }
}

static int print_ops(void) {
    seam_registry *reg;
    seam_status s = seam_registry_create(&reg);
    if (s != SEAM_OK) return fail("seam_registry_create", s);
    int n = seam_registry_count(reg);
    printf("ops: %d\n", n);
    for (int i = 0; i < n; i++) {
        const seam_op *op;
        if (seam_registry_get(reg, i, &op) != SEAM_OK) continue;
        printf("  %-28s %-27s args %d%s\n", op->name, seam_op_class_string(op), op->num_args,
               op->run_graph_safe ? ", graph-safe variant" : "");
    }
    seam_registry_destroy(reg);
    return 0;
}

int main(void) {
    int v = seam_version();
    printf("seam %d.%d.%d\n", v / 10000, v / 100 % 100, v % 100);
    seam_config cfg;
    seam_status s = seam_config_from_env(&cfg);
    if (s != SEAM_OK) return fail("reading the configuration", s);
    print_config(&cfg);
    print_devices();
    return print_ops();
}
