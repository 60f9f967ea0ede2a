"""The composition root: :meth:`EtcdCharm.install` and :meth:`EtcdCharm.reconcile`
(observe -> lead -> act -> publish -> status), and the entry points the actions use.

Each responsibility is a module of its own: :mod:`context` (the per-hook context),
:mod:`record` (unit storage), :mod:`observe`, :mod:`cluster` (etcd calls on the cluster),
:mod:`membership` (the leader's executors), :mod:`member` (this unit's etcd),
:mod:`configure` (etcd's config, the refresh timer), :mod:`upgrade`, :mod:`restore`,
:mod:`migration`, :mod:`install`, :mod:`tls`, :mod:`publish`, :mod:`health` (the final
status) and :mod:`nrpe_checks` (the Nagios checks). Decisions are made in :mod:`plan`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any

from charmhelpers.core import hookenv, unitdata

from . import (
    adopt,
    backup_timer,
    configure,
    data_volume,
    health,
    hooktools,
    idle,
    install,
    member,
    membership,
    nrpe_checks,
    observe,
    publish,
    quarantine,
    tls,
    workload,
)
from . import legacy as L
from . import migration as M
from . import plan as P
from . import restore as R
from . import status as S
from . import upgrade as U
from . import volume as V
from . import volume_recovery as VR
from .context import Ctx, Hook, identity, local_url, log, reactive_endpoint
from .etcd_json import EndpointStatus, MemberList
from .etcdctl import Etcdctl
from .member import Refused
from .migration import Migrated, MigrationError
from .nagios_collect import Seen
from .record import Record
from .restore import RestoreError
from .settings import channel_refusal, parse_settings

__all__ = [
    "EtcdCharm",
    "Migrated",
    "MigrationError",
    "Raised",
    "Refused",
    "RestoreError",
]


@dataclass(frozen=True)
class Raised:
    """What a reconcile found that reactive/etcd.py raises as flags for other layers:
    ``started`` (this unit's member runs), ``tls_ready`` (its certificates are placed;
    None when this hook did not look) and ``healthy`` (this hook's status says the cluster
    is healthy: "Healthy with N known peers"; None when this hook did not look)."""

    started: bool
    tls_ready: bool | None = None
    healthy: bool | None = None


def _start_founding(ctx: Ctx, obs: P.Observed, step: P.StartFounding, conf: str) -> P.Observed:
    return member.start_founder(ctx, obs, step.founders)


def _start_joining(ctx: Ctx, obs: P.Observed, step: P.StartJoining, conf: str) -> P.Observed:
    return member.start_joining(ctx, obs, step.joining)


def _upgrade(ctx: Ctx, obs: P.Observed, step: P.Upgrade, conf: str) -> P.Observed:
    return U.upgrade(ctx, obs, step)


def _restart(ctx: Ctx, obs: P.Observed, step: P.Restart, conf: str) -> P.Observed:
    member.restart(ctx, obs, step, conf)
    return replace(obs, me=replace(obs.me, restart_request=""))


OwnExecutor = Callable[[Ctx, P.Observed, Any, str], P.Observed]

#: every step :func:`plan.unit_step` can return that changes this unit's member -> its
#: executor (the desired etcd configuration is the last argument); Wait and None change
#: nothing
OWN_STEPS: dict[type, OwnExecutor] = {
    P.StartFounding: _start_founding,
    P.StartJoining: _start_joining,
    P.Upgrade: _upgrade,
    P.Restart: _restart,
}


class Act:
    """This unit's own step in one hook (:func:`plan.unit_step`): start, upgrade or
    restart its member, or ask for a turn to restart.

    One instance per hook. The leader's executors call it when the leader grants a turn
    to itself (so that the rest of the rolling restart or upgrade goes on in the same hook),
    and :meth:`EtcdCharm.reconcile` calls it once after :func:`membership.lead` for what
    remains (a start, a step no grant gates, or a request for a turn). Each step changes
    what the next call observes (started, the applied configuration, the channel), so a
    step is never due twice; should it be, the repeat is refused here rather than run:
    no step of one kind runs twice in one hook."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.taken: list[type] = []  # the steps taken in this hook, in order

    def __call__(self, obs: P.Observed) -> P.Observed:
        ctx = self.ctx
        # bootstrap or a join earlier in this hook may have started etcd: look again
        started = ctx.record.started
        desired_conf, desired_hash = configure.desired(ctx)
        applied = ctx.record.applied_hash
        peer_url_changed = False
        if started and obs.members is not None:
            mine = obs.members.by_id(obs.me.member_id)
            if mine is not None:
                peer_url_changed = ctx.identity.peer_url(ctx.settings) not in mine.peer_urls
        step = P.unit_step(obs, desired_hash, applied, peer_url_changed)
        executor = OWN_STEPS.get(type(step))
        if executor is not None:
            if type(step) in self.taken:
                log(f"{step} again in one hook: left for the next hook", hookenv.WARNING)
                return obs
            self.taken.append(type(step))
            return executor(ctx, obs, step, desired_conf)
        if desired_hash != applied:
            return replace(obs, me=replace(obs.me, restart_request=desired_hash))
        return obs


