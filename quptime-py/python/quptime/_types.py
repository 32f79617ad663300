"""Plain data the API returns or takes: timings, transitions, node facts.

Frozen dataclasses, built from the JSON the native part hands over, so a
transition can be compared, hashed, printed and passed between threads.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

from quptime.errors import InvalidInput

#: A duration: Go-style text (``"30s"``, ``"1m30s"``, ``"250ms"``, read by the
#: library's rule, the same as the CLI's), a number of seconds, or a
#: ``datetime.timedelta``. Every duration keyword of the API takes all three.
Duration = Union[str, int, float, datetime.timedelta]


def seconds(value: Any, field: str) -> float:
    """A non-negative number of seconds from any :data:`Duration`; errors
    name the keyword (``timeout=: ...``)."""
    if isinstance(value, str):
        from quptime import _native

        return _native.parse_duration(field, value)
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(
            f"expected a duration such as \"30s\", a number of seconds or a timedelta, "
            f"got {type(value).__name__}",
            field,
        )
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{value!r} is not a non-negative number of seconds", field)
    return float(value)


def duration_text(value: Optional[Duration], field: str) -> Optional[str]:
    """The library's duration text for ``value`` (``None`` stays ``None``);
    text is checked here so that a syntax error names the keyword."""
    if value is None:
        return None
    if isinstance(value, str):
        seconds(value, field)
        return value
    secs = seconds(value, field)
    ms = round(secs * 1000)
    if ms <= 0:
        raise InvalidInput(f"{value!r} is too short; give at least 1ms", field)
    return f"{ms}ms"


@dataclass(frozen=True)
class Timing:
    """Raft timings: each a :data:`Duration` (seconds, ``"400ms"``, a
    timedelta). The defaults suit nodes in different networks; :meth:`fast`
    suits nodes on one host (tests, demos)."""

    heartbeat: Duration = 0.4
    election_min: Duration = 0.8
    election_max: Duration = 1.6
    master_cooldown: Duration = 120.0
    propose_timeout: Duration = 3.0

    @classmethod
    def fast(cls) -> "Timing":
        """Loopback timings: failover within about a second."""
        return cls(
            heartbeat=0.1,
            election_min=0.5,
            election_max=1.0,
            master_cooldown=600.0,
            propose_timeout=2.0,
        )

    def _native(self) -> Tuple[float, float, float, float, float]:
        return (
            seconds(self.heartbeat, "heartbeat"),
            seconds(self.election_min, "election_min"),
            seconds(self.election_max, "election_max"),
            seconds(self.master_cooldown, "master_cooldown"),
            seconds(self.propose_timeout, "propose_timeout"),
        )


class NewId(str):
    """The id of the record a write created (a plain ``str`` to compare and
    print), carrying the config ``version`` of that write for
    :meth:`quptime.Cluster.wait_applied`."""

    #: The config version the write produced.
    version: int

    def __new__(cls, value: str, version: int) -> "NewId":
        new = super().__new__(cls, value)
        new.version = version
        return new


@dataclass(frozen=True)
class NodeInfo:
    """What :func:`quptime.init` created."""

    node_id: str
    fingerprint: str
    secret_generated: bool


@dataclass(frozen=True)
class Evidence:
    """What one member saw when a transition was decided."""

    node: str
    ok: bool
    detail: str
    latency_ms: int


@dataclass(frozen=True)
class Transition:
    """One committed state change of one check, the same on every node."""

    #: Position in the cluster-wide sequence of transitions (from 1).
    seq: int
    check_id: str
    check_name: str
    target: str
    #: The state left: ``"up"``, ``"down"`` or ``"unknown"``.
    from_state: str
    #: The state entered.
    to_state: str
    #: When the master decided it (RFC 3339 UTC).
    at: str
    #: The master that decided it.
    master: str
    term: int
    evidence: Tuple[Evidence, ...]

    @classmethod
    def from_json(cls, text: str) -> "Transition":
        """Build from the library's JSON form of a transition record."""
        d = json.loads(text)
        return cls(
            seq=d["seq"],
            check_id=d["check_id"],
            check_name=d["check_name"],
            target=d["target"],
            from_state=d["from"],
            to_state=d["to"],
            at=d["at"],
            master=d["master"],
            term=d["term"],
            evidence=tuple(
                Evidence(
                    node=e["node"],
                    ok=e["ok"],
                    detail=e["detail"],
                    latency_ms=e["latency_ms"],
                )
                for e in d["evidence"]
            ),
        )

    def __str__(self) -> str:
        failing = [e for e in self.evidence if not e.ok]
        summary = f"{len(failing)}/{len(self.evidence)} failing"
        if failing:
            summary += ": " + ", ".join(f"{e.node}={e.detail}" for e in failing)
        return (
            f"{self.at} {self.check_name} {self.from_state} -> {self.to_state} ({summary})"
        )
