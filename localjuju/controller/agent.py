"""The unit agent: runs one operation at a time for its unit, as Juju's uniter does.

Each unit has one :class:`UnitAgent` (an asyncio task in the controller). It enters relation scopes,
asks :func:`resolver.next_op` what to do, runs hooks, actions and ``juju exec`` commands inside
the unit's machine under the machine lock, commits the hook context only when the process exits
0, and retries failed hooks with Juju's back-off.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
import shutil
import socket
import time
from collections.abc import Container
from pathlib import Path
from typing import Any, Protocol

from . import resolver
from .context import ContextController, HookContext
from .resolver import HookInfo, Op, RelationSnapshot, Remote
from .state import (
    UNTIL_RESTART,
    HookError,
    Relation,
    RelationLocal,
    Settings,
    Task,
    Unit,
    now,
    unit_tag,
)

log = logging.getLogger("localjuju.agent")

RETRY_START = 5.0
RETRY_MAX = 300.0
# Juju's HookHandlerType names, as its uniter logs them ("ran ... hook (via ...)").
EXPLICIT_HANDLER = "explicit, bespoke hook script"
DISPATCH_HANDLER = "hook dispatching script: dispatch"
INVALID_HANDLER = "unknown/invalid hook handler"
AGENT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin"


MANIFEST = ".localjuju-manifest"


def operation_string(info: HookInfo) -> str:
    """runHook.String(): the operation as the uniter's executor logs it."""
    suffix = ""
    if info.kind.startswith("relation-"):
        if not info.remote_unit:
            suffix = f" ({info.relation_id}; app: {info.remote_app})"
        elif info.departing_unit:
            suffix = (f" ({info.relation_id}; unit: {info.remote_unit}, "
                      f"departee: {info.departing_unit})")  # fmt: skip
        else:
            suffix = f" ({info.relation_id}; unit: {info.remote_unit})"
    elif info.storage_id:
        suffix = f" ({info.storage_id})"
    return f"run {info.kind}{suffix} hook"


def running_hook_message(info: HookInfo) -> str:
    """RunningHookMessage: the agent status message while a hook runs."""
    if info.kind.startswith("relation-") and info.remote_unit:
        return f"running {info.name} hook for {info.remote_unit}"
    return f"running {info.name} hook"


