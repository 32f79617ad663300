/*
 * C test program for joins and moves, driven by quptime-ffi/tests/joins.rs.
 * Every node runs in this process through the C ABI, on loopback.
 *
 *   test_joins joins ROOT PORT...
 *       A founder "m" on the first port, then ten token joins in a row on
 *       the others, with ids sorting after ("n1".."n5") and then before
 *       ("a5".."a1") the founder's. Every join must succeed and the founder
 *       must list 11 live voters.
 *
 *   test_joins moved ROOT PORT_A PORT_B PORT_C NEW_PORT
 *       Three nodes a, b, c and a tcp check; c restarts on NEW_PORT. The
 *       master must list c at its new address, live, with its vote counted
 *       again (3 results), within 5 s of the restart.
 *
 *   test_joins stale ROOT PORT_A PORT_B PORT_C NEW_PORT
 *       The same, but c's node.yaml still advertises its old port: the
 *       master must show c not live (its pings get through, the log does
 *       not reach it), and keep showing it so.
 *
 * Prints "ok <what>" lines and exits 0 when every expectation held.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "quptime.h"

static void die(const char *what, qu_result r) {
    const char *why = qu_last_error();
    fprintf(stderr, "FAIL %s: %s: %s\n", what, qu_result_describe(r), why ? why : "");
    exit(2);
}

static void fail(const char *what) {
    fprintf(stderr, "FAIL %s\n", what);
    exit(1);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void nap(void) {
    struct timespec t = {0, 100 * 1000 * 1000};
    nanosleep(&t, NULL);
}

static qu_node_options options(const char *dir, int port, const char *name) {
    qu_node_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = dir;
    o.bind = "127.0.0.1";
    o.port = (uint16_t)port;
    o.node_id = name;
    o.heartbeat_ms = 100;
    o.election_timeout_ms = 500;
    return o;
}

/* The node's status as JSON; free with qu_string_free. */
static char *status(const qu_cluster *c) {
    char *json = NULL;
    qu_result r = qu_cluster_status_json(c, &json);
    if (r != QU_OK)
        die("status", r);
    return json;
}

static bool is_master(const qu_cluster *c) {
    char *s = status(c);
    bool m = strstr(s, "\"is_master\":true") != NULL;
    qu_string_free(s);
    return m;
}

/* Member `id` in a status: 1 found (advertise and live filled in), 0 not. */
static int peer(const char *json, const char *id, char *adv, size_t n, bool *live) {
    char key[128];
    snprintf(key, sizeof key, "{\"node_id\":\"%s\",\"advertise\":\"", id);
    const char *p = strstr(json, key);
    if (!p)
        return 0;
    p += strlen(key);
    const char *end = strchr(p, '"');
    if (!end || (size_t)(end - p) >= n)
        return 0;
    memcpy(adv, p, (size_t)(end - p));
    adv[end - p] = '\0';
    *live = strncmp(end, "\",\"live\":true", 13) == 0;
    return 1;
}

/* Fresh results the master counts for the (only) check. */
static int votes(const char *json) {
    const char *p = strstr(json, "\"total\":");
    return p ? atoi(p + 8) : 0;
}

static int count(const char *json, const char *needle) {
    int n = 0;
    for (const char *p = json; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static char *path(const char *root, const char *name) {
    size_t n = strlen(root) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        fail("malloc");
    snprintf(p, n, "%s/%s", root, name);
    return p;
}

static qu_cluster *join(const qu_cluster *via, const char *root, const char *name, int port) {
    char *token = NULL;
    qu_result r = qu_cluster_create_token(via, name, 300, true, &token);
    if (r != QU_OK)
        die("create token", r);
    char *dir = path(root, name);
    qu_node_options o = options(dir, port, name);
    qu_cluster *c = NULL;
    r = qu_cluster_join(&o, token, 30000, &c);
    if (r != QU_OK) {
        fprintf(stderr, "join %s:\n", name);
        die("join", r);
    }
    qu_string_free(token);
    free(dir);
    return c;
}

static qu_cluster *found(const char *root, const char *name, int port) {
    char *dir = path(root, name);
    qu_node_options o = options(dir, port, name);
    qu_cluster *c = NULL;
    qu_result r = qu_cluster_start_with(&o, &c);
    if (r != QU_OK)
        die("start", r);
    free(dir);
    double deadline = now_s() + 10;
    while (!is_master(c)) {
        if (now_s() > deadline)
            fail("the founder did not become master within 10 s");
        nap();
    }
    return c;
}

static void stop(qu_cluster *c) {
    qu_cluster_shutdown(c);
    qu_cluster_free(c);
}

static int joins(int argc, char **argv) {
    const char *root = argv[2];
    const char *names[] = {"n1", "n2", "n3", "n4", "n5", "a5", "a4", "a3", "a2", "a1"};
    if (argc < 3 + 11)
        fail("joins needs 11 ports");
    qu_cluster *nodes[11];
    nodes[0] = found(root, "m", atoi(argv[3]));
    for (int i = 0; i < 10; i++) {
        nodes[i + 1] = join(nodes[0], root, names[i], atoi(argv[4 + i]));
        printf("ok join %s\n", names[i]);
        fflush(stdout);
    }
    double deadline = now_s() + 90;
    for (;;) {
        char *s = status(nodes[0]);
        int voters = count(s, "\"voter\":true");
        int live = count(s, "\"live\":true");
        qu_string_free(s);
        if (voters == 11 && live == 11)
            break;
        if (now_s() > deadline)
            fail("the founder did not list 11 live voters within 90 s");
        nap();
    }
    printf("ok 11 live voters\n");
    for (int i = 0; i < 11; i++)
        stop(nodes[i]);
    return 0;
}

/* A TCP listener on 127.0.0.1 (accepting through the backlog). */
static int listener(char *target, size_t n) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        fail("listener");
    snprintf(target, n, "127.0.0.1:%d", ntohs(a.sin_port));
    return fd;
}

static qu_cluster *master_of(qu_cluster **nodes, int n) {
    for (int i = 0; i < n; i++)
        if (nodes[i] && is_master(nodes[i]))
            return nodes[i];
    return NULL;
}

/* Rewrite the `advertise:` line of DIR/node.yaml. */
static void set_advertise(const char *dir, const char *addr) {
    char *file = path(dir, "node.yaml");
    FILE *f = fopen(file, "r");
    if (!f)
        fail("open node.yaml");
    char body[8192] = "", line[1024];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "advertise:", 10) == 0)
            snprintf(line, sizeof line, "advertise: %s\n", addr);
        if (strlen(body) + strlen(line) >= sizeof body)
            fail("node.yaml too long");
        strcat(body, line);
    }
    fclose(f);
    f = fopen(file, "w");
    if (!f || fputs(body, f) < 0 || fclose(f) != 0)
        fail("write node.yaml");
    free(file);
}

