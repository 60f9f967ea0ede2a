"""The shell: observe Juju and etcd, ask :mod:`plan` for the next step, perform it.

Everything that talks to Juju (hook tools via charmhelpers), the snap, the service or etcd
is here or in :mod:`workload` / :mod:`etcdctl`. Decisions are made in :mod:`plan`.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, NoReturn, TypeVar

from charmhelpers.core import hookenv, unitdata
from charms.reactive import endpoint_from_name

from . import etcd_conf as C
from . import legacy as L
from . import plan as P
from . import status as S
from . import tls, workload
from .etcdctl import (
    ETCDCTL,
    EndpointStatus,
    Etcdctl,
    EtcdctlError,
    Member,
    MemberList,
    dump_member_list,
    initial_cluster,
    parse_member_list,
)
from .settings import Settings, channel_refusal, parse_settings

KV_STARTED = "etcd.started"  # bool: this unit's etcd runs as a member
KV_MEMBER_ID = "etcd.member-id"
KV_BOOTSTRAP = "etcd.bootstrap"  # the initial-* values it first started with
KV_APPLIED = "etcd.applied-hash"  # hash of the config etcd runs with
KV_MEMBERS = "etcd.members-cache"  # last member list (update-status reuses it)
KV_LEFT = "etcd.left"  # this unit removed itself from the cluster
KV_PORT = "etcd.opened-port"
KV_FOUNDING_SINCE = "etcd.founding-since"  # when the leader began waiting to found the cluster
KV_UPGRADE_ERROR = "etcd.upgrade-error"  # {"channel": ..., "error": ...} of a failed upgrade
BACKUP_DIR = "/var/snap/etcd/common/backups"

#: bounded waits for conditions etcd reports (deadline, short poll)
START_DEADLINE = 90.0
PROMOTE_DEADLINE = 90.0
RECONFIG_DEADLINE = 60.0
DEPART_DEADLINE = 60.0
POLL = 0.5

T = TypeVar("T")


class Refused(Exception):
    """A change that would break quorum: the hook fails (Juju keeps the unit and retries)."""


class RestoreError(Exception):
    """The restore did not happen; the message says why and what state the unit is in."""


class MigrationError(Exception):
    """The migration to the snap did not happen (``undone``: it was undone after etcd.service
    had stopped); the message says why and where etcd runs now."""

    def __init__(self, message: str, undone: bool = False) -> None:
        super().__init__(message)
        self.undone = undone


@dataclass(frozen=True)
class Migrated:
    """A member that runs from the snap now, with the data and identity it had."""

    member_id: int
    cluster_id: int
    version: str
    source: str  # the channel, or "the attached etcd resource"
    members: MemberList


def log(msg: str, level: str = hookenv.INFO) -> None:
    hookenv.log(msg, level)


def wait_for(what: str, deadline: float, probe: Callable[[], T | None]) -> T:
    """Poll ``probe`` until it returns a value or ``deadline`` seconds pass (then raise).

    ``probe`` returns None while the condition etcd reports is not reached yet; any exception
    it raises ends the wait at once."""
    end = time.monotonic() + deadline
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"{what}: not reached within {deadline:.0f}s")
        time.sleep(POLL)


def answering(call: Callable[[], T | None]) -> Callable[[], T | None]:
    """A probe that treats etcdctl errors as "not yet" (a member that is still starting)."""

    def probe() -> T | None:
        try:
            return call()
        except EtcdctlError as e:
            log(f"not yet: {e.detail}", hookenv.DEBUG)
            return None

    return probe


def client(endpoints: list[str], binary: str = ETCDCTL) -> Etcdctl:
    """etcdctl against ``endpoints`` with this unit's client certificate (the package's
    etcdctl, ``binary``, on a unit the deb-era charm installed)."""
    return Etcdctl(
        endpoints=endpoints,
        cacert=C.CA_PATH,
        cert=C.CLIENT_CERT_PATH,
        key=C.CLIENT_KEY_PATH,
        binary=binary,
    )


def local_url(settings: Settings) -> str:
    """This unit's own member, over loopback (its certificate has 127.0.0.1)."""
    return C.build_uri("https", "127.0.0.1", settings.port)


@functools.cache
def _address(endpoint: str) -> str:
    try:
        net = hookenv.network_get(endpoint)
        addrs = net.get("ingress-addresses") or []
        if addrs:
            return str(addrs[0])
    except Exception as e:  # noqa: BLE001 - no binding: fall back to the unit address
        log(f"network-get {endpoint}: {e}", hookenv.DEBUG)
    return str(hookenv.unit_get("private-address"))


@functools.cache
def _bind_address(endpoint: str) -> str:
    try:
        net = hookenv.network_get(endpoint)
        for info in net.get("bind-addresses") or []:
            for a in info.get("addresses") or []:
                if a.get("address"):
                    return str(a["address"])
    except Exception as e:  # noqa: BLE001
        log(f"network-get {endpoint}: {e}", hookenv.DEBUG)
    return _address(endpoint)


def refresh_timer(value: str) -> str:
    """snapd refresh.timer for the snapd_refresh option (``max``: once a month, on the
    weekday of the deployment)."""
    if value != "max":
        return value
    day = time.strftime("%a").lower()[:3]
    return f"{day}5,03:00"


