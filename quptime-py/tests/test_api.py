"""One-node tests of the API's contract: documented exceptions for invalid
arguments, Ctrl-C interrupts blocking calls, a forked child gets a clear
error, importing has no side effects, and the example runs."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

import quptime
from conftest import Target, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[quptime.Cluster]:
    with quptime.Cluster.start(
        tmp_path / "n", bind="127.0.0.1", port=0, node_id="solo", timing=quptime.Timing.fast()
    ) as c:
        yield c


def test_errors_form_a_hierarchy_with_the_library_kinds() -> None:
    assert issubclass(quptime.InvalidInput, quptime.QuptimeError)
    assert issubclass(quptime.InvalidInput, ValueError)
    assert issubclass(quptime.NotFound, LookupError)
    assert issubclass(quptime.Timeout, TimeoutError)
    assert quptime.NoQuorum.kind == "no_quorum" and quptime.NoQuorum.code == 13
    assert str(quptime.NoQuorum("no quorum: x")) == "no quorum: x"


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(type="carrier-pigeon"), quptime.InvalidInput, "not a check type"),
        (dict(interval="soon"), quptime.InvalidInput, "not a duration"),
        (dict(interval=-1), quptime.InvalidInput, "interval"),
        (dict(interval=True), quptime.InvalidInput, "interval"),
        (dict(timeout="0.5x"), quptime.InvalidInput, "not a duration"),
        (dict(name=""), quptime.InvalidInput, "name"),
        (dict(target=None), quptime.InvalidInput, "target"),
        (dict(alerts="pager"), quptime.InvalidInput, "alerts"),
        (dict(alerts=["no-such-channel"]), quptime.NotFound, "no-such-channel"),
        (dict(expect_status="7xx"), quptime.InvalidInput, "7xx"),
    ],
)
def test_invalid_checks_raise_documented_exceptions(
    node: quptime.Cluster, kwargs: dict, exc: type, words: str
) -> None:
    args = dict(name="web", type="http", target="http://127.0.0.1:9/", interval="5s")
    args.update(kwargs)
    with pytest.raises(exc) as err:
        node.add_check(**args)
    assert words in str(err.value)
    assert node.checks() == [], "a rejected check changed nothing"


def test_other_invalid_arguments(node: quptime.Cluster, tmp_path: Path) -> None:
    node.add_check("web", "http", "http://127.0.0.1:9/", interval=2.5)
    assert node.checks()[0]["interval"] == "2500ms"
    with pytest.raises(quptime.AlreadyExists):
        node.add_check("web", "tcp", "127.0.0.1:9")
    with pytest.raises(quptime.NotFound, match="nope"):
        node.remove_check("nope")
    with pytest.raises(quptime.NotFound):
        node.remove_alert("nope")
    with pytest.raises(quptime.InvalidInput):
        node.add_alert("ops", "pigeon", {"to": "x"})
    with pytest.raises(quptime.InvalidInput, match="ttl"):
        node.create_token(ttl="forever")
    with pytest.raises(quptime.InvalidInput, match="callable"):
        node.on_transition(42)  # type: ignore[arg-type]
    with pytest.raises(quptime.InvalidInput, match="timeout"):
        node.subscribe().get(timeout=-1)
    with pytest.raises(quptime.AlreadyExists, match="never overwrites"):
        quptime.init(node.data_dir)
    with pytest.raises(quptime.InvalidInput, match="port"):
        quptime.Cluster.start(tmp_path / "p", port=70000)
    with pytest.raises(quptime.InvalidInput, match="not an IP address"):
        quptime.Cluster.start(tmp_path / "p", bind="localhost", port=0)
    taken = node.local_addr.rsplit(":", 1)[1]
    with pytest.raises(quptime.TransportError, match="already in use"):
        quptime.Cluster.start(tmp_path / "busy", bind="127.0.0.1", port=int(taken))
    with pytest.raises(quptime.InvalidInput, match="not a valid enrollment token"):
        quptime.Cluster.join("garbage", tmp_path / "j")
    assert not quptime.is_initialised(tmp_path / "j"), "a failed join leaves nothing behind"
    node.remove_check("web")
    assert node.checks() == []


def test_init_then_start_and_stopped_node(tmp_path: Path) -> None:
    info = quptime.init(tmp_path / "x", bind="127.0.0.1", port=9999, node_id="x")
    assert info.node_id == "x" and info.fingerprint.startswith("sha256:")
    assert info.secret_generated
    with quptime.Cluster.start(tmp_path / "x", port=0, timing=quptime.Timing.fast()) as c:
        assert c.node_id == "x" and c.fingerprint == info.fingerprint
        assert c.local_addr.startswith("127.0.0.1:") and not c.local_addr.endswith(":9999")
        wait_until("the founder to become master", 10, lambda: c.is_master)
        status = c.status()
        assert status["node_id"] == "x" and status["master"] == "x"
    with pytest.raises(quptime.Shutdown, match="shut down"):
        c.add_check("web", "tcp", "127.0.0.1:9")
    c.shutdown()  # idempotent


def test_ctrl_c_interrupts_a_blocking_wait(node: quptime.Cluster) -> None:
    sub = node.subscribe()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            for _ in sub:
                pass
    finally:
        timer.cancel()
    elapsed = time.monotonic() - started
    assert elapsed < 2, f"Ctrl-C took {elapsed:.2f}s"
    # The node is still usable.
    assert node.checks() == []


def test_ctrl_c_interrupts_wait_applied(node: quptime.Cluster) -> None:
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            node.wait_applied(10**9, timeout="1m")
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2
    assert node.checks() == []


def test_the_gil_is_released_while_waiting(node: quptime.Cluster) -> None:
    ticks = []
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.01)

    t = threading.Thread(target=spin)
    t.start()
    try:
        assert node.subscribe().get(timeout=1) is None
    finally:
        stop.set()
        t.join()
    assert len(ticks) > 30, "another Python thread could not run during the wait"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_gets_a_clear_error(node: quptime.Cluster) -> None:
    sub = node.subscribe()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return to pytest
        code = 1
        try:
            try:
                node.checks()
                msg = "checks() worked in the child"
            except quptime.InternalError as e:
                msg = str(e)
                code = 0 if list(sub) == [] else 2
            os.write(w, msg.encode())
        finally:
            os._exit(code)
    os.close(w)
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.05)
    msg = os.read(r, 4096).decode()
    os.close(r)
    assert os.WEXITSTATUS(status) == 0, msg
    assert "fork()" in msg and "start a new node in the child" in msg
    assert node.checks() == [], "the parent's node still works"


def test_import_starts_no_threads_and_shutdown_leaves_none(tmp_path: Path) -> None:
    code = (
        "import logging, threading\n"
        "before = threading.active_count()\n"
        "import quptime\n"
        "assert threading.active_count() == before, threading.enumerate()\n"
        "assert logging.getLogger().handlers == []\n"
        "assert not any(getattr(l, 'handlers', None) for l in logging.Logger.manager.loggerDict.values())\n"
        "import os, sys, time\n"
        "threads = lambda: len(os.listdir('/proc/self/task'))\n"
        "print(threads())\n"
        "with quptime.Cluster.start(sys.argv[1], bind='127.0.0.1', port=0) as c:\n"
        "    c.on_transition(print)\n"
        "    assert threads() > 1\n"
        "deadline = time.monotonic() + 5\n"
        "while threads() > 1 and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "print(threads())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "n")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    after_import, after_shutdown = out.stdout.split()
    assert after_import == "1", "importing started OS threads"
    assert after_shutdown == "1", "threads outlived the node's shutdown"


def test_the_example_prints_transitions(target: Target, tmp_path: Path) -> None:
    script = ROOT / "examples" / "python" / "monitor.py"
    out = subprocess.run(
        [sys.executable, str(script), target.url, "--interval", "1s", "--count", "1",
         "--duration", "40", "--data-dir", str(tmp_path / "ex")],
        capture_output=True, text=True, timeout=90,
    )
    assert out.returncode == 0, out.stderr
    assert f"watching {target.url}" in out.stdout
    assert "watched unknown -> up (0/1 failing)" in out.stdout, out.stdout


def test_durations_are_text_or_seconds_by_the_cli_rule(node: quptime.Cluster) -> None:
    node.add_check("a", "tcp", "127.0.0.1:9", interval="1m30s", timeout=2)
    node.add_check(
        "b", "tcp", "127.0.0.1:9", interval=datetime.timedelta(seconds=45), timeout="1500ms"
    )
    by_name = {c["name"]: c for c in node.checks()}
    assert (by_name["a"]["interval"], by_name["a"]["timeout"]) == ("1m30s", "2s")
    assert (by_name["b"]["interval"], by_name["b"]["timeout"]) == ("45s", "1500ms")
    # The keyword is named, never a CLI flag.
    for kwargs, field in [(dict(interval="soon"), "interval"), (dict(timeout=[1]), "timeout"),
                          (dict(remind="-1h"), "remind")]:
        with pytest.raises(quptime.InvalidInput) as err:
            node.add_check("c", "tcp", "127.0.0.1:9", **kwargs)  # type: ignore[arg-type]
        assert str(err.value).startswith(f"{field}=: "), str(err.value)
        assert "--" not in str(err.value)
    # Text works wherever a duration is taken: timeouts and Timing too.
    started = time.monotonic()
    assert node.subscribe().get(timeout="300ms") is None
    assert 0.25 < time.monotonic() - started < 2
    assert quptime.Timing(heartbeat="100ms", election_min="1s")._native()[:2] == (0.1, 1.0)
    with pytest.raises(quptime.InvalidInput, match="^heartbeat=: "):
        quptime.Timing(heartbeat="fast")._native()
    assert sorted(c["name"] for c in node.checks()) == ["a", "b"]


def test_port_0_is_a_free_port_read_back_by_port(tmp_path: Path) -> None:
    quptime.init(tmp_path / "z", bind="127.0.0.1", port=0, node_id="z")
    saved = [
        int(line.split(":", 1)[1])
        for line in (tmp_path / "z" / "node.yaml").read_text().splitlines()
        if line.startswith("bind_port:")
    ]
    assert saved and saved[0] != 0
    with quptime.Cluster.start(tmp_path / "z", timing=quptime.Timing.fast()) as c:
        assert c.port == saved[0] and c.local_addr == f"127.0.0.1:{saved[0]}"
    with quptime.Cluster.start(tmp_path / "z", port=0, timing=quptime.Timing.fast()) as c:
        assert c.port not in (0, saved[0])
        assert c.local_addr.endswith(f":{c.port}")


def test_start_validates_timing_and_the_saved_identity(tmp_path: Path) -> None:
    slow_heartbeat = quptime.Timing(heartbeat="400ms", election_min="500ms", election_max="1s")
    with pytest.raises(quptime.InvalidInput) as err:
        quptime.Cluster.start(tmp_path / "t", bind="127.0.0.1", port=0, timing=slow_heartbeat)
    assert str(err.value).startswith("election_min=: ") and err.value.field == "election_min"
    assert "twice the heartbeat" in str(err.value)
    assert not quptime.is_initialised(tmp_path / "t"), "nothing written before the check"
    quptime.init(tmp_path / "t", bind="127.0.0.1", port=0, node_id="t")
    with pytest.raises(quptime.InvalidInput) as err:
        quptime.Cluster.start(tmp_path / "t", node_id="other", timing=quptime.Timing.fast())
    assert str(err.value).startswith("node_id=: differs"), str(err.value)
    with quptime.Cluster.start(tmp_path / "t", node_id="t", timing=quptime.Timing.fast()) as c:
        assert c.node_id == "t"


def test_every_check_setting_is_a_typed_keyword(node: quptime.Cluster) -> None:
    node.add_check(
        "api", "http", "http://127.0.0.1:9/health",
        method="POST", headers=["X-Probe: yes"], body="{}", bearer="s3cret",
        conditions=['json $.status == "ok"', "response_time < 300ms"],
        fail_after=3, recover_after=1, quorum="at-least 1", flap_threshold=4, flap_window="5m",
    )
    node.add_check("cache", "tcp", "127.0.0.1:9", send="PING\\r\\n", expect_reply="+PONG", tls=True,
                   depends_on=["api"])
    node.add_check("lo", "icmp", "127.0.0.1", count=5, max_loss=40, max_rtt="200ms")
    by_name = {c["name"]: c for c in node.checks()}
    api, cache, lo = by_name["api"], by_name["cache"], by_name["lo"]
    assert (api["method"], api["headers"], api["body"]) == ("POST", ["X-Probe: yes"], "{}")
    # In process the program owns the node and its data directory, so it
    # reads its own secrets back (qu check list and the web API mask them).
    assert api["bearer"] == "s3cret"
    assert api["conditions"] == ['json $.status == "ok"', "response_time < 300ms"]
    assert (api["fail_after"], api["recover_after"], api["quorum"]) == (3, 1, "at-least 1")
    assert (api["flap_threshold"], api["flap_window"]) == (4, "5m")
    assert (cache["send"], cache["expect_reply"], cache["tls"]) == ("PING\\r\\n", "+PONG", True)
    assert cache["depends_on"] == [api["id"]]
    assert (lo["count"], lo["max_loss"], lo["max_rtt"]) == (5, 40, "200ms")
    node.edit_check("cache", tls=False, send="")
    cache = next(c for c in node.checks() if c["name"] == "cache")
    assert "tls" not in cache and "send" not in cache, cache
    # The library's rules, naming the keyword; nothing changes.
    before = node.checks()
    for kwargs, field in [(dict(conditions=["json $.x =="]), "condition"),
                          (dict(quorum="most"), "quorum"), (dict(count=30), "count")]:
        with pytest.raises(quptime.InvalidInput) as err:
            node.edit_check("lo" if field == "count" else "api", **kwargs)  # type: ignore[arg-type]
        assert field in str(err.value), str(err.value)
    with pytest.raises(quptime.InvalidInput, match="tls"):
        node.add_check("web", "http", "http://127.0.0.1:9/", tls=True)
    assert node.checks() == before
def test_dns_expectations_are_keywords_named_in_errors(node: quptime.Cluster) -> None:
    node.add_check("www", "dns", "www.example.test", resolver="127.0.0.1:5353",
                   expect_values=["192.0.2.10", "192.0.2.11"], expect_count=2)
    node.add_check("hidden", "dns", "old.example.test", expect_nxdomain=True)
    by_name = {c["name"]: c for c in node.checks()}
    assert by_name["www"]["expect_values"] == ["192.0.2.10", "192.0.2.11"]
    assert by_name["www"]["expect_count"] == 2
    assert by_name["hidden"]["expect_nxdomain"] is True
    assert "expect_values" not in by_name["hidden"]
    node.edit_check("www", expect_values=[], expect_count=0)
    node.edit_check("hidden", expect_nxdomain=False)
    by_name = {c["name"]: c for c in node.checks()}
    assert "expect_values" not in by_name["www"] and "expect_count" not in by_name["www"]
    assert "expect_nxdomain" not in by_name["hidden"]
    for kwargs, field in [(dict(expect_values=["2001:db8::1"]), "expect_values"),
                          (dict(expect_values="192.0.2.1"), "expect_values"),
                          (dict(expect_count=0), "expect_count"),
                          (dict(expect_nxdomain=True, expect_count=1), "expect_nxdomain")]:
        with pytest.raises(quptime.InvalidInput) as err:
            node.add_check("bad", "dns", "a.test", **kwargs)  # type: ignore[arg-type]
        assert str(err.value).startswith(f"{field}=: "), str(err.value)
