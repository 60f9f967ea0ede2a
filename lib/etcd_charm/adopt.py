"""The shell of :mod:`takeover`: record the member the snap-era etcd charm left running on
this unit as this charm's, record on the leader that its cluster exists, and remove what of
it would keep acting (its restart drop-in, cdk-service-kicker, root's etcdctl aliases)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Collection

from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import hooktools, observe, workload
from . import takeover as T
from .configure import conf_hash, render
from .context import Ctx, client, local_url, log
from .etcd_json import MemberList
from .etcdctl import EtcdctlError


def record_cluster() -> None:
    """On the leader: record that the old charm's cluster exists (its ``cluster`` and
    ``token`` keys), before anything would found one."""
    if not hooktools.is_leader():
        return
    data = hooktools.leader_get() or {}
    record = T.leader_record(
        {
            "bootstrapped": data.get("bootstrapped"),
            "cluster": data.get("cluster"),
            "token": data.get("token"),
        }
    )
    if record:
        log(
            f"the cluster of the earlier etcd charm exists (founded by {record['bootstrapped']}): "
            "taking it over"
        )
        hooktools.leader_set({"bootstrapped": record["bootstrapped"]})


def take_over(ctx: Ctx, flags: Collection[str]) -> T.Hold | T.Refuse | None:
    """Adopt the old charm's member on this unit when there is one and this charm has no
    member recorded (:func:`takeover.adoption`). Hold or Refuse: nothing changed, the
    status says why."""
    record = ctx.record
    if record.started or record.taken_over or not T.had_member(flags):
        return None
    old_text = workload.read_file(C.CONF_PATH)
    old = T.OldMember.from_conf(T.parse_conf(old_text))
    if old is None or not os.path.isdir(os.path.join(old.data_dir or C.DATA_DIR, "member")):
        return None
    local_id = _local_member_id(ctx)
    members = _member_list(ctx, local_id is not None)
    leader_token = str(hooktools.leader_get("token") or "")
    decision = T.adoption(old, ctx.identity.name, leader_token, local_id, members)
    if not isinstance(decision, T.Adopt):
        if decision is not None:
            log(f"taking over this unit's etcd member: {decision.reason}", hookenv.WARNING)
        return decision
    record.bootstrap = decision.bootstrap
    new_text = render(ctx)
    restart = not T.same_runtime(old_text, new_text)
    if restart:
        # etcd keeps running as it is; the restart into this configuration waits for the
        # leader's grant, one unit at a time (restart-request)
        record.applied_hash = ""
    else:
        workload.write_file(C.CONF_PATH, new_text, 0o644)
        record.applied_hash = conf_hash(new_text)
    record.member_id = decision.member_id
    record.started = True
    if members is not None:
        record.remember_members(members)
    record.taken_over = {"member-id": f"{decision.member_id:x}", "restart": restart}
    log(
        f"took over member {decision.member_id:x} ({old.name}) of the earlier etcd charm: "
        + (
            "its configuration differs, it restarts when the leader grants it a turn"
            if restart
            else "its configuration is rewritten without a restart (etcd runs the same)"
        )
    )
    return None


def _local_member_id(ctx: Ctx) -> int | None:
    try:
        status = ctx.local().endpoint_status()
    except EtcdctlError as e:
        log(f"this unit's etcd does not answer: {e.detail}", hookenv.DEBUG)
        return None
    return status[0].member_id if status else None


def _member_list(ctx: Ctx, local: bool) -> MemberList | None:
    """The member list from this unit's member, else from any other the peers or the old
    leader data name (the old charm's peers publish only ``db-ingress-address``)."""
    endpoints = [local_url(ctx.settings)] if local else []
    for peer in observe.peers(ctx.hook):
        if peer.client_url:
            endpoints.append(peer.client_url)
        elif peer.db_address:
            endpoints.append(C.build_uri("https", peer.db_address, ctx.settings.port))
    leader_address = str(hooktools.leader_get("leader_address") or "")
    if leader_address:
        endpoints.append(leader_address)
    for endpoint in dict.fromkeys(endpoints):  # one at a time: a down member costs its dial
        try:
            return client([endpoint]).member_list()
        except EtcdctlError as e:
            log(f"member list from {endpoint}: {e.detail}", hookenv.DEBUG)
    return None


def remove_leftovers() -> list[str]:
    """Remove what the old charm left that would keep acting; what was removed."""
    done: list[str] = []
    reload = False
    if workload.remove_file(T.OLD_DROPIN):
        done.append(T.OLD_DROPIN)
        reload = True
    script = workload.read_file(T.KICKER_SCRIPT)
    if script:
        rest = T.kicker_without(script, workload.SERVICE)
        if rest is None:
            _systemctl("disable", "--now", T.KICKER)
            for path in (T.KICKER_UNIT, T.KICKER_SCRIPT):
                workload.remove_file(path)
            done.append(f"{T.KICKER} (service and script)")
            reload = True
        elif rest != script:
            # another charm's services stay kicked; a new file, not the running one's inode
            workload.write_file(T.KICKER_SCRIPT, rest, 0o775)
            done.append(f"{workload.SERVICE} from {T.KICKER_SCRIPT}")
    aliases = workload.read_file(T.BASH_ALIASES)
    if aliases:
        kept = T.aliases_without(aliases, C.CERT_FILES)
        if kept != aliases:
            if kept.strip():
                workload.write_file(T.BASH_ALIASES, kept, 0o644)
            else:
                workload.remove_file(T.BASH_ALIASES)
            done.append(f"the etcdctl exports of {T.BASH_ALIASES}")
    venv = os.path.realpath(os.path.join(hookenv.charm_dir(), "..", ".venv"))
    if os.path.isdir(venv) and not os.path.realpath(sys.prefix).startswith(venv):
        shutil.rmtree(venv, ignore_errors=True)
        done.append(venv)
    if reload:
        _systemctl("daemon-reload")
    for what in done:
        log(f"removed what the earlier etcd charm left: {what}")
    return done


def _systemctl(*args: str) -> None:
    try:
        workload.systemctl(*args)
    except workload.WorkloadError as e:
        log(str(e), hookenv.WARNING)
