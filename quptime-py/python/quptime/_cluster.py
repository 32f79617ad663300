"""The Python face of a node: :class:`Cluster`, :class:`Subscription`,
:func:`init`.

Arguments are checked and turned into the library's request types (as
JSON) here; validation beyond types, every decision and every message are
the library's. Blocking calls release the GIL and can be interrupted with
Ctrl-C (the native part checks signals every 100 ms). Nothing here starts a
thread or touches logging before a node is started.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import json
import os
import threading
import weakref
from typing import (
    Any,
    AsyncIterator,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
)

from quptime import _native
from quptime._types import Duration, NodeInfo, Timing, Transition, duration_text, seconds
from quptime.errors import InvalidInput

PathLike = Union[str, "os.PathLike[str]"]

_CHECK_TYPES = ("http", "tcp", "icmp", "tls", "dns")
_live: "weakref.WeakSet[Cluster]" = weakref.WeakSet()
_atexit_lock = threading.Lock()
_atexit_registered = False
_pool: Optional[concurrent.futures.ThreadPoolExecutor] = None


def _path(value: Any, field: str) -> str:
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return path
    raise InvalidInput(f"{field}=: expected a directory path, got {value!r}")


def _opt_str(value: Any, field: str) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    raise InvalidInput(f"{field}=: expected a string, got {type(value).__name__}")


def _str(value: Any, field: str) -> str:
    if isinstance(value, str) and value:
        return value
    raise InvalidInput(f"{field}=: expected a non-empty string, got {value!r}")


def _opt_int(value: Any, field: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field}=: expected an integer, got {type(value).__name__}")
    return value


def _names(value: Iterable[str], field: str) -> List[str]:
    if isinstance(value, str):
        raise InvalidInput(f"{field}=: expected a list of names, got the string {value!r}")
    return [_str(v, field) for v in value]


def _timing(value: Optional[Timing]) -> Optional[Any]:
    if value is None:
        return None
    if not isinstance(value, Timing):
        raise InvalidInput(f"timing=: expected a quptime.Timing, got {type(value).__name__}")
    return value._native()


def _async_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The threads async iteration waits on (created on first use)."""
    global _pool
    with _atexit_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=32, thread_name_prefix="quptime-async"
            )
        return _pool


def _shutdown_all() -> None:
    for cluster in list(_live):
        try:
            cluster.shutdown()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


def _track(cluster: "Cluster") -> None:
    global _atexit_registered
    with _atexit_lock:
        if not _atexit_registered:
            atexit.register(_shutdown_all)
            _atexit_registered = True
    _live.add(cluster)


def init(
    data_dir: PathLike,
    *,
    bind: Optional[str] = None,
    port: Optional[int] = None,
    advertise: Optional[str] = None,
    node_id: Optional[str] = None,
    secret: Optional[str] = None,
) -> NodeInfo:
    """Create a node's identity and ``node.yaml`` in ``data_dir`` (like
    ``qu init``). Without ``secret`` the node founds a new cluster; with the
    secret of an existing cluster it can be added to it. ``port=0`` picks a
    free port now and saves it. Never overwrites: raises
    :class:`AlreadyExists` if the directory holds a node."""
    node, fingerprint, generated = _native.init_node(
        _path(data_dir, "data_dir"),
        _opt_str(bind, "bind"),
        _opt_int(port, "port"),
        _opt_str(advertise, "advertise"),
        _opt_str(node_id, "node_id"),
        _opt_str(secret, "secret"),
    )
    return NodeInfo(node_id=node, fingerprint=fingerprint, secret_generated=generated)


def is_initialised(data_dir: PathLike) -> bool:
    """Whether ``data_dir`` already holds a node."""
    return _native.is_initialised(_path(data_dir, "data_dir"))


class Subscription:
    """Transitions committed from the moment of :meth:`Cluster.subscribe`,
    in order. Iterate it (``for t in sub``, blocking) or ``async for t in
    sub``; the iteration ends when the node shuts down."""

    def __init__(self, native: _native.Subscription) -> None:
        self._native = native
        self._pending: Optional["concurrent.futures.Future[Tuple[int, Optional[str]]]"] = None

    def get(self, timeout: Optional[Union[float, Any]] = None) -> Optional[Transition]:
        """The next transition, waiting up to ``timeout`` seconds (forever when
        ``None``); ``None`` on timeout. Raises :class:`Shutdown` once the
        node has stopped."""
        wait = None if timeout is None else seconds(timeout, "timeout")
        status, payload = self._native.next(wait)
        if status == 0 and payload is not None:
            return Transition.from_json(payload)
        if status == 1:
            return None
        from quptime.errors import Shutdown

        raise Shutdown("the node has stopped; no more transitions will come")

    @property
    def missed(self) -> int:
        """Transitions skipped because this subscriber fell behind."""
        return self._native.missed

    def __iter__(self) -> Iterator[Transition]:
        return self

    def __next__(self) -> Transition:
        status, payload = self._native.next(None)
        if status == 0 and payload is not None:
            return Transition.from_json(payload)
        raise StopIteration

    def __aiter__(self) -> AsyncIterator[Transition]:
        return self

    async def __anext__(self) -> Transition:
        import asyncio

        while True:
            # A wait cancelled by the caller (asyncio.wait_for, task.cancel)
            # keeps running and is awaited by the next call, so a transition
            # it pulls is never lost.
            if self._pending is None:
                self._pending = _async_pool().submit(self._native.next, 0.2)
            status, payload = await asyncio.shield(asyncio.wrap_future(self._pending))
            self._pending = None
            if status == 0 and payload is not None:
                return Transition.from_json(payload)
            if status == 2:
                raise StopAsyncIteration


