/*
 * C test program for quptime.h, driven by quptime-ffi/tests/c_api.rs.
 *
 *   test_quptime misuse DIR PORT
 *       Misuse of the API (NULL and freed handles, double frees, invalid
 *       YAML, invalid UTF-8, wrong handle types) on a real one-node
 *       cluster: every call must answer its error code, nothing may crash.
 *       Exits 0 when every expectation held.
 *
 *   test_quptime node DIR PORT NAME found URL TOKENS
 *   test_quptime node DIR PORT NAME join TOKEN
 *       One member of a cluster (fast Raft timings). A founder creates
 *       TOKENS enrollment tokens ("token <t>"), then adds the HTTP check
 *       "web" on URL; a joiner joins with TOKEN. Both print every
 *       transition seen through the pull API ("pull web up down") and the
 *       callback API ("callback web up down"), answer "status" on stdin
 *       with "status <json>", and shut down cleanly on "quit" or EOF.
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quptime.h"

static int failures;
static int checks;

#define EXPECT(call, want)                                                   \
    do {                                                                     \
        qu_result got_ = (call);                                             \
        checks++;                                                            \
        if (got_ != (qu_result)(want)) {                                     \
            const char *why_ = qu_last_error();                              \
            fprintf(stderr, "FAIL %s:%d: %s = %u (%s), want %u: %s\n",       \
                    __FILE__, __LINE__, #call, (unsigned)got_,               \
                    qu_result_describe(got_), (unsigned)(want),              \
                    why_ ? why_ : "(no message)");                           \
            failures++;                                                      \
        }                                                                    \
    } while (0)

#define EXPECT_TRUE(cond)                                                    \
    do {                                                                     \
        checks++;                                                            \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static void die(const char *what, qu_result r) {
    const char *why = qu_last_error();
    fprintf(stderr, "%s: %s: %s\n", what, qu_result_describe(r), why ? why : "");
    exit(2);
}

/* Fast timings: every member of a test cluster uses the same. */
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

static void never_called(void *userdata, const qu_transition *t) {
    (void)userdata;
    (void)t;
    fprintf(stderr, "FAIL: a callback came without a transition\n");
    abort();
}

