"""A 3-node cluster of Python-embedded nodes on loopback: it forms through
enrollment tokens, a local HTTP target is taken down, and the DOWN
transition arrives through the iterator, the async iterator and the
callback; a raising callback is reported and does not stop the node; with
two nodes gone, changes fail with NoQuorum."""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest

import quptime
from conftest import Target, wait_until

FAST = quptime.Timing.fast()


def _formed(node: quptime.Cluster) -> bool:
    s = node.status()
    return (
        s["quorum"]
        and s["need"] == 2
        and len(s["peers"]) == 3
        and all(p["voter"] and p["live"] for p in s["peers"])
    )


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[List[quptime.Cluster]]:
    root: Path = tmp_path_factory.mktemp("cluster")
    started = time.monotonic()
    a = quptime.Cluster.start(root / "a", bind="127.0.0.1", port=0, node_id="a", timing=FAST)
    wait_until("the founder to become master", 10, lambda: a.is_master)
    nodes = [a]
    for name in ("b", "c"):
        token = a.create_token(name, ttl="5m", auto_approve=True)
        nodes.append(
            quptime.Cluster.join(
                token, root / name, bind="127.0.0.1", node_id=name, wait="20s", timing=FAST
            )
        )
    for n in nodes:
        wait_until(f"{n.node_id} to see 3 live voters", 30, lambda n=n: _formed(n))
    print(f"3-node cluster formed in {time.monotonic() - started:.2f}s")
    yield nodes
    for n in nodes:
        n.shutdown()


def _next_down(get: Any, check: str, within: float) -> quptime.Transition:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        t = get(max(0.0, deadline - time.monotonic()))
        if t is not None and t.check_name == check and t.to_state == "down":
            return t  # type: ignore[no-any-return]
    pytest.fail(f"no DOWN transition of {check} within {within}s")


def test_down_arrives_through_iterator_async_iterator_and_callback(
    nodes: List[quptime.Cluster], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = nodes
    assert {n.node_id for n in nodes} == {"a", "b", "c"}
    assert b.status()["master"] == "a"

    unraisable: "queue.Queue[Tuple[BaseException, Any]]" = queue.Queue()

    def hook(args: Any) -> None:
        unraisable.put((args.exc_value, args.object))

    monkeypatch.setattr(sys, "unraisablehook", hook)

    def raising(t: quptime.Transition) -> None:
        raise RuntimeError(f"boom on {t.to_state}")

    iterator = b.subscribe()
    async_iterator = c.subscribe()
    called: "queue.Queue[quptime.Transition]" = queue.Queue()
    bad = a.on_transition(raising)
    a.on_transition(called.put)

    async def cancelled_waits() -> None:
        for _ in range(3):
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(async_iterator.__anext__(), 0.05)

    # Cancelled waits must not lose what they would have pulled.
    asyncio.run(cancelled_waits())

    target = Target()
    try:
        # Added on a follower: the library forwards it to the master.
        check_id = c.add_check("web", "http", target.url, interval="1s", timeout="1s")
        assert [x["id"] for x in a.checks()] == [check_id]

        up = _next_down_or_up(iterator, "up", 20)
        assert up.check_id == check_id and up.from_state == "unknown"

        target.down()
        taken_down = time.monotonic()

        # The iterator: a plain `for`, ended by a watchdog if nothing comes.
        watchdog = threading.Timer(60, b.shutdown)
        watchdog.start()
        try:
            down_b = None
            for t in iterator:
                if t.check_name == "web" and t.to_state == "down":
                    down_b = t
                    break
        finally:
            watchdog.cancel()
        assert down_b is not None, "the iterator ended without a DOWN"
        print(f"DOWN committed {time.monotonic() - taken_down:.2f}s after the target went down")

        async def until_down() -> List[quptime.Transition]:
            seen = []
            async for t in async_iterator:
                seen.append(t)
                if t.check_name == "web" and t.to_state == "down":
                    return seen
            raise AssertionError("the async iterator ended without a DOWN")

        seen_c = asyncio.run(asyncio.wait_for(until_down(), 30))
        assert seen_c[0] == up, "the async iterator lost the UP"
        down_c = seen_c[-1]
        down_a = _next_down(lambda w: _get(called, w), "web", 30)

        assert down_a == down_b == down_c
        assert down_b.from_state == "up" and down_b.check_id == check_id
        failing = [e for e in down_b.evidence if not e.ok]
        assert len(failing) >= 2, down_b.evidence
        assert all("refused" in e.detail for e in failing), down_b.evidence

        # The raising callback was called for UP and DOWN: reported each
        # time, and its dispatcher carried on.
        reports = [_get(unraisable, 10) for _ in range(2)]
        for report in reports:
            assert report is not None, "a raising callback was not reported"
            exc, obj = report
            assert isinstance(exc, RuntimeError) and str(exc).startswith("boom on ")
            assert obj is raising
        assert {str(r[0]) for r in reports if r} == {"boom on up", "boom on down"}
        bad.stop()

        state = {x["name"]: x["state"] for x in a.status()["checks"]}
        assert state == {"web": "down"}
    finally:
        target.down()


def _get(q: "queue.Queue[Any]", within: float) -> Any:
    try:
        return q.get(timeout=within)
    except queue.Empty:
        return None


def _next_down_or_up(sub: quptime.Subscription, state: str, within: float) -> quptime.Transition:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        t = sub.get(timeout=max(0.0, deadline - time.monotonic()))
        if t is not None and t.to_state == state:
            return t
    pytest.fail(f"no transition to {state} within {within}s")


def test_without_quorum_changes_fail_with_no_quorum(nodes: List[quptime.Cluster]) -> None:
    a, b, c = nodes
    sub = b.subscribe()
    b.shutdown()
    c.shutdown()
    # A subscription of a stopped node ends.
    assert list(sub) == []
    with pytest.raises(quptime.Shutdown):
        sub.get(timeout=1)
    started = time.monotonic()
    with pytest.raises(quptime.NoQuorum) as err:
        a.add_check("late", "tcp", "127.0.0.1:9", interval="5s")
    assert "quorum" in str(err.value)
    assert time.monotonic() - started < 10
    assert [x["name"] for x in a.checks()] == ["web"]
