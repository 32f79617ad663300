/*
 * agent: a small C program that embeds a quptime monitor node.
 *
 * It starts a node (creating it in DATA_DIR on first run, or joining a
 * cluster with an enrollment token), adds an HTTP check for URL, and prints
 * every state transition the cluster commits until Ctrl-C or SIGTERM.
 *
 *   agent [-b BIND] [-p PORT] [-j TOKEN] [-n NAME] [-f] DATA_DIR [URL]
 *
 *   -b BIND   address to listen on for peers (default 0.0.0.0)
 *   -p PORT   port to listen on for peers (default 9901)
 *   -j TOKEN  join the cluster of this token (from `qu enroll create`)
 *   -n NAME   the node's id when it is created (default: a random UUID)
 *   -f        fast Raft timings (heartbeat 100 ms, election 0.5-1 s), for
 *             a LAN or tests; every member should use the same timings
 *
 * Build: `make` here (see Makefile), or
 *   cc -std=c11 agent.c $(pkg-config --cflags --libs quptime) -o agent
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <quptime.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

/* Print what failed, with the library's explanation, and exit. */
static void fail(const char *what, qu_result r) {
    const char *why = qu_last_error();
    fprintf(stderr, "agent: %s: %s (%s)\n", what, why ? why : "", qu_result_describe(r));
    exit(1);
}

int main(int argc, char **argv) {
    qu_node_options opts;
    memset(&opts, 0, sizeof opts); /* zero = default for every field */
    const char *token = NULL;
    int c;
    while ((c = getopt(argc, argv, "b:p:j:n:f")) != -1) {
        switch (c) {
        case 'b': opts.bind = optarg; break;
        case 'p': opts.port = (uint16_t)atoi(optarg); break;
        case 'j': token = optarg; break;
        case 'n': opts.node_id = optarg; break;
        case 'f':
            opts.heartbeat_ms = 100;
            opts.election_timeout_ms = 500;
            break;
        default:
            fprintf(stderr, "usage: agent [-b BIND] [-p PORT] [-j TOKEN] [-n NAME] [-f] DATA_DIR [URL]\n");
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: agent [-b BIND] [-p PORT] [-j TOKEN] [-n NAME] [-f] DATA_DIR [URL]\n");
        return 2;
    }
    opts.data_dir = argv[optind];
    const char *url = optind + 1 < argc ? argv[optind + 1] : NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Start the node: join a cluster, or start (creating it if needed). */
    qu_cluster *node = NULL;
    qu_result r = token ? qu_cluster_join(&opts, token, 60000, &node)
                        : qu_cluster_start_with(&opts, &node);
    if (r != QU_OK)
        fail(token ? "join" : "start", r);

    char *id = NULL;
    uint16_t port = 0;
    if (qu_cluster_node_id(node, &id) == QU_OK && qu_cluster_port(node, &port) == QU_OK)
        printf("agent: node %s listening on port %u\n", id, port);
    qu_string_free(id);

    /* Subscribe before adding the check so no transition is missed. */
    qu_subscription *sub = NULL;
    if ((r = qu_cluster_subscribe(node, &sub)) != QU_OK)
        fail("subscribe", r);

    if (url) {
        qu_check_spec check;
        memset(&check, 0, sizeof check);
        check.name = "web";
        check.kind = QU_CHECK_HTTP;
        check.target = url;
        check.interval_ms = 1000;
        r = qu_cluster_add_check(node, &check, NULL);
        if (r != QU_OK && r != QU_ERR_ALREADY_EXISTS) /* kept from a previous run */
            fail("add check", r);
        printf("agent: watching %s\n", url);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A peer closing a connection mid-write must not kill the agent. */
    signal(SIGPIPE, SIG_IGN);

    /* Print transitions; wake every second to notice a signal. */
    while (!stop) {
        qu_transition *t = NULL;
        r = qu_subscription_next(sub, 1000, &t);
        if (r == QU_TIMEOUT)
            continue;
        if (r == QU_CLOSED)
            break;
        if (r != QU_OK)
            fail("next transition", r);
        printf("%s %s %s -> %s (%s)\n", qu_transition_at(t), qu_transition_check_name(t),
               qu_check_state_name(qu_transition_from(t)),
               qu_check_state_name(qu_transition_to(t)), qu_transition_summary(t));
        qu_transition_free(t);
    }

    /* Graceful shutdown: the node hands over leadership and closes. */
    qu_subscription_free(sub);
    if ((r = qu_cluster_free(node)) != QU_OK)
        fail("shutdown", r);
    printf("agent: stopped\n");
    return 0;
}
