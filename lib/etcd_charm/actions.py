"""The operator actions (what every ``actions/<name>`` runs).

Each action reads exactly the params ``actions.yaml`` declares for it, does its work through
:mod:`etcdctl`, :mod:`snapshot` and :class:`~etcd_charm.charm.EtcdCharm`, and reports through
``action-set``; every failure ends in ``action-fail`` with a message saying what is wrong and
what to do (never a traceback). No key material is ever logged or returned: only the
credentials tarball's path.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any

import yaml
from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import report, targets, workload
from . import snapshot as snap
from . import status as S
from .charm import EtcdCharm
from .context import client, local_url
from .etcdctl import Alarm, EndpointStatus, Etcdctl, EtcdctlError, MemberList
from .migration import MigrationError
from .params import ActionError, Params, declared_params
from .restore import RestoreError
from .workload import WorkloadError, installed_version

#: where the restore action unpacks the snapshot (on the data's filesystem)
STAGING = "/var/snap/etcd/common/restore-staging"
CREDENTIALS = "/home/ubuntu/etcd_credentials.tar.gz"
OPERATOR = "ubuntu"  # the user juju ssh/scp log in as
DEFRAG_DEADLINE = 120.0


class Context:
    """What an action works with: the charm (settings, identity, kv), its params, output."""

    def __init__(self, action: str, charm: EtcdCharm, params: Params) -> None:
        self.action = action
        self.charm = charm
        self.params = params
        self.results: dict[str, str] = {}

    def set(self, key: str, value: object) -> None:
        self.results[key] = str(value)

    def progress(self, message: str) -> None:
        """Shown while the action runs (``action-log``) and kept in the unit's log."""
        hookenv.log(f"{self.action}: {message}")
        try:
            subprocess.run(["action-log", message], check=False, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass

    @property
    def settings(self) -> Any:
        if self.charm.settings is None:
            raise ActionError(
                "the charm's config is invalid ("
                + "; ".join(self.charm.errors)
                + "); fix it first"
            )
        return self.charm.settings

    def check_config(self) -> None:
        """Fail (nothing changed) when the charm's config is invalid."""
        _ = self.settings

    def local(self) -> Etcdctl:
        return client([local_url(self.settings)])

    def endpoints(self) -> list[str]:
        """This unit's member and every peer's published client URL."""
        urls = [local_url(self.settings)]
        for rid in hookenv.relation_ids("cluster"):
            for unit in hookenv.related_units(rid):
                url = hookenv.relation_get("client-url", unit, rid)
                if url and hookenv.relation_get("member-id", unit, rid):
                    urls.append(str(url))
        return urls

    def members(self) -> MemberList:
        """The member list from the first member that answers (one endpoint at a time:
        etcd 3.4's learners refuse the request)."""
        errors = []
        for url in self.endpoints():
            try:
                return client([url]).member_list()
            except EtcdctlError as e:
                errors.append(f"{url}: {e.detail}")
        raise ActionError("no etcd member answers: " + "; ".join(errors))

    @staticmethod
    def voters(members: MemberList) -> Etcdctl:
        """etcdctl against every voting member (etcd 3.4's learners refuse most requests)."""
        return client(sorted({u for m in members.voters for u in m.client_urls}))

    @staticmethod
    def everyone(members: MemberList) -> Etcdctl:
        """etcdctl against every member, for the per-endpoint commands (status, health)."""
        return client(sorted({u for m in members.members for u in m.client_urls}))


def _operator_ids() -> tuple[int, int] | None:
    try:
        pw = pwd.getpwnam(OPERATOR)
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


def _give_to_operator(path: str) -> None:
    """The files operators fetch with ``juju scp`` (which logs in as ubuntu): owned by that
    user, readable by nobody else."""
    ids = _operator_ids()
    if ids is not None:
        os.chown(path, *ids)


def _default(ctx: Context, param: str) -> str:
    """The param's default in actions.yaml (what a refusal suggests instead)."""
    return str((ctx.params.declared.get(param) or {}).get("default") or "/home/ubuntu")


def _target_dir(ctx: Context, path: str, param: str) -> str:
    """The directory an archive is written to (see :mod:`targets`): refused with the rule
    it breaks (nothing written or created), created 0700 for the operator when missing."""
    return targets.ensure(path, param, _default(ctx, param), _give_to_operator)


def _keys_at(ctl: Etcdctl, revision: int, name: str) -> int:
    """The keys a client sees at the snapshot's ``revision``, counted on the member it was
    taken from (etcd's ``totalKey`` counts every database entry, its own included)."""
    try:
        return ctl.key_count(revision)
    except EtcdctlError as e:
        if e.mentions("required revision has been compacted"):
            why = f"its history was compacted past revision {revision} meanwhile"
        else:
            why = e.detail
        raise ActionError(
            f"cannot count the keys of the snapshot of {name} at its revision {revision} "
            f"({why}); nothing was written: run the action again"
        ) from None


def _stamp() -> str:
    return time.strftime("%Y-%m-%d-%H.%M.%S", time.gmtime())


def _healthy_member(ctx: Context, members: MemberList) -> tuple[str, str]:
    """(name, client URL) of the member a snapshot is taken from: this unit's own when it
    is a healthy voter, else the first healthy voter."""
    local = local_url(ctx.settings)
    candidates = [(m.name, u) for m in members.voters for u in m.client_urls[:1]]
    me = members.by_id(ctx.charm.record.member_id)
    if me is not None and not me.is_learner:
        candidates.insert(0, (me.name, local))
    for name, url in candidates:
        try:
            if all(h.healthy for h in client([url]).endpoint_health()):
                return name, url
        except EtcdctlError:
            continue
    raise ActionError("no healthy member to take a snapshot from; check juju status")


def save_archive(
    ctx: Context,
    target: str,
    prefix: str,
    members: MemberList | None = None,
    source: tuple[str, Etcdctl] | None = None,
) -> tuple[str, snap.Meta]:
    """A consistent snapshot of the cluster (``etcdctl snapshot save`` from a healthy
    member, or from ``source``: (name, etcdctl of one member)) archived with its metadata in
    ``target`` (0600, owned by the operator)."""
    members = members or ctx.members()
    if source is None:
        name, url = _healthy_member(ctx, members)
        source = (name, client([url]))
    name, source_ctl = source
    status = source_ctl.endpoint_status()[0]
    free = shutil.disk_usage(target).free
    if free < 2 * status.db_size + (64 << 20):
        raise ActionError(
            f"{target} has {snap.human_size(free)} free; the snapshot needs about "
            f"{snap.human_size(2 * status.db_size)} (database {snap.human_size(status.db_size)}, "
            "twice: the file and its archive); free some space or choose another target"
        )
    archive = os.path.join(target, f"{prefix}-{_stamp()}.tar.gz")
    if os.path.exists(archive):
        raise ActionError(f"{archive} exists already; run the action again in a second")
    work = tempfile.mkdtemp(prefix=".etcd-snapshot-", dir=target)
    try:
        db = os.path.join(work, snap.DB_NAME)
        ctx.progress(f"saving a snapshot of {name} ({snap.human_size(status.db_size)})")
        saved = source_ctl.snapshot_save(db)
        meta = snap.Meta(
            etcd_version=status.version,
            revision=saved.revision,
            db_entries=saved.total_keys,
            keys=_keys_at(source_ctl, saved.revision, name),
            cluster_id=f"{status.cluster_id:x}",
            members=len(members.members),
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            unit=ctx.charm.unit,
            sha256=snap.sha256_file(db),
            size=os.path.getsize(db),
        )
        ctx.progress(f"archiving {snap.human_size(meta.size)} to {archive}")
        snap.write_archive(archive, db, meta)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _give_to_operator(archive)
    return archive, meta


def save_backup(
    ctx: Context,
    directory: str,
    prefix: str,
    remedy: str,
    members: MemberList | None = None,
    source: tuple[str, Etcdctl] | None = None,
) -> str:
    """:func:`save_archive` before a change, reported as ``backup.path`` and
    ``backup.sha256sum``; when it fails nothing was changed and ``remedy`` says how to go on
    without a backup."""
    try:
        archive, _ = save_archive(ctx, directory, prefix, members, source)
    except (ActionError, EtcdctlError) as e:
        detail = e.detail if isinstance(e, EtcdctlError) else str(e)
        raise ActionError(
            f"cannot save a backup of the current data first ({detail}); {remedy}; "
            "nothing was changed"
        ) from None
    ctx.set("backup.path", archive)
    ctx.set("backup.sha256sum", snap.sha256_file(archive))
    return archive


# --- the actions ---------------------------------------------------------------------------


def snapshot(ctx: Context) -> None:
    version = ctx.params.get("keys-version")
    if version == "v2":
        raise ActionError(
            "keys-version v2: the v2 store is gone (etcd 3.4 no longer serves it and 3.6 "
            "removes it); snapshots hold the v3 keyspace, use keys-version=v3"
        )
    if version != "v3":
        raise ActionError(f"keys-version must be v3, got {version!r}")
    target = _target_dir(ctx, ctx.params.get("target"), "target")
    archive, meta = save_archive(ctx, target, "etcd-snapshot")
    digest = snap.sha256_file(archive)
    ctx.set("snapshot.path", archive)
    ctx.set("snapshot.sha256", digest)
    ctx.set("snapshot.size", snap.human_size(os.path.getsize(archive)))
    ctx.set("snapshot.version", meta.etcd_version)
    ctx.set("snapshot.revision", meta.revision)
    ctx.set("snapshot.keys", meta.keys)
    ctx.set("snapshot.db-entries", meta.db_entries)
    ctx.set("snapshot.cluster-id", meta.cluster_id)
    ctx.set("copy.cmd", f"juju scp {ctx.charm.unit}:{archive} .")


def restore(ctx: Context) -> None:
    if not hookenv.is_leader():
        raise ActionError(
            f"{ctx.charm.unit} is not the leader: restore runs on the leader, which restores "
            "the snapshot and has every other unit rejoin (juju run etcd/leader restore); "
            "nothing was changed"
        )
    ctx.check_config()
    path = ctx.params.get("path")
    skip_backup = ctx.params.get("skip-backup")
    target = ctx.params.get("target")
    if not skip_backup:  # refused before anything is read or written
        targets.check(target, "target", _default(ctx, "target"))
    source = path or _snapshot_resource()
    label = source if path else f"the attached snapshot resource ({source})"
    try:
        ctx.progress(f"checking {label}")
        unpacked = snap.unpack(source, STAGING)
    except snap.SnapshotError as e:
        raise ActionError(f"{label} cannot be restored: {e}; nothing was changed") from None
    try:
        try:
            status = ctx.local().snapshot_status(unpacked.db_path)
        except EtcdctlError as e:
            raise ActionError(
                f"{label} cannot be restored: etcd cannot read its database ({e.detail}); "
                "nothing was changed"
            ) from None
        meta = unpacked.meta
        if meta is not None and (status.revision, status.total_keys) != (
            meta.revision,
            meta.db_entries,
        ):
            raise ActionError(
                f"{label} cannot be restored: its database has revision {status.revision} "
                f"with {status.total_keys} database entries where its metadata says "
                f"{meta.revision} with {meta.db_entries}; nothing was changed"
            )
        refusal = snap.version_refusal(
            meta.etcd_version if meta else "", installed_version() or ""
        )
        if refusal:
            raise ActionError(f"{label} cannot be restored: {refusal}; nothing was changed")
        if not skip_backup:
            save_backup(
                ctx,
                _target_dir(ctx, target, "target"),
                "etcd-data",
                "run again with skip-backup=true to restore without a backup",
            )
        try:
            started, members = ctx.charm.restore(
                unpacked.db_path, not unpacked.hash_checked, ctx.progress
            )
        except RestoreError as e:
            raise ActionError(f"restore failed: {e}") from None
    finally:
        shutil.rmtree(STAGING, ignore_errors=True)
    others = sorted(set(ctx.charm.peer_units()), key=lambda u: int(u.rsplit("/", 1)[-1]))
    ctx.set("restore.source", source)
    ctx.set("restore.revision", status.revision)
    ctx.set("restore.keys", _restored_keys(ctx, status.revision))
    ctx.set("restore.db-entries", status.total_keys)
    ctx.set("restore.cluster-id", f"{started.cluster_id:x}")
    ctx.set("restore.member-id", f"{started.member_id:x}")
    ctx.set("restore.members", len(members.members))
    ctx.set(
        "restore.hash-check",
        (
            "verified"
            if unpacked.hash_checked
            else "skipped: the archive comes from a copy of the database file, which carries no hash"
        ),
    )
    ctx.set(
        "restore.rejoining",
        (
            (", ".join(others) + " rejoin one at a time as learners (see juju status)")
            if others
            else "none: this is the only unit"
        ),
    )


def _restored_keys(ctx: Context, revision: int) -> str:
    """The keys the restored member holds at the snapshot's revision, counted on it (the
    restore has happened: a failure to count is reported, not raised)."""
    try:
        return str(ctx.local().key_count(revision))
    except EtcdctlError as e:
        return (
            f"unknown: counting them on the restored member failed ({e.detail}); its "
            f'etcdctl get "" --prefix --keys-only --limit=1 --rev={revision} -w json says '
            "how many (count)"
        )


def _snapshot_resource() -> str:
    try:
        path = hookenv.resource_get("snapshot")
    except Exception:  # noqa: BLE001 - resource-get unavailable
        path = None
    if not path or not os.path.isfile(path) or os.path.getsize(path) == 0:
        raise ActionError(
            "no snapshot to restore: attach one (juju attach-resource etcd "
            "snapshot=./etcd-snapshot-<date>.tar.gz) or pass path=<file on this unit>; "
            "nothing was changed"
        )
    return str(path)


def health(ctx: Context) -> None:
    members = ctx.members()
    ctl = ctx.everyone(members)
    try:
        statuses = ctl.endpoint_status(partial=True)
    except EtcdctlError:
        statuses = []
    try:
        healths = ctl.endpoint_health()
    except EtcdctlError:
        healths = []
    try:
        alarms = ctx.voters(members).alarm_list()
    except EtcdctlError:
        alarms = []
    table = report.rows(members, statuses, healths, alarms)
    ok, summary = report.verdict(table)
    text = report.render(table)
    ctx.set("result-map.message", f"{summary}\n{text}")
    ctx.set("cluster.healthy", str(ok).lower())
    ctx.set("cluster.summary", summary)
    ctx.set("cluster.id", f"{members.cluster_id:x}")
    for row in table:
        for k, v in row.to_result().items():
            ctx.set(f"members.{row.name if row.name[0].isalnum() else row.member_id}.{k}", v)
    if not ok:
        raise ActionError(f"{summary}\n{text}")


def compact(ctx: Context) -> None:
    raw = str(ctx.params.get("revision")).strip()
    physical = ctx.params.get("physical")
    members = ctx.members()
    ctl = ctx.voters(members)
    current = max((s.revision for s in ctl.endpoint_status(partial=True)), default=0)
    if raw:
        if not raw.isdigit() or int(raw) == 0:
            raise ActionError(f"revision must be a positive whole number, got {raw!r}")
        revision = int(raw)
        if revision > current:
            raise ActionError(
                f"revision {revision} is newer than the keyspace's current revision "
                f"{current}; nothing was compacted"
            )
    else:
        revision = current
    ctx.progress(f"compacting the history up to revision {revision}")
    try:
        ctl.compact(revision, physical)
    except EtcdctlError as e:
        if e.mentions("required revision has been compacted"):
            raise ActionError(
                f"revision {revision} is compacted already (an earlier compaction went further); "
                "nothing to do"
            ) from None
        raise
    ctx.set("output", f"compacted revision {revision}")
    ctx.set("compact.revision", revision)
    ctx.set("compact.physical", str(bool(physical)).lower())


def defrag(ctx: Context) -> None:
    """Every member, one at a time (followers first, the raft leader last), only while
    every member answers: a defragmenting member stops answering until it is done. Raised
    alarms do not stop it (defragmentation is how a NOSPACE alarm is cleared)."""
    members = ctx.members()
    statuses = {s.member_id: s for s in ctx.everyone(members).endpoint_status(partial=True)}
    silent = [m.name or m.hex_id for m in members.members if m.id not in statuses]
    if silent:
        raise ActionError(
            "defragmentation stops each member in turn, so it needs every member to answer; "
            f"not answering: {', '.join(sorted(silent))}; nothing was defragmented"
        )
    leader = next((s.leader for s in statuses.values() if s.leader), 0)
    total_before = total_after = 0
    order = report.defrag_order(members, leader)
    for n, member_id in enumerate(order, 1):
        member = members.by_id(member_id)
        assert member is not None
        one = client(list(member.client_urls[:1]))
        before = statuses[member_id].db_size
        ctx.progress(f"defragmenting {member.name} ({n}/{len(order)}, {snap.human_size(before)})")
        one.defrag()
        after = _answering_again(one, member.name).db_size
        total_before += before
        total_after += after
        ctx.set(f"defrag.{member.name}.before", before)
        ctx.set(f"defrag.{member.name}.after", after)
    ctx.set(
        "output",
        f"defragmented {len(order)} members one at a time: {snap.human_size(total_before)} "
        f"-> {snap.human_size(total_after)}",
    )


def _answering_again(one: Etcdctl, name: str) -> EndpointStatus:
    """A bounded wait for the member to answer again after its defragmentation."""
    deadline = time.monotonic() + DEFRAG_DEADLINE
    while True:
        try:
            answered = one.endpoint_status()
            if answered:
                return answered[0]
        except EtcdctlError:
            pass
        if time.monotonic() > deadline:
            raise ActionError(
                f"{name} does not answer {DEFRAG_DEADLINE:.0f}s after its defragmentation; "
                "stopped before the next member"
            )
        time.sleep(0.5)


def _member_name(members: MemberList, member_id: int) -> str:
    m = members.by_id(member_id)
    return m.name if m and m.name else f"{member_id:x}"


def _alarm_results(ctx: Context, alarms: list[Alarm], members: MemberList) -> None:
    ctx.set("alarms.count", len(alarms))
    for i, a in enumerate(alarms):
        ctx.set(f"alarms.a{i}.alarm", a.alarm)
        ctx.set(f"alarms.a{i}.member", _member_name(members, a.member_id))


def _describe(alarms: list[Alarm], members: MemberList) -> str:
    return ", ".join(f"{a.alarm} on {_member_name(members, a.member_id)}" for a in alarms)


def alarm_list(ctx: Context) -> None:
    members = ctx.members()
    alarms = ctx.voters(members).alarm_list()
    _alarm_results(ctx, alarms, members)
    ctx.set("output", _describe(alarms, members) if alarms else "no alarms")


def alarm_disarm(ctx: Context) -> None:
    members = ctx.members()
    ctl = ctx.voters(members)
    alarms = ctl.alarm_list()
    if not alarms:
        ctx.set("output", "no alarms to disarm")
        ctx.set("alarms.count", 0)
        return
    if any(a.alarm == "NOSPACE" for a in alarms):
        quota = _quota_bytes()
        statuses = ctx.everyone(members).endpoint_status(partial=True)
        full = [s for s in statuses if s.db_size >= 0.9 * quota]
        if full:
            names = ", ".join(
                f"{_member_name(members, s.member_id)} {snap.human_size(s.db_size)}" for s in full
            )
            raise ActionError(
                f"NOSPACE: the database is still near its {snap.human_size(quota)} quota "
                f"({names}); disarming now would raise the alarm again at the next write. "
                "Compact and defragment first (juju run etcd/leader compact physical=true, "
                "then juju run etcd/leader defrag), then disarm; nothing was disarmed"
            )
    disarmed = ctl.alarm_disarm()
    _alarm_results(ctx, disarmed, members)
    ctx.set("output", "disarmed " + _describe(disarmed, members))


def _quota_bytes() -> int:
    """The backend quota etcd runs with (its config; etcd's default is 2 GiB)."""
    try:
        conf = yaml.safe_load(open(C.CONF_PATH)) or {}
    except (OSError, yaml.YAMLError):
        conf = {}
    value = int(conf.get("quota-backend-bytes") or 0)
    return value if value > 0 else 2 << 30


CREDENTIALS_README = """\
# etcd client credentials

Made by the etcd charm's package-client-credentials action. client.key is a secret:
keep this directory private (it is readable by its owner only).

Use them with etcdctl (API v3), from this directory:

    . ./etcdctl.env
    etcdctl member list -w table

etcdctl.env sets ETCDCTL_ENDPOINTS to the members' client URLs at the time the package was
made ({endpoints}); if clients connect from outside the model, `juju expose etcd` first.
"""


def package_client_credentials(ctx: Context) -> None:
    settings = ctx.settings
    files = {
        "ca.crt": C.CA_PATH,
        "client.crt": C.CLIENT_CERT_PATH,
        "client.key": C.CLIENT_KEY_PATH,
    }
    missing = [p for p in files.values() if not os.path.isfile(p)]
    if missing:
        raise ActionError(
            "this unit has no client certificate yet (relate etcd to easyrsa and wait for "
            "the certificates); missing: " + ", ".join(missing)
        )
    try:
        endpoints = ",".join(ctx.voters(ctx.members()).endpoints)
    except ActionError:
        endpoints = ""
    endpoints = endpoints or C.build_uri("https", str(hookenv.unit_public_ip()), settings.port)
    env = (
        "# source this file from the directory it is in: . ./etcdctl.env\n"
        "export ETCDCTL_API=3\n"
        f"export ETCDCTL_ENDPOINTS={endpoints}\n"
        'export ETCDCTL_CACERT="$PWD/ca.crt"\n'
        'export ETCDCTL_CERT="$PWD/client.crt"\n'
        'export ETCDCTL_KEY="$PWD/client.key"\n'
    )
    os.makedirs(os.path.dirname(CREDENTIALS), exist_ok=True)
    readme = CREDENTIALS_README.format(endpoints=endpoints)
    snap.write_private_tar(
        CREDENTIALS,
        [
            snap.Entry("etcd_credentials", 0o700),
            *(snap.Entry(f"etcd_credentials/{n}", 0o600, path=p) for n, p in files.items()),
            snap.Entry("etcd_credentials/README.txt", 0o644, data=readme.encode()),
            snap.Entry("etcd_credentials/etcdctl.env", 0o644, data=env.encode()),
        ],
    )
    _give_to_operator(CREDENTIALS)
    ctx.set("path", CREDENTIALS)
    ctx.set("sha256", snap.sha256_file(CREDENTIALS))
    ctx.set("copy.cmd", f"juju scp {ctx.charm.unit}:{os.path.basename(CREDENTIALS)} .")


def snap_upgrade(ctx: Context) -> None:
    """Migrate this unit's member from the Debian package (the deb-era charm's install) to
    the snap, keeping its data and membership; one unit at a time."""
    use_resource = ctx.params.get("use-resource")
    backup = ctx.params.get("backup")
    target = ctx.params.get("target")
    package = workload.legacy_install()
    on_snap = bool(installed_version()) and ctx.charm.record.started
    if package is None:
        if on_snap:
            raise ActionError(
                f"etcd {installed_version()} runs from the snap on {ctx.charm.unit} already; "
                "nothing to migrate"
            )
        raise ActionError(
            f"etcd's Debian package is not installed on {ctx.charm.unit}; nothing to migrate"
        )
    if on_snap:  # an earlier run migrated the member but could not remove the package
        _remove_package(ctx, "")
        ctx.set("output", "etcd runs from the snap; removed the package left by an earlier run")
        return
    ctx.check_config()
    save: Callable[[Etcdctl, MemberList], str] | None = None
    if backup:
        backup_dir = _target_dir(ctx, target, "target")

        def save(source: Etcdctl, members: MemberList) -> str:
            remedy = "run again with backup=false to migrate without one"
            return save_backup(
                ctx, backup_dir, "etcd_migration", remedy, members, (package.name, source)
            )

    try:
        done = ctx.charm.migrate_from_package(package, use_resource, save, ctx.progress)
    except (MigrationError, ActionError) as e:  # ActionError: the backup failed
        ctx.charm.set_status(S.package_install(ctx.charm.unit))
        if isinstance(e, ActionError):
            raise
        raise ActionError(
            f"snap-upgrade failed: {e}" + ("" if e.undone else "; nothing was changed")
        ) from None
    me = done.members.by_id(done.member_id)
    name = me.name if me else f"{done.member_id:x}"
    ctx.set("snap-upgrade.member", name)
    ctx.set("snap-upgrade.member-id", f"{done.member_id:x}")
    ctx.set("snap-upgrade.cluster-id", f"{done.cluster_id:x}")
    ctx.set("snap-upgrade.version", done.version)
    ctx.set("snap-upgrade.source", done.source)
    ctx.set("snap-upgrade.members", len(done.members.members))
    _remove_package(ctx, name)
    verdict = ctx.charm.show_health(done.members, done.member_id)
    ctx.set(
        "output",
        f"{name} ({done.member_id:x}) runs etcd {done.version} from the snap with its data "
        f"and membership; {verdict.message}",
    )


def _remove_package(ctx: Context, member: str) -> None:
    ctx.progress("removing the Debian package (its configuration and /var/lib/etcd)")
    try:
        purged = ctx.charm.remove_package()
    except WorkloadError as e:
        raise ActionError(
            f"etcd runs from the snap now{' (' + member + ')' if member else ''}, but removing "
            f"the Debian package failed: {e}; run snap-upgrade again to remove it"
        ) from None
    ctx.set("purged", " ".join(sorted(purged)) or "none")


ACTIONS: dict[str, Callable[[Context], None]] = {
    "snapshot": snapshot,
    "restore": restore,
    "health": health,
    "compact": compact,
    "defrag": defrag,
    "alarm-list": alarm_list,
    "alarm-disarm": alarm_disarm,
    "package-client-credentials": package_client_credentials,
    "snap-upgrade": snap_upgrade,
}


def main() -> None:
    charm_dir = os.environ.get("JUJU_CHARM_DIR") or os.path.dirname(
        os.path.dirname(os.path.abspath(sys.argv[0]))
    )
    os.environ.setdefault("CHARM_DIR", charm_dir)
    os.chdir(charm_dir)
    name = os.environ.get("JUJU_ACTION_NAME") or os.path.basename(sys.argv[0])
    handler = ACTIONS.get(name)
    if handler is None:
        hookenv.action_fail(f"no action {name!r} in this charm")
        return
    charm = EtcdCharm()
    ctx = Context(
        name, charm, Params(name, hookenv.action_get() or {}, declared_params(name, charm_dir))
    )
    try:
        handler(ctx)
    except ActionError as e:
        hookenv.action_fail(str(e))
    except (EtcdctlError, WorkloadError, OSError, TimeoutError) as e:
        hookenv.log(f"{name} failed:\n{traceback.format_exc()}", hookenv.ERROR)
        detail = e.detail if isinstance(e, EtcdctlError) else str(e)
        hookenv.action_fail(f"{name} failed: {detail}")
    except Exception as e:  # noqa: BLE001 - a bug: the details go to the log, not the output
        hookenv.log(f"{name} failed:\n{traceback.format_exc()}", hookenv.ERROR)
        hookenv.action_fail(
            f"{name} failed unexpectedly ({type(e).__name__}: {e}); see juju debug-log"
        )
    finally:
        if ctx.results:  # what was found before a failure is kept, as Juju keeps it
            hookenv.action_set(ctx.results)
        charm.kv.flush()
