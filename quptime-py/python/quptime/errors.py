"""The exceptions of quptime: one class per kind of library error.

Every error the library reports is a :class:`QuptimeError` whose ``str()`` is
the library's message (what went wrong; what to do) and whose ``kind`` is the
library's stable kind name (``"no_quorum"``, ``"not_found"``, ...). Catch the
subclass for the case you handle. Some also derive from the built-in
exception a Python programmer would expect (``InvalidInput`` is a
``ValueError``, ``NotFound`` a ``LookupError``, ``Timeout`` a
``TimeoutError``, ``PermissionDenied`` a ``PermissionError``).

An error about one argument names its keyword: ``field`` is the keyword
(``"interval"``) and the text starts with ``interval=: ``, whether Python or
the library found the fault; it never names a ``qu`` flag or command.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
    "QuptimeError",
    "InvalidInput",
    "NotFound",
    "AlreadyExists",
    "IoError",
    "PermissionDenied",
    "ConfigError",
    "Incompatible",
    "TlsError",
    "NotTrusted",
    "TransportError",
    "ProtocolError",
    "Timeout",
    "NoQuorum",
    "Shutdown",
    "InternalError",
]


class QuptimeError(Exception):
    """An error reported by the quptime library."""

    #: The library's kind name, such as ``"no_quorum"``.
    kind: str = "internal"
    #: The library's numeric kind (the same numbers as the C ABI).
    code: int = 15

    def __init__(self, message: str, field: Optional[str] = None) -> None:
        if field is not None:
            message = f"{field}=: {message}"
        super().__init__(message)
        self.message = message
        #: The keyword argument this error is about, if it is about one.
        self.field = field

    def __str__(self) -> str:
        return self.message


class InvalidInput(QuptimeError, ValueError):
    """A malformed argument: a bad address, duration, check type, token..."""

    kind = "invalid_input"
    code = 1


class NotFound(QuptimeError, LookupError):
    """The named thing (check, alert channel, file, node) does not exist."""

    kind = "not_found"
    code = 2


class AlreadyExists(QuptimeError):
    """The thing to create exists already (a check name, a node directory)."""

    kind = "already_exists"
    code = 3


class IoError(QuptimeError):
    """An I/O operation failed."""

    kind = "io"
    code = 4


class PermissionDenied(QuptimeError, PermissionError):
    """The filesystem refused access (owner or mode)."""

    kind = "permission_denied"
    code = 5


class ConfigError(QuptimeError):
    """A file exists but cannot be understood."""

    kind = "config"
    code = 6


class Incompatible(QuptimeError):
    """A file or message comes from a newer, incompatible version."""

    kind = "incompatible"
    code = 7


class TlsError(QuptimeError):
    """TLS setup or handshake failed."""

    kind = "tls"
    code = 8


class NotTrusted(QuptimeError):
    """The remote peer is not in this node's trust store."""

    kind = "not_trusted"
    code = 9


class TransportError(QuptimeError):
    """A network connection failed or broke."""

    kind = "transport"
    code = 10


class ProtocolError(QuptimeError):
    """The peer broke the wire protocol."""

    kind = "protocol"
    code = 11


class Timeout(QuptimeError, TimeoutError):
    """An operation did not finish in time."""

    kind = "timeout"
    code = 12


class NoQuorum(QuptimeError):
    """The cluster has no quorum, so nothing can be committed."""

    kind = "no_quorum"
    code = 13


class Shutdown(QuptimeError):
    """The node is shutting down or already stopped."""

    kind = "shutdown"
    code = 14


class InternalError(QuptimeError):
    """A bug, or a node used where it cannot be (after ``fork()``)."""

    kind = "internal"
    code = 15


_BY_CODE: Dict[int, Type[QuptimeError]] = {
    cls.code: cls
    for cls in (
        InvalidInput,
        NotFound,
        AlreadyExists,
        IoError,
        PermissionDenied,
        ConfigError,
        Incompatible,
        TlsError,
        NotTrusted,
        TransportError,
        ProtocolError,
        Timeout,
        NoQuorum,
        Shutdown,
        InternalError,
    )
}


def _from_native(
    code: int, kind: str, message: str, field: Optional[str] = None
) -> QuptimeError:
    """Build the exception for a library error (called by the native part);
    ``field`` is the input field the library named, which is also the
    Python keyword."""
    cls = _BY_CODE.get(code)
    if cls is None:
        # A kind newer than this package: still a QuptimeError.
        err = QuptimeError(message, field)
        err.kind = kind
        err.code = code
        return err
    return cls(message, field)