class TransitionCallback:
    """The handle :meth:`Cluster.on_transition` returns."""

    def __init__(self, native: _native.Dispatcher) -> None:
        self._native = native

    def stop(self) -> None:
        """Stop calling the callback (a call in flight finishes first)."""
        self._native.stop()


class Cluster:
    """A full quptime monitor node running inside this process.

    Start one with :meth:`Cluster.start` (or :meth:`Cluster.join` with an
    enrollment token), use it, and stop it with :meth:`shutdown` or a
    ``with`` block. Each node has its own runtime threads, created at start.
    """

    def __init__(self, native: _native.Node, data_dir: str) -> None:
        self._native = native
        self._data_dir = data_dir

    @classmethod
    def start(
        cls,
        data_dir: PathLike,
        *,
        bind: Optional[str] = None,
        port: Optional[int] = None,
        advertise: Optional[str] = None,
        node_id: Optional[str] = None,
        secret: Optional[str] = None,
        timing: Optional[Timing] = None,
        env_overrides: bool = False,
    ) -> "Cluster":
        """Start the node in ``data_dir``, initialising it first (see
        :func:`init`; ``node_id``, ``secret`` and ``advertise`` are used only
        then) if it holds no node. ``bind``/``port`` override where it
        listens. ``port=0`` means a free port: a new node saves the one it
        picked in ``node.yaml``; an existing node listens on a new free port
        for this run (advertised when ``node.yaml`` names no advertise
        address). :attr:`port` reads the port back."""
        path = _path(data_dir, "data_dir")
        native = _native.Node.start(
            path,
            _opt_str(bind, "bind"),
            _opt_int(port, "port"),
            _opt_str(advertise, "advertise"),
            _opt_str(node_id, "node_id"),
            _opt_str(secret, "secret"),
            _timing(timing),
            bool(env_overrides),
        )
        cluster = cls(native, path)
        _track(cluster)
        return cluster

    @classmethod
    def join(
        cls,
        token: str,
        data_dir: PathLike,
        *,
        bind: Optional[str] = None,
        port: Optional[int] = None,
        advertise: Optional[str] = None,
        node_id: Optional[str] = None,
        wait: Duration = "60s",
        timing: Optional[Timing] = None,
        env_overrides: bool = False,
    ) -> "Cluster":
        """Set up a new node in the empty ``data_dir`` by joining the cluster
        of an enrollment ``token`` (see :meth:`create_token`), waiting up to
        ``wait`` for an approval, then start it. Without ``port`` a free
        port is chosen."""
        path = _path(data_dir, "data_dir")
        wait_text = duration_text(wait, "wait")
        if wait_text is None:
            raise InvalidInput("wait=: give a duration such as 60s")
        _native.Node.join(
            _str(token, "token"),
            path,
            _opt_str(bind, "bind"),
            _opt_int(port, "port"),
            _opt_str(advertise, "advertise"),
            _opt_str(node_id, "node_id"),
            wait_text,
        )
        return cls.start(path, timing=timing, env_overrides=env_overrides)

    # Facts about this node.

    @property
    def node_id(self) -> str:
        """This node's id."""
        return self._native.node_id

    @property
    def fingerprint(self) -> str:
        """The key fingerprint peers pin this node by."""
        return self._native.fingerprint

    @property
    def advertise(self) -> str:
        """The address peers dial."""
        return self._native.advertise

    @property
    def local_addr(self) -> str:
        """The address the peer listener is bound to."""
        return self._native.local_addr

    @property
    def port(self) -> int:
        """The port the peer listener is bound to (the free one ``port=0``
        picked)."""
        return self._native.port

    @property
    def data_dir(self) -> str:
        """The node's data directory."""
        return self._data_dir

    @property
    def is_master(self) -> bool:
        """Whether this node performs master duty now."""
        return self._native.is_master()

    # Configuration (committed cluster-wide; raises NoQuorum without quorum).

    def add_check(
        self,
        name: str,
        type: str,
        target: str,
        interval: Duration = "30s",
        timeout: Optional[Duration] = None,
        *,
        expect_status: Optional[str] = None,
        body_match: Optional[str] = None,
        insecure: bool = False,
        max_redirects: Optional[int] = None,
        keep_alive: bool = False,
        warn_days: Optional[int] = None,
        sni: Optional[str] = None,
        record: Optional[str] = None,
        resolver: Optional[str] = None,
        expect_answer: Optional[str] = None,
        alerts: Iterable[str] = (),
        suppress: Iterable[str] = (),
        remind: Optional[Duration] = None,
    ) -> str:
        """Add a check; every node probes it every ``interval``. ``type`` is
        one of ``http``, ``tcp``, ``icmp``, ``tls``, ``dns``. Returns its
        id."""
        spec = {
            "name": _str(name, "name"),
            "type": _str(type, "type"),
            "target": _str(target, "target"),
            "interval": duration_text(interval, "interval"),
            "timeout": duration_text(timeout, "timeout"),
            "expect_status": _opt_str(expect_status, "expect_status"),
            "body_match": _opt_str(body_match, "body_match"),
            "insecure": bool(insecure),
            "max_redirects": _opt_int(max_redirects, "max_redirects"),
            "keep_alive": bool(keep_alive),
            "warn_days": _opt_int(warn_days, "warn_days"),
            "sni": _opt_str(sni, "sni"),
            "record": _opt_str(record, "record"),
            "resolver": _opt_str(resolver, "resolver"),
            "expect_answer": _opt_str(expect_answer, "expect_answer"),
            "alerts": _names(alerts, "alerts"),
            "suppress": _names(suppress, "suppress"),
            "remind": duration_text(remind, "remind"),
        }
        if spec["type"] not in _CHECK_TYPES:
            raise InvalidInput(
                f"type=: {type!r} is not a check type; use one of {', '.join(_CHECK_TYPES)}"
            )
        return self._native.add_check(json.dumps(spec)) or ""

    def remove_check(self, check: str) -> None:
        """Remove the check with this id or name (:class:`NotFound` if none)."""
        self._native.remove_check(_str(check, "check"))

    def add_alert(
        self,
        name: str,
        type: str,
        settings: Optional[Mapping[str, str]] = None,
        *,
        default: bool = False,
    ) -> str:
        """Add an alert channel (``smtp``, ``discord`` or ``webhook``; see
        docs/configuration.md for the settings). ``default`` attaches it to
        every check. Returns its id."""
        values: Dict[str, str] = {}
        for key, value in (settings or {}).items():
            if not (isinstance(key, str) and key and isinstance(value, str) and value):
                raise InvalidInput(
                    f"settings=: expected non-empty text keys and values, got {key!r}: {value!r}"
                )
            values[key] = value
        spec = {
            "name": _str(name, "name"),
            "type": _str(type, "type"),
            "default": bool(default),
            "settings": values,
        }
        return self._native.add_alert(json.dumps(spec)) or ""

    def remove_alert(self, channel: str) -> None:
        """Remove the alert channel with this id or name."""
        self._native.remove_alert(_str(channel, "channel"))

    def create_token(
        self,
        name: Optional[str] = None,
        *,
        ttl: Duration = "1h",
        auto_approve: bool = False,
    ) -> str:
        """A single-use enrollment token for :meth:`Cluster.join` (or
        ``qu enroll join``), valid for ``ttl``."""
        text = duration_text(ttl, "ttl")
        if text is None:
            raise InvalidInput("ttl=: give a duration such as 30m or 1h")
        return self._native.create_token(_opt_str(name, "name"), text, bool(auto_approve))

    # Reading.

    def checks(self) -> List[Dict[str, Any]]:
        """The checks, as dicts (the fields of ``qu check list --json``)."""
        result: List[Dict[str, Any]] = json.loads(self._native.checks())
        return result

    def status(self) -> Dict[str, Any]:
        """This node's view of the cluster, as a dict (the fields of
        ``qu status --json``: term, master, quorum, peers, checks...)."""
        result: Dict[str, Any] = json.loads(self._native.status())
        return result

    # Transitions.

    def subscribe(self) -> Subscription:
        """An iterator of the transitions committed from now on."""
        return Subscription(self._native.subscribe())

    def on_transition(self, callback: Callable[[Transition], Any]) -> TransitionCallback:
        """Call ``callback(transition)`` for every transition committed from
        now on, on a thread of its own. An exception it raises is reported
        through ``sys.unraisablehook``; the node and later calls go on."""
        if not callable(callback):
            raise InvalidInput("callback=: expected a callable")
        return TransitionCallback(self._native.on_transition(callback, Transition.from_json))

    # Lifetime.

    def shutdown(self) -> None:
        """Stop the node gracefully (idempotent): subscriptions end,
        callbacks stop."""
        self._native.shutdown()
        _live.discard(self)

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"<quptime.Cluster node_id={self.node_id!r} at {self.local_addr}>"
