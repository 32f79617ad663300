/*
 * C test program for the use-case functions of quptime.h (check edit,
 * enable/disable, members, enrollments, resolvers, config as code,
 * wait_applied, option builders, field-named errors), driven by
 * quptime-ffi/tests/usecases.rs.
 *
 *   test_usecases DIR
 *       Two nodes in this one process, both on free ports (port 0): "a"
 *       founds a cluster, "b" is started with a's secret and added by a.
 *       Exits 0 when every expectation held ("N checks, 0 failures").
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void must(const char *what, qu_result r) {
    if (r != QU_OK) {
        const char *why = qu_last_error();
        fprintf(stderr, "%s: %s: %s\n", what, qu_result_describe(r), why ? why : "");
        exit(2);
    }
}

/* Options for node NAME in DIR/NAME on a free loopback port. */
static qu_node_options_builder *options(const char *dir, const char *name,
                                        const char *secret) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    qu_node_options_builder *o = qu_node_options_new();
    must("data_dir", qu_node_options_set_data_dir(o, path));
    must("bind", qu_node_options_set_bind(o, "127.0.0.1"));
    must("port", qu_node_options_set_port(o, 0));
    must("node_id", qu_node_options_set_node_id(o, name));
    must("heartbeat", qu_node_options_set_heartbeat_ms(o, 100));
    must("election", qu_node_options_set_election_timeout_ms(o, 500));
    if (secret)
        must("secret", qu_node_options_set_secret(o, secret));
    return o;
}

static qu_cluster *open_node(const char *dir, const char *name, const char *secret) {
    qu_node_options_builder *o = options(dir, name, secret);
    qu_cluster *c = NULL;
    must(name, qu_cluster_open(o, &c));
    EXPECT(qu_node_options_free(o), QU_OK);
    return c;
}

/* The cluster_secret line of DIR/NAME/node.yaml, unquoted (static). */
static const char *saved_secret(const char *dir, const char *name) {
    static char secret[256];
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/%s/node.yaml", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    secret[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        const char *key = "cluster_secret:";
        if (strncmp(line, key, strlen(key)) != 0)
            continue;
        const char *v = line + strlen(key);
        while (*v == ' ' || *v == '"' || *v == '\'')
            v++;
        size_t n = strcspn(v, "\"'\r\n ");
        if (n >= sizeof secret)
            n = sizeof secret - 1;
        memcpy(secret, v, n);
        secret[n] = '\0';
    }
    fclose(f);
    return secret;
}

/* Whether TEXT (freed here) contains NEEDLE. */
static int take_contains(char *text, const char *needle) {
    int found = text != NULL && strstr(text, needle) != NULL;
    if (!found)
        fprintf(stderr, "no %s in: %s\n", needle, text ? text : "(null)");
    qu_string_free(text);
    return found;
}

static char *export_of(qu_cluster *c) {
    char *yaml = NULL;
    EXPECT(qu_cluster_export_config(c, &yaml), QU_OK);
    return yaml;
}

static char *status_of(qu_cluster *c) {
    char *json = NULL;
    EXPECT(qu_cluster_status_json(c, &json), QU_OK);
    return json;
}

