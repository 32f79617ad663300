"""The library's use cases called from Python on real nodes on loopback: a
second node added with ``add_node`` (a member on both; a third added and
removed again), a check added,
edited, disabled and enabled (status and checks follow each), an edit on
one node awaited with ``wait_applied`` and read on the other, errors that
name the Python keyword (``interval=``) and no ``qu`` command, durations as
text and numbers, enrollment, resolvers, export/apply, alert channels
enabled and disabled, and a leadership transfer."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import quptime
from conftest import wait_until

FAST = quptime.Timing.fast()


def _members(node: quptime.Cluster) -> List[str]:
    return sorted(p["node_id"] for p in node.status()["peers"] if p["voter"] and p["live"])


def _check(node: quptime.Cluster, name: str) -> Dict[str, Any]:
    return next(c for c in node.status()["checks"] if c["name"] == name)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[quptime.Cluster, quptime.Cluster]]:
    root: Path = tmp_path_factory.mktemp("pair")
    a = quptime.Cluster.start(root / "a", bind="127.0.0.1", port=0, node_id="a", timing=FAST)
    # A lone node of its own (its own secret, nothing configured): add_node
    # absorbs it, as `qu node add` does.
    b = quptime.Cluster.start(root / "b", bind="127.0.0.1", port=0, node_id="b", timing=FAST)
    try:
        wait_until("a to become master", 10, lambda: a.is_master)
        seen = a.preview_node(b.advertise)
        assert (seen["node_id"], seen["fingerprint"]) == ("b", b.fingerprint)
        version = a.add_node(b.advertise, seen["fingerprint"])
        assert isinstance(version, int) and version > 0
        for n in (a, b):
            wait_until(f"{n.node_id} to see a and b as live voters", 30,
                       lambda n=n: _members(n) == ["a", "b"])
        yield a, b
    finally:
        a.shutdown()
        b.shutdown()


@pytest.fixture
def listener() -> Iterator[str]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    yield f"127.0.0.1:{s.getsockname()[1]}"
    s.close()


def test_add_edit_disable_enable_a_check_seen_on_both_nodes(
    pair: Tuple[quptime.Cluster, quptime.Cluster], listener: str
) -> None:
    a, b = pair
    added = a.add_check("svc", "tcp", listener, interval="1s", timeout=1)
    assert isinstance(added, str) and added.version > 0
    assert b.wait_applied(added, timeout="5s") >= added.version
    a.wait_applied(added)
    assert [c["id"] for c in b.checks()] == [added]
    wait_until("svc up", 20, lambda: _check(a, "svc")["state"] == "up")

    # An edit through one node, awaited and read on the other: text and
    # numbers are the same durations.
    v1 = a.edit_check("svc", interval="1m30s")
    assert b.wait_applied(v1, timeout=5) >= v1
    assert b.checks()[0]["interval"] == "1m30s"
    v2 = b.edit_check(added, interval=2, timeout="500ms")
    assert v2 > v1
    assert a.wait_applied(v2, 5) >= v2
    got = a.checks()[0]
    assert (got["interval"], got["timeout"]) == ("2s", "500ms")

    v = a.edit_check("svc", remind="1h")
    b.wait_applied(v)
    assert b.checks()[0].get("remind") == "1h"
    v = b.edit_check("svc", remind="")  # turns reminders off
    a.wait_applied(v)
    assert a.checks()[0].get("remind") is None

    v3 = a.disable_check("svc")
    for n in (a, b):  # the writer may be a follower: its own state follows too
        n.wait_applied(v3)
    assert _check(b, "svc")["disabled"] is True and _check(a, "svc")["disabled"] is True
    v4 = b.enable_check("svc")
    for n in (a, b):
        n.wait_applied(v4)
    assert _check(a, "svc")["disabled"] is False and _check(b, "svc")["disabled"] is False

    # A silence through one node shows as maintenance on the other; a bad
    # duration names its keyword; None ends it.
    v = a.silence("svc", "30m")
    b.wait_applied(v)
    assert _check(b, "svc").get("maintenance") is True
    with pytest.raises(quptime.InvalidInput) as bad:
        a.silence("svc", "2 fortnights")
    assert bad.value.field == "for"
    v = b.silence("svc")
    a.wait_applied(v)
    assert _check(a, "svc").get("maintenance") is None

    v5 = a.remove_check("svc")
    b.wait_applied(v5)
    assert b.checks() == []


def test_errors_name_the_keyword_and_no_qu_command(
    pair: Tuple[quptime.Cluster, quptime.Cluster]
) -> None:
    a, b = pair
    check_id = a.add_check("web", "tcp", "127.0.0.1:9", interval="5s")
    b.wait_applied(check_id)  # b resolves the name in its own applied state
    try:
        for kwargs, field in [
            (dict(interval="0s"), "interval"),  # out of range: the library's rule
            (dict(interval="soon"), "interval"),  # not a duration
            (dict(timeout="1d"), "timeout"),
            (dict(remind="1ms"), "remind"),
        ]:
            with pytest.raises(quptime.InvalidInput) as err:
                b.edit_check(check_id, **kwargs)  # type: ignore[arg-type]
            text = str(err.value)
            assert text.startswith(f"{field}=: "), text
            assert err.value.field == field
            assert "--" not in text and "`qu " not in text, text
        with pytest.raises(quptime.InvalidInput) as err:
            a.add_check("bad", "tcp", "127.0.0.1:9", interval="0s")
        assert str(err.value).startswith("interval=: ") and err.value.field == "interval"
        with pytest.raises(quptime.InvalidInput) as err:
            a.create_enrollment("x", ttl="400d")
        assert str(err.value).startswith("ttl=: ") and "--ttl" not in str(err.value)
        with pytest.raises(quptime.InvalidInput) as err:
            a.transfer_leader("b", hold="0s")
        assert str(err.value).startswith("hold=: ") and "--hold" not in str(err.value)
        for call in (
            lambda: a.edit_check("nope", interval="5s"),
            lambda: a.transfer_leader("nope"),
            lambda: a.remove_node("nope"),
            lambda: a.revoke_enrollment("nope"),
        ):
            with pytest.raises(quptime.NotFound) as nf:
                call()
            assert "nope" in str(nf.value) and "`qu " not in str(nf.value), str(nf.value)
        with pytest.raises(quptime.AlreadyExists) as exists:
            a.add_node(b.advertise, b.fingerprint)
        assert "`qu " not in str(exists.value), str(exists.value)
        with pytest.raises(quptime.InvalidInput, match="^fingerprint=: "):
            a.add_node("127.0.0.1:9", "not-a-fingerprint")
        with pytest.raises(TypeError):
            a.edit_check(check_id, intervall="5s")  # type: ignore[call-arg]
        assert a.checks()[0]["interval"] == "5s", "rejected edits changed nothing"
    finally:
        a.remove_check(check_id)


def test_enrollment_resolvers_export_apply_and_alerts(
    pair: Tuple[quptime.Cluster, quptime.Cluster]
) -> None:
    a, b = pair
    created = a.create_enrollment("later", ttl=600)
    assert created["token"] and created["record"]["name"] == "later"
    token_id = created["record"]["id"]
    b.wait_applied(a.status()["config_version"])
    assert token_id in [e["id"] for e in b.enrollments()]
    v = b.revoke_enrollment(token_id)
    a.wait_applied(v)
    assert token_id not in [e["id"] for e in a.enrollments()]
    with pytest.raises(quptime.NotFound):
        a.approve_enrollment(token_id)

    v = a.set_resolvers(["127.0.0.1:5353"])
    b.wait_applied(v)
    assert b.resolvers() == ["127.0.0.1:5353"]
    v = b.set_resolvers([])
    a.wait_applied(v)
    assert a.resolvers() == []

    v = a.set_canary(["127.0.0.1:9", "http://127.0.0.1:9/ok"])
    b.wait_applied(v)
    seen = b.canary()
    assert seen["targets"] == ["127.0.0.1:9", "http://127.0.0.1:9/ok"]
    assert isinstance(seen["node_targets"], list) and seen["node"]
    assert "abstain" in seen and "monitor" in seen
    with pytest.raises(quptime.InvalidInput) as bad_target:
        a.set_canary(["has space:80"])
    assert bad_target.value.field == "targets"
    assert b.canary()["targets"] == ["127.0.0.1:9", "http://127.0.0.1:9/ok"]
    v = b.set_canary([])
    a.wait_applied(v)
    assert a.canary()["targets"] == []

    hook = a.add_alert("ops", "webhook", {"url": "http://127.0.0.1:9/hook"})
    b.wait_applied(hook)
    v = b.disable_alert("ops")
    a.wait_applied(v)
    assert "ops" in a.export()
    v = a.enable_alert(hook)
    b.wait_applied(v)

    declared = a.export()
    assert "ops" in declared and "webhook" in declared
    report = b.apply(declared, dry_run=True)
    assert report["applied"] is False and report["changes"] == []
    removed = declared.replace("ops", "ops2")
    report = b.apply(removed, prune=True)
    assert report["applied"] is True and report["changes"], report
    a.wait_applied(report["version"])
    assert "ops2" in a.export()
    a.apply(declared, prune=True)


def test_a_third_node_added_then_removed(
    pair: Tuple[quptime.Cluster, quptime.Cluster], tmp_path: Path
) -> None:
    a, b = pair
    c = quptime.Cluster.start(tmp_path / "c", bind="127.0.0.1", port=0, node_id="c", timing=FAST)
    try:
        v = b.add_node(c.advertise, c.fingerprint)  # through a follower or the master
        a.wait_applied(v)
        for n in (a, b, c):
            wait_until(f"{n.node_id} to see three live voters", 30,
                       lambda n=n: _members(n) == ["a", "b", "c"])
        v = a.remove_node("c")
        for n in (a, b):
            n.wait_applied(v)
            # The record went with that version; this node's Raft view of
            # the membership follows on its own log entry.
            wait_until(f"{n.node_id} to list no c", 10, lambda n=n: "c" not in [
                p["node_id"] for p in n.status()["peers"]])
        with pytest.raises(quptime.NotFound):
            a.remove_node("c")
    finally:
        c.shutdown()
    wait_until("a and b to stay a quorum", 10, lambda: _members(a) == ["a", "b"])


def test_transfer_leader_moves_the_master(pair: Tuple[quptime.Cluster, quptime.Cluster]) -> None:
    a, b = pair
    wait_until("a master", 10, lambda: a.is_master or b.is_master)
    target = "b" if a.is_master else "a"
    report = a.transfer_leader(target, hold="1m")
    assert report["master"] == target and report["until"]
    node = b if target == "b" else a
    wait_until(f"{target} to act as master", 10, lambda: node.is_master)
    assert node.status()["pinned_master"]["node_id"] == target
    with pytest.raises(quptime.Timeout):
        started = time.monotonic()
        a.wait_applied(10**9, timeout="300ms")
    assert time.monotonic() - started < 3
