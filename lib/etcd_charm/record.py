"""Typed unit-local storage: what this unit remembers between hooks (charmhelpers' unitdata).

Every key this charm keeps is here, with its meaning; the rest of the shell reads and writes
them only through :class:`Record`. :meth:`Record.forget_member` is the one way a unit forgets
the member it ran (a restore replaced its cluster, a migration was undone).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from . import etcd_conf as C
from .etcd_json import MemberList, dump_member_list, parse_member_list
from .idle import KV_IDLE  # a digest of the inputs a waiting or settled unit saw (idle.py)

KV_STARTED = "etcd.started"  # bool: this unit's etcd runs as a member
KV_MEMBER_ID = "etcd.member-id"
KV_BOOTSTRAP = "etcd.bootstrap"  # the initial-* values it first started with
KV_APPLIED = "etcd.applied-hash"  # hash of the config etcd runs with
KV_MEMBERS = "etcd.members-cache"  # last member list (update-status reuses it)
KV_LEFT = "etcd.left"  # this unit removed itself from the cluster
KV_PORT = "etcd.opened-port"
KV_FOUNDING_SINCE = "etcd.founding-since"  # when the leader began waiting to found the cluster
KV_UPGRADE_ERROR = "etcd.upgrade-error"  # {"channel": ..., "error": ...} of a failed upgrade
KV_REFRESH_TIMER = "etcd.refresh-timer"  # the snapd refresh.timer this unit has set
KV_RESOURCE = "etcd.resource-sha256"  # sha256 of the etcd snap file this unit installed
KV_AVAILABLE = "etcd.refresh-available"  # {"channel", "revision", "version"} newer in store
KV_TAKEN_OVER = "etcd.taken-over"  # {"member-id", "restart"} of the earlier charm's member
KV_NRPE = "etcd.nrpe-registered"  # hash of the Nagios checks registered (nagios.py)
KV_SCHEDULE = "etcd.backup-schedule-valid"  # the backup_schedule systemd-analyze accepted
KV_VOLUME = "etcd.volume"  # the data volume: {"storage", "device", "uuid", "state", "found"}
KV_QUIET = "etcd.quiet"  # what the last full reconcile saw of a quiet, healthy cluster (quiet.py)
KV_SNAP_LISTING = "etcd.snap-listing"  # `snap list etcd` under the stamp of snapd's state
KV_RENDERED_CONF = "etcd.rendered-conf"  # etcd's config under the hash of template and context
#: Pure caches, each kept under a stamp or hash of what it was made from: never wrong, so
#: nothing undoes them (a failed restore puts back the rest of unit storage).
KV_CACHES = (KV_SNAP_LISTING, KV_RENDERED_CONF)

#: what a unit knows about the member it runs (forgotten together)
MEMBER_KEYS = (KV_MEMBER_ID, KV_BOOTSTRAP, KV_APPLIED, KV_MEMBERS, KV_QUIET)
#: what an undone restore puts back (:meth:`Record.member_state`), in that order
STATE_KEYS = (KV_BOOTSTRAP, KV_STARTED, KV_MEMBER_ID, KV_APPLIED)


class Record:
    """This unit's storage (``kv``: a charmhelpers ``unitdata.Storage`` or anything with its
    ``get``/``set``/``unset``)."""

    def __init__(self, kv: Any) -> None:
        self.kv = kv

    # --- the member this unit runs ---------------------------------------------------

    @property
    def started(self) -> bool:
        return bool(self.kv.get(KV_STARTED))

    @started.setter
    def started(self, value: bool) -> None:
        self.kv.set(KV_STARTED, value)

    @property
    def member_id(self) -> int:
        return int(self.kv.get(KV_MEMBER_ID) or 0)  # None: put back by an undone restore

    @member_id.setter
    def member_id(self, value: int) -> None:
        self.kv.set(KV_MEMBER_ID, value)

    @property
    def bootstrap(self) -> C.Bootstrap:
        """The initial-* values the member first started with."""
        record = self.kv.get(KV_BOOTSTRAP) or {}
        return C.Bootstrap(
            initial_cluster=record.get("initial_cluster", ""),
            token=record.get("token", ""),
            state=record.get("state", "new"),
        )

    @bootstrap.setter
    def bootstrap(self, value: C.Bootstrap) -> None:
        self.kv.set(KV_BOOTSTRAP, asdict(value))

    @property
    def bootstrap_token(self) -> str:
        """The cluster token this unit's member started with."""
        return str((self.kv.get(KV_BOOTSTRAP) or {}).get("token", ""))

    @property
    def applied_hash(self) -> str:
        """Hash of the config (and certificates) etcd runs with."""
        return str(self.kv.get(KV_APPLIED, ""))

    @applied_hash.setter
    def applied_hash(self, value: str) -> None:
        self.kv.set(KV_APPLIED, value)

    def last_members(self) -> MemberList | None:
        """The member list this unit last saw (kept by every hook that listed members)."""
        text = self.kv.get(KV_MEMBERS)
        return parse_member_list(text) if text else None

    def remember_members(self, members: MemberList) -> None:
        self.kv.set(KV_MEMBERS, dump_member_list(members))

    def member_state(self) -> tuple[Any, Any, Any, Any]:
        """(bootstrap, started, member id, applied hash) as stored, for :meth:`put_back`."""
        bootstrap, started, member_id, applied = (self.kv.get(key) for key in STATE_KEYS)
        return bootstrap, started, member_id, applied

    def put_back(self, state: tuple[Any, Any, Any, Any]) -> None:
        """Store again what :meth:`member_state` returned (an undone change)."""
        for key, value in zip(STATE_KEYS, state, strict=True):
            self.kv.set(key, value)

    def forget_member(self) -> None:
        """This unit runs no member any more: nothing of the one it ran is kept."""
        self.kv.set(KV_STARTED, False)
        for key in MEMBER_KEYS:
            self.kv.unset(key)

    # --- the rest --------------------------------------------------------------------

    @property
    def left(self) -> bool:
        """This unit removed itself from the cluster."""
        return bool(self.kv.get(KV_LEFT))

    @left.setter
    def left(self, value: bool) -> None:
        self.kv.set(KV_LEFT, value)

    @property
    def opened_ports(self) -> list[int]:
        """The ports this unit opened (an earlier revision kept one port as an int)."""
        value = self.kv.get(KV_PORT)
        if isinstance(value, int) and not isinstance(value, bool):
            return [value]
        return [int(p) for p in value] if isinstance(value, list) else []

    @opened_ports.setter
    def opened_ports(self, ports: list[int]) -> None:
        self.kv.set(KV_PORT, list(ports))

    @property
    def founding_since(self) -> float:
        """When the leader began waiting to found the cluster (0: not waiting)."""
        return float(self.kv.get(KV_FOUNDING_SINCE) or 0.0)

    @founding_since.setter
    def founding_since(self, when: float) -> None:
        self.kv.set(KV_FOUNDING_SINCE, when)

    def clear_founding_since(self) -> None:
        self.kv.unset(KV_FOUNDING_SINCE)

    @property
    def upgrade_error(self) -> dict[str, Any]:
        """{"channel", "error"} of a failed upgrade ("revision", "refresh" too for an
        in-track refresh), or {}."""
        return dict(self.kv.get(KV_UPGRADE_ERROR) or {})

    @upgrade_error.setter
    def upgrade_error(self, value: dict[str, Any]) -> None:
        self.kv.set(KV_UPGRADE_ERROR, value)

    def clear_upgrade_error(self) -> None:
        self.kv.unset(KV_UPGRADE_ERROR)

    @property
    def resource_digest(self) -> str:
        """sha256 of the attached etcd snap file this unit installed last ("" when it
        installed from the store)."""
        return str(self.kv.get(KV_RESOURCE) or "")

    @resource_digest.setter
    def resource_digest(self, digest: str) -> None:
        self.kv.set(KV_RESOURCE, digest)

    @property
    def refresh_available(self) -> dict[str, str]:
        """What the store released newer than this unit's revision in its channel, as the
        leader's last update-status found it ({} when nothing)."""
        return dict(self.kv.get(KV_AVAILABLE) or {})

    @refresh_available.setter
    def refresh_available(self, value: dict[str, str]) -> None:
        if value:
            self.kv.set(KV_AVAILABLE, value)
        else:
            self.kv.unset(KV_AVAILABLE)

    @property
    def refresh_timer(self) -> Any:
        return self.kv.get(KV_REFRESH_TIMER)

    @refresh_timer.setter
    def refresh_timer(self, timer: str) -> None:
        self.kv.set(KV_REFRESH_TIMER, timer)

    @property
    def volume(self) -> dict[str, Any]:
        """The ``data`` volume this unit was given ({} for none): its storage id, device,
        file system UUID and state (:data:`volume.State`), and what a refused one holds."""
        return dict(self.kv.get(KV_VOLUME) or {})

    @volume.setter
    def volume(self, value: dict[str, Any]) -> None:
        if value:
            self.kv.set(KV_VOLUME, value)
        else:
            self.kv.unset(KV_VOLUME)

    @property
    def quiet(self) -> dict[str, Any]:
        """What the last full reconcile saw of a quiet, healthy cluster ({}: look again in
        full): :class:`quiet.Quiet` as JSON."""
        return dict(self.kv.get(KV_QUIET) or {})

    @quiet.setter
    def quiet(self, value: dict[str, Any]) -> None:
        if value:
            self.kv.set(KV_QUIET, value)
        else:
            self.kv.unset(KV_QUIET)

    @property
    def idle_inputs(self) -> str:
        """The mode and digest of the inputs the last full reconcile acted on, when it ended
        on a unit that is not the leader, waiting for its certificates or a settled member
        ("" otherwise): :func:`idle.answered`."""
        return str(self.kv.get(KV_IDLE) or "")

    @idle_inputs.setter
    def idle_inputs(self, value: str) -> None:
        if value:
            self.kv.set(KV_IDLE, value)
        else:
            self.kv.unset(KV_IDLE)

    @property
    def taken_over(self) -> dict[str, Any]:
        """{"member-id", "restart"} of the earlier etcd charm's member this unit took over
        ({} when it took over none)."""
        return dict(self.kv.get(KV_TAKEN_OVER) or {})

    @taken_over.setter
    def taken_over(self, value: dict[str, Any]) -> None:
        self.kv.set(KV_TAKEN_OVER, value)

    @property
    def nrpe_hash(self) -> str:
        """The hash of the Nagios checks this unit registered ("" when none are)."""
        return str(self.kv.get(KV_NRPE) or "")

    @nrpe_hash.setter
    def nrpe_hash(self, digest: str) -> None:
        if digest:
            self.kv.set(KV_NRPE, digest)
        else:
            self.kv.unset(KV_NRPE)

    @property
    def valid_schedule(self) -> str:
        """The backup_schedule expression systemd-analyze last accepted ("" when none)."""
        return str(self.kv.get(KV_SCHEDULE) or "")

    @valid_schedule.setter
    def valid_schedule(self, expr: str) -> None:
        self.kv.set(KV_SCHEDULE, expr)
