"""Maintenance windows from Python on a real node on loopback: a one-off
window from now and a weekly one are added, listed (check ids, the schedule,
the length, the reason; a check given by name or id) and shown in the check's status; bad values are
refused naming the Python keyword with nothing changed; removing one leaves
the other, and an unknown id is ``NotFound``."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

import quptime
from conftest import wait_until


@pytest.fixture
def node(tmp_path: Path) -> Iterator[quptime.Cluster]:
    c = quptime.Cluster.start(
        tmp_path / "n", bind="127.0.0.1", port=0, node_id="m", timing=quptime.Timing.fast()
    )
    try:
        yield c
    finally:
        c.shutdown()


def _status(node: quptime.Cluster, name: str) -> Dict[str, Any]:
    return next(c for c in node.status()["checks"] if c["name"] == name)


def test_windows_added_listed_refused_and_removed(node: quptime.Cluster) -> None:
    web = node.add_check("web", "tcp", "127.0.0.1:9", interval="5s")
    db = node.add_check("db", "tcp", "127.0.0.1:9", interval="5s")
    node.wait_applied(db)

    once = node.add_maintenance("web", "now", duration="2h", reason="upgrade")
    weekly = node.add_maintenance(
        [str(db)], every="sun,wed", at="02:00", tz="Europe/Berlin", duration=3600
    )
    assert once and weekly and once != weekly
    assert weekly.version > once.version
    node.wait_applied(weekly)

    windows = {w["id"]: w for w in node.maintenance()}
    assert set(windows) == {str(once), str(weekly)}
    w1 = windows[str(once)]
    assert w1["checks"] == [str(web)]
    assert w1["when"]["kind"] == "once"
    assert w1["duration_ms"] == 2 * 3600 * 1000 and w1["reason"] == "upgrade"
    w2 = windows[str(weekly)]
    assert w2["checks"] == [str(db)]
    assert w2["when"] == {"kind": "weekly", "days": ["sun", "wed"], "at": "02:00", "tz": "Europe/Berlin"}
    assert w2["duration_ms"] == 3600 * 1000 and "reason" not in w2
    wait_until("web in maintenance", 10, lambda: _status(node, "web").get("maintenance") is True)

    # An aware datetime is a start too; a naive one is refused.
    later = datetime.datetime(2030, 5, 1, 22, 0, tzinfo=datetime.timezone.utc)
    dated = node.add_maintenance(["db"], later, duration="30m")
    node.wait_applied(dated)
    w3 = next(w for w in node.maintenance() if w["id"] == str(dated))
    assert w3["when"] == {"kind": "once", "start_ms": int(later.timestamp() * 1000)}
    before = node.maintenance()
    with pytest.raises(quptime.InvalidInput) as bad:
        node.add_maintenance("db", later.replace(tzinfo=None), duration="30m")
    assert bad.value.field == "start"

    # Bad values name the keyword and change nothing.
    with pytest.raises(quptime.InvalidInput) as bad:
        node.add_maintenance("db", every="sun", at="02:00", tz="Mars/Olympus", duration="1h")
    assert bad.value.field == "tz" and "Mars/Olympus" in str(bad.value)
    with pytest.raises(quptime.InvalidInput) as bad:
        node.add_maintenance("db", "now", duration="2 fortnights")
    assert bad.value.field == "duration"
    with pytest.raises(quptime.InvalidInput) as bad:
        node.add_maintenance("db", "now", duration="400d")
    assert bad.value.field == "duration" and "365d" in str(bad.value)
    with pytest.raises(quptime.InvalidInput) as bad:
        node.add_maintenance("db", every="someday", at="02:00", duration="1h")
    assert bad.value.field == "every"
    with pytest.raises(quptime.NotFound) as missing:
        node.add_maintenance("nosuch", "now", duration="1h")
    assert missing.value.field == "checks"
    assert node.maintenance() == before

    v = node.remove_maintenance(str(once))
    node.wait_applied(v)
    assert {w["id"] for w in node.maintenance()} == {str(weekly), str(dated)}
    with pytest.raises(quptime.NotFound):
        node.remove_maintenance(str(once))
    wait_until("web out of maintenance", 10, lambda: _status(node, "web").get("maintenance") is None)
