"""Type stubs of the native part (``quptime._native``); use the
``quptime`` package instead, which wraps it."""

from os import PathLike
from typing import Any, Callable, Optional, Tuple, Union, final

_Path = Union[str, PathLike[str]]

__all__ = [
    "Dispatcher",
    "Node",
    "Subscription",
    "init_node",
    "is_initialised",
    "parse_duration",
    "version",
]

def version() -> str: ...
def parse_duration(field: str, text: str) -> float: ...
def init_node(
    data_dir: _Path,
    bind: Optional[str] = None,
    port: Optional[int] = None,
    advertise: Optional[str] = None,
    node_id: Optional[str] = None,
    secret: Optional[str] = None,
) -> Tuple[str, str, bool]: ...
def is_initialised(data_dir: _Path) -> bool: ...
@final
class Node:
    @staticmethod
    def start(
        data_dir: _Path,
        bind: Optional[str] = None,
        port: Optional[int] = None,
        advertise: Optional[str] = None,
        node_id: Optional[str] = None,
        secret: Optional[str] = None,
        timing: Optional[Tuple[float, float, float, float, float]] = None,
        env_overrides: bool = False,
    ) -> Node: ...
    @staticmethod
    def join(
        token: str,
        data_dir: _Path,
        bind: Optional[str] = None,
        port: Optional[int] = None,
        advertise: Optional[str] = None,
        node_id: Optional[str] = None,
        wait: str = ...,
    ) -> str: ...
    @property
    def node_id(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def advertise(self) -> str: ...
    @property
    def local_addr(self) -> str: ...
    @property
    def port(self) -> int: ...
    def is_master(self) -> bool: ...
    def add_check(self, spec: str) -> Optional[str]: ...
    def remove_check(self, key: str) -> None: ...
    def add_alert(self, spec: str) -> Optional[str]: ...
    def remove_alert(self, key: str) -> None: ...
    def create_token(self, name: Optional[str], ttl: str, auto_approve: bool) -> str: ...
    def checks(self) -> str: ...
    def status(self) -> str: ...
    def subscribe(self) -> Subscription: ...
    def on_transition(
        self, callback: Callable[[Any], object], convert: Callable[[str], Any]
    ) -> Dispatcher: ...
    def shutdown(self) -> None: ...

@final
class Subscription:
    def next(self, timeout: Optional[float] = None) -> Tuple[int, Optional[str]]: ...
    @property
    def missed(self) -> int: ...

@final
class Dispatcher:
    def stop(self) -> None: ...
