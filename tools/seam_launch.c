/* seam-launch: run one process per GPU for multi-rank tests and benchmarks.
 *
 *   seam-launch -n N [--timeout S] [--grace S] [--no-nccl] [--] prog [args...]
 *
 * Creates an NCCL unique id (seam_comm_unique_id) and writes it to a private temporary file,
 * then starts N copies of prog, each with SEAM_LAUNCH_RANK, SEAM_LAUNCH_SIZE,
 * SEAM_LAUNCH_DEVICE (the rank: one GPU per rank, ordinals as CUDA_VISIBLE_DEVICES shows
 * them) and SEAM_LAUNCH_ID_FILE in its environment; seam_comm_init_launched() reads them.
 * NCCL_NVLS_ENABLE is set to 0 unless the environment already sets it (NVLink multicast
 * stays off on the shared machines).
 *
 * The launcher keeps running while the ranks run: the unique id names a bootstrap socket
 * that NCCL opened in this process. When a rank fails (non-zero exit or a signal) the
 * others are sent SIGTERM, and SIGKILL after --grace seconds (default 10); --timeout ends
 * the whole run the same way (default: none). Exit status: 0 when every rank exited 0;
 * otherwise the status of the first rank that failed (1 for a signal or a timeout), so a
 * rank that skips (77) makes the run a skip; 77 also when N > 1 ranks need more GPUs than
 * are visible. --no-nccl starts the ranks without an id and without
 * the GPU count check (for programs that do not communicate). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "seam.h"

extern char **environ;

#define MAX_RANKS 1024

typedef struct rank_state {
    pid_t pid;
    int running;
    int status;      /* waitpid status once exited */
    int stopped_by_us;
} rank_state;

static volatile sig_atomic_t got_signal;

static void on_signal(int sig) { got_signal = sig; }

static void usage(void) {
    fprintf(stderr, "usage: seam-launch -n N [--timeout SECONDS] [--grace SECONDS] [--no-nccl] "
                    "[--] prog [args...]\n");
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int parse_count(const char *text, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < lo || v > hi) return 0;
    *out = (int)v;
    return 1;
}

/* environ plus this rank's variables (replacing any inherited ones). Built before fork:
 * the child only assigns environ and execs. */
static char **rank_environment(int rank, int size, const char *id_file, size_t *inherited) {
    static const char *const ours[] = {"SEAM_LAUNCH_RANK=", "SEAM_LAUNCH_SIZE=",
                                       "SEAM_LAUNCH_DEVICE=", "SEAM_LAUNCH_ID_FILE="};
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 6, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    int has_nvls = 0;
    for (size_t i = 0; i < n; i++) {
        int skip = 0;
        for (size_t j = 0; j < sizeof ours / sizeof ours[0]; j++)
            if (strncmp(environ[i], ours[j], strlen(ours[j])) == 0) skip = 1;
        if (strncmp(environ[i], "NCCL_NVLS_ENABLE=", 17) == 0) has_nvls = 1;
        if (!skip) env[k++] = environ[i];
    }
    *inherited = k;
    char buf[4096];
    snprintf(buf, sizeof buf, "SEAM_LAUNCH_RANK=%d", rank);
    env[k++] = strdup(buf);
    snprintf(buf, sizeof buf, "SEAM_LAUNCH_SIZE=%d", size);
    env[k++] = strdup(buf);
    snprintf(buf, sizeof buf, "SEAM_LAUNCH_DEVICE=%d", rank);
    env[k++] = strdup(buf);
    if (id_file) {
        snprintf(buf, sizeof buf, "SEAM_LAUNCH_ID_FILE=%s", id_file);
        env[k++] = strdup(buf);
    }
    if (!has_nvls) env[k++] = strdup("NCCL_NVLS_ENABLE=0");
    env[k] = NULL;
    int ok = 1;
    for (size_t i = *inherited; i < k; i++) ok = ok && env[i];
    if (!ok) {
        for (size_t i = *inherited; i < k; i++) free(env[i]);
        free(env);
        return NULL;
    }
    return env;
}

/* Frees what rank_environment added (the inherited strings belong to environ). */
static void free_environment(char **env, size_t inherited) {
    for (size_t i = inherited; env[i]; i++) free(env[i]);
    free(env);
}

