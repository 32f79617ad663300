"""quptime: embed a quorum-based uptime monitor node in Python.

>>> import quptime
>>> with quptime.Cluster.start("/tmp/qu-a", bind="127.0.0.1", port=0) as c:
...     c.add_check("homepage", "http", "https://example.com", interval="30s")
...     for t in c.subscribe():
...         print(t)

Importing this package starts no threads and installs no logging handler:
each node's runtime threads start with :meth:`Cluster.start`.
"""

from quptime._cluster import Cluster, init, is_initialised
from quptime._native import version
from quptime._subscription import Subscription, TransitionCallback
from quptime._types import Duration, Evidence, NewId, NodeInfo, Timing, Transition
from quptime.errors import (
    AlreadyExists,
    ConfigError,
    Incompatible,
    InternalError,
    InvalidInput,
    IoError,
    NoQuorum,
    NotFound,
    NotTrusted,
    PermissionDenied,
    ProtocolError,
    QuptimeError,
    Shutdown,
    Timeout,
    TlsError,
    TransportError,
)

__version__ = version()

__all__ = [
    "AlreadyExists",
    "Cluster",
    "ConfigError",
    "Duration",
    "Evidence",
    "Incompatible",
    "InternalError",
    "InvalidInput",
    "IoError",
    "NewId",
    "NoQuorum",
    "NodeInfo",
    "NotFound",
    "NotTrusted",
    "PermissionDenied",
    "ProtocolError",
    "QuptimeError",
    "Shutdown",
    "Subscription",
    "Timeout",
    "Timing",
    "TlsError",
    "Transition",
    "TransitionCallback",
    "TransportError",
    "init",
    "is_initialised",
    "version",
]
