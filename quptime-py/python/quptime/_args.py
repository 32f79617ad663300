"""Argument checks shared by the API: each names the keyword it checks
(``name=: expected a non-empty string``), so a fault found in Python reads
like one the library finds (see :mod:`quptime.errors`)."""

from __future__ import annotations

import os
from typing import Any, Iterable, List, Optional, Union

from quptime._types import Timing
from quptime.errors import InvalidInput

PathLike = Union[str, "os.PathLike[str]"]


def _path(value: Any, field: str) -> str:
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return path
    raise InvalidInput(f"expected a directory path, got {value!r}", field)


def _opt_str(value: Any, field: str) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    raise InvalidInput(f"expected a string, got {type(value).__name__}", field)


def _str(value: Any, field: str) -> str:
    if isinstance(value, str) and value:
        return value
    raise InvalidInput(f"expected a non-empty string, got {value!r}", field)


def _opt_int(value: Any, field: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"expected an integer, got {type(value).__name__}", field)
    return value


def _names(value: Iterable[str], field: str) -> List[str]:
    if isinstance(value, str):
        raise InvalidInput(f"expected a list of names, got the string {value!r}", field)
    return [_str(v, field) for v in value]


def _timing(value: Optional[Timing]) -> Optional[Any]:
    if value is None:
        return None
    if not isinstance(value, Timing):
        raise InvalidInput(f"expected a quptime.Timing, got {type(value).__name__}", "timing")
    return value._native()



def _opt_bool(value: Any, field: str) -> Optional[bool]:
    if value is None or isinstance(value, bool):
        return value
    raise InvalidInput(f"expected True or False, got {type(value).__name__}", field)
