"""Embedded nodes joining and moving, as the README shows them (tokens,
``port=0``): ten token joins in a row whose node ids sort both before and
after the founder all succeed; a member restarted on a new port is dialled
there and its votes count again; a member whose results and log stop
getting through (it advertises an address it no longer listens on) is
shown as not live, though its pings still arrive."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

import quptime
from conftest import wait_until

FAST = quptime.Timing.fast()


def _peer(status: Dict[str, Any], node_id: str) -> Optional[Dict[str, Any]]:
    for p in status["peers"]:
        if p["node_id"] == node_id:
            return p  # type: ignore[no-any-return]
    return None


def _master(nodes: List[quptime.Cluster]) -> Optional[quptime.Cluster]:
    """The node acting as master, or None during an election or hand-over."""
    return next((n for n in nodes if n.is_master), None)


@pytest.fixture
def listener() -> Iterator[str]:
    """A TCP port on 127.0.0.1 that accepts connections: a tcp check on it
    is up on every node."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    yield f"127.0.0.1:{s.getsockname()[1]}"
    s.close()


def test_ten_token_joins_in_a_row_succeed_whatever_the_ids(tmp_path: Path) -> None:
    founder = quptime.Cluster.start(
        tmp_path / "m", bind="127.0.0.1", port=0, node_id="m", timing=FAST
    )
    nodes = [founder]
    try:
        wait_until("the founder to become master", 10, lambda: founder.is_master)
        # Ids after the founder's, then before it: the newest member sorts
        # last, then first, among the token's endpoints.
        for name in ["n1", "n2", "n3", "n4", "n5", "a5", "a4", "a3", "a2", "a1"]:
            token = founder.create_token(name, ttl="5m", auto_approve=True)
            nodes.append(
                quptime.Cluster.join(
                    token, tmp_path / name, bind="127.0.0.1", node_id=name, wait="30s",
                    timing=FAST,
                )
            )

        def formed() -> bool:
            s = founder.status()
            return len(s["peers"]) == 11 and all(p["voter"] and p["live"] for p in s["peers"])

        wait_until("11 live voters", 90, formed)
    finally:
        for n in nodes:
            n.shutdown()


def _three(tmp_path: Path) -> List[quptime.Cluster]:
    a = quptime.Cluster.start(tmp_path / "a", bind="127.0.0.1", port=0, node_id="a", timing=FAST)
    nodes = [a]
    wait_until("a to become master", 10, lambda: a.is_master)
    for name in ("b", "c"):
        token = a.create_token(name, ttl="5m", auto_approve=True)
        nodes.append(
            quptime.Cluster.join(
                token, tmp_path / name, bind="127.0.0.1", node_id=name, wait="30s", timing=FAST
            )
        )
    return nodes


def _votes(nodes: List[quptime.Cluster]) -> int:
    """Fresh results the master counts for the one check; 0 while no node
    acts as master (an election or a hand-over is in progress)."""
    master = _master(nodes)
    if master is None:
        return 0
    checks = master.status()["checks"]
    return int(checks[0]["total"]) if checks else 0


def test_a_member_restarted_on_port_0_is_reached_at_its_new_port(
    tmp_path: Path, listener: str
) -> None:
    nodes = _three(tmp_path)
    try:
        nodes[0].add_check("svc", "tcp", listener, interval="1s", timeout="1s")
        wait_until("three votes", 30, lambda: _votes(nodes) == 3)
        old = nodes[2].local_addr
        nodes[2].shutdown()
        nodes[2] = quptime.Cluster.start(tmp_path / "c", bind="127.0.0.1", port=0, timing=FAST)
        new = nodes[2].local_addr
        assert new != old
        started = time.monotonic()

        def back() -> bool:
            master = _master([n for n in nodes if n.node_id != "c"])
            if master is None:
                return False
            p = _peer(master.status(), "c")
            return bool(p and p["advertise"] == new and p["live"] and _votes([master]) == 3)

        wait_until("c's votes to count again at its new port", 5, back)
        print(f"c counted again {time.monotonic() - started:.2f}s after its restart")
    finally:
        for n in nodes:
            n.shutdown()


def test_a_member_the_log_stops_reaching_is_not_live(
    tmp_path: Path, listener: str
) -> None:
    nodes = _three(tmp_path)
    try:
        nodes[0].add_check("svc", "tcp", listener, interval="1s", timeout="1s")
        wait_until("three votes", 30, lambda: _votes(nodes) == 3)
        old = nodes[2].local_addr
        nodes[2].shutdown()
        # The "port in use" fix done halfway: node.yaml still advertises the
        # old port while the node listens elsewhere. It pings the others
        # fine (which used to be enough to show it live), but the master's
        # log no longer reaches it.
        cfg = tmp_path / "c" / "node.yaml"
        lines = [
            f"advertise: {old}" if line.startswith("advertise:") else line
            for line in cfg.read_text().splitlines()
        ]
        cfg.write_text("\n".join(lines) + "\n")
        nodes[2] = quptime.Cluster.start(tmp_path / "c", bind="127.0.0.1", port=0, timing=FAST)
        assert nodes[2].local_addr != old
        others = nodes[:2]

        def c_live() -> Optional[bool]:
            """Whether the master shows c live; None while there is none."""
            master = _master(others)
            if master is None:
                return None
            p = _peer(master.status(), "c")
            return bool(p and p["live"])

        wait_until("c shown as not live", 10, lambda: c_live() is False)
        # And it stays so (pings alone never make it live again); a moment
        # without a master (an election) shows nothing either way.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert c_live() is not True, "c shown live while the log does not reach it"
            time.sleep(0.2)
    finally:
        for n in nodes:
            n.shutdown()
