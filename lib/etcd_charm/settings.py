"""Charm config -> validated :class:`Settings`, or a list of clear errors.

Pure: no Juju, no files. Every message names the option, the bad value and what is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: A channel to give as an example (``auto`` takes the newest supported track the store
#: offers: :func:`etcd_charm.snap_store.auto_channel`).
AUTO_CHANNEL = "3.5/stable"
#: etcd minor versions the charm knows how to run.
SUPPORTED_TRACKS = ("3.4", "3.5")
RISKS = ("stable", "candidate", "beta", "edge")
INSECURE_HTTP_PORT = 4001

#: Mozilla "intermediate" TLS 1.2 suites (all ECDHE + AEAD), in preference order.
DEFAULT_CIPHER_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
)

#: Cipher suite names etcd (Go's crypto/tls) accepts for TLS 1.2 (TLS 1.3 suites are not
#: configurable in Go). CBC and RC4 suites are refused here: they are insecure.
KNOWN_CIPHER_SUITES = frozenset(
    DEFAULT_CIPHER_SUITES
    + (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
    )
)
WEAK_CIPHER_SUITES = frozenset(
    (
        "TLS_RSA_WITH_RC4_128_SHA",
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_256_CBC_SHA",
        "TLS_RSA_WITH_AES_128_CBC_SHA256",
        "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    )
)

_CHANNEL = re.compile(
    r"^(?P<track>latest|\d+\.\d+)(?:/(?P<risk>[a-z]+))?(?:/(?P<branch>[\w.-]+))?$"
)
_REFRESH_TIMER = re.compile(r"^[\w:~,.\-/ ]*$")
_NAGIOS_NAME = re.compile(r"^[\w.,-]*$")
#: what a systemd calendar expression is made of (systemd-analyze calendar checks the rest)
_CALENDAR = re.compile(r"^[\w:*,./~+ -]{0,200}$")


@dataclass(frozen=True)
class Settings:
    port: int
    management_port: int
    channel: str  # "auto" or a full "<track>/<risk>" channel
    heartbeat_interval: int
    election_timeout: int
    snapshot_count: int | None  # None = auto (decided from the installed version)
    snapd_refresh: str
    bind_to_all_interfaces: bool
    bind_with_insecure_http: bool
    tls_cipher_suites: tuple[str, ...]
    metrics_port: int = 0  # 0: no separate metrics listener
    nagios_context: str = "juju"
    nagios_servicegroups: str = ""
    backup_schedule: str = ""  # a systemd calendar expression; "": no scheduled backups
    backup_retention: int = 7  # scheduled backups kept in the store; 0: all
    # not an option: the client port while a restore quarantines clients (quarantine.apply)
    quarantine_port: int = 0

    @property
    def client_port(self) -> int:
        """The port etcd serves clients on: ``port``, or the quarantine port."""
        return self.quarantine_port or self.port

    def effective_cipher_suites(self) -> tuple[str, ...]:
        return self.tls_cipher_suites or DEFAULT_CIPHER_SUITES

    def effective_snapshot_count(self, version: str | None) -> int:
        if self.snapshot_count is not None:
            return self.snapshot_count
        return 10000 if version and version_tuple(version) < (3, 3) else 100000


def version_tuple(version: str) -> tuple[int, ...]:
    """``"3.5.16"`` -> ``(3, 5, 16)``; pre-release suffixes are ignored."""
    m = re.match(r"\d+(?:\.\d+)*", version.strip().lstrip("v"))
    return tuple(int(p) for p in m.group().split(".")) if m else ()


def parse_channel(text: str) -> tuple[str | None, str | None]:
    """Normalise a snap channel; returns ``(channel, error)``."""
    m = _CHANNEL.match(text.strip())
    if not m:
        return None, (
            f"channel {text!r} is not a snap channel: use auto or <track>/<risk>, "
            f"e.g. {AUTO_CHANNEL}"
        )
    track, risk = m.group("track"), m.group("risk") or "stable"
    if risk not in RISKS:
        return None, f"channel {text!r} has unknown risk {risk!r}: use one of {', '.join(RISKS)}"
    if track != "latest" and version_tuple(track) < (3, 0):
        return None, (
            f"channel {text!r}: etcd {track} is not supported by this charm "
            f"(supported: {', '.join(SUPPORTED_TRACKS)})"
        )
    branch = m.group("branch")
    return f"{track}/{risk}" + (f"/{branch}" if branch else ""), None


def channel_refusal(installed: str | None, tracking: str, channel: str) -> str:
    """Why a unit with etcd ``installed`` (tracking ``tracking``; None: not installed) may
    not use ``channel`` ("" when it may). etcd upgrades one minor version at a time and never
    downgrades; ``auto`` keeps what is installed."""
    if channel == "auto" or (installed and channel == tracking):
        return ""
    track = channel.split("/")[0]
    supported = f"supported: {', '.join(SUPPORTED_TRACKS)}"
    if not installed:
        if track == "latest" or track in SUPPORTED_TRACKS:
            return ""
        return f"channel {channel!r}: etcd {track} is not supported by this charm ({supported})"
    current = version_tuple(installed)[:2]
    if len(current) < 2:
        return f"the installed etcd version {installed!r} cannot be read"
    here = f"{current[0]}.{current[1]}"
    step = f"{current[0]}.{current[1] + 1}/stable"
    if track == "latest":
        return (
            f"channel {channel!r} cannot be checked against the running etcd {installed}: "
            f"name the track; the next step is {step}"
        )
    wanted = version_tuple(track)
    if wanted < current:
        return (
            f"channel {channel!r} would downgrade etcd {installed}; downgrades are not "
            f"supported (keep {tracking or here + '/stable'})"
        )
    if wanted > (current[0], current[1] + 1):
        return (
            f"channel {channel!r} skips a minor version: etcd upgrades one minor version at "
            f"a time; from {installed} the next step is {step}"
        )
    if track not in SUPPORTED_TRACKS:
        return f"channel {channel!r}: etcd {track} is not supported by this charm ({supported})"
    return ""


def _int(config: Mapping[str, Any], key: str, errors: list[str], lo: int, hi: int) -> int:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        errors.append(f"{key}={value!r} is not an integer")
        return 0
    try:
        number = int(str(value).strip())
    except ValueError:
        errors.append(f"{key}={value!r} is not an integer")
        return 0
    if not lo <= number <= hi:
        errors.append(f"{key}={number} is out of range ({lo}-{hi})")
    return number


def _bool(config: Mapping[str, Any], key: str, errors: list[str]) -> bool:
    value = config.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    errors.append(f"{key}={value!r} is not a boolean")
    return False


def parse_settings(config: Mapping[str, Any]) -> tuple[Settings | None, list[str]]:
    """Validate the charm config; ``(settings, [])`` or ``(None, [error, ...])``."""
    errors: list[str] = []
    port = _int(config, "port", errors, 1, 65535)
    management_port = _int(config, "management_port", errors, 1, 65535)
    heartbeat = _int(config, "heartbeat_interval", errors, 10, 10000)
    election = _int(config, "election_timeout", errors, 50, 50000)
    bind_all = _bool(config, "bind_to_all_interfaces", errors)
    insecure = _bool(config, "bind_with_insecure_http", errors)

    if port and port == management_port:
        errors.append(f"port and management_port are both {port}: they must differ")
    if insecure and INSECURE_HTTP_PORT in (port, management_port):
        errors.append(
            f"port {INSECURE_HTTP_PORT} is taken by bind_with_insecure_http: "
            "choose another port or management_port"
        )
    metrics_port = _int(config, "metrics_port", errors, 0, 65535)
    taken = {port: "port", management_port: "management_port"}
    if insecure:
        taken.setdefault(INSECURE_HTTP_PORT, "bind_with_insecure_http")
    if metrics_port and metrics_port in taken:
        errors.append(
            f"metrics_port={metrics_port} is taken by {taken[metrics_port]}: choose another "
            "port for the metrics listener (0 turns it off)"
        )
    if heartbeat and election and election < 5 * heartbeat:
        errors.append(
            f"election_timeout={election} must be at least 5 times "
            f"heartbeat_interval={heartbeat} (etcd refuses to start otherwise)"
        )

    raw_channel = str(config.get("channel") or "auto").strip()
    channel: str | None = "auto"
    if raw_channel != "auto":
        channel, error = parse_channel(raw_channel)
        if error:
            errors.append(error)

    snapshot_count: int | None = None
    raw_count = str(config.get("snapshot_count", "auto")).strip()
    if raw_count != "auto":
        try:
            snapshot_count = int(raw_count)
        except ValueError:
            errors.append(f"snapshot_count={raw_count!r} is neither auto nor an integer")
        else:
            if not 1 <= snapshot_count <= 10_000_000:
                errors.append(f"snapshot_count={snapshot_count} is out of range (1-10000000)")

    refresh = str(config.get("snapd_refresh") or "")
    if not _REFRESH_TIMER.match(refresh):
        errors.append(f"snapd_refresh={refresh!r} is not a snapd refresh timer (or max)")

    suites: list[str] = []
    for name in str(config.get("tls_cipher_suites") or "").split(","):
        name = name.strip()
        if not name:
            continue
        if name in WEAK_CIPHER_SUITES:
            errors.append(f"tls_cipher_suites: {name} is a weak (CBC/RC4) suite; use AEAD suites")
        elif name not in KNOWN_CIPHER_SUITES:
            errors.append(
                f"tls_cipher_suites: unknown cipher suite {name!r} "
                f"(known: {', '.join(sorted(KNOWN_CIPHER_SUITES))})"
            )
        elif name not in suites:
            suites.append(name)

    nagios_context = str(config.get("nagios_context", "juju") or "")
    nagios_servicegroups = str(config.get("nagios_servicegroups", "") or "")
    for key, value in (
        ("nagios_context", nagios_context),
        ("nagios_servicegroups", nagios_servicegroups),
    ):
        if not _NAGIOS_NAME.match(value):
            errors.append(
                f"{key}={value!r}: only letters, digits, '-', '_', '.' and ',' are allowed "
                "(it names Nagios hosts and service groups)"
            )

    schedule = " ".join(str(config.get("backup_schedule", "") or "").split())
    if not _CALENDAR.match(schedule):
        errors.append(
            f"backup_schedule={schedule[:60]!r}: not a systemd calendar expression (such as "
            "daily, *-*-* 02:00:00 or hourly; empty turns scheduled backups off)"
        )
    retention = _int(config, "backup_retention", errors, 0, 100000)

    if errors:
        return None, errors
    assert channel is not None
    return (
        Settings(
            port=port,
            management_port=management_port,
            channel=channel,
            heartbeat_interval=heartbeat,
            election_timeout=election,
            snapshot_count=snapshot_count,
            snapd_refresh=refresh,
            bind_to_all_interfaces=bind_all,
            bind_with_insecure_http=insecure,
            tls_cipher_suites=tuple(suites),
            metrics_port=metrics_port,
            nagios_context=nagios_context,
            nagios_servicegroups=nagios_servicegroups,
            backup_schedule=schedule,
            backup_retention=retention,
        ),
        [],
    )