static int write_id_file(char *path, size_t size, int report) {
    seam_comm_id id;
    seam_status s = seam_comm_unique_id(&id);
    if (s != SEAM_OK) {
        if (report) fprintf(stderr, "seam-launch: cannot create the NCCL unique id: %s: %s\n",
                seam_status_string(s), seam_last_error());
        return 0;
    }
    const char *dir = getenv("TMPDIR");
    snprintf(path, size, "%s/seam-launch-id-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path); /* mode 0600: the id lets a process join the group */
    if (fd < 0) {
        fprintf(stderr, "seam-launch: mkstemp(%s): %s\n", path, strerror(errno));
        return 0;
    }
    ssize_t w = write(fd, id.internal, sizeof id.internal);
    close(fd);
    if (w != (ssize_t)sizeof id.internal) {
        fprintf(stderr, "seam-launch: writing %s failed\n", path);
        unlink(path);
        return 0;
    }
    return 1;
}

static void signal_all(rank_state *ranks, int n, int sig) {
    for (int i = 0; i < n; i++)
        if (ranks[i].running) {
            kill(-ranks[i].pid, sig); /* the rank's process group: its children too */
            if (sig == SIGTERM || sig == SIGKILL) ranks[i].stopped_by_us = 1;
        }
}

static void describe(int rank, const rank_state *r) {
    if (WIFEXITED(r->status))
        fprintf(stderr, "seam-launch: rank %d (pid %d) exited with status %d\n", rank, (int)r->pid,
                WEXITSTATUS(r->status));
    else if (WIFSIGNALED(r->status))
        fprintf(stderr, "seam-launch: rank %d (pid %d) was killed by signal %d%s\n", rank,
                (int)r->pid, WTERMSIG(r->status), r->stopped_by_us ? " (sent by seam-launch)" : "");
}

int main(int argc, char **argv) {
    int n = 0, no_nccl = 0;
    double timeout = 0, grace = 10;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            if (!parse_count(argv[++i], 1, MAX_RANKS, &n)) {
                fprintf(stderr, "seam-launch: -n %s is not in [1, %d]\n", argv[i], MAX_RANKS);
                return 2;
            }
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            int t;
            if (!parse_count(argv[++i], 0, 86400 * 7, &t)) {
                fprintf(stderr, "seam-launch: --timeout %s is not a number of seconds\n", argv[i]);
                return 2;
            }
            timeout = t;
        } else if (strcmp(argv[i], "--grace") == 0 && i + 1 < argc) {
            int g;
            if (!parse_count(argv[++i], 0, 3600, &g)) {
                fprintf(stderr, "seam-launch: --grace %s is not a number of seconds\n", argv[i]);
                return 2;
            }
            grace = g;
        } else if (strcmp(argv[i], "--no-nccl") == 0) {
            no_nccl = 1;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (argv[i][0] == '-') {
            usage();
            return 2;
        } else {
            break;
        }
    }
    if (n == 0 || i >= argc) {
        usage();
        return 2;
    }
    char **prog = argv + i;

    if (n > 1 && !no_nccl) {
        int gpus = 0;
        seam_status s = seam_device_count(&gpus);
        if (s != SEAM_OK || gpus < n) {
            fprintf(stderr, "seam-launch: %d ranks need %d GPUs, %d visible: skipped\n", n, n,
                    s == SEAM_OK ? gpus : 0);
            return 77;
        }
    }
    char id_path[1024];
    const char *id_file = NULL;
    if (!no_nccl) {
        /* One rank needs no id unless it asks for an NCCL communicator of its own, so without
         * NCCL it runs anyway. */
        if (write_id_file(id_path, sizeof id_path, n > 1)) id_file = id_path;
        else if (n > 1) return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    static rank_state ranks[MAX_RANKS];
    int exit_code = 0, first_failed = -1, launched = 0;
    for (int r = 0; r < n; r++) {
        size_t inherited = 0;
        char **env = rank_environment(r, n, id_file, &inherited);
        if (!env) {
            fprintf(stderr, "seam-launch: out of memory\n");
            exit_code = 1;
            break;
        }
        fflush(NULL);
        pid_t launcher = getpid();
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "seam-launch: fork: %s\n", strerror(errno));
            free_environment(env, inherited);
            exit_code = 1;
            break;
        }
        if (pid == 0) {
            setpgid(0, 0);
            /* A launcher killed outright (SIGKILL from a test harness) takes its ranks along
             * instead of leaving hung NCCL processes behind. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != launcher) _exit(1);
            environ = env;
            execvp(prog[0], prog);
            fprintf(stderr, "seam-launch: cannot run %s: %s\n", prog[0], strerror(errno));
            _exit(127);
        }
        setpgid(pid, pid); /* also here: no race with the child's own call */
        free_environment(env, inherited);
        ranks[r].pid = pid;
        ranks[r].running = 1;
        launched++;
    }
    if (exit_code) signal_all(ranks, launched, SIGTERM);

    double start = now_s(), kill_at = exit_code ? start + grace : 0;
    int alive = launched, timed_out = 0;
    while (alive > 0) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid > 0) {
            for (int r = 0; r < launched; r++) {
                if (ranks[r].pid != pid || !ranks[r].running) continue;
                ranks[r].running = 0;
                ranks[r].status = st;
                alive--;
                int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
                if (!ok && !ranks[r].stopped_by_us) describe(r, &ranks[r]);
                if (!ok && first_failed < 0 && !ranks[r].stopped_by_us) {
                    first_failed = r;
                    if (alive > 0) {
                        fprintf(stderr, "seam-launch: stopping the other %d rank(s)\n", alive);
                        signal_all(ranks, launched, SIGTERM);
                        kill_at = now_s() + grace;
                    }
                }
            }
            continue;
        }
        if (pid < 0 && errno != EINTR) break;
        double t = now_s();
        if (got_signal && kill_at == 0) {
            fprintf(stderr, "seam-launch: got signal %d, stopping the ranks\n", (int)got_signal);
            signal_all(ranks, launched, SIGTERM);
            kill_at = t + grace;
            exit_code = 1;
        }
        if (timeout > 0 && t - start > timeout && kill_at == 0) {
            fprintf(stderr, "seam-launch: --timeout %.0f s passed, stopping the ranks\n", timeout);
            signal_all(ranks, launched, SIGTERM);
            kill_at = t + grace;
            timed_out = 1;
        }
        if (kill_at > 0 && t > kill_at) {
            signal_all(ranks, launched, SIGKILL);
            kill_at = t + 3600; /* SIGKILL once */
        }
        struct timespec d = {0, 20 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
    if (id_file) unlink(id_file);

    if (first_failed >= 0) {
        const rank_state *f = &ranks[first_failed];
        return WIFEXITED(f->status) ? WEXITSTATUS(f->status) : 1;
    }
    if (timed_out) return 1;
    return exit_code;
}