/* Option builders: misuse is refused, bad timings name their field. */
static void builders(const char *dir) {
    qu_cluster *c = NULL;
    EXPECT(qu_node_options_set_bind(NULL, "127.0.0.1"), QU_ERR_NULL_POINTER);
    qu_node_options_builder *o = qu_node_options_new();
    EXPECT(qu_node_options_set_data_dir(o, NULL), QU_ERR_NULL_POINTER);
    EXPECT(qu_node_options_set_data_dir(o, "\xff\xfe"), QU_ERR_INVALID_UTF8);
    EXPECT(qu_node_options_set_data_dir(o, ""), QU_ERR_INVALID_INPUT);
    EXPECT(qu_cluster_open(o, &c), QU_ERR_INVALID_INPUT); /* no data_dir yet */
    EXPECT(qu_cluster_open(o, NULL), QU_ERR_NULL_POINTER);
    EXPECT(qu_node_options_free(o), QU_OK);
    EXPECT(qu_node_options_free(o), QU_ERR_INVALID_HANDLE);
    EXPECT(qu_node_options_set_port(o, 1), QU_ERR_INVALID_HANDLE);
    EXPECT(qu_node_options_free(NULL), QU_OK);

    o = options(dir, "timing", NULL);
    must("election", qu_node_options_set_election_timeout_ms(o, 150));
    EXPECT(qu_cluster_open(o, &c), QU_ERR_INVALID_INPUT);
    const char *field = qu_last_error_field();
    EXPECT_TRUE(field != NULL && strcmp(field, "election_timeout_ms") == 0);
    EXPECT_TRUE(strstr(qu_last_error(), "twice the heartbeat") != NULL);
    EXPECT_TRUE(c == NULL);
    EXPECT(qu_node_options_free(o), QU_OK);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN); /* as quptime-ffi/README.md asks */
    builders(dir);

    qu_cluster *a = open_node(dir, "a", NULL);
    uint16_t port_a = 0;
    EXPECT(qu_cluster_port(a, &port_a), QU_OK);
    EXPECT_TRUE(port_a != 0); /* port 0 bound a free port, read back */

    /* A check: add, edit the interval, a bad edit naming its field. */
    uint64_t v = 0;
    EXPECT(qu_cluster_add_check_yaml(a, "name: db\ntype: tcp\ntarget: 127.0.0.1:9\n", NULL),
           QU_OK);
    EXPECT(qu_cluster_edit_check(a, "db", "interval: 45s\n", &v), QU_OK);
    EXPECT_TRUE(v > 0);
    EXPECT_TRUE(take_contains(export_of(a), "interval: 45s"));
    EXPECT(qu_cluster_edit_check(a, "db", "interval: 5 parsecs\n", NULL), QU_ERR_INVALID_INPUT);
    const char *field = qu_last_error_field();
    EXPECT_TRUE(field != NULL && strcmp(field, "interval") == 0);
    EXPECT_TRUE(strncmp(qu_last_error(), "interval: ", 10) == 0);
    EXPECT_TRUE(strstr(qu_last_error(), "--") == NULL); /* no CLI flag */
    EXPECT(qu_cluster_edit_check(a, "nope", "interval: 1m\n", NULL), QU_ERR_NOT_FOUND);
    EXPECT_TRUE(strstr(qu_last_error(), "qu ") == NULL); /* no qu hint */
    EXPECT_TRUE(qu_last_error_field() == NULL);
    EXPECT(qu_cluster_edit_check(a, "db", NULL, NULL), QU_ERR_NULL_POINTER);

    /* Disable, enable. */
    EXPECT(qu_cluster_set_check_enabled(a, "db", false, &v), QU_OK);
    EXPECT_TRUE(take_contains(status_of(a), "\"disabled\":true"));
    EXPECT(qu_cluster_set_check_enabled(a, "db", true, &v), QU_OK);
    EXPECT_TRUE(take_contains(status_of(a), "\"disabled\":false"));

    /* Silence: the status shows maintenance; a bad duration names "for";
       NULL ends it. */
    EXPECT(qu_cluster_silence(a, "db", "30m", &v), QU_OK);
    EXPECT_TRUE(take_contains(status_of(a), "\"maintenance\":true"));
    EXPECT(qu_cluster_silence(a, "db", "2 fortnights", NULL), QU_ERR_INVALID_INPUT);
    field = qu_last_error_field();
    EXPECT_TRUE(field != NULL && strcmp(field, "for") == 0);
    EXPECT(qu_cluster_silence(a, "db", NULL, &v), QU_OK);
    EXPECT_TRUE(!take_contains(status_of(a), "\"maintenance\":true"));

    /* Maintenance windows: add (once, weekly), list, remove; a bad time
       zone names "tz". */
    char *window = NULL, *windows = NULL;
    EXPECT(qu_cluster_add_maintenance(
               a, "{\"checks\":[\"db\"],\"start\":\"now\",\"for\":\"2h\",\"reason\":\"upgrade\"}",
               &window),
           QU_OK);
    EXPECT_TRUE(window != NULL);
    EXPECT_TRUE(take_contains(status_of(a), "\"maintenance\":true"));
    EXPECT(qu_cluster_add_maintenance(
               a, "{\"checks\":[\"db\"],\"every\":[\"sun\"],\"at\":\"02:00\",\"tz\":\"Europe/Berlin\",\"for\":\"1h\"}",
               NULL),
           QU_OK);
    EXPECT(qu_cluster_add_maintenance(
               a, "{\"checks\":[\"db\"],\"every\":[\"sun\"],\"at\":\"02:00\",\"tz\":\"Mars/Olympus\",\"for\":\"1h\"}",
               NULL),
           QU_ERR_INVALID_INPUT);
    field = qu_last_error_field();
    EXPECT_TRUE(field != NULL && strcmp(field, "tz") == 0);
    EXPECT(qu_cluster_list_maintenance(a, &windows), QU_OK);
    EXPECT_TRUE(windows != NULL && strstr(windows, "Europe/Berlin") != NULL &&
                strstr(windows, "upgrade") != NULL);
    qu_string_free(windows);
    EXPECT(qu_cluster_remove_maintenance(a, window, &v), QU_OK);
    qu_string_free(window);
    EXPECT(qu_cluster_list_maintenance(a, &windows), QU_OK);
    EXPECT_TRUE(windows != NULL && strstr(windows, "upgrade") == NULL &&
                strstr(windows, "Europe/Berlin") != NULL);
    qu_string_free(windows);

    /* A second node in this process, added by a. */
    qu_cluster *b = open_node(dir, "b", saved_secret(dir, "a"));
    uint16_t port_b = 0;
    EXPECT(qu_cluster_port(b, &port_b), QU_OK);
    EXPECT_TRUE(port_b != 0 && port_b != port_a);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port_b);
    char *fp = NULL, *preview = NULL;
    EXPECT(qu_cluster_fingerprint(b, &fp), QU_OK);
    EXPECT(qu_cluster_preview_node(a, addr, &preview), QU_OK);
    EXPECT_TRUE(fp != NULL && take_contains(preview, fp));
    EXPECT(qu_cluster_add_node(a, addr, "sha256:00", NULL), QU_ERR_INVALID_INPUT);
    EXPECT(qu_cluster_add_node(a, addr, fp, &v), QU_OK);
    qu_string_free(fp);
    EXPECT_TRUE(take_contains(status_of(a), "\"node_id\":\"b\""));

    /* A write through a, read on b once b has applied it. */
    EXPECT(qu_cluster_edit_check(a, "db", "interval: 50s\n", &v), QU_OK);
    EXPECT(qu_cluster_wait_applied(b, v, 10000), QU_OK);
    EXPECT_TRUE(take_contains(export_of(b), "interval: 50s"));
    EXPECT(qu_cluster_wait_applied(b, UINT64_MAX, 50), QU_TIMEOUT);

    /* Enrollment tokens. */
    char *token = NULL, *id = NULL, *list = NULL;
    EXPECT(qu_cluster_create_enrollment(a, "spare", "10m", false, &token, &id), QU_OK);
    EXPECT_TRUE(token != NULL && id != NULL);
    EXPECT(qu_cluster_list_enrollments(a, &list), QU_OK);
    EXPECT_TRUE(id != NULL && take_contains(list, id));
    EXPECT(qu_cluster_approve_enrollment(a, id, NULL), QU_ERR_INVALID_INPUT); /* no request */
    EXPECT(qu_cluster_revoke_enrollment(a, id, &v), QU_OK);
    qu_string_free(token);
    qu_string_free(id);
    token = NULL;
    EXPECT(qu_cluster_create_enrollment(a, NULL, "31d", false, &token, NULL),
           QU_ERR_INVALID_INPUT);
    field = qu_last_error_field();
    EXPECT_TRUE(field != NULL && strcmp(field, "ttl") == 0);
    EXPECT_TRUE(token == NULL);

    /* Resolvers, and config as code: b's export applies to a unchanged. */
    const char *resolvers[] = {"9.9.9.9", "[::1]:5353"};
    EXPECT(qu_cluster_set_resolvers(a, resolvers, 2, &v), QU_OK);
    EXPECT(qu_cluster_wait_applied(b, v, 10000), QU_OK);
    char *yaml = export_of(b);
    EXPECT_TRUE(yaml != NULL && strstr(yaml, "9.9.9.9:53") != NULL);
    char *report = NULL;
    EXPECT(qu_cluster_apply_config(a, yaml, false, true, &report), QU_OK);
    EXPECT_TRUE(take_contains(report, "\"changes\":[]"));
    qu_string_free(yaml);
    EXPECT(qu_cluster_set_resolvers(a, NULL, 1, NULL), QU_ERR_NULL_POINTER);
    EXPECT(qu_cluster_set_resolvers(a, NULL, 0, &v), QU_OK);

    /* The canary's reference targets: set on a, read on b, bad one refused. */
    const char *targets[] = {"127.0.0.1:9", "http://127.0.0.1:9/ok"};
    EXPECT(qu_cluster_set_canary(a, targets, 2, &v), QU_OK);
    EXPECT(qu_cluster_wait_applied(b, v, 10000), QU_OK);
    char *canary = NULL;
    EXPECT(qu_cluster_canary(b, &canary), QU_OK);
    EXPECT_TRUE(take_contains(canary, "\"targets\":[\"127.0.0.1:9\",\"http://127.0.0.1:9/ok\"]"));
    const char *bad_targets[] = {"has space:80"};
    EXPECT(qu_cluster_set_canary(a, bad_targets, 1, &v), QU_ERR_INVALID_INPUT);
    field = qu_last_error_field();
    EXPECT_TRUE(field != NULL && strcmp(field, "targets") == 0);
    EXPECT(qu_cluster_set_canary(a, NULL, 1, NULL), QU_ERR_NULL_POINTER);
    EXPECT(qu_cluster_set_canary(a, NULL, 0, &v), QU_OK);
    EXPECT(qu_cluster_wait_applied(b, v, 10000), QU_OK);
    EXPECT(qu_cluster_canary(b, &canary), QU_OK);
    EXPECT_TRUE(take_contains(canary, "\"targets\":[]"));

    /* The master role: hand it to b, then drop the preference. */
    char *master = NULL;
    EXPECT(qu_cluster_transfer_leader(a, "b", "1m", false, &master), QU_OK);
    EXPECT_TRUE(master != NULL && strcmp(master, "b") == 0);
    qu_string_free(master);
    EXPECT(qu_cluster_transfer_leader(a, NULL, NULL, true, &master), QU_OK);
    EXPECT_TRUE(master == NULL);

    /* Remove b, stop both; reopening a under another id names the field. */
    EXPECT(qu_cluster_remove_node(a, "b", &v), QU_OK);
    EXPECT_TRUE(take_contains(status_of(a), "\"checks\""));
    EXPECT(qu_cluster_free(b), QU_OK);
    EXPECT(qu_cluster_free(a), QU_OK);
    qu_node_options_builder *o = options(dir, "a", NULL);
    must("node_id", qu_node_options_set_node_id(o, "someone-else"));
    qu_cluster *c = NULL;
    EXPECT(qu_cluster_open(o, &c), QU_ERR_INVALID_INPUT);
    field = qu_last_error_field();
    EXPECT_TRUE(field != NULL && strcmp(field, "node_id") == 0);
    EXPECT(qu_node_options_free(o), QU_OK);

    printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