def charm_members(root: Path) -> list[str]:
    """Every file, link and directory of a charm, relative to its root (the archive's
    members)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            out.append(Path(dirpath, name).relative_to(root).as_posix())
    return sorted(out)


async def deploy_charm(source: Path, dest: Path) -> None:
    """Put the charm in the unit's charm directory as Juju's manifest deployer does
    (worker/uniter/charm/manifest_deployer.go): what the previous charm had and the new one
    does not is removed (a hook or dispatch of the old charm must not run any more); files
    the charm made at run time (the unit state, caches) stay.

    Juju's unit agent expands the archive itself, on its own machine, in Go; the copy here
    runs in a ``cp`` of its own, so that it costs what an unpack costs and the controller's
    event loop (every other unit's hook tools) does not wait for it."""
    members = charm_members(source)
    manifest = dest / MANIFEST
    if manifest.exists():
        previous = set(json.loads(manifest.read_text()))
        for rel in sorted(previous - set(members), reverse=True):
            path = dest / rel
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
    dest.mkdir(parents=True, exist_ok=True)
    # -T: into dest (merged with what is there); -P: links as links; -f: a file in the way
    # (a link where the charm has one) is replaced
    proc = await asyncio.create_subprocess_exec(
        "cp", "-R", "-P", "-f", "-T", "--preserve=mode,timestamps", str(source), str(dest),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise OSError(f"cannot deploy the charm to {dest}: {err.decode(errors='replace').strip()}")
    manifest.write_text(json.dumps(members))


def deploy_due(deployed: int | None, app_revision: int, op: Op | None) -> bool:
    """Whether the unit's charm directory gets the application's current charm now. Juju's
    unit agent unpacks a charm at its first install and in the upgrade operation, right
    before upgrade-charm runs (worker/uniter/operation/deploy.go); every hook due before
    that operation (the reboot resolver's start, relation-created, leadership hooks, actions,
    a failed hook's retries: resolver.go's NextOp) runs the charm the unit already has."""
    if deployed is None:
        return True
    if deployed == app_revision or op is None or op.hook is None:
        return False
    return op.kind == "hook" and op.hook.kind in ("install", "upgrade-charm")


def hook_error(info: HookInfo, **kw: Any) -> HookError:
    """The unit's record of a hook that did not complete (the uniter's pending hook)."""
    return HookError(
        hook=info.name,
        relation_id=info.relation_id,
        remote_unit=info.remote_unit,
        remote_app=info.remote_app,
        departing_unit=info.departing_unit,
        change_version=info.change_version,
        storage_id=info.storage_id,
        **kw,
    )


class AgentController(ContextController, Protocol):
    """What a unit agent uses of the controller (the Controller has it all): what its hook
    contexts use (they reach the controller through the agent), and the Python its hook tools
    run on, the Juju version it reports, the machine locks and the machines going down, the
    update-status interval, and the unit leaving a relation's scope or being removed."""

    @property
    def python(self) -> str: ...

    @property
    def juju_version(self) -> str: ...

    @property
    def halting(self) -> Container[str]: ...

    def machine_lock(self, mid: str) -> asyncio.Lock: ...

    def update_status_interval(self) -> float: ...

    def leave_scope(self, rid: str, unit: str) -> None: ...

    def may_enter_scope(self, rel: Relation, unit: Unit) -> bool: ...

    def unit_removed(self, name: str) -> None: ...


class UnitAgent:
    def __init__(self, ctl: AgentController, unit_name: str):
        self.ctl = ctl
        self.unit_name = unit_name
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.server: asyncio.AbstractServer | None = None
        self.contexts: dict[str, HookContext] = {}
        # Remote unit settings cached across hooks (RelationCache): (rid, unit) -> settings.
        self.cache: dict[tuple[int, str], dict[str, str]] = {}
        self.current: HookContext | None = None
        self.stopped = False
        # The Go runtime's draws for the uniter's map ranges (resolver.relation_orders).
        # LOCALJUJU_SEED makes them repeatable, for one unit and one sequence of decisions.
        seed = os.environ.get("LOCALJUJU_SEED")
        self.rng = random.Random(f"{seed}/{unit_name}" if seed else None)

    # ------------------------------------------------------------------ paths

    @property
    def unit(self) -> Unit:
        return self.ctl.model.units[self.unit_name]

    @property
    def base_dir(self) -> str:
        return f"/var/lib/juju/agents/{unit_tag(self.unit_name)}"

    @property
    def charm_dir(self) -> str:
        return f"{self.base_dir}/charm"

    @property
    def tools_dir(self) -> str:
        return f"/var/lib/juju/tools/{unit_tag(self.unit_name)}"

    def host(self, path: str) -> Path:
        return self.ctl.machine(self.unit.machine).host_path(path)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run(), name=self.unit_name)

    async def stop(self) -> None:
        self.stopped = True
        self.wake.set()
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass
        await self.close_socket()

    async def close_socket(self) -> None:
        if self.server:
            self.server.close()
            self.server = None

    async def ensure_deployed(self, op: Op | None = None) -> None:
        """Unpack the charm (:func:`deploy_due`: the application's, for its first hook or
        the upgrade operation ``op``) and the hook tools on the machine; open the agent
        socket."""
        app = self.ctl.model.applications[self.unit.app]
        charm_host = self.host(self.charm_dir)
        marker = charm_host / ".localjuju-revision"
        deployed = int(marker.read_text()) if marker.exists() else None
        if deploy_due(deployed, app.charm_revision, op):
            charm_host.mkdir(parents=True, exist_ok=True)
            await deploy_charm(Path(app.charm_dir), charm_host)
            (charm_host / "revision").write_text(f"{app.charm_revision}\n")
            marker.write_text(str(app.charm_revision))
        tools_host = self.host(self.tools_dir)
        if not (tools_host / "jujuc").exists():
            from ..hooktools.server import install_tools

            install_tools(tools_host, self.ctl.python)
        if self.server is None:
            self.server = await self._listen(self.host(self.base_dir) / "agent.socket")

    async def _listen(self, path: Path) -> asyncio.AbstractServer:
        from ..hooktools.server import handle_connection

        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # A host path can exceed the 108-byte limit of unix socket addresses: bind relatively.
        cwd = os.getcwd()
        try:
            os.chdir(path.parent)
            sock.bind(path.name)
        finally:
            os.chdir(cwd)

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await handle_connection(reader, writer, self.contexts.get)

        return await asyncio.start_unix_server(handler, sock=sock)

    async def run(self) -> None:
        while not self.stopped:
            self.wake.clear()
            try:
                done = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("agent %s: unexpected error", self.unit_name)
                self.ctl.debug(unit_tag(self.unit_name), "ERROR", "juju.worker.uniter",
                               "unexpected agent error; see controller.log")  # fmt: skip
                done = False
            if self.stopped or self.unit_name not in self.ctl.model.units:
                return
            if done:
                continue
            timeout = self.next_timer()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    def on_idle(self) -> None:
        """The resolver has no operation: Juju's resolver loop calls OnIdle (agent status
        idle) only then (ErrNoOperation; not while it waits for a failed hook's retry,
        ErrWaiting). A hook's commit leaves "executing" as it is, so a unit with hooks
        queued never shows idle between them, and a unit resolved from an error shows it
        until nothing is left to run."""
        unit = self.unit
        current = unit.agent_status.current
        if current == "executing" or (current == "error" and unit.local.error is None):
            unit.agent_status.set("idle")
            self.ctl.changed()

    def next_timer(self) -> float | None:
        local = self.unit.local
        times = []
        if local.started:
            times.append(local.update_status_due)
        if local.error is not None and local.error.retry_at != UNTIL_RESTART:
            times.append(local.error.retry_at)
        if not times:
            return None
        return max(0.05, min(times) - time.time())

    async def step(self) -> bool:
        """Run at most one operation; returns whether one ran."""
        unit = self.unit
        machine = self.ctl.machine(unit.machine)
        if not machine.running() or self.ctl.model.machines[unit.machine].network_cut:
            return False
        await self.ensure_deployed()
        if unit.agent_status.current == "allocating":
            unit.agent_status.set("idle")  # the install hook's beforeHook sets the workload's
            self.ctl.changed()
        self.sync_scopes()
        remote = self.remote()
        op = resolver.next_op(unit.local, remote)
        if op is None:
            self.on_idle()
            return False
        await self.ensure_deployed(op)
        await self.execute(op, remote)
        return True

    # ------------------------------------------------------------------ remote state

    def config_hash(self) -> str:
        app = self.ctl.model.applications[self.unit.app]
        cfg = self.ctl.app_config(app.name)
        addr = self.ctl.model.machines[self.unit.machine].address
        blob = json.dumps([cfg, addr], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def remote(self) -> Remote:
        m = self.ctl.model
        unit = self.unit
        app = m.applications[unit.app]
        life = "dying" if unit.life != "alive" or app.life != "alive" else "alive"
        rels: dict[int, RelationSnapshot] = {}
        for rel in m.relations_of(unit.app):
            ep = rel.endpoint_of(unit.app)
            assert ep is not None
            other = rel.other_app(unit.app)
            # a container-scoped relation's units see only those of their own container
            container = unit.container if rel.endpoints[0].scope == "container" else None
            members = {
                u: rel.units[u].version if u in rel.units else 0
                for u, departing in rel.scope.items()
                if not departing
                and u != unit.name
                and u.split("/")[0] == other
                and (container is None or (u in m.units and m.units[u].container == container))
            }
            app_members = {other: rel.apps[other].version} if other in rel.apps else {}
            rels[rel.id] = RelationSnapshot(
                endpoint=ep.name,
                remote_app=other,
                is_peer=rel.is_peer,
                life=rel.life,
                members=members,
                app_members=app_members,
            )
        pending = [t for t in m.tasks.values() if t.unit == unit.name and t.status == "pending"]
        pending.sort(key=lambda t: int(t.id))
        t_now = time.time()
        err = unit.local.error
        mine = self.ctl.storage.of_unit(unit.name)
        for s in mine:
            # an attachment going away that the unit never attached needs no hook
            if s.attachment_life != "alive" and s.id not in unit.local.storage_attached:
                self.ctl.storage.attachment_removed(s)
                self.ctl.changed()
        mine = self.ctl.storage.of_unit(unit.name)
        # the watcher's map holds the relations in the order the unit learned of them
        created_order, hook_order = resolver.relation_orders(sorted(rels), self.rng)
        return Remote(
            created_order=created_order,
            hook_order=hook_order,
            unit=unit.name,
            life=life,
            leader=app.leader == unit.name,
            leader_settings_version=app.leader_settings.version,
            config_hash=self.config_hash(),
            charm_revision=app.charm_revision,
            relations=rels,
            pending_task=pending[0].id if pending else "",
            update_status_due=unit.local.started and unit.local.update_status_due <= t_now,
            retry_due=err is not None and err.retry_at <= t_now,
            auto_retry=bool(m.config.get("automatically-retry-hooks", True)),
            resolved=unit.resolved,
            storage=[s.id for s in mine
                     if s.attachment_life == "alive" and self.ctl.storage.provisioned(s)],
            storage_detaching=[s.id for s in mine if s.attachment_life != "alive"],
            storage_pending=any(
                s.attachment_life == "alive" and not self.ctl.storage.provisioned(s) for s in mine
            ),
        )  # fmt: skip

    def sync_scopes(self) -> None:
        """Enter the scope of every alive relation once installed (SynchronizeScopes)."""
        unit = self.unit
        m = self.ctl.model
        if not unit.local.installed or unit.life != "alive":
            return
        if m.applications[unit.app].life != "alive":
            return
        changed = False
        for rel in m.relations_of(unit.app):
            if rel.life != "alive" or unit.name in rel.scope:
                continue
            if not self.ctl.may_enter_scope(rel, unit):
                continue
            addr = m.machines[unit.machine].address
            settings = rel.units.setdefault(unit.name, Settings())
            settings.update(
                {"private-address": addr, "ingress-address": addr, "egress-subnets": f"{addr}/32"}
            )
            rel.scope[unit.name] = False
            unit.local.relations.setdefault(str(rel.id), RelationLocal())
            changed = True
        if changed:
            self.ctl.changed()

    # ------------------------------------------------------------------ operations

    async def execute(self, op: Op, remote: Remote) -> None:
        unit = self.unit
        if op.resolved:
            self.clear_resolved()
        if op.kind == "skip-hook":
            assert op.hook is not None
            self.skip_hook(op.hook, remote)
            self.ctl.changed()
            return
        if op.kind == "resign-leadership":
            unit.local.leader = False
            self.ctl.changed()
            return
        if op.kind == "task":
            await self.run_task(self.ctl.model.tasks[op.task_id])
            return
        assert op.hook is not None
        if op.hook.kind == "start" and unit.local.reboot_detected:
            self.ctl.debug(unit_tag(unit.name), "INFO", "juju.worker.uniter.reboot",
                           "reboot detected; triggering implicit start hook to notify charm")  # fmt: skip
        await self.run_hook(op.hook, remote)

    def hook_handler(
        self, hook_name: str | None, action: str | None
    ) -> tuple[str, str, str | None]:
        """Juju's discoverHookHandler: (path inside the machine, handler type, error or None);
        path "" without an error = missing. An existing but non-executable `dispatch` is an
        error, not a fall-back to hooks/ (exec.LookPath reports it as permission denied)."""
        charm = self.host(self.charm_dir)
        if not (charm / "metadata.yaml").exists():
            return "", INVALID_HANDLER, "charm missing from disk"
        rel = f"hooks/{hook_name}" if hook_name is not None else f"actions/{action}"
        for name, kind in (("dispatch", DISPATCH_HANDLER), (rel, EXPLICIT_HANDLER)):
            f = charm / name
            if not f.exists():
                continue
            if f.is_dir() or not os.access(f, os.X_OK):
                return "", INVALID_HANDLER, f'exec: "{self.charm_dir}/{name}": permission denied'
            return f"{self.charm_dir}/{name}", kind, None
        return "", INVALID_HANDLER, None

    def env(self, ctx: HookContext, dispatch_path: str) -> dict[str, str]:
        m = self.ctl.model
        unit = self.unit
        cfg = m.config
        env = {
            "CHARM_DIR": self.charm_dir,
            "JUJU_CHARM_DIR": self.charm_dir,
            "JUJU_CONTEXT_ID": ctx.id,
            "JUJU_HOOK_NAME": ctx.hook_name,
            "JUJU_AGENT_SOCKET_ADDRESS": f"{self.base_dir}/agent.socket",
            "JUJU_AGENT_SOCKET_NETWORK": "unix",
            "JUJU_UNIT_NAME": unit.name,
            "JUJU_MODEL_UUID": m.uuid,
            "JUJU_MODEL_NAME": m.name,
            "JUJU_API_ADDRESSES": f"{self.ctl.network.gateway}:17070",
            "JUJU_SLA": "unsupported",
            "JUJU_MACHINE_ID": unit.machine,
            "JUJU_PRINCIPAL_UNIT": unit.principal,
            "JUJU_AVAILABILITY_ZONE": "",
            "JUJU_VERSION": self.ctl.juju_version,
            "CLOUD_API_VERSION": "",
            "JUJU_CHARM_HTTP_PROXY": str(cfg.get("juju-http-proxy", "")),
            "JUJU_CHARM_HTTPS_PROXY": str(cfg.get("juju-https-proxy", "")),
            "JUJU_CHARM_FTP_PROXY": str(cfg.get("juju-ftp-proxy", "")),
            "JUJU_CHARM_NO_PROXY": str(cfg.get("juju-no-proxy", "")),
            "APT_LISTCHANGES_FRONTEND": "none",
            "DEBIAN_FRONTEND": "noninteractive",
            "LANG": "C.UTF-8",
            "TERM": "tmux-256color",
            "PATH": f"{self.tools_dir}:{AGENT_PATH}",
            "JUJU_DISPATCH_PATH": dispatch_path,
        }
        info = ctx.hook
        if info is not None and info.relation_id is not None:
            rel = self.ctl.model.relations.get(str(info.relation_id))
            ep = info.name.split("-relation-")[0]
            env["JUJU_RELATION"] = ep
            env["JUJU_RELATION_ID"] = f"{ep}:{info.relation_id}"
            env["JUJU_REMOTE_UNIT"] = info.remote_unit
            env["JUJU_REMOTE_APP"] = info.remote_app or (rel.other_app(unit.app) if rel else "")
            if info.kind == "relation-departed":
                env["JUJU_DEPARTING_UNIT"] = info.departing_unit
        if info is not None and info.storage_id:
            env["JUJU_STORAGE_ID"] = info.storage_id
            st = self.ctl.model.storage.get(info.storage_id)
            env["JUJU_STORAGE_LOCATION"] = ctx.storage_location(info.storage_id)
            env["JUJU_STORAGE_KIND"] = st.kind if st is not None else "block"
        if ctx.task is not None and ctx.task.name != "juju-exec":
            env["JUJU_ACTION_NAME"] = ctx.task.name
            env["JUJU_ACTION_UUID"] = ctx.task.id
            env["JUJU_ACTION_TAG"] = f"action-{ctx.task.id}"
        return env

    def prune_cache(self, info: HookInfo | None) -> None:
        """A new context's relation caches (the context factory's ``RelationCache.Prune``):
        a member's settings stay cached until its next joined or changed hook; a non-member's
        (a unit that entered scope but has not joined here yet, or one that departed) are
        read afresh in each hook. The hook's own remote unit is kept for joined and changed
        (re-read below); in departed it is no member any more (``RemoveMember`` when the
        context is made): its settings, which outlive its scope (state's ``ReadSettings``),
        are read afresh, with what it committed after this unit's last hook for it."""
        keep = {(int(rid), u) for rid, rl in self.unit.local.relations.items() for u in rl.members}
        if info is not None and info.relation_id is not None and info.remote_unit:
            if info.kind == "relation-departed":
                keep.discard((info.relation_id, info.remote_unit))
            else:
                keep.add((info.relation_id, info.remote_unit))
        for key in [k for k in self.cache if k not in keep]:
            del self.cache[key]

    async def run_hook(self, info: HookInfo, remote: Remote) -> None:
        unit = self.unit
        m = self.ctl.model
        self.prune_cache(info)
        # Remote unit settings are re-read only when a joined/changed hook for it runs.
        if (
            info.relation_id is not None
            and info.remote_unit
            and info.kind
            in (
                "relation-joined",
                "relation-changed",
            )
        ):
            rel = m.relations.get(str(info.relation_id))
            if rel is not None and info.remote_unit in rel.units:
                self.cache[(info.relation_id, info.remote_unit)] = dict(
                    rel.units[info.remote_unit].data
                )
        path, via, err = self.hook_handler(info.name, None)
        ctx = HookContext(self, info, None)
        machine_lock = self.ctl.machine_lock(unit.machine)
        async with machine_lock:
            self.before_hook(info)
            if info.kind != "update-status":  # Juju does not record update-status runs
                unit.agent_status.set("executing", running_hook_message(info))
            self.ctl.changed()
            failure = ""
            if err is not None:
                code: int | None = 1
                failure = err
            elif not path:
                code = 0
                self.ctl.debug(unit_tag(unit.name), "INFO", "juju.worker.uniter.operation",
                               f'skipped "{info.name}" hook (missing)')  # fmt: skip
            else:
                self.ctl.debug(unit_tag(unit.name), "DEBUG", "juju.worker.uniter.operation",
                               f'executing operation "{operation_string(info)}" for {unit.name}')  # fmt: skip
                code = await self.spawn(ctx, path, f"hooks/{info.name}", info.name)
        if code is None:
            # The machine went down under the hook: nothing is committed and the uniter's
            # operation state stays "run hook, pending"; the restarted agent reports it as
            # failed and retries it (see machine_restarted).
            unit.local.error = hook_error(info, retry_at=UNTIL_RESTART)
            unit.agent_status.set("idle")
            self.ctl.changed()
            return
        if code == 0:
            self.after_hook(ctx, info)
            self.commit_hook(ctx, info, remote, via if path else "")
        else:
            self.fail_hook(info, via, failure or f"exit status {code}")
        self.ctl.changed()

    def before_hook(self, info: HookInfo) -> None:
        """runHook.beforeHook: the workload statuses Juju itself sets before some hooks."""
        unit = self.unit
        if info.kind == "install" and not unit.local.status_set:
            unit.workload_status.set("maintenance", "installing charm software")
        elif info.kind == "stop":
            unit.workload_status.set("maintenance", "stopping charm software")
        elif info.kind == "remove":
            unit.workload_status.set("maintenance", "cleaning up prior to charm deletion")

    def after_hook(self, ctx: HookContext, info: HookInfo) -> None:
        """runHook.afterHook, after a hook that succeeded or was missing: stop leaves
        maintenance without a message, remove terminated, and a start after which the charm
        has never set its status leaves it unknown. Whether the charm ever set its status is
        remembered (State.StatusSet)."""
        unit = self.unit
        status_set = ctx.unit_status_set or unit.local.status_set
        if info.kind == "stop":
            unit.workload_status.set("maintenance")
        elif info.kind == "remove":
            unit.workload_status.set("terminated")
        elif info.kind == "start" and not status_set:
            unit.workload_status.set("unknown")
        unit.local.status_set = status_set

    def clear_resolved(self) -> None:
        """The agent acts on `juju resolved`: ClearResolved, and the retry timer is reset
        (StopRetryHookTimer), so a hook that fails again backs off from the start (5 s)."""
        unit = self.unit
        unit.resolved = ""
        if unit.local.error is not None:
            unit.local.error.attempts = 0

    def commit_hook(self, ctx: HookContext, info: HookInfo, remote: Remote, via: str) -> None:
        """A hook that exited 0 (or was missing: `via` empty, already logged as skipped)."""
        ctx.commit()
        self.record_hook(info, remote)
        if via:
            self.ctl.debug(unit_tag(self.unit_name), "INFO", "juju.worker.uniter.operation",
                           f'ran "{info.name}" hook (via {via})')  # fmt: skip

    def skip_hook(self, info: HookInfo, remote: Remote) -> None:
        """`juju resolved --no-retry`: the failed hook is marked done without running it
        (Juju's skip operation: Prepare and Execute skipped, runHook.Commit done). Its queued
        follow-ups proceed; nothing of its failed run is committed (that context is gone)."""
        self.ctl.debug(unit_tag(self.unit_name), "DEBUG", "juju.worker.uniter.operation",
                       f'committing operation "skip run {info.name} hook" for '
                       f"{self.unit_name}")  # fmt: skip
        self.record_hook(info, remote)

    def record_hook(self, info: HookInfo, remote: Remote) -> None:
        """What a hook's commit does to the unit's state, whether it ran or was skipped."""
        unit = self.unit
        resolver.commit(unit.local, info, remote)
        if info.kind == "start" or (info.kind == "update-status"):
            unit.local.update_status_due = time.time() + self.ctl.update_status_interval()
        if info.kind == "relation-broken" and info.relation_id is not None:
            self.ctl.leave_scope(str(info.relation_id), unit.name)
        if info.kind == "storage-detaching":
            st = self.ctl.model.storage.get(info.storage_id)
            if st is not None and st.unit == unit.name:
                self.ctl.storage.attachment_removed(st)
        if info.kind == "remove":
            self.ctl.unit_removed(unit.name)

    def machine_restarted(self) -> None:
        """The unit's machine booted again, and its agent with it (a new uniter):

        * a hook the shutdown or crash interrupted is still pending: the resolver reports it
          as failed ("awaiting error resolution") and the retry timer starts, from its
          shortest back-off, as for any hook error found at start-up;
        * the uniter detects the reboot: once no hook is pending, it runs an implicit start
          hook (reboot/resolver.go)."""
        unit = self.unit
        err = unit.local.error
        if err is not None:
            delay = RETRY_START * random.uniform(0.9, 1.1)
            err.attempts, err.retry_at = 1, time.time() + delay
            self.ctl.debug(unit_tag(unit.name), "INFO", "juju.worker.uniter",
                           f'awaiting error resolution for "{err.hook}" hook')  # fmt: skip
            self.show_hook_error(err)
        unit.local.reboot_detected = True  # the resolver runs start only for a started unit
        self.wake.set()

    def show_hook_error(self, err: HookError) -> None:
        """ReportHookError: the agent status Juju shows for a failed hook."""
        data: dict[str, Any] = {"hook": err.hook}
        if err.relation_id is not None:
            data["relation-id"] = err.relation_id
        if err.remote_unit:
            data["remote-unit"] = err.remote_unit
        self.unit.agent_status.set("error", f'hook failed: "{err.hook}"', data)

    def fail_hook(self, info: HookInfo, via: str, reason: str) -> None:
        unit = self.unit
        prev = unit.local.error
        attempts = (prev.attempts + 1) if prev and prev.hook == info.name else 1
        delay = min(RETRY_MAX, RETRY_START * (2 ** (attempts - 1)))
        delay *= random.uniform(0.9, 1.1)  # Juju's back-off has jitter
        unit.local.error = hook_error(info, attempts=attempts, retry_at=time.time() + delay)
        self.show_hook_error(unit.local.error)
        self.ctl.debug(unit_tag(unit.name), "ERROR", "juju.worker.uniter.operation",
                       f'hook "{info.name}" (via {via}) failed: {reason}')  # fmt: skip

    async def spawn(
        self, ctx: HookContext, path: str, dispatch_path: str, log_name: str,
        argv: list[str] | None = None, stdin: bytes | None = None,
    ) -> int | None:  # fmt: skip
        """Run a process in the unit's machine with the context's environment.

        Returns its exit code, or None when the machine died under it.
        """
        machine = self.ctl.machine(self.unit.machine)
        env = self.env(ctx, dispatch_path)
        cmd = argv or [path]
        full = [
            *machine.nsenter_argv(),
            "env", "-i", "-C", self.charm_dir,
            *[f"{k}={v}" for k, v in env.items()],
            *cmd,
        ]  # fmt: skip
        self.contexts[ctx.id] = ctx
        self.current = ctx
        try:
            proc = await asyncio.create_subprocess_exec(
                *full,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            module = f"unit.{self.unit.name}.{log_name}"
            tag = unit_tag(self.unit.name)

            async def pump(stream: asyncio.StreamReader, level: str, sink: bytearray) -> None:
                # chunks, not readline(): a line of any length (a command printing a large
                # JSON document) is captured whole
                pending = b""
                while True:
                    chunk = await stream.read(1 << 16)
                    if not chunk:
                        if pending:
                            self.ctl.debug(tag, level, module, pending.decode(errors="replace"))
                        return
                    sink.extend(chunk)
                    *lines, pending = (pending + chunk).split(b"\n")
                    for line in lines:
                        self.ctl.debug(tag, level, module, line.decode(errors="replace"))

            if stdin is not None and proc.stdin:
                proc.stdin.write(stdin)
                await proc.stdin.drain()
                proc.stdin.close()
            assert proc.stdout and proc.stderr
            await asyncio.gather(
                pump(proc.stdout, "DEBUG", ctx.stdout), pump(proc.stderr, "WARNING", ctx.stderr)
            )
            code = await proc.wait()
        finally:
            self.contexts.pop(ctx.id, None)
            self.current = None
        if not machine.running() or self.unit.machine in self.ctl.halting:
            return None  # the machine went down under it (killed or shut down)
        if code < 0:
            # Killed by a signal: Juju reports "terminated"; treat as failure.
            return 128 - code
        return code

    # ------------------------------------------------------------------ actions and exec

    async def run_task(self, task: Task) -> None:
        unit = self.unit
        task.status = "running"
        task.started = now()
        self.ctl.changed()
        self.prune_cache(None)
        ctx = HookContext(self, None, task)
        if task.name == "juju-exec":
            async with self.ctl.machine_lock(unit.machine):
                code = await self.spawn(
                    ctx, "/bin/bash", "", "juju-exec",
                    argv=["/bin/bash", "-c", str(task.params.get("command", ""))],
                )  # fmt: skip
            self.finish_task(task, ctx, code, exec_=True)
            return
        if task.name not in self.ctl.charm(unit.app).actions:
            task.status = "failed"
            task.message = f'action not implemented on unit "{unit.name}"'
            task.completed = now()
            self.ctl.changed()
            return
        path, _, err = self.hook_handler(None, task.name)
        if err is not None or not path:
            task.status = "failed"
            task.message = err or f'action not implemented on unit "{unit.name}"'
            task.completed = now()
            self.ctl.changed()
            return
        async with self.ctl.machine_lock(unit.machine):
            code = await self.spawn(ctx, path, f"actions/{task.name}", task.name)
        self.finish_task(task, ctx, code, exec_=False)

    def finish_task(self, task: Task, ctx: HookContext, code: int | None, *, exec_: bool) -> None:
        if code is None:
            task.status = "error"
            task.message = "machine went down while running the task"
            task.completed = now()
            self.ctl.changed()
            return
        results: dict[str, Any] = dict(ctx.action_results)
        results["return-code"] = code
        for name, buf in (("stdout", ctx.stdout), ("stderr", ctx.stderr)):
            if not buf:
                continue
            try:
                results[name] = buf.decode("utf-8")
            except UnicodeDecodeError:
                import base64

                results[name] = base64.b64encode(bytes(buf)).decode()
                results[f"{name}-encoding"] = "base64"
        task.results = results
        task.log = ctx.action_log_entries
        if code == 0 and not ctx.action_failed:
            ctx.commit()
            task.status = "completed"
        elif ctx.action_failed:
            if code == 0:
                ctx.commit()
            task.status = "failed"
            task.message = ctx.action_fail_message
        else:
            task.status = "failed"
            task.message = f"exit status {code}"
        task.completed = now()
        self.ctl.changed()