static int misuse(const char *dir, int port) {
    qu_cluster *const sentinel = (qu_cluster *)&failures;
    qu_cluster *c = sentinel;
    qu_subscription *sub = NULL, *cb_sub = NULL;
    qu_transition *t = NULL;
    char *s = NULL;
    char stack_string[8] = "foreign";
    qu_cluster *bogus = (qu_cluster *)(uintptr_t)0x5eed0;

    EXPECT_TRUE(strcmp(qu_version(), QU_VERSION) == 0);
    EXPECT_TRUE(qu_last_error() == NULL);
    EXPECT_TRUE(strcmp(qu_result_describe(QU_OK), "ok") == 0);
    EXPECT_TRUE(strcmp(qu_result_describe(9999), "unknown result code") == 0);

    /* NULL arguments: an error code, and out-parameters left alone. */
    EXPECT(qu_cluster_start(NULL, &c), QU_ERR_NULL_POINTER);
    EXPECT_TRUE(c == sentinel && qu_last_error() != NULL);
    EXPECT(qu_cluster_start(dir, NULL), QU_ERR_NULL_POINTER);
    EXPECT(qu_cluster_start_with(NULL, &c), QU_ERR_NULL_POINTER);
    qu_node_options o = options(NULL, port, "solo");
    EXPECT(qu_cluster_start_with(&o, &c), QU_ERR_NULL_POINTER);
    o = options(dir, port, "solo");
    o.bind = "\xff\xfe";
    EXPECT(qu_cluster_start_with(&o, &c), QU_ERR_INVALID_UTF8);
    o = options(dir, port, "solo");
    o.election_timeout_ms = 150; /* less than twice the heartbeat */
    EXPECT(qu_cluster_start_with(&o, &c), QU_ERR_INVALID_INPUT);
    o = options(dir, port, "bad id with spaces");
    EXPECT(qu_cluster_start_with(&o, &c), QU_ERR_INVALID_INPUT);
    EXPECT(qu_cluster_start(dir, &c), QU_ERR_NOT_FOUND); /* no node there yet */
    o = options(dir, port, "solo");
    o.secret = "9dbef9d4c1a07e55b3f2d8c6a4e10b7f9dbef9d4c1a07e55b3f2d8c6a4e10b7e";
    EXPECT(qu_cluster_join(&o, "not-a-token", 0, &c), QU_ERR_INVALID_INPUT);
    o.secret = NULL;
    EXPECT(qu_cluster_join(&o, NULL, 0, &c), QU_ERR_NULL_POINTER);
    EXPECT(qu_cluster_join(&o, "not-a-token", 0, &c), QU_ERR_INVALID_INPUT);
    EXPECT_TRUE(c == sentinel);

    /* Handles that are NULL, made up or of another type. */
    EXPECT(qu_cluster_status_json(NULL, &s), QU_ERR_NULL_POINTER);
    EXPECT(qu_cluster_status_json(bogus, &s), QU_ERR_INVALID_HANDLE);
    EXPECT(qu_cluster_shutdown(bogus), QU_ERR_INVALID_HANDLE);
    EXPECT(qu_cluster_free(bogus), QU_ERR_INVALID_HANDLE);
    EXPECT(qu_cluster_free(NULL), QU_OK);
    EXPECT(qu_subscription_free(NULL), QU_OK);
    EXPECT(qu_transition_free(NULL), QU_OK);
    EXPECT(qu_string_free(NULL), QU_OK);
    EXPECT(qu_string_free(stack_string), QU_ERR_INVALID_HANDLE);
    EXPECT(qu_subscription_next(NULL, 0, &t), QU_ERR_NULL_POINTER);
    EXPECT(qu_transition_free((qu_transition *)bogus), QU_ERR_INVALID_HANDLE);
    EXPECT_TRUE(qu_transition_check_name(NULL) == NULL);
    EXPECT_TRUE(qu_transition_json((qu_transition *)bogus) == NULL);
    EXPECT_TRUE(qu_transition_to(NULL) == QU_STATE_NONE);
    EXPECT_TRUE(qu_transition_seq((qu_transition *)bogus) == 0);
    EXPECT_TRUE(strcmp(qu_check_state_name(QU_STATE_DOWN), "down") == 0);
    EXPECT_TRUE(strcmp(qu_check_state_name(77), "none") == 0);
    EXPECT_TRUE(s == NULL && t == NULL);

    /* A real node for the rest. */
    o = options(dir, port, "solo");
    EXPECT(qu_cluster_start_with(&o, &c), QU_OK);
    if (c == sentinel) {
        fprintf(stderr, "cannot start a node; stopping here\n");
        return 1;
    }
    /* Restart options must agree with the saved identity. */
    qu_cluster *other = NULL;
    o = options(dir, port, "someone-else");
    EXPECT(qu_cluster_start_with(&o, &other), QU_ERR_INVALID_INPUT);
    EXPECT_TRUE(other == NULL);

    uint16_t got_port = 0;
    EXPECT(qu_cluster_port(c, &got_port), QU_OK);
    EXPECT_TRUE(got_port == port);
    EXPECT(qu_cluster_port(c, NULL), QU_ERR_NULL_POINTER);
    EXPECT(qu_cluster_node_id(c, &s), QU_OK);
    EXPECT_TRUE(s != NULL && strcmp(s, "solo") == 0);
    EXPECT(qu_string_free(s), QU_OK);
    EXPECT(qu_string_free(s), QU_ERR_INVALID_HANDLE); /* double free */
    s = NULL;

    /* Invalid documents and specs. */
    char *id = NULL;
    EXPECT(qu_cluster_add_check_yaml(c, "name: [unclosed", &id), QU_ERR_INVALID_INPUT);
    EXPECT(qu_cluster_add_check_yaml(c, "name: x\ntype: carrier-pigeon\ntarget: a\n", &id),
           QU_ERR_INVALID_INPUT);
    EXPECT(qu_cluster_add_check_yaml(c, "name: caf\xe9\n", &id), QU_ERR_INVALID_UTF8);
    EXPECT(qu_cluster_add_check_yaml(c, NULL, &id), QU_ERR_NULL_POINTER);
    /* dns answer expectations: a value not of the record type's form is
       refused naming the field; a valid one is taken. */
    EXPECT(qu_cluster_add_check_yaml(
               c, "name: www\ntype: dns\ntarget: www.example.test\nexpect_values: [2001:db8::1]\n",
               &id),
           QU_ERR_INVALID_INPUT);
    EXPECT_TRUE(strstr(qu_last_error(), "expect_values") != NULL);
    EXPECT_TRUE(strstr(qu_last_error(), "IPv4 address") != NULL);
    EXPECT(qu_cluster_add_check_yaml(
               c,
               "name: www\ntype: dns\ntarget: www.example.test\n"
               "expect_values: [192.0.2.10]\nexpect_count: 1\n",
               &id),
           QU_OK);
    EXPECT(qu_string_free(id), QU_OK);
    id = NULL;
    EXPECT(qu_cluster_remove_check(c, "www"), QU_OK);
    EXPECT(qu_cluster_add_alert_yaml(c, "{ this is not: yaml", &id), QU_ERR_INVALID_INPUT);
    EXPECT(qu_cluster_add_alert_yaml(c, "name: x\ntype: pager\nsettings: {}\n", &id),
           QU_ERR_INVALID_INPUT);
    qu_check_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.name = "web";
    spec.kind = QU_CHECK_HTTP;
    EXPECT(qu_cluster_add_check(c, &spec, &id), QU_ERR_NULL_POINTER); /* no target */
    spec.target = "http://127.0.0.1:9/";
    spec.kind = 99;
    EXPECT(qu_cluster_add_check(c, &spec, &id), QU_ERR_INVALID_INPUT);
    spec.kind = QU_CHECK_HTTP;
    spec.interval_ms = 10; /* below the 1 s minimum */
    EXPECT(qu_cluster_add_check(c, &spec, &id), QU_ERR_INVALID_INPUT);
    EXPECT(qu_cluster_add_check(c, NULL, &id), QU_ERR_NULL_POINTER);
    EXPECT_TRUE(id == NULL);

    /* Valid changes, then conflicts. */
    spec.interval_ms = 5000;
    EXPECT(qu_cluster_add_check(c, &spec, &id), QU_OK);
    EXPECT_TRUE(id != NULL);
    EXPECT(qu_string_free(id), QU_OK);
    EXPECT(qu_cluster_add_check(c, &spec, NULL), QU_ERR_ALREADY_EXISTS);
    EXPECT(qu_cluster_add_check_yaml(c, "{\"name\": \"tcp\", \"type\": \"tcp\", "
                                        "\"target\": \"127.0.0.1:9\", \"interval\": \"1m\"}",
                                     NULL),
           QU_OK);
    EXPECT(qu_cluster_remove_check(c, "tcp"), QU_OK);
    EXPECT(qu_cluster_remove_check(c, "tcp"), QU_ERR_NOT_FOUND);
    EXPECT(qu_cluster_remove_check(c, NULL), QU_ERR_NULL_POINTER);
    EXPECT(qu_cluster_add_alert_yaml(c,
                                     "name: hook\ntype: webhook\nsettings:\n"
                                     "  url: http://127.0.0.1:9/hook\n",
                                     NULL),
           QU_OK);
    EXPECT(qu_cluster_remove_alert(c, "hook"), QU_OK);
    EXPECT(qu_cluster_remove_alert(c, "hook"), QU_ERR_NOT_FOUND);
    EXPECT(qu_cluster_create_token(c, NULL, 60, true, NULL), QU_ERR_NULL_POINTER);
    EXPECT(qu_cluster_create_token(c, "spare", 60, false, &s), QU_OK);
    EXPECT(qu_string_free(s), QU_OK);
    s = NULL;
    EXPECT(qu_cluster_status_json(c, &s), QU_OK);
    EXPECT_TRUE(s != NULL && strstr(s, "\"checks\"") != NULL && strstr(s, "\"web\"") != NULL);
    EXPECT(qu_string_free(s), QU_OK);

    /* Subscriptions: timeouts, wrong kinds, type confusion. */
    EXPECT(qu_cluster_subscribe(c, NULL), QU_ERR_NULL_POINTER);
    EXPECT(qu_cluster_subscribe(c, &sub), QU_OK);
    EXPECT(qu_subscription_next(sub, 0, &t), QU_TIMEOUT);
    EXPECT(qu_subscription_next(sub, 50, &t), QU_TIMEOUT);
    EXPECT(qu_subscription_next(sub, 0, NULL), QU_ERR_NULL_POINTER);
    EXPECT_TRUE(t == NULL);
    uint64_t missed = 99;
    EXPECT(qu_subscription_missed(sub, &missed), QU_OK);
    EXPECT_TRUE(missed == 0);
    EXPECT(qu_cluster_subscribe_callback(c, NULL, NULL, &cb_sub), QU_ERR_NULL_POINTER);
    EXPECT_TRUE(cb_sub == NULL);
    EXPECT(qu_cluster_subscribe_callback(c, never_called, NULL, &cb_sub), QU_OK);
    EXPECT(qu_subscription_next(cb_sub, 0, &t), QU_ERR_INVALID_INPUT); /* push, not pull */
    EXPECT(qu_subscription_missed(cb_sub, &missed), QU_OK);
    EXPECT(qu_subscription_free(cb_sub), QU_OK);
    EXPECT(qu_subscription_free(cb_sub), QU_ERR_INVALID_HANDLE);
    cb_sub = NULL;
    EXPECT(qu_cluster_status_json((qu_cluster *)sub, &s), QU_ERR_INVALID_HANDLE);
    EXPECT(qu_subscription_next((qu_subscription *)c, 0, &t), QU_ERR_INVALID_HANDLE);

    /* Shutdown: idempotent, then everything answers QU_CLOSED. */
    EXPECT(qu_cluster_shutdown(c), QU_OK);
    EXPECT(qu_cluster_shutdown(c), QU_OK);
    EXPECT(qu_cluster_status_json(c, &s), QU_CLOSED);
    EXPECT(qu_cluster_add_check(c, &spec, NULL), QU_CLOSED);
    EXPECT(qu_cluster_subscribe(c, &cb_sub), QU_CLOSED);
    EXPECT(qu_subscription_next(sub, QU_WAIT_FOREVER, &t), QU_CLOSED);
    EXPECT(qu_subscription_free(sub), QU_OK);
    EXPECT(qu_subscription_free(sub), QU_ERR_INVALID_HANDLE); /* double free */
    EXPECT(qu_cluster_free(c), QU_OK);
    EXPECT(qu_cluster_free(c), QU_ERR_INVALID_HANDLE); /* double free */
    EXPECT(qu_cluster_status_json(c, &s), QU_ERR_INVALID_HANDLE);

    /* The stopped node restarts from its data directory. */
    c = NULL;
    EXPECT(qu_cluster_start(dir, &c), QU_OK);
    EXPECT(qu_cluster_status_json(c, &s), QU_OK);
    EXPECT_TRUE(s != NULL && strstr(s, "\"web\"") != NULL);
    EXPECT(qu_string_free(s), QU_OK);
    EXPECT(qu_cluster_free(c), QU_OK);

    printf("misuse: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}

/* What the callback saw, shared with the main thread. */
struct seen {
    atomic_int calls;
    atomic_int downs;
};

static void on_transition(void *userdata, const qu_transition *t) {
    struct seen *seen = userdata;
    printf("callback %s %s %s\n", qu_transition_check_name(t),
           qu_check_state_name(qu_transition_from(t)), qu_check_state_name(qu_transition_to(t)));
    fflush(stdout);
    atomic_fetch_add(&seen->calls, 1);
    if (qu_transition_to(t) == QU_STATE_DOWN)
        atomic_fetch_add(&seen->downs, 1);
}

/* Read whole lines from stdin without blocking; 1 = "quit" or EOF. */
static int poll_commands(qu_cluster *c) {
    static char buf[256];
    static size_t len;
    struct pollfd p = {.fd = 0, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return 0;
    ssize_t n = read(0, buf + len, sizeof buf - len - 1);
    if (n <= 0)
        return 1;
    len += (size_t)n;
    buf[len] = '\0';
    char *nl;
    while ((nl = strchr(buf, '\n')) != NULL) {
        *nl = '\0';
        if (strcmp(buf, "quit") == 0)
            return 1;
        if (strcmp(buf, "status") == 0) {
            char *json = NULL;
            qu_result r = qu_cluster_status_json(c, &json);
            if (r == QU_OK) {
                printf("status %s\n", json);
                qu_string_free(json);
            } else {
                printf("status-error %s\n", qu_last_error());
            }
            fflush(stdout);
        }
        len -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, len + 1);
    }
    if (len == sizeof buf - 1)
        len = 0; /* an overlong line: drop it */
    return 0;
}

static int node(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: test_quptime node DIR PORT NAME found URL TOKENS | join TOKEN\n");
        return 2;
    }
    const char *dir = argv[2], *name = argv[4], *role = argv[5];
    qu_node_options o = options(dir, atoi(argv[3]), name);
    qu_cluster *c = NULL;
    qu_result r;
    int founder = strcmp(role, "found") == 0;
    if (founder)
        r = qu_cluster_start_with(&o, &c);
    else
        r = qu_cluster_join(&o, argv[6], 10000, &c);
    if (r != QU_OK)
        die(founder ? "start" : "join", r);

    struct seen seen;
    atomic_init(&seen.calls, 0);
    atomic_init(&seen.downs, 0);
    qu_subscription *pull = NULL, *pushed = NULL;
    if ((r = qu_cluster_subscribe(c, &pull)) != QU_OK)
        die("subscribe", r);
    if ((r = qu_cluster_subscribe_callback(c, on_transition, &seen, &pushed)) != QU_OK)
        die("subscribe_callback", r);

    if (founder) {
        int tokens = argc > 7 ? atoi(argv[7]) : 0;
        for (int i = 0; i < tokens; i++) {
            char *token = NULL;
            if ((r = qu_cluster_create_token(c, NULL, 600, true, &token)) != QU_OK)
                die("create_token", r);
            printf("token %s\n", token);
            qu_string_free(token);
        }
        qu_check_spec spec;
        memset(&spec, 0, sizeof spec);
        spec.name = "web";
        spec.kind = QU_CHECK_HTTP;
        spec.target = argv[6];
        spec.interval_ms = 1000;
        spec.timeout_ms = 1000;
        if ((r = qu_cluster_add_check(c, &spec, NULL)) != QU_OK)
            die("add_check", r);
    }
    printf("ready\n");
    fflush(stdout);

    int pulled_downs = 0;
    for (;;) {
        if (poll_commands(c))
            break;
        qu_transition *t = NULL;
        r = qu_subscription_next(pull, 200, &t);
        if (r == QU_TIMEOUT)
            continue;
        if (r == QU_CLOSED)
            break;
        if (r != QU_OK)
            die("next", r);
        printf("pull %s %s %s\n", qu_transition_check_name(t),
               qu_check_state_name(qu_transition_from(t)),
               qu_check_state_name(qu_transition_to(t)));
        fflush(stdout);
        if (qu_transition_to(t) == QU_STATE_DOWN)
            pulled_downs++;
        qu_transition_free(t);
    }

    int failed = 0;
    if ((r = qu_subscription_free(pushed)) != QU_OK) {
        fprintf(stderr, "free callback subscription: %s\n", qu_last_error());
        failed = 1;
    }
    if ((r = qu_subscription_free(pull)) != QU_OK) {
        fprintf(stderr, "free subscription: %s\n", qu_last_error());
        failed = 1;
    }
    if ((r = qu_cluster_free(c)) != QU_OK) {
        fprintf(stderr, "free cluster: %s\n", qu_last_error());
        failed = 1;
    }
    printf("bye pulled_downs=%d callback_downs=%d callbacks=%d\n", pulled_downs,
           atomic_load(&seen.downs), atomic_load(&seen.calls));
    return failed;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN); /* as quptime-ffi/README.md asks */
    if (argc >= 4 && strcmp(argv[1], "misuse") == 0)
        return misuse(argv[2], atoi(argv[3]));
    if (argc >= 2 && strcmp(argv[1], "node") == 0)
        return node(argc, argv);
    fprintf(stderr, "usage: test_quptime misuse DIR PORT | node DIR PORT NAME ...\n");
    return 2;
}