class EtcdCharm:
    def __init__(self, endpoint: Callable[[str], Any] = reactive_endpoint) -> None:
        """``endpoint``: how a relation endpoint is found (charms.reactive's in a hook,
        :func:`context.action_endpoint` in an action)."""
        self.kv = unitdata.kv()
        unit = hookenv.local_unit()
        name = hookenv.hook_name()
        config = hookenv.config()
        settings, errors = parse_settings(config)
        record = Record(self.kv)
        invalid = backup_timer.check_schedule(record, settings)
        if invalid:
            settings, errors = None, [invalid]
        if settings is not None:  # a restore's quarantine: etcd serves clients elsewhere
            settings = quarantine.apply(settings, hooktools.leader_get("quarantine") or "")
        self.hook = Hook(unit, name, record, config, settings, errors, endpoint)
        self.seen: Seen | None = None  # what this hook's status saw of the member

    @property
    def unit(self) -> str:
        return self.hook.unit

    @property
    def record(self) -> Record:
        return self.hook.record

    @property
    def settings(self) -> Any:
        return self.hook.settings

    @property
    def errors(self) -> list[str]:
        return self.hook.errors

    @property
    def status(self) -> S.Status | None:
        return self.hook.status

    def set_status(self, status: S.Status) -> None:
        self.hook.set_status(status)

    # --- hooks -------------------------------------------------------------------------

    def install(self, flags: Collection[str] = ()) -> bool:
        """Install the snap (resource first, else channel). True when etcd is installed.

        ``flags``: the reactive flags set; a unit an older charm installed is adopted
        without installing when etcd runs from the snap (:func:`install.must_install`)."""
        if install.LEGACY_INSTALLED in flags:
            snap = workload.installed_version() is not None
            started = self.record.started
            package = snap and not started and workload.legacy_install() is not None
            if not install.must_install(flags, snap, started, package):
                log(
                    f"etcd runs from the snap: nothing to install ({install.LEGACY_INSTALLED!r} kept)"
                )
                return True
        return install.install(self.hook)

    def storage_attached(self) -> None:
        """``data-storage-attached``: see :func:`data_volume.attached` (the reconcile that
        follows in the same hook moves the data once the snap reaches the volume)."""
        data_volume.attached(self.hook)

    def storage_detaching(self) -> None:
        """``data-storage-detaching``: the volume goes, this unit stays or is removed.

        Staying, a member whose data is on the volume moves it back first (refused, the hook
        failing for Juju to retry, while its stop would lose quorum). Removed (goal-state
        says so), the member leaves the cluster first. Then the volume is unmounted."""
        hook, record = self.hook, self.hook.record
        state = record.volume.get("state", "")
        if state == "refused" or not state:
            record.volume = {}
            return
        data_volume.claim(hook)  # etcd on the volume: its marker names the cluster
        on_volume = record.started and workload.running_data_dir() == V.DATA_DIR
        if on_volume and not record.left:
            if hook.settings is None:
                raise Refused("the charm's config is invalid: " + "; ".join(hook.errors))
            ctx = Ctx(hook, hook.settings, identity(hook.unit))
            if (observe.app_units() or {}).get(hook.unit) == "dying":
                removed = member.leave(ctx)
                data_volume.mark_ended("removed" if removed else "last")
                if not removed:
                    sid = record.volume.get("storage", "")
                    log(f"this member was its cluster's last: {sid} holds the cluster's data "
                        "(every write it acknowledged); a new application deployed with it "
                        f"(juju deploy etcd --attach-storage {sid}) brings the cluster back "
                        "with recover-from-volume")  # fmt: skip
            else:
                record.volume = {**record.volume, "state": "detaching"}
                try:
                    member.move_back(ctx)
                except Exception:
                    record.volume = {**record.volume, "state": state}
                    raise
        elif on_volume:  # it left the cluster already: only its stopped data is there
            workload.stop_service(disable=True)
        data_volume.unmount_and_forget(hook)

    def reconcile(self, leaving: bool = False, flags: Collection[str] = ()) -> Raised:
        """Observe -> lead -> act -> publish -> status, then the Nagios checks of the
        nrpe-external-master relation (:mod:`nrpe_checks`). ``leaving``: this unit departs
        the peer relation in this hook (it is being removed): its member leaves the cluster.
        ``flags``: the reactive flags set (an earlier charm's say it ran a member here:
        :func:`adopt.take_over`)."""
        self.seen = None
        raised = self._reconcile(leaving, flags)
        hook = self.hook
        seen = self.seen or Seen(
            started=hook.record.started, reason=hook.status.message if hook.status else ""
        )
        nrpe_checks.reconcile(hook, hook.settings, seen)
        return raised

    def _reconcile(self, leaving: bool, flags: Collection[str]) -> Raised:
        hook, record = self.hook, self.hook.record
        record.quiet = {}  # the final status records it again if it ends quiet
        record.idle_inputs = ""  # recorded again below if it ends waiting or settled
        if record.left:
            hook.set_status(S.DEPARTED)
            return Raised(started=record.started)
        if hook.settings is None:
            # nothing that runs is touched; the running cluster keeps its configuration
            hook.set_status(S.invalid_config(hook.errors))
            return Raised(started=record.started)
        settings = hook.settings
        adopt.remove_leftovers()
        data_volume.reconcile(hook)
        configure.apply_refresh_timer(hook, settings)
        install.hold_refreshes()
        try:
            if workload.ensure_restart_policy():
                log("etcd's service restarts after a crash (Restart=always drop-in)")
        except workload.WorkloadError as e:
            log(f"cannot set etcd's restart policy: {e}", hookenv.WARNING)

        certs = hook.endpoint("certificates")
        material = tls.certificates(hook, certs, settings)
        ctx = Ctx(hook, settings, identity(hook.unit))
        if leaving:
            member.leave(ctx)
            return Raised(started=record.started, tls_ready=material is not None)
        version = workload.installed_version()
        adopt.record_cluster()
        problem = adopt.take_over(replace(ctx, version=version), flags)
        started = record.started
        if P.must_rejoin(
            observe.leader_data(), started, record.bootstrap_token, hook.unit, record.member_id
        ):
            member.discard_for_restore(hook)
            started = False
        tracking = workload.tracking()
        refusal = channel_refusal(version, tracking, settings.channel)
        if not refusal and version is not None and settings.channel not in ("auto", tracking):
            # while the upgrade goes on
            refusal = install.store_refusal(settings.channel, version)
        if refusal:
            hook.set_status(S.invalid_config([refusal]))
            return Raised(started=record.started, tls_ready=material is not None)
        ctx = replace(ctx, version=version)
        _, desired_hash = configure.desired(ctx)
        target = "" if settings.channel == "auto" else settings.channel
        failed = record.upgrade_error
        if failed and P.upgrade_error_stale(
            failed, target, tracking, workload.installed_revision(), observe.leader_data()
        ):
            record.clear_upgrade_error()  # another channel or refresh was chosen, or it is done
            failed = {}

        ready = material is not None
        error = str(failed.get("error", ""))
        me = observe.unit_info(ctx, started, ready, desired_hash, tracking, error)
        obs = observe.observe(ctx, me, started, target)
        own = Act(ctx)
        if obs.is_leader:
            obs = membership.lead(membership.Leader(ctx, own), obs)
        obs = own(obs)
        publish.publish(hook, obs, material, version)
        endpoints = [local_url(settings)] + [
            p.client_url for p in obs.peers if p.client_url and p.member_id
        ]
        notes = [
            self.available(obs, tracking),
            publish.cos_agent_problem(hook),
            backup_timer.reconcile(hook, settings, obs.is_leader, record.started, endpoints),
        ]
        self.seen = health.final_status(
            ctx,
            obs,
            certs,
            material,
            "; ".join(n for n in notes if n),
            quarantine.note(settings, obs),
        )
        if obs.is_leader and tracking and record.quiet:
            # the leader asks the store in each update-status whether its channel has a
            # newer revision (:meth:`available`): its quiet update-status asks it too
            record.quiet = {**record.quiet, "store": {
                "channel": tracking, "revision": obs.me.revision, "version": obs.me.version,
                "available": dict(record.refresh_available or {}),
            }}  # fmt: skip
        if problem is not None and not record.started:
            hook.set_status(S.takeover(problem.reason, isinstance(problem, adopt.T.Refuse)))
        refused = data_volume.problem(hook)
        if refused:
            hook.set_status(S.Status("blocked", refused))
        healthy = hook.status is not None and hook.status.state == "active"
        has_certificates = material is not None
        if idle.waiting(obs.is_leader, record.started, has_certificates, problem, refused):
            record.idle_inputs = idle.record(idle.WAITING, idle.digest())
        elif idle.settled(obs.is_leader, record.started, has_certificates, problem, refused,
                          obs.me.restart_request):  # fmt: skip
            record.idle_inputs = idle.record(idle.SETTLED, idle.digest())
        return Raised(started=record.started, tls_ready=has_certificates, healthy=healthy)

    def available(self, obs: P.Observed, tracking: str) -> str:
        """On the leader: a newer revision of the channel it tracks that the refresh action
        would take, as its status says it (asked of the store in update-status only)."""
        record = self.hook.record
        if not obs.is_leader or not tracking or P.upgrade_in_flight(obs):
            return ""
        if self.hook.name == "update-status":
            record.refresh_available = install.newer_release(
                tracking, obs.me.revision, obs.me.version
            )
        found = record.refresh_available
        if found.get("channel") != tracking or found.get("revision") == obs.me.revision:
            return ""
        return S.refresh_available(found["version"], found["revision"])

    # --- what the actions call -----------------------------------------------------------

    def _ctx(self, error: type[Exception]) -> Ctx:
        if self.hook.settings is None:
            raise error("the charm's config is invalid: " + "; ".join(self.hook.errors))
        return Ctx(self.hook, self.hook.settings, identity(self.hook.unit))

    def restore(
        self,
        db_path: str,
        skip_hash_check: bool,
        progress: Callable[[str], None],
        backup: Callable[[bool], object] | None = None,
    ) -> tuple[EndpointStatus, MemberList]:
        """See :func:`restore.restore`."""
        ctx = replace(self._ctx(RestoreError), version=workload.installed_version())
        return R.restore(ctx, db_path, skip_hash_check, progress, backup)

    def recover_from_volume(
        self, progress: Callable[[str], None]
    ) -> tuple[EndpointStatus, MemberList]:
        """See :func:`volume_recovery.recover`."""
        ctx = replace(self._ctx(VR.RecoveryError), version=workload.installed_version())
        return VR.recover(ctx, progress)

    def migrate_from_package(
        self,
        package: L.LegacyInstall,
        use_resource: bool,
        backup: Callable[[Etcdctl, MemberList], object] | None,
        progress: Callable[[str], None],
    ) -> Migrated:
        """See :func:`migration.migrate_from_package`."""
        return M.migrate_from_package(
            self._ctx(MigrationError), package, use_resource, backup, progress
        )

    def remove_package(self) -> list[str]:
        """After a migration: purge the packages and the old charm's certificates."""
        return M.remove_package()

    def peer_units(self) -> list[str]:
        """The other units on the peer relation."""
        return [p.unit for p in observe.peers(self.hook)]

    def show_health(self, members: MemberList, my_id: int) -> S.Status:
        """Set the health verdict as the status (after an action changed this member)."""
        assert self.hook.settings is not None
        return health.show_health(self.hook, self.hook.settings, members, my_id)
