"""The configuration calls of :class:`quptime.Cluster`: checks, alert
channels, enrollment, members, leadership, resolvers, export and apply.

Each is one use case of the library (``quptime::api``), the same one ``qu``
and the C ABI call: arguments are checked for their Python types here and
sent as the library's request types (JSON); every other rule and message is
the library's. Every write is committed cluster-wide (``NoQuorum`` without a
quorum) and returns the config version it produced, which
:meth:`_Config.wait_applied` on any other node waits for.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

from quptime import _native
from quptime._args import _names, _opt_bool, _opt_int, _opt_str, _str
from quptime._types import Duration, NewId, duration_text, seconds
from quptime.errors import InvalidInput

_CHECK_TYPES = ("http", "tcp", "icmp", "tls", "dns")


def _settings(settings: Optional[Mapping[str, str]]) -> Dict[str, str]:
    values: Dict[str, str] = {}
    for key, value in (settings or {}).items():
        if not (isinstance(key, str) and key and isinstance(value, str) and value):
            raise InvalidInput(
                f"expected non-empty text keys and values, got {key!r}: {value!r}", "settings"
            )
        values[key] = value
    return values


def _values(value: Iterable[str], field: str) -> List[str]:
    """A list of texts (``expect_values``): a bare string is refused, as a
    list of its characters is never what was meant."""
    if isinstance(value, str):
        raise InvalidInput(f"expected a list of values, got the string {value!r}", field)
    out: List[str] = []
    for v in value:
        if not isinstance(v, str):
            raise InvalidInput(f"expected text values, got {type(v).__name__}", field)
        out.append(v)
    return out


def _opt_names(value: Optional[Iterable[str]], field: str) -> Optional[List[str]]:
    return None if value is None else _names(value, field)


class _Config:
    """Mixed into :class:`quptime.Cluster`."""

    _native: _native.Node

    # Checks.

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
        method: Optional[str] = None,
        headers: Iterable[str] = (),
        body: Optional[str] = None,
        basic_auth: Optional[str] = None,
        bearer: Optional[str] = None,
        ip_version: Optional[int] = None,
        ca: Optional[str] = None,
        conditions: Iterable[str] = (),
        send: Optional[str] = None,
        expect_reply: Optional[str] = None,
        tls: bool = False,
        count: Optional[int] = None,
        max_loss: Optional[int] = None,
        max_rtt: Optional[Duration] = None,
        expect_values: Iterable[str] = (),
        expect_count: Optional[int] = None,
        expect_nxdomain: bool = False,
        alerts: Iterable[str] = (),
        suppress: Iterable[str] = (),
        remind: Optional[Duration] = None,
        fail_after: Optional[int] = None,
        recover_after: Optional[int] = None,
        quorum: Optional[str] = None,
        nodes: Iterable[str] = (),
        depends_on: Iterable[str] = (),
        flap_threshold: Optional[int] = None,
        flap_window: Optional[Duration] = None,
    ) -> NewId:
        """Add a check; every node probes it every ``interval``. ``type`` is
        one of ``http``, ``tcp``, ``icmp``, ``tls``, ``dns``. A dns check
        may pin its answer: ``expect_values`` (each must be among the
        answers), ``expect_count`` (exactly that many) or
        ``expect_nxdomain=True`` (the name must not exist). Returns its id
        (a ``str`` whose ``version`` is the write's config version).

        The keywords are the settings of docs/configuration.md, named as
        there: http requests (``method``, ``headers`` as ``"Name: value"``,
        ``body``, ``basic_auth`` as ``"user:password"``, ``bearer``,
        ``ip_version`` 4 or 6, ``ca`` PEM, ``conditions`` such as
        ``'json $.status == "ok"'``), tcp talk (``send``, ``expect_reply``,
        ``tls``), icmp echoes (``count``, ``max_loss`` in percent,
        ``max_rtt``), the decision policy (``fail_after``,
        ``recover_after``, ``quorum`` such as ``"at-least 2"``, ``nodes``
        as ``"region=eu"`` labels), ``depends_on`` (check names or ids) and
        flap control (``flap_threshold``, ``flap_window``). A setting of
        another kind of check is refused, naming it."""
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
            "method": _opt_str(method, "method"),
            "headers": _names(headers, "headers"),
            "body": _opt_str(body, "body"),
            "basic_auth": _opt_str(basic_auth, "basic_auth"),
            "bearer": _opt_str(bearer, "bearer"),
            "ip_version": _opt_int(ip_version, "ip_version"),
            "ca": _opt_str(ca, "ca"),
            "conditions": _names(conditions, "conditions"),
            "send": _opt_str(send, "send"),
            "expect_reply": _opt_str(expect_reply, "expect_reply"),
            "tls": bool(tls),
            "count": _opt_int(count, "count"),
            "max_loss": _opt_int(max_loss, "max_loss"),
            "max_rtt": duration_text(max_rtt, "max_rtt"),
            "expect_values": _values(expect_values, "expect_values"),
            "expect_count": _opt_int(expect_count, "expect_count"),
            "expect_nxdomain": _opt_bool(expect_nxdomain, "expect_nxdomain") or False,
            "alerts": _names(alerts, "alerts"),
            "suppress": _names(suppress, "suppress"),
            "remind": duration_text(remind, "remind"),
            "fail_after": _opt_int(fail_after, "fail_after"),
            "recover_after": _opt_int(recover_after, "recover_after"),
            "quorum": _opt_str(quorum, "quorum"),
            "nodes": _names(nodes, "nodes"),
            "depends_on": _names(depends_on, "depends_on"),
            "flap_threshold": _opt_int(flap_threshold, "flap_threshold"),
            "flap_window": duration_text(flap_window, "flap_window"),
        }
        spec = {k: v for k, v in spec.items() if v is not None}
        if spec["type"] not in _CHECK_TYPES:
            raise InvalidInput(
                f"{type!r} is not a check type; use one of {', '.join(_CHECK_TYPES)}", "type"
            )
        check_id, version = self._native.add_check(json.dumps(spec))
        return NewId(check_id or "", version)

    def edit_check(
        self,
        check: str,
        *,
        name: Optional[str] = None,
        target: Optional[str] = None,
        interval: Optional[Duration] = None,
        timeout: Optional[Duration] = None,
        expect_status: Optional[str] = None,
        body_match: Optional[str] = None,
        insecure: Optional[bool] = None,
        max_redirects: Optional[int] = None,
        keep_alive: Optional[bool] = None,
        warn_days: Optional[int] = None,
        sni: Optional[str] = None,
        record: Optional[str] = None,
        resolver: Optional[str] = None,
        expect_answer: Optional[str] = None,
        method: Optional[str] = None,
        headers: Optional[Iterable[str]] = None,
        body: Optional[str] = None,
        basic_auth: Optional[str] = None,
        bearer: Optional[str] = None,
        ip_version: Optional[int] = None,
        ca: Optional[str] = None,
        conditions: Optional[Iterable[str]] = None,
        send: Optional[str] = None,
        expect_reply: Optional[str] = None,
        tls: Optional[bool] = None,
        count: Optional[int] = None,
        max_loss: Optional[int] = None,
        max_rtt: Optional[Duration] = None,
        expect_values: Optional[Iterable[str]] = None,
        expect_count: Optional[int] = None,
        expect_nxdomain: Optional[bool] = None,
        alerts: Optional[Iterable[str]] = None,
        suppress: Optional[Iterable[str]] = None,
        remind: Optional[Duration] = None,
        fail_after: Optional[int] = None,
        recover_after: Optional[int] = None,
        quorum: Optional[str] = None,
        nodes: Optional[Iterable[str]] = None,
        depends_on: Optional[Iterable[str]] = None,
        flap_threshold: Optional[int] = None,
        flap_window: Optional[Duration] = None,
    ) -> int:
        """Change the check with this id or name: each keyword given
        replaces that setting (the keywords of :meth:`add_check`); ``""``
        clears an optional text setting and ``remind=""`` turns reminders
        off; ``expect_values=[]`` and ``expect_count=0`` drop those dns
        expectations. Returns the write's config version."""
        patch = {
            "name": _opt_str(name, "name"),
            "target": _opt_str(target, "target"),
            "interval": duration_text(interval, "interval"),
            "timeout": duration_text(timeout, "timeout"),
            "expect_status": _opt_str(expect_status, "expect_status"),
            "body_match": _opt_str(body_match, "body_match"),
            "insecure": _opt_bool(insecure, "insecure"),
            "max_redirects": _opt_int(max_redirects, "max_redirects"),
            "keep_alive": _opt_bool(keep_alive, "keep_alive"),
            "warn_days": _opt_int(warn_days, "warn_days"),
            "sni": _opt_str(sni, "sni"),
            "record": _opt_str(record, "record"),
            "resolver": _opt_str(resolver, "resolver"),
            "expect_answer": _opt_str(expect_answer, "expect_answer"),
            "method": _opt_str(method, "method"),
            "headers": _opt_names(headers, "headers"),
            "body": _opt_str(body, "body"),
            "basic_auth": _opt_str(basic_auth, "basic_auth"),
            "bearer": _opt_str(bearer, "bearer"),
            "ip_version": _opt_int(ip_version, "ip_version"),
            "ca": _opt_str(ca, "ca"),
            "conditions": _opt_names(conditions, "conditions"),
            "send": _opt_str(send, "send"),
            "expect_reply": _opt_str(expect_reply, "expect_reply"),
            "tls": _opt_bool(tls, "tls"),
            "count": _opt_int(count, "count"),
            "max_loss": _opt_int(max_loss, "max_loss"),
            "max_rtt": duration_text(max_rtt, "max_rtt"),
            "expect_values": None if expect_values is None else _values(expect_values, "expect_values"),
            "expect_count": "" if expect_count == 0 else _opt_int(expect_count, "expect_count"),
            "expect_nxdomain": _opt_bool(expect_nxdomain, "expect_nxdomain"),
            "alerts": _opt_names(alerts, "alerts"),
            "suppress": _opt_names(suppress, "suppress"),
            "remind": "" if remind == "" else duration_text(remind, "remind"),
            "fail_after": _opt_int(fail_after, "fail_after"),
            "recover_after": _opt_int(recover_after, "recover_after"),
            "quorum": _opt_str(quorum, "quorum"),
            "nodes": _opt_names(nodes, "nodes"),
            "depends_on": _opt_names(depends_on, "depends_on"),
            "flap_threshold": _opt_int(flap_threshold, "flap_threshold"),
            "flap_window": "" if flap_window == "" else duration_text(flap_window, "flap_window"),
        }
        patch = {k: v for k, v in patch.items() if v is not None}
        return self._native.edit_check(_str(check, "check"), json.dumps(patch))

    def enable_check(self, check: str) -> int:
        """Probe and alert on the check again; returns the config version."""
        return self._native.set_check_enabled(_str(check, "check"), True)

    def disable_check(self, check: str) -> int:
        """Stop probing and alerting on the check (kept, and shown as
        disabled); returns the config version."""
        return self._native.set_check_enabled(_str(check, "check"), False)

    def silence(self, check: str, duration: Optional[Duration] = None) -> int:
        """Silence the check for ``duration`` (``"30m"`` or seconds) from
        now: no DOWN is sent meanwhile, and one still down when it ends
        alerts then. ``None`` ends its silences. Returns the config
        version."""
        text = duration_text(duration, "for") or ""
        return self._native.silence(_str(check, "check"), text)

    def remove_check(self, check: str) -> int:
        """Remove the check with this id or name (:class:`NotFound` if none);
        returns the config version."""
        return self._native.remove_check(_str(check, "check"))

    # Alert channels.

    def add_alert(
        self,
        name: str,
        type: str,
        settings: Optional[Mapping[str, str]] = None,
        *,
        default: bool = False,
    ) -> NewId:
        """Add an alert channel (``smtp``, ``discord`` or ``webhook``; see
        docs/configuration.md for the settings). ``default`` attaches it to
        every check. Returns its id (with the write's ``version``)."""
        spec = {
            "name": _str(name, "name"),
            "type": _str(type, "type"),
            "default": bool(default),
            "settings": _settings(settings),
        }
        alert_id, version = self._native.add_alert(json.dumps(spec))
        return NewId(alert_id or "", version)

    def set_alert_enabled(self, channel: str, enabled: bool) -> int:
        """Enable or disable the alert channel (a disabled one sends
        nothing); returns the config version."""
        if not isinstance(enabled, bool):
            raise InvalidInput(f"expected True or False, got {enabled!r}", "enabled")
        return self._native.set_alert_enabled(_str(channel, "channel"), enabled)

    def enable_alert(self, channel: str) -> int:
        """``set_alert_enabled(channel, True)``."""
        return self.set_alert_enabled(channel, True)

    def disable_alert(self, channel: str) -> int:
        """``set_alert_enabled(channel, False)``."""
        return self.set_alert_enabled(channel, False)

    def remove_alert(self, channel: str) -> int:
        """Remove the alert channel with this id or name; returns the config
        version."""
        return self._native.remove_alert(_str(channel, "channel"))

    # Enrollment and members.

    def create_enrollment(
        self,
        name: Optional[str] = None,
        *,
        ttl: Duration = "1h",
        auto_approve: bool = False,
    ) -> Dict[str, Any]:
        """A single-use enrollment token, valid for ``ttl``: a dict with the
        ``token`` text (for :meth:`Cluster.join` or ``qu enroll join``) and
        its ``record`` (``id``, ``name``, ``expires_at``, ...)."""
        text = duration_text(ttl, "ttl")
        if text is None:
            raise InvalidInput("give a duration such as 30m or 1h", "ttl")
        out: Dict[str, Any] = json.loads(
            self._native.create_enrollment(_opt_str(name, "name"), text, bool(auto_approve))
        )
        return out

    def create_token(
        self,
        name: Optional[str] = None,
        *,
        ttl: Duration = "1h",
        auto_approve: bool = False,
    ) -> str:
        """The token text of :meth:`create_enrollment`."""
        token: str = self.create_enrollment(name, ttl=ttl, auto_approve=auto_approve)["token"]
        return token

    def enrollments(self) -> List[Dict[str, Any]]:
        """The enrollment tokens on record, as dicts (``id``, ``name``,
        ``expires_at``, ``request``, ``approved``, ``used``)."""
        out: List[Dict[str, Any]] = json.loads(self._native.enrollments())
        return out

    def approve_enrollment(self, enrollment: str) -> int:
        """Admit the node waiting with enrollment token ``enrollment`` (its
        id); returns the config version."""
        return self._native.approve_enrollment(_str(enrollment, "enrollment"))

    def revoke_enrollment(self, enrollment: str) -> int:
        """Revoke the enrollment token with this id; returns the config
        version."""
        return self._native.revoke_enrollment(_str(enrollment, "enrollment"))

    def preview_node(self, addr: str) -> Dict[str, Any]:
        """Who answers at ``addr`` (``host:port``): its ``node_id``,
        ``fingerprint``, ``advertise`` and ``version``, to confirm before
        :meth:`add_node`."""
        out: Dict[str, Any] = json.loads(self._native.preview_node(_str(addr, "addr")))
        return out

    def add_node(self, addr: str, fingerprint: str) -> int:
        """Add the node answering at ``addr`` (``host:port``) whose key has
        ``fingerprint`` (its :attr:`Cluster.fingerprint`, ``sha256:...``);
        returns the config version."""
        return self._native.add_node(_str(addr, "addr"), _str(fingerprint, "fingerprint"))

    def remove_node(self, node_id: str) -> int:
        """Remove the member ``node_id`` (its trust is revoked on every
        node); returns the config version."""
        return self._native.remove_node(_str(node_id, "node_id"))

    def transfer_leader(self, to: Optional[str] = None, *, hold: Duration = "1h") -> Dict[str, Any]:
        """Move the master role to ``to`` (default: the preferred live voter
        other than the current master) and keep it there for ``hold``.
        Returns ``{"master": ..., "until": ...}``."""
        text = duration_text(hold, "hold")
        if text is None:
            raise InvalidInput("give a duration such as 1h", "hold")
        out: Dict[str, Any] = json.loads(self._native.transfer_leader(_opt_str(to, "to"), text))
        return out

    # Cluster-wide settings and configuration as code.

    def resolvers(self) -> List[str]:
        """The cluster-wide DNS resolvers (``host:port``) dns checks use."""
        return self._native.resolvers()

    def set_resolvers(self, resolvers: Iterable[str]) -> int:
        """Replace the cluster-wide DNS resolvers (an empty list clears
        them); returns the config version."""
        return self._native.set_resolvers(_names(resolvers, "resolvers"))

    def canary(self) -> Dict[str, Any]:
        """The canary as this node sees it: ``targets`` (the cluster's
        reference targets), ``node_targets`` (this node's own), ``node``,
        and, when set, ``abstain`` (why this node abstains) and
        ``monitor`` (the agreed monitor health)."""
        out: Dict[str, Any] = json.loads(self._native.canary())
        out.setdefault("abstain", None)
        out.setdefault("monitor", None)
        return out

    def set_canary(self, targets: Iterable[str]) -> int:
        """Replace the canary's reference targets (``host:port`` for a
        TCP connect or an ``http://``/``https://`` URL for a GET, as
        ``qu canary set`` takes; an empty list clears them); returns the config version."""
        return self._native.set_canary(_names(targets, "targets"))

    def export(self) -> str:
        """The cluster's configuration as a declaration (YAML, secrets
        included), the input of :meth:`apply` and ``qu apply -f``."""
        return self._native.export()

    def apply(self, yaml: str, *, prune: bool = False, dry_run: bool = False) -> Dict[str, Any]:
        """Make the configuration what the declaration ``yaml`` says, as one
        change. ``prune`` also removes checks and channels it does not
        declare; ``dry_run`` only reports. Returns the report: ``changes``,
        ``unmanaged``, ``applied`` and ``version``."""
        if not isinstance(yaml, str):
            raise InvalidInput(f"expected YAML text, got {type(yaml).__name__}", "yaml")
        out: Dict[str, Any] = json.loads(self._native.apply(yaml, bool(prune), bool(dry_run)))
        return out

    def wait_applied(self, version: Union[int, NewId], timeout: Duration = 10.0) -> int:
        """Wait until this node has applied config ``version`` (what a write
        returned, on this node or another; a :class:`NewId` stands for its
        ``version``), for at most ``timeout``. Returns the version applied
        here; raises :class:`Timeout` if it is not reached in time."""
        if isinstance(version, NewId):
            version = version.version
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise InvalidInput(f"expected a config version (an int), got {version!r}", "version")
        return self._native.wait_applied(version, seconds(timeout, "timeout"))
