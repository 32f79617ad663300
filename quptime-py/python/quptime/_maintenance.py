"""The maintenance-window calls of :class:`quptime.Cluster`: add a window
(once or weekly), list the windows and silences, remove one.

A window holds back the DOWN alerts of its checks while it is open; one
still down when it closes alerts then. The keywords are the fields of the
library's ``MaintenanceSpec`` (the flags of ``qu maintenance add``), with
``duration`` for its ``for``; they are checked for their Python types here
and every other rule and message is the library's, so a bad value raises
:class:`InvalidInput` naming the keyword before anything is changed.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Dict, Iterable, List, Optional, Union

from quptime import _native
from quptime._args import _names, _opt_str, _str
from quptime._types import Duration, NewId, duration_text
from quptime.errors import InvalidInput

Start = Union[str, datetime.datetime]


def _start(value: Optional[Start]) -> Optional[str]:
    """``"now"``, RFC 3339 text, or an aware datetime as RFC 3339 text."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise InvalidInput("a datetime needs a time zone (tzinfo)", "start")
        return value.isoformat()
    return _opt_str(value, "start")


def _days(value: Union[None, str, Iterable[str]]) -> List[str]:
    """``every`` as the library's day list: ``"mon,wed"`` or ``["mon"]``."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return _names(value, "every")


class _Maintenance:
    """Mixed into :class:`quptime.Cluster`."""

    _native: _native.Node

    def add_maintenance(
        self,
        checks: Union[str, Iterable[str]],
        start: Optional[Start] = None,
        *,
        duration: Duration,
        every: Union[None, str, Iterable[str]] = None,
        at: Optional[str] = None,
        tz: Optional[str] = None,
        reason: Optional[str] = None,
    ) -> NewId:
        """Add a maintenance window over ``checks`` (names or ids) lasting
        ``duration`` (``"2h"`` or seconds): once from ``start`` (``"now"``,
        RFC 3339 text or an aware datetime), or weekly on the days
        ``every`` (``"mon,wed"`` or ``["sun"]``) at ``at`` (``"HH:MM"``)
        in the IANA zone ``tz`` (default UTC). Returns its id (a ``str``
        whose ``version`` is the write's config version)."""
        names = [checks] if isinstance(checks, str) else checks
        spec: Dict[str, Any] = {
            "checks": _names(names, "checks"),
            "start": _start(start),
            "every": _days(every),
            "at": _opt_str(at, "at"),
            "tz": _opt_str(tz, "tz"),
            "for": duration_text(duration, "duration"),
            "reason": _opt_str(reason, "reason") or "",
        }
        try:
            window_id, version = self._native.add_maintenance(json.dumps(spec))
        except InvalidInput as e:
            if e.field != "for":
                raise
            text = e.message.removeprefix("for=: ")
            raise InvalidInput(text, "duration") from None
        return NewId(window_id or "", version)

    def maintenance(self) -> List[Dict[str, Any]]:
        """The maintenance windows and silences on record, as dicts (``id``,
        ``checks`` as check ids, ``when`` with ``kind`` ``"once"`` and
        ``start_ms`` or ``"weekly"`` and ``days``, ``at``, ``tz``,
        ``duration_ms``, and ``reason`` / ``silence`` when set)."""
        out: List[Dict[str, Any]] = json.loads(self._native.maintenance())
        return out

    def remove_maintenance(self, id: str) -> int:
        """Remove the maintenance window with this id (:class:`NotFound` if
        none); a DOWN it held back is sent then if the check is still down.
        Returns the config version."""
        return self._native.remove_maintenance(_str(id, "id"))