static int moved(char **argv, bool stale) {
    const char *root = argv[2];
    int new_port = atoi(argv[6]);
    char target[64];
    int fd = listener(target, sizeof target);
    qu_cluster *nodes[3];
    nodes[0] = found(root, "a", atoi(argv[3]));
    nodes[1] = join(nodes[0], root, "b", atoi(argv[4]));
    nodes[2] = join(nodes[0], root, "c", atoi(argv[5]));
    qu_check_spec spec = {.name = "svc", .kind = QU_CHECK_TCP, .target = target,
                          .interval_ms = 1000, .timeout_ms = 1000};
    qu_result r = qu_cluster_add_check(nodes[0], &spec, NULL);
    if (r != QU_OK)
        die("add check", r);
    double deadline = now_s() + 30;
    for (;;) {
        qu_cluster *m = master_of(nodes, 3);
        if (m) {
            char *s = status(m);
            int v = votes(s);
            qu_string_free(s);
            if (v == 3)
                break;
        }
        if (now_s() > deadline)
            fail("three votes within 30 s");
        nap();
    }
    printf("ok three votes\n");
    char old[64];
    uint16_t old_port = 0;
    qu_cluster_port(nodes[2], &old_port);
    snprintf(old, sizeof old, "127.0.0.1:%u", (unsigned)old_port);
    stop(nodes[2]);
    nodes[2] = NULL;
    char *dir = path(root, "c");
    if (stale)
        set_advertise(dir, old);
    qu_node_options o = options(dir, new_port, NULL);
    o.node_id = NULL;
    r = qu_cluster_start_with(&o, &nodes[2]);
    if (r != QU_OK)
        die("restart c", r);
    free(dir);
    double restarted = now_s();
    char want[64], adv[128];
    snprintf(want, sizeof want, "127.0.0.1:%d", new_port);
    bool live = false;
    if (!stale) {
        for (;;) {
            qu_cluster *m = master_of(nodes, 2);
            if (m) {
                char *s = status(m);
                int v = votes(s);
                int found_c = peer(s, "c", adv, sizeof adv, &live);
                qu_string_free(s);
                if (found_c && strcmp(adv, want) == 0 && live && v == 3)
                    break;
            }
            if (now_s() > restarted + 5)
                fail("c reached at its new port with its vote counted within 5 s");
            nap();
        }
        printf("ok c counted again at %s after %.2fs\n", want, now_s() - restarted);
    } else {
        for (;;) {
            qu_cluster *m = master_of(nodes, 2);
            if (m) {
                char *s = status(m);
                int found_c = peer(s, "c", adv, sizeof adv, &live);
                qu_string_free(s);
                if (found_c && !live)
                    break;
            }
            if (now_s() > restarted + 10)
                fail("c shown not live within 10 s");
            nap();
        }
        double until = now_s() + 3;
        while (now_s() < until) {
            qu_cluster *m = master_of(nodes, 2);
            if (m) {
                char *s = status(m);
                int found_c = peer(s, "c", adv, sizeof adv, &live);
                qu_string_free(s);
                if (found_c && live)
                    fail("c shown live while the log does not reach it");
            }
            nap();
        }
        printf("ok c not live while the log does not reach it\n");
    }
    for (int i = 0; i < 3; i++)
        stop(nodes[i]);
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* As the README's rules ask of every embedding program. */
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 3 && strcmp(argv[1], "joins") == 0)
        return joins(argc, argv);
    if (argc >= 7 && strcmp(argv[1], "moved") == 0)
        return moved(argv, false);
    if (argc >= 7 && strcmp(argv[1], "stale") == 0)
        return moved(argv, true);
    fprintf(stderr, "usage: test_joins joins ROOT PORT... | moved|stale ROOT PA PB PC NEW\n");
    return 2;
}
