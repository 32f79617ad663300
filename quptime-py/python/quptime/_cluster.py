"""The Python face of a node: :class:`Cluster` (its configuration calls
are in :mod:`quptime._config`) and :func:`init`.

Arguments are checked and turned into the library's request types (as
JSON) here; validation beyond types, every decision and every message are
the library's. Blocking calls release the GIL and can be interrupted with
Ctrl-C (the native part checks signals every 100 ms). Nothing here starts a
thread or touches logging before a node is started.
"""

from __future__ import annotations

import atexit
import json
import threading
import weakref
from typing import Any, Callable, Dict, List, Optional

from quptime import _native
from quptime._args import PathLike, _opt_int, _opt_str, _path, _str, _timing
from quptime._config import _Config
from quptime._maintenance import _Maintenance
from quptime._subscription import Subscription, TransitionCallback
from quptime._types import Duration, NodeInfo, Timing, Transition, duration_text
from quptime.errors import InvalidInput

__all__ = ["Cluster", "Subscription", "TransitionCallback", "init", "is_initialised"]

_live: "weakref.WeakSet[Cluster]" = weakref.WeakSet()
_atexit_lock = threading.Lock()
_atexit_registered = False


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


class Cluster(_Config, _Maintenance):
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
        :func:`init`) if it holds no node: the library's init-or-start, the
        same as ``qu serve`` and the C ABI. For an existing node ``node_id``,
        ``secret`` and ``advertise`` must be unset or equal to the saved
        ones (:class:`InvalidInput` naming the keyword otherwise).
        ``bind``/``port`` say where it listens, overriding ``node.yaml``;
        ``port=0`` listens on a free port for this run (advertised when
        ``node.yaml`` names no advertise address), read back with
        :attr:`port`. ``timing`` is validated by the library's rule (election
        timeout at least twice the heartbeat, ...)."""
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
            raise InvalidInput("give a duration such as 60s", "wait")
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

    # Reading.

    def checks(self) -> List[Dict[str, Any]]:
        """The checks, as dicts (the fields of ``qu check list --json``,
        secrets unmasked: the program owns the node)."""
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
            raise InvalidInput("expected a callable", "callback")
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