class EtcdCharm:
    def __init__(self) -> None:
        self.kv = unitdata.kv()
        self.unit = hookenv.local_unit()
        self.hook = hookenv.hook_name()
        self.config = hookenv.config()
        self.settings, self.errors = parse_settings(self.config)
        self.status: S.Status | None = None
        self.blocked = ""  # a problem only the operator can resolve (the leader's view)

    # --- install ---------------------------------------------------------------------

    def install(self) -> bool:
        """Install the snap (resource first, else channel). True when etcd is installed.

        A unit the deb-era charm installed keeps running from the package (and asks for its
        certificates) until the snap-upgrade action migrates it."""
        if workload.installed_version() and self.kv.get(KV_STARTED):
            return True
        package = workload.legacy_install()
        if package is not None:
            self._hold_package_install(package)
            return False
        if workload.installed_version():
            return True
        if self.settings is None:
            self.set_status(S.invalid_config(self.errors))
            return False
        resource = self._snap_resource()
        refusal = "" if resource else channel_refusal(None, "", self.settings.channel)
        if refusal:
            self.set_status(S.invalid_config([refusal]))
            return False
        self.set_status(S.installing(self.settings.install_channel(), bool(resource)))
        try:
            workload.install_snap(self.settings.install_channel(), resource)
        except workload.WorkloadError as e:
            self.set_status(S.install_failed(str(e)))
            return False
        version = workload.installed_version()
        log(f"installed etcd {version}")
        return version is not None

    def _hold_package_install(self, package: L.LegacyInstall) -> None:
        """Leave the package's member running and say how to migrate it. The leader records
        that the cluster exists (so that nothing ever bootstraps over it) and every unit asks
        for its certificates now: the migrated member uses them from its first start."""
        self._record_package_cluster(package)
        if self.settings is not None:
            self._certificates(endpoint_from_name("certificates"), self.settings)
        version = L.upstream_version(package.version)
        if version:
            hookenv.application_version_set(version)
        self.set_status(S.package_install(self.unit))

    @staticmethod
    def _record_package_cluster(package: L.LegacyInstall) -> None:
        """The leader records that the package's cluster exists (``bootstrapped``, and its
        token unless one is recorded), so that the plan never bootstraps over it."""
        if not hookenv.is_leader():
            return
        current = hookenv.leader_get() or {}
        if current.get("bootstrapped"):
            return
        log(f"the cluster runs from the Debian package (token {package.token!r})")
        record = {"bootstrapped": package.initial_cluster.split("=", 1)[0] or package.name}
        if not current.get("token") and package.token:
            record["token"] = package.token
        hookenv.leader_set(record)

    def _snap_resource(self) -> str | None:
        try:
            path = hookenv.resource_get("etcd")
        except Exception:  # noqa: BLE001 - no resource support: use the store
            return None
        if path and os.path.isfile(path) and os.path.getsize(path) > 0:
            return str(path)
        return None

    # --- the reconcile loop ----------------------------------------------------------

    def reconcile(self) -> None:
        if self.kv.get(KV_LEFT):
            self.set_status(S.DEPARTED)
            return
        if self.settings is None:
            # nothing that runs is touched; the running cluster keeps its configuration
            self.set_status(S.invalid_config(self.errors))
            return
        settings = self.settings
        self._apply_refresh_timer(settings)
        try:
            if workload.ensure_restart_policy():
                log("etcd's service restarts after a crash (Restart=always drop-in)")
        except workload.WorkloadError as e:
            log(f"cannot set etcd's restart policy: {e}", hookenv.WARNING)

        certs = endpoint_from_name("certificates")
        material = self._certificates(certs, settings)
        identity = self._identity()
        if self.hook == "cluster-relation-departed" and hookenv.departing_unit() == self.unit:
            self.leave(settings, identity)
            return
        started = bool(self.kv.get(KV_STARTED))
        if P.must_rejoin(self._leader_data(), started, self._bootstrap_token()):
            self._discard_for_restore()
            started = False
        version = workload.installed_version()
        tracking = workload.tracking()
        refusal = channel_refusal(version, tracking, settings.channel)
        if refusal:
            self.set_status(S.invalid_config([refusal]))
            return
        _, desired_hash = self._desired(settings, identity, version)
        applied_hash = self.kv.get(KV_APPLIED, "")
        target = "" if settings.channel == "auto" else settings.channel
        failed = self.kv.get(KV_UPGRADE_ERROR) or {}
        if failed and (failed.get("channel") != target or tracking == target):
            self.kv.unset(KV_UPGRADE_ERROR)  # the operator chose another channel, or it is done
            failed = {}

        me = P.UnitInfo(
            unit=self.unit,
            name=identity.name,
            peer_url=identity.peer_url(settings),
            client_url=identity.client_url(settings),
            ready=material is not None,
            member_id=int(self.kv.get(KV_MEMBER_ID, 0)) if started else 0,
            restart_request=desired_hash if desired_hash != applied_hash else "",
            version=version or "",
            channel=tracking,
            upgrade_error=str(failed.get("error", "")),
        )
        obs = replace(self._observe(me, settings, started), target_channel=target)
        obs = replace(obs, founding_expired=self._founding_expired(obs))
        if self.hook == "cluster-relation-departed" and started:
            obs = self._await_departure(obs, settings, hookenv.departing_unit() or "")

        if obs.is_leader:
            obs = self._lead(obs, settings, identity, version)
        obs = self._act(obs, settings, identity, version)
        self._publish(obs, settings, material, version)
        self._final_status(obs, settings, certs, material)

    # --- observation -----------------------------------------------------------------

    def _founding_expired(self, obs: P.Observed) -> bool:
        """Whether the leader, ready to found the cluster, has waited :data:`P.FOUNDING_WAIT`
        for the units that are not (the clock starts at the first hook that finds it ready
        and them not; any later hook, update-status at the latest, finds it expired)."""
        if not (obs.is_leader and obs.me.ready) or obs.leader.bootstrapped:
            return False
        if obs.leader.current_founders is not None or not P.founding_pending(obs):
            return False
        now = time.time()
        since = float(self.kv.get(KV_FOUNDING_SINCE) or 0.0)
        if not since:
            self.kv.set(KV_FOUNDING_SINCE, now)
            return False
        return now - since >= P.FOUNDING_WAIT

    def _identity(self) -> C.Identity:
        return C.Identity(
            unit_name=self.unit,
            cluster_address=_address("cluster"),
            db_address=_address("db"),
            cluster_bind_address=_bind_address("cluster"),
            db_bind_address=_bind_address("db"),
        )

    def _peers(self) -> tuple[P.UnitInfo, ...]:
        peers = endpoint_from_name("cluster")
        data = peers.peer_data() if peers is not None else {}
        return tuple(
            P.UnitInfo.from_relation(u, d)
            for u, d in sorted(data.items(), key=lambda kv: P.unit_number(kv[0]))
        )

    def _leader_data(self) -> P.LeaderData:
        return P.LeaderData.from_dict(hookenv.leader_get() or {})

    def _bootstrap_token(self) -> str:
        """The cluster token this unit's member started with."""
        return str((self.kv.get(KV_BOOTSTRAP) or {}).get("token", ""))

    def etcdctl(self, settings: Settings, obs: P.Observed | None = None) -> Etcdctl:
        """etcdctl against this unit's member and the peers' (voters only once the member
        list is known: etcd 3.4's learners refuse most requests, "rpc not supported for
        learner", and etcdctl 3.4 does not skip them)."""
        endpoints = []
        members = obs.members if obs is not None else None
        voters = {m.id for m in members.voters} if members is not None else None
        me = int(self.kv.get(KV_MEMBER_ID, 0))
        if self.kv.get(KV_STARTED) and (voters is None or me in voters):
            endpoints.append(local_url(settings))
        if obs is not None:
            endpoints += [
                p.client_url
                for p in obs.peers
                if p.member_id and p.client_url and (voters is None or p.member_id in voters)
            ]
        return client(endpoints or [local_url(settings)])

    def _observe(self, me: P.UnitInfo, settings: Settings, started: bool) -> P.Observed:
        obs = P.Observed(
            me=me,
            is_leader=hookenv.is_leader(),
            started=started,
            leader=self._leader_data(),
            peers=self._peers(),
            app_units=self._app_units(),
        )
        if not (started or any(p.member_id for p in obs.peers)):
            return obs
        if self.hook == "update-status" and started:
            cached = self._cached_members_if_quiet(obs)
            if cached is not None:
                return replace(obs, members=cached)
        return self._refresh_members(obs, settings)

    @staticmethod
    def _app_units() -> dict[str, str] | None:
        """Every unit of the application Juju knows (goal-state) -> its status or "dying"."""
        try:
            units = hookenv.goal_state().get("units") or {}
        except Exception as e:  # noqa: BLE001 - no goal-state: orphans stay undecided
            log(f"goal-state: {e}", hookenv.DEBUG)
            return None
        return {str(u): str((v or {}).get("status", "")) for u, v in units.items()}

    @staticmethod
    def _member_health(members: MemberList, binary: str = ETCDCTL) -> frozenset[int]:
        """The voters whose client endpoint answers a health check (one etcdctl for all;
        a member that does not answer costs the dial timeout)."""
        urls = {u: m.id for m in members.voters for u in m.client_urls}
        if not urls:
            return frozenset()
        try:
            results = client(sorted(urls), binary).endpoint_health()
        except EtcdctlError as e:
            log(f"endpoint health failed: {e}", hookenv.WARNING)
            return frozenset()
        return frozenset(urls[h.endpoint] for h in results if h.healthy and h.endpoint in urls)

    def _last_members(self) -> MemberList | None:
        """The member list this unit last saw (kept by every hook that listed members)."""
        text = self.kv.get(KV_MEMBERS)
        return parse_member_list(text) if text else None

    def _cached_members_if_quiet(self, obs: P.Observed) -> MemberList | None:
        """update-status on a healthy, quiet cluster reuses the last member list (one round
        trip per hook: the endpoint status). Anything in flight refreshes it."""
        cached = self._last_members()
        if cached is None or obs.leader.joining or obs.leader.restart_grant:
            return None
        known = {m.name for m in cached.members}
        if any(u.ready and u.name not in known for u in obs.all_units()):
            return None
        # Juju's view must match: a unit that left (or joined) since the list was taken
        # changes the number of started units on the peer relation
        started_units = 1 + sum(1 for p in obs.peers if p.member_id)
        if started_units != len(cached.members):
            return None
        return cached

    def _await_departure(self, obs: P.Observed, settings: Settings, unit: str) -> P.Observed:
        """A departing unit removes its own member (see :meth:`leave`), on its machine, while
        this hook runs here: wait (bounded) for etcd to report it gone, so that what this hook
        publishes and shows is the membership after the change."""
        name = C.member_name(unit)
        current = obs.members
        if not unit or current is None:
            return obs
        member = current.by_name(name)
        if member is None:
            return obs
        if obs.app_units is not None and unit not in obs.app_units:
            return obs  # removed with --force: no hook of its own removes the member
        healthy = self._member_health(current)
        obs = replace(obs, healthy=healthy)
        if member.id not in healthy or P.removal_refusal(current, healthy, member.id):
            return obs  # it cannot remove itself: the leader decides (and says why)
        ctl = self.etcdctl(settings, obs)

        def gone() -> MemberList | None:
            members = ctl.member_list()
            return members if members.by_name(name) is None else None

        try:
            members = wait_for(f"{unit} to leave the cluster", DEPART_DEADLINE, answering(gone))
        except TimeoutError as e:
            log(f"{e}; it is still a member", hookenv.WARNING)
            return obs
        self.kv.set(KV_MEMBERS, dump_member_list(members))
        return replace(obs, members=members)

    def _refresh_members(self, obs: P.Observed, settings: Settings) -> P.Observed:
        try:
            members = self.etcdctl(settings, obs).member_list()
        except EtcdctlError as e:
            log(f"member list failed: {e}", hookenv.WARNING)
            return replace(obs, members=None)
        self.kv.set(KV_MEMBERS, dump_member_list(members))
        return replace(obs, members=members)

    # --- the Juju leader: membership, one change at a time -----------------------------

    def _lead(
        self, obs: P.Observed, settings: Settings, identity: C.Identity, version: str | None
    ) -> P.Observed:
        for _ in range(12):
            if obs.healthy is None and obs.members is not None and P.needs_health(obs):
                obs = replace(obs, healthy=self._member_health(obs.members))
            step = P.leader_step(obs)
            if isinstance(step, P.Blocked):
                log(f"leader: {step.reason}", hookenv.WARNING)
                self.blocked = step.reason
                return obs
            if step is None or isinstance(step, P.Wait):
                if isinstance(step, P.Wait):
                    log(f"leader: {step.reason}", hookenv.DEBUG)
                return obs
            log(f"leader step: {step}")
            if isinstance(step, P.Found):
                obs = self._found(obs, step)
                continue
            if isinstance(step, P.Bootstrap):
                obs = self._start_founder(obs, settings, identity, version, step.founders)
                obs = self._refresh_members(obs, settings)
                continue
            if isinstance(step, P.Bootstrapped):
                obs = self._bootstrapped(obs, settings, identity, step.founders)
                continue
            ctl = self.etcdctl(settings, obs)
            if isinstance(step, P.AddLearner):
                new, ml = self._add_learner(ctl, step.unit)
                joining = P.Joining(
                    unit=step.unit.unit,
                    name=step.unit.name,
                    member_id=new.id,
                    peer_url=step.unit.peer_url,
                    initial_cluster=initial_cluster(ml.members, step.unit.name, new.id),
                )
                log(f"added {step.unit.unit} as learner {new.hex_id}")
                obs = replace(self._record_joining(obs, joining), members=ml)
                continue
            if isinstance(step, P.RecordJoining):
                obs = self._record_joining(obs, step.joining)
                continue
            if isinstance(step, P.Promote):
                self._promote(ctl, step.joining)
                obs = self._refresh_members(self._record_joining(obs, None), settings)
                continue
            if isinstance(step, P.ClearJoining):
                obs = self._record_joining(obs, None)
                continue
            if isinstance(step, P.RemoveStaleLearner):
                self._remove_member(ctl, step.joining.member_id)
                obs = self._refresh_members(self._record_joining(obs, None), settings)
                continue
            if isinstance(step, P.RemoveMember):
                self._remove_stray_member(obs, settings, step)
                obs = self._refresh_members(obs, settings)
                continue
            if isinstance(step, (P.GrantRestart, P.GrantUpgrade)):
                if isinstance(step, P.GrantRestart):
                    obs = self._record_restart_grant(obs, step.unit)
                else:
                    obs = self._record_upgrade_grant(obs, step.unit, step.progress)
                if step.unit == self.unit:
                    obs = self._act(obs, settings, identity, version)
                continue
            if isinstance(step, P.ClearRestartGrant):
                obs = self._record_restart_grant(obs, "")
                continue
            if isinstance(step, P.ClearUpgradeGrant):
                # the upgraded member restarted: ask for health again before the next one
                obs = replace(self._record_upgrade_grant(obs, "", None), healthy=None)
                continue
        return obs

    @staticmethod
    def _record_joining(obs: P.Observed, joining: P.Joining | None) -> P.Observed:
        """Leader data ``joining`` (immediate, as leader-set is) and the observation with it."""
        hookenv.leader_set({"joining": joining.to_json() if joining else None})
        return replace(obs, leader=replace(obs.leader, joining=joining))

    @staticmethod
    def _record_restart_grant(obs: P.Observed, unit: str) -> P.Observed:
        """Leader data ``restart-grant``: the one unit allowed to restart now ("" clears
        it)."""
        hookenv.leader_set({"restart-grant": unit or None})
        return replace(obs, leader=replace(obs.leader, restart_grant=unit))

    @staticmethod
    def _record_upgrade_grant(
        obs: P.Observed, unit: str, progress: P.Progress | None
    ) -> P.Observed:
        """Leader data ``upgrade-grant`` (the one unit allowed to upgrade now, "" clears it)
        and ``upgrade-progress`` (its place in the upgrade, which every unit shows)."""
        hookenv.leader_set(
            {
                "upgrade-grant": unit or None,
                "upgrade-progress": progress.to_str() if progress else None,
            }
        )
        ld = replace(obs.leader, upgrade_grant=unit, upgrade_progress=progress)
        return replace(obs, leader=ld)

    @staticmethod
    def _reconfigure(what: str, change: Callable[[], T], idempotent: bool = False) -> T:
        """Run a membership change. etcd refuses them for a few seconds after the previous
        one ("unhealthy cluster" until every member has been connected for 5s): that is
        waited out within a deadline; a refusal that lasts (a change that would lose quorum)
        fails the hook with etcd's reason."""

        def attempt() -> tuple[T] | None:
            try:
                return (change(),)
            except EtcdctlError as e:
                if e.mentions("unhealthy cluster"):
                    return None
                # raft takes one membership change at a time: a concurrent one (two units
                # leaving together) times out; a change that is safe to repeat is retried
                if idempotent and e.mentions("request timed out", "leader changed"):
                    log(f"{what}: {e.detail}; retrying")
                    return None
                raise

        return wait_for(what, RECONFIG_DEADLINE, attempt)[0]

    def _remove_member(self, ctl: Etcdctl, member_id: int) -> None:
        """``member remove``; a member already gone (removed by itself or another hook) is
        what was wanted."""

        def remove() -> None:
            try:
                ctl.member_remove(member_id)
            except EtcdctlError as e:
                if not e.mentions("member not found"):
                    raise

        self._reconfigure(f"remove member {member_id:x}", remove, idempotent=True)

    def _remove_stray_member(
        self, obs: P.Observed, settings: Settings, step: P.RemoveMember
    ) -> None:
        member = step.member
        if obs.members is not None:
            self._hand_over_leadership(
                settings, obs.members, member.id, f"removing {P.label(member)}", obs.healthy
            )
        log(f"removing member {P.label(member)}: {step.reason}")
        self._remove_member(self.etcdctl(settings, obs), member.id)

    def _add_learner(self, ctl: Etcdctl, unit: P.UnitInfo) -> tuple[Member, MemberList]:
        return self._reconfigure(
            f"add {unit.unit} as a learner",
            lambda: ctl.member_add_learner(unit.name, unit.peer_url),
        )

    def _promote(self, ctl: Etcdctl, joining: P.Joining) -> None:
        def attempt() -> bool | None:
            try:
                ctl.member_promote(joining.member_id)
                return True
            except EtcdctlError as e:
                if e.mentions("in sync with leader", "not ready", "unhealthy"):
                    return None  # still catching up: poll again until the deadline
                if e.mentions("can only promote a learner member", "member not found"):
                    return True  # promoted already (an earlier attempt got through)
                raise

        wait_for(f"promote {joining.unit} ({joining.member_id:x})", PROMOTE_DEADLINE, attempt)
        log(f"promoted {joining.unit} ({joining.member_id:x}) to a voting member")

    def _found(self, obs: P.Observed, step: P.Found) -> P.Observed:
        """Record the founders (and the cluster token) in leader data: every founding unit
        starts its member with this initial cluster as soon as it sees it."""
        token = obs.leader.token or secrets.token_hex(16)
        founders = P.Founders(token=token, initial_cluster=step.initial_cluster)
        hookenv.leader_set({"token": token, "founders": founders.to_json()})
        self.kv.unset(KV_FOUNDING_SINCE)
        log(f"founding the cluster with {', '.join(sorted(founders.names))}")
        return replace(obs, leader=replace(obs.leader, token=token, founders=founders))

    def _start_founder(
        self,
        obs: P.Observed,
        settings: Settings,
        identity: C.Identity,
        version: str | None,
        founders: P.Founders,
    ) -> P.Observed:
        """Start this unit's member as one of the founders: it answers once a quorum of the
        founders has started (each on its own machine, from the same leader data)."""
        record = C.Bootstrap(
            initial_cluster=founders.initial_cluster, token=founders.token, state="new"
        )
        status = self._start(settings, identity, version, record, expect_leader=False)
        me = replace(obs.me, member_id=status.member_id, restart_request="")
        return replace(obs, me=me, started=True)

    def _bootstrapped(
        self, obs: P.Observed, settings: Settings, identity: C.Identity, founders: P.Founders
    ) -> P.Observed:
        """Record that the cluster exists (keys the old charm's leader data had too)."""
        name = identity.name if obs.started else min(founders.names)
        record = {"bootstrapped": name, "cluster": founders.initial_cluster}
        if obs.started:
            record["leader_address"] = identity.client_url(settings)
        hookenv.leader_set(record)
        return replace(obs, leader=replace(obs.leader, bootstrapped=name))

    def _start(
        self,
        settings: Settings,
        identity: C.Identity,
        version: str | None,
        record: C.Bootstrap,
        expect_leader: bool,
    ) -> EndpointStatus:
        """Write the config and start etcd (exactly once); wait until it answers."""
        self.kv.set(KV_BOOTSTRAP, asdict(record))
        text = self._render(settings, identity, version)
        workload.write_file(C.CONF_PATH, text, 0o644)
        if not workload.service_active():
            workload.start_service()
        ctl = client([local_url(settings)])

        def answered() -> EndpointStatus | None:
            st = ctl.endpoint_status()
            if st and (st[0].leader or not expect_leader):
                return st[0]
            return None

        status = wait_for(f"etcd on {self.unit} to answer", START_DEADLINE, answering(answered))
        self.kv.set(KV_STARTED, True)
        self.kv.set(KV_MEMBER_ID, status.member_id)
        self.kv.set(KV_APPLIED, self._conf_hash(text))
        log(f"etcd started as member {status.member_id:x}")
        return status

    # --- this unit's own steps ---------------------------------------------------------

    def _act(
        self, obs: P.Observed, settings: Settings, identity: C.Identity, version: str | None
    ) -> P.Observed:
        # bootstrap or a join earlier in this hook may have started etcd: look again
        started = bool(self.kv.get(KV_STARTED))
        desired_conf, desired_hash = self._desired(settings, identity, version)
        applied = self.kv.get(KV_APPLIED, "")
        peer_url_changed = False
        if started and obs.members is not None:
            mine = obs.members.by_id(obs.me.member_id)
            if mine is not None:
                peer_url_changed = identity.peer_url(settings) not in mine.peer_urls
        step = P.unit_step(obs, desired_hash, applied, peer_url_changed)
        if isinstance(step, P.StartFounding):
            return self._start_founder(obs, settings, identity, version, step.founders)
        if isinstance(step, P.StartJoining):
            record = C.Bootstrap(
                initial_cluster=step.joining.initial_cluster,
                token=obs.leader.token,
                state="existing",
            )
            self._start(settings, identity, version, record, expect_leader=False)
            me = replace(obs.me, member_id=step.joining.member_id, restart_request="")
            return replace(obs, me=me, started=True)
        if isinstance(step, P.Upgrade):
            return self._upgrade(obs, settings, identity, step)
        if isinstance(step, P.Restart):
            self._restart(obs, settings, step, desired_conf)
            return replace(obs, me=replace(obs.me, restart_request=""))
        if desired_hash != applied:
            return replace(obs, me=replace(obs.me, restart_request=desired_hash))
        return obs

    def _raft_leader(self, settings: Settings) -> int:
        try:
            st = self.etcdctl(settings).endpoint_status()
        except EtcdctlError:
            return 0
        return st[0].leader if st else 0

    def _hand_over_leadership(
        self,
        settings: Settings,
        members: MemberList,
        member_id: int,
        before: str,
        healthy: frozenset[int] | None = None,
        via: Etcdctl | None = None,
    ) -> None:
        """If member ``member_id`` leads raft, move leadership to another voter (a healthy one
        when health is known) before it stops: restarts, upgrades, removals, migrations
        (``via``: the etcdctl that reaches the member, when not the snap's)."""
        if via is not None:
            try:
                leader = via.endpoint_status()[0].leader
            except (EtcdctlError, IndexError):
                leader = 0
        else:
            leader = self._raft_leader(settings)
        if leader != member_id:
            return
        target = P.transfer_target(members, member_id, healthy)
        member = members.by_id(member_id)
        if not target or member is None:
            return
        log(f"moving the raft leader to {target:x} before {before}")
        mover = via or client(list(member.client_urls) or [local_url(settings)])
        try:
            mover.move_leader(target)
        except EtcdctlError as e:
            # only an optimisation: etcd elects a new leader by itself (one election timeout)
            log(f"could not move the raft leader: {e.detail}", hookenv.WARNING)

    def _restart(
        self, obs: P.Observed, settings: Settings, step: P.Restart, conf_text: str
    ) -> None:
        ctl = self.etcdctl(settings, obs)
        if obs.members is not None:
            self._hand_over_leadership(settings, obs.members, obs.me.member_id, "restarting")
        if step.peer_url_changed:
            identity = self._identity()
            log(f"updating this member's peer URL to {identity.peer_url(settings)}")
            self._reconfigure(
                "update this member's peer URL",
                lambda: ctl.member_update(obs.me.member_id, [identity.peer_url(settings)]),
            )
        self.set_status(S.RESTARTING)
        workload.write_file(C.CONF_PATH, conf_text, 0o644)
        workload.restart_service()
        local = client([local_url(settings)])

        def rejoined() -> EndpointStatus | None:
            st = local.endpoint_status()
            return st[0] if st and st[0].leader else None

        wait_for(
            f"etcd on {self.unit} to rejoin after the restart", START_DEADLINE, answering(rejoined)
        )
        self.kv.set(KV_APPLIED, step.conf_hash)
        log("etcd restarted with the new configuration")

    def _upgrade(
        self, obs: P.Observed, settings: Settings, identity: C.Identity, step: P.Upgrade
    ) -> P.Observed:
        """Snapshot, hand raft leadership over, refresh the snap, wait until the member is
        healthy again. A failure is recorded (the leader stops the upgrade) and shown."""
        where = (step.position, step.total, step.channel)
        try:
            self.set_status(S.upgrading(*where, "saving a snapshot"))
            path = self._snapshot_before_upgrade(settings, obs.me.version)
            self.set_status(S.upgrading(*where, f"snapshot {path} saved; refreshing the snap"))
            if obs.members is not None:
                self._hand_over_leadership(settings, obs.members, obs.me.member_id, "upgrading")
            workload.refresh_snap(step.channel)
            version = workload.installed_version()
            conf, conf_hash = self._desired(settings, identity, version)
            if conf_hash != self.kv.get(KV_APPLIED, ""):
                workload.write_file(C.CONF_PATH, conf, 0o644)
                workload.restart_service()
            elif not workload.service_active():
                workload.start_service()
            local = client([local_url(settings)])

            def healthy() -> bool | None:
                return True if all(h.healthy for h in local.endpoint_health()) else None

            wait_for(
                f"etcd {version} on {self.unit} to be healthy", START_DEADLINE, answering(healthy)
            )
            self.kv.set(KV_APPLIED, conf_hash)
            log(f"upgraded to etcd {version} from {step.channel}; snapshot kept at {path}")
            me = replace(obs.me, version=version or "", channel=step.channel, restart_request="")
        except (workload.WorkloadError, EtcdctlError, TimeoutError) as e:
            error = str(e)
            log(f"upgrade to {step.channel} failed: {error}", hookenv.ERROR)
            self.kv.set(KV_UPGRADE_ERROR, {"channel": step.channel, "error": error})
            me = replace(obs.me, upgrade_error=error)
        return replace(obs, me=me)

    def _snapshot_before_upgrade(self, settings: Settings, version: str) -> str:
        os.makedirs(BACKUP_DIR, mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        path = os.path.join(BACKUP_DIR, f"pre-upgrade-etcd-{version}-{stamp}.db")
        st = client([local_url(settings)]).snapshot_save(path)
        os.chmod(path, 0o600)
        log(
            f"snapshot before the upgrade: {path} (revision {st.revision}, {st.total_keys} "
            "database entries, "
            f"{st.total_size} bytes)"
        )
        return path

    # --- restore -------------------------------------------------------------------------

    def restore(
        self, db_path: str, skip_hash_check: bool, progress: Callable[[str], None]
    ) -> tuple[EndpointStatus, MemberList]:
        """Replace the cluster by a new one-member cluster holding the snapshot ``db_path``
        (the Juju leader, from the restore action). The other units see leader data
        ``restored``, discard their members and join as learners, one at a time.

        Until the new member has started nothing is lost: the data directory is rebuilt
        beside the current one first, and if the new member does not start the previous
        data and configuration are put back (and :class:`RestoreError` says so)."""
        settings = self.settings
        if settings is None:
            raise RestoreError("the charm's config is invalid: " + "; ".join(self.errors))
        if not os.path.exists(C.SERVER_CERT_PATH):
            raise RestoreError("this unit has no certificates yet; relate etcd to easyrsa first")
        identity = self._identity()
        version = workload.installed_version()
        token = secrets.token_hex(16)
        data_dir = os.path.realpath(C.DATA_DIR)
        member_dir = os.path.join(data_dir, "member")
        staging = os.path.join(data_dir, f".restore-{token[:8]}")
        aside = os.path.join(data_dir, f".before-restore-{token[:8]}")
        peer_url = identity.peer_url(settings)
        need = os.path.getsize(db_path) + (64 << 20)  # the restored database and its WAL
        free = shutil.disk_usage(data_dir).free
        if free < need:
            raise RestoreError(
                f"{data_dir} has {free >> 20} MiB free and the restored data needs about "
                f"{need >> 20} MiB; free some space (nothing was changed)"
            )
        progress("rebuilding the data directory from the snapshot (the cluster still runs)")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            client([local_url(settings)]).snapshot_restore(
                db_path, staging, identity.name, peer_url, token, skip_hash_check
            )
        except EtcdctlError as e:
            shutil.rmtree(staging, ignore_errors=True)
            raise RestoreError(f"etcd could not restore the snapshot: {e.detail}") from None
        previous_bootstrap = self.kv.get(KV_BOOTSTRAP)
        previous_conf = workload.read_file(C.CONF_PATH)
        previous = (self.kv.get(KV_STARTED), self.kv.get(KV_MEMBER_ID), self.kv.get(KV_APPLIED))
        progress("stopping etcd on this unit")
        self.set_status(S.restoring("stopping etcd"))
        had_member = os.path.isdir(member_dir)
        try:
            workload.stop_service()
            if had_member:
                os.rename(member_dir, aside)
            os.rename(os.path.join(staging, "member"), member_dir)
        except (workload.WorkloadError, OSError) as e:
            if had_member and os.path.isdir(aside) and not os.path.exists(member_dir):
                os.rename(aside, member_dir)
            shutil.rmtree(staging, ignore_errors=True)
            if had_member and not workload.service_active():
                workload.start_service()
            raise RestoreError(f"{e}; the previous data is in place") from None
        shutil.rmtree(staging, ignore_errors=True)
        record = C.Bootstrap(
            initial_cluster=f"{identity.name}={peer_url}", token=token, state="new"
        )
        progress("starting the restored one-member cluster")
        self.set_status(S.restoring("starting the restored one-member cluster"))
        try:
            status = self._start(settings, identity, version, record, expect_leader=True)
        except (TimeoutError, workload.WorkloadError, EtcdctlError) as e:
            log(f"the restored member did not start: {e}; putting the previous data back",
                hookenv.ERROR)  # fmt: skip
            workload.stop_service()
            shutil.rmtree(member_dir, ignore_errors=True)
            if had_member:
                os.rename(aside, member_dir)
            self.kv.set(KV_BOOTSTRAP, previous_bootstrap)
            self.kv.set(KV_STARTED, previous[0])
            self.kv.set(KV_MEMBER_ID, previous[1])
            self.kv.set(KV_APPLIED, previous[2])
            if previous_conf:
                workload.write_file(C.CONF_PATH, previous_conf, 0o644)
            if had_member:
                workload.start_service()
            raise RestoreError(
                f"the restored member did not start ({e}); the previous data and "
                "configuration are back in place"
            ) from None
        shutil.rmtree(aside, ignore_errors=True)
        hookenv.leader_set(
            {
                "token": token,
                "restored": token,
                "founders": None,
                "bootstrapped": identity.name,
                "cluster": record.initial_cluster,
                "leader_address": identity.client_url(settings),
                "joining": None,
                "restart-grant": None,
                "upgrade-grant": None,
                "upgrade-progress": None,
            }
        )
        for rid in hookenv.relation_ids("cluster"):
            hookenv.relation_set(
                rid, {"member-id": f"{status.member_id:x}", "restart-request": ""}
            )
        members = client([local_url(settings)]).member_list()
        self.kv.set(KV_MEMBERS, dump_member_list(members))
        log(f"restored: member {status.member_id:x} of the new cluster {status.cluster_id:x}")
        others = len(self.peer_units())
        self.set_status(
            S.restored(others) if others else S.healthy(len(members.members))
        )  # until the next hook reports on the rejoining units
        return status, members

    # --- migration from the Debian package (the snap-upgrade action) ----------------------

    def migrate_from_package(
        self,
        package: L.LegacyInstall,
        use_resource: bool,
        backup: Callable[[Etcdctl, MemberList], object] | None,
        progress: Callable[[str], None],
    ) -> Migrated:
        """Move this unit's member from etcd.service (the package) to the snap's service,
        keeping its data, member id, name and URLs.

        Nothing changes until every check passed (certificates from the relation signed by
        the CA the cluster trusts, the member healthy and stopping it keeps quorum, the snap's
        etcd of the same minor version, space for a copy of the data). Then the snap is
        installed beside the running member, ``backup`` saves a snapshot, raft leadership
        moves away, etcd.service stops and the data is copied (the package's copy stays
        until the end). If the snap's member does not come back healthy with the same member
        id, its copy and the snap are removed and etcd.service runs again."""
        settings = self.settings
        if settings is None:
            raise MigrationError("the charm's config is invalid: " + "; ".join(self.errors))
        identity = self._identity()
        refusal = L.migration_refusal(package, identity.name, identity.peer_url(settings))
        if refusal:
            raise MigrationError(refusal)
        missing = [p for p in C.CERT_FILES if not os.path.isfile(p)]
        if missing:
            raise MigrationError(
                "this unit has no certificates from the certificates relation yet ("
                + ", ".join(missing)
                + " missing); relate etcd to easyrsa and wait for the next hook"
            )
        if workload.read_file(C.CA_PATH).strip() != workload.read_file(package.ca).strip():
            raise MigrationError(
                f"the certificate authority of the certificates relation ({C.CA_PATH}) is not "
                f"the one the running cluster trusts ({package.ca}): members with the new "
                "certificates could not talk to the others"
            )
        if not workload.legacy_service_active():
            raise MigrationError(
                f"{L.SERVICE}.service is not running: start it (systemctl start {L.SERVICE}) "
                "and check that the member is healthy before migrating it"
            )
        ctl = client([package.client_url], binary=L.ETCDCTL)
        try:
            mine = ctl.endpoint_status()[0]
            members = ctl.member_list()
        except (EtcdctlError, IndexError) as e:
            detail = e.detail if isinstance(e, EtcdctlError) else "no status"
            raise MigrationError(f"the package's member does not answer: {detail}") from None
        me = members.by_id(mine.member_id)
        if me is None or me.is_learner:
            raise MigrationError(f"{package.name} is not a voting member of its cluster")
        if members.learners:
            raise MigrationError(
                "a learner is joining the cluster ("
                + ", ".join(P.label(m) for m in members.learners)
                + "); migrate when it has been promoted"
            )
        healthy = self._member_health(members, L.ETCDCTL)
        refusal = P.stop_refusal(members, healthy, mine.member_id)
        if refusal:
            raise MigrationError(refusal)
        source_dir = os.path.join(package.data_dir, "member")
        need = _tree_size(source_dir) + (64 << 20)
        free = shutil.disk_usage(C.CONF_DIR).free
        if free < need:
            raise MigrationError(
                f"/var/snap has {free >> 20} MiB free and a copy of the member's data needs "
                f"about {need >> 20} MiB"
            )

        # the snap beside the running member (nothing of the package changes)
        resource = self._snap_resource() if use_resource else None
        if use_resource and resource is None:
            raise MigrationError(
                "use-resource=true but no etcd snap is attached (juju attach-resource etcd "
                "etcd=./etcd.snap)"
            )
        channel = L.snap_channel(package.version)
        source = "the attached etcd resource" if resource else f"channel {channel}"
        if not resource and not channel:
            raise MigrationError(f"cannot tell etcd's version from package {package.version!r}")
        progress(f"installing the etcd snap from {source}")
        self.set_status(S.migrating(f"installing the snap from {source}"))
        try:
            workload.install_snap(channel, resource)
            # the snap's service has no configuration yet: it must not run before the copy
            workload.stop_service(disable=True)
        except workload.WorkloadError as e:
            self._remove_snap_quietly()
            raise MigrationError(f"installing the snap failed: {e}") from None
        version = workload.installed_version() or ""
        refusal = L.version_refusal(package.version, version)
        if refusal:
            self._remove_snap_quietly()
            raise MigrationError(f"{refusal}; the snap was removed again")
        if backup is not None:
            progress("saving a snapshot of the cluster first")
            self.set_status(S.migrating("saving a snapshot"))
            try:
                backup(client([package.client_url]), members)
            except Exception:
                self._remove_snap_quietly()
                raise

        # the switch: from here on a failure puts etcd.service back
        self._hand_over_leadership(
            settings, members, mine.member_id, "migrating", healthy, via=ctl
        )
        progress(f"stopping {L.SERVICE}.service and copying the member's data to the snap")
        self.set_status(S.migrating(f"stopping {L.SERVICE}.service, copying the data"))
        data_dir = os.path.realpath(C.DATA_DIR)
        target = os.path.join(data_dir, "member")
        partial = os.path.join(data_dir, ".member-from-package")
        try:
            workload.stop_legacy_service()
            for stale in (target, partial):
                shutil.rmtree(stale, ignore_errors=True)
            shutil.copytree(source_dir, partial, symlinks=True)
            _own_by_root(partial)
            os.chmod(partial, 0o700)
            os.rename(partial, target)
            if workload.ensure_restart_policy():
                log("etcd's service restarts after a crash (Restart=always drop-in)")
            record = C.Bootstrap(
                initial_cluster=package.initial_cluster, token=package.token, state="existing"
            )
            progress("starting the member from the snap")
            self.set_status(S.migrating("starting the member from the snap"))
            status = self._start(settings, identity, version, record, expect_leader=True)
            if (status.member_id, status.cluster_id) != (mine.member_id, mine.cluster_id):
                raise MigrationError(
                    f"the snap's member started as {status.member_id:x} of cluster "
                    f"{status.cluster_id:x}, not as {mine.member_id:x} of {mine.cluster_id:x}"
                )
            local = client([local_url(settings)])

            def healthy_again() -> bool | None:
                return True if all(h.healthy for h in local.endpoint_health()) else None

            wait_for(
                f"the member on {self.unit} to be healthy from the snap",
                START_DEADLINE,
                answering(healthy_again),
            )
        except (MigrationError, workload.WorkloadError, EtcdctlError, TimeoutError, OSError) as e:
            detail = e.detail if isinstance(e, EtcdctlError) else str(e)
            log(f"migration failed: {detail}; putting {L.SERVICE}.service back", hookenv.ERROR)
            self._back_to_package(target, partial)
            raise MigrationError(
                f"{detail}; etcd runs from the package again ({L.SERVICE}.service, its data "
                "untouched) and the snap was removed",
                undone=True,
            ) from None

        self._record_package_cluster(package)
        now = local.member_list()
        self.kv.set(KV_MEMBERS, dump_member_list(now))
        me_now = P.UnitInfo(
            unit=self.unit,
            name=identity.name,
            peer_url=identity.peer_url(settings),
            client_url=identity.client_url(settings),
            ready=True,
            member_id=status.member_id,
            version=version,
            channel=workload.tracking(),
        )
        values = me_now.to_relation()
        values["db-ingress-address"] = _address("db")
        for rid in hookenv.relation_ids("cluster"):
            hookenv.relation_set(rid, values)
        log(
            f"migrated member {status.member_id:x} ({identity.name}) from {L.SERVICE}.service "
            f"to the snap (etcd {version} from {source})"
        )
        return Migrated(status.member_id, status.cluster_id, version, source, now)

    def _back_to_package(self, target: str, partial: str) -> None:
        """Undo a migration that failed after etcd.service stopped: the snap's copy and the
        snap go, etcd.service (whose data was only read) runs again."""
        for step, call in (
            ("stop the snap's service", lambda: workload.stop_service(disable=True)),
            ("remove the copied data", lambda: _remove_trees(target, partial)),
            ("remove the snap", self._remove_snap_quietly),
            (f"start {L.SERVICE}.service", workload.start_legacy_service),
        ):
            try:
                call()
            except (workload.WorkloadError, OSError) as e:
                log(f"undoing the migration: could not {step}: {e}", hookenv.ERROR)
        self.kv.set(KV_STARTED, False)
        for key in (KV_MEMBER_ID, KV_BOOTSTRAP, KV_APPLIED, KV_MEMBERS):
            self.kv.unset(key)
        try:
            os.unlink(C.CONF_PATH)
        except OSError:
            pass

    @staticmethod
    def _remove_snap_quietly() -> None:
        """Remove the snap the migration installed. snapd deletes $SNAP_COMMON with it: the
        certificates from the relation that were there are put back."""
        kept = {p: workload.read_file(p) for p in C.CERT_FILES}
        try:
            workload.remove_snap()
        except workload.WorkloadError as e:
            log(f"removing the snap again failed: {e}", hookenv.ERROR)
        for path, text in kept.items():
            if text:
                workload.write_file(path, text, 0o600 if path.endswith(".key") else 0o644)

    def remove_package(self) -> list[str]:
        """After a migration: purge the packages and the old charm's certificates."""
        purged = workload.purge_packages()
        for path in L.CERT_FILES:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        try:
            os.rmdir(L.CERT_DIR)
        except OSError:
            pass
        return purged

    @staticmethod
    def peer_units() -> list[str]:
        """The other units on the peer relation."""
        return [u for rid in hookenv.relation_ids("cluster") for u in hookenv.related_units(rid)]

    def _discard_for_restore(self) -> None:
        """A restore replaced the cluster this unit's member belonged to: stop it and wipe
        its data; the leader then adds this unit to the restored cluster as a learner."""
        self.set_status(S.REJOINING)
        log("a restore replaced this member's cluster: discarding its data to rejoin")
        try:
            workload.stop_service()
        except workload.WorkloadError as e:
            log(f"stopping etcd: {e}", hookenv.WARNING)
        shutil.rmtree(os.path.join(os.path.realpath(C.DATA_DIR), "member"), ignore_errors=True)
        self.kv.set(KV_STARTED, False)
        for key in (KV_MEMBER_ID, KV_BOOTSTRAP, KV_APPLIED, KV_MEMBERS):
            self.kv.unset(key)

    def leave(self, settings: Settings, identity: C.Identity) -> None:
        """This unit is being removed: hand over raft leadership, remove the member, stop."""
        if not self.kv.get(KV_STARTED):
            self.kv.set(KV_LEFT, True)
            return
        my_id = int(self.kv.get(KV_MEMBER_ID, 0))
        obs = P.Observed(
            me=P.UnitInfo(self.unit, identity.name, member_id=my_id),
            is_leader=hookenv.is_leader(),
            started=True,
            leader=self._leader_data(),
            peers=self._peers(),
        )
        listed = self._refresh_members(obs, settings).members
        if listed is None:
            self._refuse("no member of the cluster answers, so its member cannot be removed")
        # health first, then the membership again: a unit leaving at the same time removes
        # its member before it stops etcd, so a member still listed after the probe was
        # answering during it unless it is really down
        healthy = self._member_health(listed)
        members = self._refresh_members(obs, settings).members
        if members is None:
            self._refuse("no member of the cluster answers, so its member cannot be removed")
        others = [m for m in members.voters if m.id != my_id and m.started]
        if members.by_id(my_id) is not None and others:
            refusal = P.removal_refusal(members, healthy, my_id)
            if refusal:
                self._refuse(refusal)
            self.set_status(S.LEAVING)
            # talk to, and hand leadership to, members that stay: with several units removed
            # at once, another leaving member may be stopping (its connections reset)
            leaving = {
                C.member_name(u) for u, st in (self._app_units() or {}).items() if st == "dying"
            }
            staying = [m for m in others if m.name not in leaving] or others
            self._hand_over_leadership(
                settings, members, my_id, "leaving", healthy & {m.id for m in staying}
            )
            remote = client(sorted(u for m in staying for u in m.client_urls))
            self._remove_member(remote, my_id)
            log(f"removed member {my_id:x} from the cluster")
        workload.stop_service(disable=True)
        self.kv.set(KV_STARTED, False)
        self.kv.set(KV_LEFT, True)
        self.set_status(S.DEPARTED)

    def _refuse(self, why: str) -> NoReturn:
        status = S.cannot_leave(why, P.REMEDY)
        self.set_status(status)
        log(status.message, hookenv.ERROR)
        raise Refused(status.message)

    # --- publishing --------------------------------------------------------------------

    def _publish(
        self,
        obs: P.Observed,
        settings: Settings,
        material: tls.Material | None,
        version: str | None,
    ) -> None:
        peers = endpoint_from_name("cluster")
        if peers is not None:
            values = obs.me.to_relation()
            values["db-ingress-address"] = _address("db")
            peers.publish(values)
        if obs.members is None or material is None:
            return
        view = P.client_view(obs.members)
        db = endpoint_from_name("db")
        if db is not None and db.is_joined and view.connection_string:
            db.publish(
                view.connection_string,
                version or "",
                material.client_cert,
                material.client_key,
                material.ca,
            )
        proxy = endpoint_from_name("proxy")
        if proxy is not None and proxy.is_joined and view.cluster:
            proxy.publish(view.cluster, material.client_cert, material.client_key, material.ca)

    # --- certificates --------------------------------------------------------------------

    def _certificates(self, certs: Any, settings: Settings) -> tls.Material | None:
        """Ask for this unit's certificates; the material once all of it has arrived (placed
        in /var/snap/etcd/common), else None."""
        if certs is None or not certs.is_joined:
            return None
        public = str(hookenv.unit_get("public-address"))
        sans = tls.server_sans([public, _address("cluster"), _address("db")], socket.gethostname())
        certs.request_server_cert(public, sans, self.unit.replace("/", "_"))
        certs.request_client_cert(tls.CLIENT_CN, [tls.CLIENT_CN])
        server = certs.server_cert
        client = certs.client_cert(tls.CLIENT_CN)
        if not certs.ca or server is None or client is None:
            return None
        material = tls.Material(certs.ca, server[0], server[1], client[0], client[1])
        if tls.place(material):
            log("certificates written to /var/snap/etcd/common")
        workload.write_file("/root/.etcdctl-env", tls.etcdctl_profile(settings.port), 0o600)
        self._source_profile()
        return material

    @staticmethod
    def _source_profile() -> None:
        line = "[ -f /root/.etcdctl-env ] && . /root/.etcdctl-env  # etcd charm\n"
        bashrc = "/root/.bashrc"
        text = workload.read_file(bashrc)
        if line not in text:
            workload.write_file(
                bashrc, text + ("" if not text or text.endswith("\n") else "\n") + line, 0o644
            )

    # --- config rendering ------------------------------------------------------------------

    def _render(self, settings: Settings, identity: C.Identity, version: str | None) -> str:
        record = self.kv.get(KV_BOOTSTRAP) or {}
        bootstrap = C.Bootstrap(
            initial_cluster=record.get("initial_cluster", ""),
            token=record.get("token", ""),
            state=record.get("state", "new"),
        )
        template = os.path.join(hookenv.charm_dir(), "templates", "etcd3.conf")
        with open(template) as f:
            return C.render(f.read(), C.conf_context(settings, identity, bootstrap, version))

    def _desired(
        self, settings: Settings, identity: C.Identity, version: str | None
    ) -> tuple[str, str]:
        """(the config etcd should run with, its hash); both empty before etcd has started
        (the first config is written by the start itself)."""
        if not self.kv.get(KV_STARTED):
            return "", ""
        conf = self._render(settings, identity, version)
        return conf, self._conf_hash(conf)

    @staticmethod
    def _conf_hash(text: str) -> str:
        """Hash of everything etcd reads at start: its config and its certificates."""
        files = "".join(
            workload.read_file(p) for p in (C.CA_PATH, C.SERVER_CERT_PATH, C.SERVER_KEY_PATH)
        )
        return C.conf_hash(text + files)

    def _apply_refresh_timer(self, settings: Settings) -> None:
        # the leader decides the timer for all units; "max" is computed once (from the day of
        # the deployment) and kept, any other value follows the config
        stored = hookenv.leader_get("snapd_refresh") or ""
        timer = stored
        if hookenv.is_leader():
            if settings.snapd_refresh != "max" or not stored:
                timer = refresh_timer(settings.snapd_refresh)
            if timer != stored:
                hookenv.leader_set({"snapd_refresh": timer})
        if timer and self.kv.get("etcd.refresh-timer") != timer:
            try:
                workload.set_refresh_timer(timer)
                self.kv.set("etcd.refresh-timer", timer)
            except workload.WorkloadError as e:
                log(f"cannot set the snapd refresh timer: {e}", hookenv.WARNING)

    # --- status -------------------------------------------------------------------------

    def set_status(self, status: S.Status) -> None:
        self.status = status
        hookenv.status_set(status.state, status.message)

    def _final_status(
        self,
        obs: P.Observed,
        settings: Settings,
        certs: Any,
        material: tls.Material | None,
    ) -> None:
        version = workload.installed_version()
        if version:
            hookenv.application_version_set(version)
        if not obs.started:
            if certs is None or not certs.is_joined:
                self.set_status(S.MISSING_CA)
            elif material is None:
                self.set_status(S.WAITING_CERTS)
            else:
                step = P.unit_step(obs, "", "", False)
                reason = step.reason if isinstance(step, P.Wait) else "Waiting to join the cluster"
                if obs.is_leader:
                    lstep = P.leader_step(obs)
                    if isinstance(lstep, P.Wait):
                        reason = lstep.reason
                self.set_status(S.waiting(reason))
            return
        self._open_port(settings.port)
        if obs.me.restart_request:
            self.set_status(S.waiting("Waiting for a turn to restart with the new configuration"))
            return
        members = obs.members
        if members is None:  # no member list (no quorum?): the last one says who to count
            members = self._last_members()
        status, error, up, reached = self._answers(settings, members, obs.me.member_id)
        if status is not None and members is not None and status.raft_term != members.raft_term:
            # the raft term moved since the member list was taken: take a fresh one
            refreshed = self._refresh_members(obs, settings)
            members = refreshed.members or members
        verdict = S.health(status, error, members, obs.me.member_id, up, reached)
        if self.blocked and status is not None:  # more telling than a member being down
            verdict = S.Status("blocked", self.blocked)
        if obs.me.upgrade_error:
            verdict = S.upgrade_failed(obs.target_channel, obs.me.upgrade_error)
        elif (
            P.upgrade_in_flight(obs)
            and not self.blocked
            and status is not None
            and members is not None
        ):
            down = S.down_voters(members, up, obs.me.member_id)
            if down:  # whichever member it is, the upgrade waits for it
                verdict = S.upgrade_paused(obs.target_channel, down)
            elif verdict.state == "active" and obs.leader.upgrade_grant:
                progress = P.current_progress(obs)
                verdict = S.upgrade_in_progress(
                    verdict, progress.position, progress.total, obs.target_channel
                )
        self.set_status(verdict)

    @staticmethod
    def _answers(
        settings: Settings, members: MemberList | None, my_id: int
    ) -> tuple[EndpointStatus | None, str | None, frozenset[int], frozenset[int]]:
        """One etcdctl: the local member's status (or why there is none), which voters answer
        without errors and which answer at all (with "no leader", say)."""
        local = local_url(settings)
        others = sorted(
            {
                u
                for m in (members.voters if members else ())
                if m.id != my_id
                for u in m.client_urls
            }
        )
        try:
            answered = client([local, *others]).endpoint_status(partial=True)
            error = None
        except EtcdctlError as e:
            answered, error = [], e.detail
        status = next((st for st in answered if st.endpoint == local), None)
        if status is None:
            error = error or f"no answer on {local}"
        up = frozenset(st.member_id for st in answered if not st.errors)
        return status, error, up, frozenset(st.member_id for st in answered)

    def show_health(self, members: MemberList, my_id: int) -> S.Status:
        """Set the health verdict as the status (after an action changed this member)."""
        assert self.settings is not None
        status, error, up, reached = self._answers(self.settings, members, my_id)
        verdict = S.health(status, error, members, my_id, up, reached)
        self.set_status(verdict)
        return verdict

    def _open_port(self, port: int) -> None:
        previous = self.kv.get(KV_PORT)
        if previous == port:
            return
        if previous:
            hookenv.close_port(previous)
        hookenv.open_port(port)
        self.kv.set(KV_PORT, port)


def _tree_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _own_by_root(path: str) -> None:
    """The snap's etcd runs as root: the copied data (the package's etcd user's) is root's."""
    for root, dirs, files in os.walk(path):
        for name in (root, *(os.path.join(root, n) for n in dirs + files)):
            os.lchown(name, 0, 0)


def _remove_trees(*paths: str) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
