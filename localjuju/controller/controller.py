"""The model's controller: owns the model state, the machines and the unit agents.

One controller process per model (``python -m localjuju.controller.daemon <model dir>``). It
keeps running after the CLI returns, serves the CLI on ``controller.sock`` (see daemon.py) and
stops on destroy-model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import re
import shutil
import time
from pathlib import Path
from typing import Any

from .. import bases, paths
from .. import store as S
from . import charm as charmlib
from . import state
from .agent import UnitAgent
from .charm import Charm, CharmError
from .machines import JUJU_VERSION, Machine, Network
from .state import (
    Application,
    Endpoint,
    Model,
    Relation,
    Resource,
    StatusInfo,
    Task,
    Unit,
    unit_tag,
)
from .storage import Directive, StorageError, StorageManager, parse_storage_flag

log = logging.getLogger("localjuju.controller")

APP_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*$")
BUILTIN = ("easyrsa", "etcd-client")


class UserError(Exception):
    """An error reported to the CLI user as ``ERROR <message>``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.message = message
        self.code = code


def parse_duration(s: str) -> float:
    """Go durations as used in model config: 5m, 30s, 1h30m, 500ms."""
    total = 0.0
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", str(s)):
        total += float(num) * units[unit]
    if total <= 0:
        raise ValueError(f"invalid duration {s!r}")
    return total


class Controller:
    def __init__(self, model_dir: Path):
        self.dir = model_dir
        self.model: Model = state.load(model_dir / "state.json")
        self.network = Network(self.model.network_index)
        self.agents: dict[str, UnitAgent] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._machines: dict[str, Machine] = {}
        self._charms: dict[str, Charm] = {}
        self.juju_version = JUJU_VERSION
        self.python = str(paths.venv_python())
        self.debug_path = model_dir / "debug.log"
        self._debug = open(self.debug_path, "a", buffering=1)
        self.cond = asyncio.Condition()
        self._save_pending = False
        self._machine_down_since: dict[str, float] = {}
        # machines being killed or shut down right now: a hook that ends meanwhile was
        # interrupted by it, whatever its exit status
        self.halting: set[str] = set()
        self.stopping = False
        self.storage = StorageManager(self)

    # ------------------------------------------------------------------ basics

    def machine(self, mid: str) -> Machine:
        if mid not in self._machines:
            sm = self.model.machines.get(mid)
            base = sm.base if sm is not None else "ubuntu@22.04"
            self._machines[mid] = Machine(
                self.dir, self.model.name, self.model.uuid, self.network, int(mid), base
            )
        return self._machines[mid]

    def machine_lock(self, mid: str) -> asyncio.Lock:
        return self._locks.setdefault(mid, asyncio.Lock())

    def charm(self, app: str) -> Charm:
        a = self.model.applications[app]
        key = f"{app}:{a.charm_revision}"
        if key not in self._charms:
            self._charms[key] = charmlib.read_charm(Path(a.charm_dir))
        return self._charms[key]

    def app_config(self, app: str) -> dict[str, Any]:
        ch = self.charm(app)
        cfg = ch.config_defaults()
        cfg.update(self.model.applications[app].config)
        return cfg

    def update_status_interval(self) -> float:
        return parse_duration(self.model.config.get("update-status-hook-interval", "5m"))

    def debug(self, entity: str, level: str, module: str, message: str) -> None:
        rec = {"ts": time.time(), "entity": entity, "level": level, "module": module,
               "message": message}  # fmt: skip
        self._debug.write(json.dumps(rec) + "\n")

    def save(self) -> None:
        state.save(self.model, self.dir / "state.json")

    def changed(self) -> None:
        """Something in the model changed: wake every agent, persist, notify waiters."""
        for agent in self.agents.values():
            agent.wake.set()
        if not self._save_pending:
            self._save_pending = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._save_pending = False
        if self.storage.retry():
            for agent in self.agents.values():
                agent.wake.set()
        if self.doom_subordinates():
            for agent in self.agents.values():
                agent.wake.set()
        self.elect_leaders()
        self.save()
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self.cond:
            self.cond.notify_all()

    async def wait_for(self, predicate: Any, timeout: float | None) -> bool:
        """Wait until ``predicate()`` is true or the timeout passes (a bounded wait)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        async with self.cond:
            while not predicate():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(self.cond.wait(), remaining)
                except asyncio.TimeoutError:
                    return bool(predicate())
        return True

    # ------------------------------------------------------------------ start/stop

    # ------------------------------------------------------------------ the snap store

    @property
    def store_overlay_dir(self) -> Path:
        """The model's view of the shared snap store (bound into every machine)."""
        return self.dir / "store"

    def snap_auto_refresh_interval(self) -> int:
        """``localjuju-snap-auto-refresh`` in whole seconds (0: never)."""
        v = str(self.model.config.get("localjuju-snap-auto-refresh", "0")).strip()
        if v in ("", "0", "0s", "off", "never"):
            return 0
        return max(1, round(parse_duration(v)))

    def sync_store_overlay(self) -> None:
        """Write what the model config says of the store into the overlay machines read."""
        ov = S.load_overlay(str(self.store_overlay_dir))
        reachable = self.model.config.get("localjuju-snap-store-reachable", True)
        ov.reachable = str(reachable).lower() in ("true", "1", "yes")
        ov.auto_refresh = self.snap_auto_refresh_interval()
        S.save_overlay(str(self.store_overlay_dir), ov)

    def edit_store_overlay(self, op: str, snap: str, args: list[str]) -> dict[str, Any]:
        """``localjuju store release|close|remove-track|reset``: edit the model's channel map
        (machines see it at once); returns the model's channels of ``snap``."""
        d = str(self.store_overlay_dir)
        store = S.load_store(str(paths.store_dir()))
        ov = S.load_overlay(d)
        try:
            if op == "release":
                if len(args) < 2 or not args[0].isdigit():
                    raise UserError("usage: store release <snap> <revision> <channel>...", 2)
                S.overlay_release(store, ov, snap, int(args[0]), args[1:])
            elif op == "close":
                S.overlay_close(store, ov, snap, args)
            elif op == "remove-track":
                if len(args) != 1:
                    raise UserError("usage: store remove-track <snap> <track>", 2)
                S.overlay_remove_track(store, ov, snap, args[0])
            elif op == "reset":
                ov.snaps.pop(snap, None)
            elif op != "show":
                raise UserError(f"unknown store operation {op!r}", 2)
        except S.StoreError as e:
            raise UserError(str(e)) from None
        if op != "show":
            S.save_overlay(d, ov)
            self.debug("controller", "INFO", "juju.localjuju.store", f"store {op} {snap} {args}")
        seen = S.apply_overlay(store, ov).snap(snap)
        if seen is None:
            raise UserError(f'snap "{snap}" is not in the store')
        return {
            "snap": snap,
            "tracks": seen.tracks,
            "channels": {c: {"revision": e.revision, "version": e.version}
                         for c, e in seen.channels.items()},
            "revisions": sorted(seen.revisions),
        }  # fmt: skip

    async def start(self) -> None:
        self.sync_store_overlay()
        for mid, m in self.model.machines.items():
            if (
                m.life == "alive"
                and m.status.current == "started"
                and not self.machine(mid).running()
            ):
                await asyncio.to_thread(self.machine(mid).boot)
        for name in list(self.model.units):
            self.start_agent(name)
        asyncio.get_running_loop().create_task(self.lease_loop())
        self.changed()

    def start_agent(self, name: str) -> None:
        agent = UnitAgent(self, name)
        self.agents[name] = agent
        agent.start()

    async def shutdown(self) -> None:
        self.stopping = True
        for agent in list(self.agents.values()):
            await agent.stop()
        self.save()

    async def lease_loop(self) -> None:
        """Leadership leases: a leader whose machine is gone loses the lease after a while."""
        while not self.stopping:
            await asyncio.sleep(1.0)
            t = time.monotonic()
            for mid in self.model.machines:
                if self.machine(mid).running() and not self.model.machines[mid].network_cut:
                    self._machine_down_since.pop(mid, None)
                else:
                    self._machine_down_since.setdefault(mid, t)
            if self.elect_leaders():
                self.changed()

    def _lease_expired(self, unit: Unit) -> bool:
        since = self._machine_down_since.get(unit.machine)
        if since is None:
            return False
        dur = parse_duration(self.model.config.get("localjuju-lease-duration", "30s"))
        return time.monotonic() - since >= dur

    def elect_leaders(self) -> bool:
        changed = False
        for app in self.model.applications.values():
            cur = self.model.units.get(app.leader)
            if cur is not None and cur.life == "alive" and not self._lease_expired(cur):
                continue
            candidates = [
                u
                for u in self.model.app_units(app.name)
                if u.life == "alive"
                and self.machine(u.machine).running()
                and not self.model.machines[u.machine].network_cut
            ]
            candidates.sort(key=lambda u: u.number)
            new = candidates[0].name if candidates else ""
            if new != app.leader and (new or cur is None or cur.life != "alive"):
                self.debug("machine-0", "INFO", "juju.worker.leadership",
                           f"{app.name} leader: {app.leader or '-'} -> {new or '-'}")  # fmt: skip
                app.leader = new
                changed = True
        return changed

    # ------------------------------------------------------------------ machines

    def new_machine(self, base: str) -> str:
        mid = str(self.model.next_machine)
        self.model.next_machine += 1
        self.model.machines[mid] = state.Machine(id=mid, base=base)
        m = self.machine(mid)
        self.model.machines[mid].hostname = m.hostname
        self.model.machines[mid].address = m.address
        return mid

    async def boot_machine(self, mid: str) -> None:
        sm = self.model.machines[mid]
        # Juju's uniter detects the reboot when it starts, before any operation: no hook
        # (an upgrade-charm already due, say) may run on this machine before it knows
        for unit in self.model.units.values():
            if unit.machine == mid and unit.name in self.agents:
                unit.local.reboot_detected = True
        try:
            await asyncio.to_thread(self.machine(mid).boot)
        except Exception as e:  # noqa: BLE001 - reported in status
            sm.status.set("error", str(e))
            sm.agent_status.set("error", str(e))
            self.changed()
            return
        warning = self.machine(mid).python_warning
        if warning:
            # Never in silence: the machine is not what its base would be on a real cloud.
            self.debug(f"machine-{mid}", "WARNING", "localjuju.machine", warning)
        sm.status.set("started", f"running; {warning}" if warning else "running")
        sm.agent_status.set("started")
        for unit in self.model.units.values():
            agent = self.agents.get(unit.name)
            if unit.machine == mid and agent is not None:
                agent.machine_restarted()
        self.changed()

    # ------------------------------------------------------------------ deploy

    def resolve_charm(self, charm: str) -> tuple[Path, str]:
        p = Path(charm).expanduser()
        if charm.startswith(("/", ".", "~")) or p.exists():
            if not p.exists():
                raise UserError(f'charm or bundle at "{charm}": file does not exist')
            return p.resolve(), "local"
        name = charm.removeprefix("ch:")
        if name in BUILTIN:
            return paths.builtin_charms_dir() / name, "builtin"
        raise UserError(
            f'cannot resolve charm or bundle "{name}": the local model serves only the built-in '
            f"charms {', '.join(BUILTIN)} and local charm paths"
        )

    def unpack_charm(self, src: Path, app: str) -> tuple[Charm, int]:
        rev = self.model.charm_revisions.get(app, -1) + 1
        dest = self.dir / "charms" / f"{app}-{rev}"
        try:
            builtin = src.is_relative_to(paths.builtin_charms_dir())
            ch = charmlib.unpack(src, dest, resolve_links=builtin)
        except CharmError as e:
            shutil.rmtree(dest, ignore_errors=True)
            raise UserError(str(e)) from None
        self.model.charm_revisions[app] = rev
        return ch, rev

    async def deploy(self, args: dict[str, Any]) -> dict[str, Any]:
        src, source = self.resolve_charm(args["charm"])
        try:
            probe = charmlib.read_charm(src) if src.is_dir() else None
        except CharmError as e:
            raise UserError(str(e)) from None
        name = args.get("application") or (probe.name if probe else None)
        if name is None:
            # A .charm file: read its name from the archive.
            import zipfile

            with zipfile.ZipFile(src) as zf:
                meta = zf.read("metadata.yaml").decode()
            import yaml

            name = yaml.safe_load(meta)["name"]
        assert isinstance(name, str)
        if not APP_NAME_RE.match(name):
            raise UserError(f'invalid application name "{name}"')
        if name in self.model.applications:
            raise UserError(f'cannot add application "{name}": application already exists')
        try:
            base = bases.select_base(
                args.get("base"),
                str(self.model.config.get("default-base") or ""),
                charmlib.archive_bases(src),
                bool(args.get("force")),
            )
            bases.release(base)
        except (bases.BaseError, CharmError) as e:
            raise UserError(str(e)) from None
        ch, rev = self.unpack_charm(src, name)
        n = int(args.get("num_units", 1))
        if ch.subordinate:
            # the deploy command's own check (cmd/juju/application/deployer): a subordinate
            # gets its units from the principals it is related to
            if n != 1:
                raise UserError("cannot use --num-units or --to with subordinate application")
            n = 0
        try:
            cfg = charmlib.validate_config(ch, dict(args.get("config") or {}))
        except CharmError as e:
            raise UserError(str(e)) from None
        flags: dict[str, Directive] = {}
        try:
            for item in args.get("storage") or []:
                sname, d = parse_storage_flag(item)
                if sname in flags:
                    raise StorageError(f'storage "{sname}" specified more than once')
                flags[sname] = d
        except StorageError as e:
            raise UserError(str(e)) from None
        app = Application(
            name=name,
            charm=ch.name,
            charm_dir=str(ch.path),
            charm_revision=rev,
            charm_source=source,
            channel=args.get("channel") or ("stable" if source == "builtin" else ""),
            base=base,
            config=cfg,
        )
        self.model.applications[name] = app
        try:
            directives = self.storage.validate_deploy(name, flags)
        except StorageError as e:
            del self.model.applications[name]
            raise UserError(f'cannot add application "{name}": {e}') from None
        app.storage = {k: dataclasses.asdict(d) for k, d in directives.items()}
        for rname, rpath in (args.get("resources") or {}).items():
            self._attach_resource(app, ch, rname, rpath)
        # Peer relations exist from deployment.
        for ep in ch.endpoints.values():
            if ep.role == "peer":
                self._add_relation([Endpoint(name, ep.name, "peer", ep.interface, ep.scope)])
        attach = list(args.get("attach_storage") or [])
        units = await self.add_units(name, n, attach) if n else []
        self.changed()
        return {"application": name, "units": units}

    def _attach_resource(self, app: Application, ch: Charm, rname: str, rpath: str) -> None:
        if rname not in ch.resources:
            raise UserError(f'unrecognized resource "{rname}"')
        src = Path(rpath).expanduser()
        if not src.is_file():
            raise UserError(f'file for resource "{rname}": {rpath}: no such file or directory')
        old = app.resources.get(rname)
        rev = (old.revision + 1) if old else 1
        dest_dir = self.dir / "resources" / app.name / rname / str(rev)
        dest_dir.mkdir(parents=True, exist_ok=True)
        filename = ch.resources[rname].get("filename") or src.name
        dest = dest_dir / filename
        shutil.copy(src, dest)
        data = dest.read_bytes()
        app.resources[rname] = Resource(
            name=rname,
            path=str(dest),
            revision=rev,
            fingerprint=hashlib.sha384(data).hexdigest(),
            size=len(data),
        )

    def resource_get(self, unit: str, name: str) -> str:
        from ..hooktools.context import ToolError

        app = self.model.applications[unit.split("/")[0]]
        ch = self.charm(app.name)
        if name not in ch.resources:
            raise ToolError(f'could not download resource: resource "{name}" not found')
        res = app.resources.get(name)
        if res is None or not res.path:
            raise ToolError(f"could not download resource: resource#{app.name}/{name} not found")
        agent = self.agents[unit]
        filename = ch.resources[name].get("filename") or Path(res.path).name
        inside = f"{agent.base_dir}/resources/{name}/{filename}"
        host = agent.host(inside)
        host.parent.mkdir(parents=True, exist_ok=True)
        if (
            not host.exists()
            or host.stat().st_size != res.size
            or (hashlib.sha384(host.read_bytes()).hexdigest() != res.fingerprint)
        ):
            shutil.copy(res.path, host)
        return inside

    async def add_units(
        self, app_name: str, n: int, attach_storage: list[str] | None = None
    ) -> list[str]:
        app = self.model.applications.get(app_name)
        if app is None:
            raise UserError(f'application "{app_name}" not found')
        if app.life != "alive":
            raise UserError(
                f'cannot add unit to application "{app_name}": application is not alive'
            )
        if self.charm(app_name).subordinate:
            raise UserError(
                f'cannot add unit to application "{app_name}": application is a subordinate'
            )
        attach_storage = list(attach_storage or [])
        if attach_storage and n != 1:
            raise UserError("--attach-storage cannot be used with -n")
        for sid in attach_storage:
            s = self.model.storage.get(sid)
            if s is None:
                raise UserError(f'storage instance "{sid}" not found')
            if s.unit:
                raise UserError(f"storage {sid} is attached to unit {s.unit}")
        names = []
        mids = []
        for _ in range(n):
            uname = f"{app_name}/{app.next_unit}"
            app.next_unit += 1
            mid = self.new_machine(app.base)
            self.model.machines[mid].units.append(uname)
            unit = Unit(name=uname, machine=mid)
            self.model.units[uname] = unit
            app.units.append(uname)
            names.append(uname)
            mids.append(mid)
            attached = set()
            for sid in attach_storage:
                try:
                    self.storage._attach(unit, sid)
                except StorageError as e:
                    raise UserError(f"cannot attach storage {sid} to unit {uname}: {e}") from None
                attached.add(sid.split("/")[0])
            for sname, d in app.storage.items():
                if sname in attached:
                    continue
                for _ in range(int(d["count"])):
                    try:
                        self.storage.create(unit, sname, Directive(**d))
                    except StorageError as e:
                        raise UserError(str(e)) from None
        self.save()
        await asyncio.to_thread(self.network.ensure)
        await asyncio.gather(*(self.boot_machine(mid) for mid in mids))
        for uname in names:
            self.start_agent(uname)
        self.changed()
        return names

    # ------------------------------------------------------------------ relations

    def _add_relation(self, endpoints: list[Endpoint]) -> Relation:
        rid = self.model.next_relation
        self.model.next_relation += 1
        rel = Relation(id=rid, endpoints=endpoints)
        self.model.relations[str(rid)] = rel
        return rel

    def _endpoint_candidates(self, spec: str) -> list[Endpoint]:
        app, _, ep = spec.partition(":")
        if app not in self.model.applications:
            raise UserError(f'application "{app}" not found')
        ch = self.charm(app)
        out = []
        for e in ch.endpoints.values():
            if e.role == "peer":
                continue
            if ep and e.name != ep:
                continue
            out.append(Endpoint(app, e.name, e.role, e.interface, e.scope))
        if ep and not out:
            raise UserError(f'application "{app}" has no "{ep}" relation')
        return out

    def integrate(self, a: str, b: str) -> dict[str, Any]:
        ca, cb = self._endpoint_candidates(a), self._endpoint_candidates(b)
        pairs = [
            (x, y)
            for x in ca
            for y in cb
            if x.interface == y.interface and {x.role, y.role} == {"provider", "requirer"}
        ]
        if not pairs:
            raise UserError(f'no relations found between "{a}" and "{b}"')
        if len(pairs) > 1:
            opts = " ".join(f'"{x.app}:{x.name} {y.app}:{y.name}"' for x, y in pairs)
            raise UserError(f'ambiguous relation: "{a} {b}" could refer to {opts}')
        x, y = pairs[0]
        if "container" in (x.scope, y.scope):
            # state AddRelation: either endpoint container-scoped makes the relation so, and
            # one of the applications must be a subordinate
            x = dataclasses.replace(x, scope="container")
            y = dataclasses.replace(y, scope="container")
            if not any(self.charm(e.app).subordinate for e in (x, y)):
                key = Relation(id=-1, endpoints=[x, y]).key
                raise UserError(
                    f'cannot add relation "{key}": container scoped relation requires at '
                    "least one subordinate application"
                )
        for rel in self.model.relations.values():
            keys = {(e.app, e.name) for e in rel.endpoints}
            if keys == {(x.app, x.name), (y.app, y.name)}:
                raise UserError(
                    f'cannot add relation "{x.app}:{x.name} {y.app}:{y.name}": relation '
                    f"{rel.key} already exists (already exists)"
                )
        rel = self._add_relation([x, y])
        self.changed()
        return {"id": rel.id, "key": rel.key}

    def remove_relation(self, a: str, b: str, force: bool = False) -> None:
        found = []
        for rel in self.model.relations.values():
            if rel.is_peer:
                continue
            apps = {e.app: e.name for e in rel.endpoints}
            ok = True
            for spec in (a, b):
                app, _, ep = spec.partition(":")
                if app not in apps or (ep and apps[app] != ep):
                    ok = False
            if ok:
                found.append(rel)
        if not found:
            raise UserError(f'relation "{a} {b}" not found')
        if len(found) > 1:
            raise UserError(f'ambiguous relation: "{a} {b}"')
        rel = found[0]
        rel.life = "dying"
        if force:
            for u in list(rel.scope):
                self.leave_scope(str(rel.id), u)
        self._maybe_remove_relation(rel)
        self.changed()

    def may_enter_scope(self, rel: Relation, unit: Unit) -> bool:
        """Whether ``unit`` (alive, installed) enters ``rel``'s scope now. For a
        container-scoped relation, as Juju's RelationUnit does:

        * a principal entering scope with a subordinate application gets its subordinate unit
          created in its container when there is none (``subordinateOps``); while that unit
          exists but is no longer alive it cannot enter yet (``ErrCannotEnterScopeYet``);
        * a subordinate unit enters only a relation with its principal's application or with
          another subordinate application (``RelationUnit.Valid``)."""
        if rel.is_peer or rel.endpoints[0].scope != "container":
            return True
        other = rel.other_app(unit.app)
        if unit.principal:
            principal_app = unit.principal.split("/")[0]
            return other == principal_app or self.charm(other).subordinate
        if not self.charm(other).subordinate:
            return True
        subs = [u for u in self.model.subordinates_of(unit.name) if u.app == other]
        if subs:
            return subs[0].life == "alive"
        self.add_subordinate(unit, other)
        return True

    def add_subordinate(self, principal: Unit, app_name: str) -> Unit:
        """A subordinate unit of ``app_name`` in ``principal``'s container (on its machine);
        its agent starts at once (the principal's deployer)."""
        app = self.model.applications[app_name]
        uname = f"{app_name}/{app.next_unit}"
        app.next_unit += 1
        unit = Unit(name=uname, machine=principal.machine, principal=principal.name)
        self.model.units[uname] = unit
        app.units.append(uname)
        self.debug(unit_tag(principal.name), "INFO", "juju.worker.deployer",
                   f'deploying unit "{uname}"')  # fmt: skip
        self.start_agent(uname)
        return unit

    def doom_subordinates(self) -> bool:
        """Juju's unit agent of a subordinate sets its unit dying when its principal is no
        longer alive, or when no alive container-scoped relation joins its application and its
        principal's (docs: entity-lifecycle). Returns whether any unit changed."""
        changed = False
        for unit in list(self.model.units.values()):
            if not unit.principal or unit.life != "alive":
                continue
            principal = self.model.units.get(unit.principal)
            apps = {unit.app, unit.principal.split("/")[0]}
            joined = any(
                rel.life == "alive"
                and rel.endpoints[0].scope == "container"
                and {e.app for e in rel.endpoints} == apps
                for rel in self.model.relations.values()
            )
            if principal is None or principal.life != "alive" or not joined:
                self.destroy_unit(unit)
                changed = True
        return changed

    def leave_scope(self, rid: str, unit: str) -> None:
        rel = self.model.relations.get(rid)
        if rel is None:
            return
        rel.scope.pop(unit, None)
        self._maybe_remove_relation(rel)

    def _maybe_remove_relation(self, rel: Relation) -> None:
        if rel.life == "dying" and not rel.scope:
            self.model.relations.pop(str(rel.id), None)
            for u in self.model.units.values():
                u.local.relations.pop(str(rel.id), None)

    # ------------------------------------------------------------------ removal

    def destroy_unit(self, unit: Unit, destroy_storage: bool = False) -> None:
        if unit.life != "alive":
            return
        unit.life = "dying"
        self.storage.unit_dying(unit, destroy_storage)
        # cleanupDyingUnit: other units see the unit departed at once (PrepareLeaveScope).
        for rel in self.model.relations.values():
            if unit.name in rel.scope:
                rel.scope[unit.name] = True
        app = self.model.applications[unit.app]
        if app.leader == unit.name:
            app.leader = ""  # a dying leader resigns

    async def remove_units(
        self, names: list[str], force: bool, no_wait: bool, destroy_storage: bool = False
    ) -> list[str]:
        for n in names:
            if n not in self.model.units:
                raise UserError(f'unit "{n}" does not exist')
            if self.model.units[n].principal:
                raise UserError(
                    f'unit "{n}" is a subordinate, to remove use remove-relation. Note: this '
                    f'will remove all units of "{self.model.units[n].app}"'
                )
        lines = []
        for n in names:
            unit = self.model.units[n]
            lines.append(f"will remove unit {n}")
            lines += self.storage_fate(unit, destroy_storage)
            self.destroy_unit(unit, destroy_storage)
            if force:
                self.force_remove(n, no_wait)
        self.changed()
        return lines

    def storage_fate(self, unit: Unit, destroy_storage: bool) -> list[str]:
        """remove-unit's lines for the unit's storage (ClassifyDetachedStorage): detachable
        storage is detached unless destroyed; machine-bound storage goes with the machine."""
        out = []
        for s in sorted(self.storage.of_unit(unit.name), key=lambda s: s.id):
            keep = not destroy_storage and s.pool != "loop"
            out.append(f"- will {'detach' if keep else 'remove'} storage {s.id}")
        return out

    def force_remove(self, name: str, no_wait: bool) -> None:
        """`--force`: the unit leaves at once when `--no-wait` is given or its machine is down;
        otherwise its agent gets Juju's max-wait (1 minute, MaxWait; model config
        `localjuju-force-max-wait`) to run its teardown, and the backstop cleanup then removes
        it wherever it is (a unit in error, for one)."""
        unit = self.model.units.get(name)
        if unit is None:
            return
        for sub in self.model.subordinates_of(name):  # forced out with their principal
            self.destroy_unit(sub)
            self.force_remove(sub.name, no_wait)
        if no_wait or not self.machine(unit.machine).running():
            self.unit_removed(name)
            return

        def backstop() -> None:
            if name in self.model.units and self.model.units[name].life != "alive":
                self.unit_removed(name)

        wait = parse_duration(str(self.model.config.get("localjuju-force-max-wait", "1m")))
        asyncio.get_running_loop().call_later(wait, backstop)

    def unit_removed(self, name: str) -> None:
        """The unit ran its remove hook (or was forced out): it leaves the model. A principal
        with subordinates is dead until the last of them is removed (Juju's EnsureDead refuses
        while a unit has subordinates); then it goes, with its machine."""
        unit = self.model.units.get(name)
        if unit is None:
            return
        if self.model.subordinates_of(name):
            unit.life = "dead"
            self.changed()
            return
        self.storage.unit_gone(unit)
        del self.model.units[name]
        for rel in list(self.model.relations.values()):
            if name in rel.scope:
                self.leave_scope(str(rel.id), name)
        app = self.model.applications.get(unit.app)
        if app is not None:
            if name in app.units:
                app.units.remove(name)
            if app.leader == name:
                app.leader = ""
        agent = self.agents.pop(name, None)
        if agent is not None:
            asyncio.get_running_loop().create_task(agent.stop())
        for t in self.model.tasks.values():
            if t.unit == name and t.status in ("pending", "running"):
                t.status = "cancelled"
                t.message = "unit removed"
        sm = None if unit.principal else self.model.machines.get(unit.machine)
        if sm is not None:
            if name in sm.units:
                sm.units.remove(name)
            if not sm.units:
                self.model.machines.pop(unit.machine, None)
                asyncio.get_running_loop().create_task(self._destroy_machine(unit.machine))
        if app is not None and app.life != "alive" and not app.units:
            self._remove_app(app)
        principal = self.model.units.get(unit.principal) if unit.principal else None
        if principal is not None and principal.life == "dead":
            self.unit_removed(principal.name)
        self.changed()

    async def _destroy_machine(self, mid: str) -> None:
        m = self.machine(mid)
        await asyncio.to_thread(m.kill)
        self.storage.machine_gone(mid)
        self.changed()
        await asyncio.to_thread(m.destroy)

    def _remove_app(self, app: Application) -> None:
        self.model.applications.pop(app.name, None)
        for rel in list(self.model.relations.values()):
            if rel.endpoint_of(app.name) is not None:
                rel.life = "dying"
                self._maybe_remove_relation(rel)

    async def remove_applications(
        self, apps: list[str], force: bool, no_wait: bool = False, destroy_storage: bool = False
    ) -> list[str]:
        for a in apps:
            if a not in self.model.applications:
                raise UserError(f'application "{a}" not found')
        lines = []
        for a in apps:
            app = self.model.applications[a]
            lines.append(f"will remove application {a}")
            for u in app.units:
                lines.append(f"- will remove unit {u}")
                lines += self.storage_fate(self.model.units[u], destroy_storage)
            app.life = "dying"
            for rel in self.model.relations.values():
                if rel.endpoint_of(a) is not None and not rel.is_peer:
                    rel.life = "dying"
            units = list(app.units)
            for u in units:
                self.destroy_unit(self.model.units[u], destroy_storage)
            if force:
                for u in units:
                    self.force_remove(u, no_wait)
            if not app.units:
                self._remove_app(app)
        self.changed()
        return lines

    # ------------------------------------------------------------------ config

    def set_config(self, app_name: str, values: dict[str, str], reset: list[str]) -> None:
        app = self.model.applications.get(app_name)
        if app is None:
            raise UserError(f'application "{app_name}" not found')
        ch = self.charm(app_name)
        for k in reset:
            if k not in ch.config:
                raise UserError(f'unknown option "{k}"')
        try:
            typed = charmlib.validate_config(ch, values)
        except CharmError as e:
            raise UserError(str(e)) from None
        for k in reset:
            app.config.pop(k, None)
        app.config.update(typed)
        self.changed()

    # ------------------------------------------------------------------ tasks

    def enqueue(self, unit: str, name: str, params: dict[str, Any]) -> Task:
        tid = str(self.model.next_task)
        self.model.next_task += 1
        op = str(self.model.next_operation)
        task = Task(id=tid, unit=unit, name=name, params=params, operation=op)
        self.model.tasks[tid] = task
        self.changed()
        return task

    # ------------------------------------------------------------------ hook errors

    def resolve_errors(self, units: list[str], all_units: bool, retry: bool) -> list[str]:
        """`juju resolved`: mark units in error resolved; their agents retry or skip the hook.

        Juju's ResolveUnitErrors: with ``all_units`` every unit in error is marked and the first
        failure ends the call; otherwise each named unit is marked on its own and the messages
        of those that could not be are returned (the others are marked all the same).
        """
        mode = state.RESOLVED_RETRY_HOOKS if retry else state.RESOLVED_NO_HOOKS
        errors: list[str] = []
        if all_units:
            for unit in list(self.model.units.values()):
                if unit.agent_status.current != "error":
                    continue
                err = self._set_resolved(unit, mode)
                if err is not None:
                    self.changed()  # the units marked before it stay marked
                    raise UserError(f'resolve error for unit "{unit.name}": {err}')
        for name in units:
            u = self.model.units.get(name)
            err = f'unit "{name}" not found' if u is None else self._set_resolved(u, mode)
            if err is not None:
                errors.append(err)
        self.changed()
        return errors

    def _set_resolved(self, unit: Unit, mode: str) -> str | None:
        """state Unit.Resolve / SetResolved: an error message, or None once marked."""
        if unit.agent_status.current != "error":
            return f'unit "{unit.name}" is not in an error state'
        if unit.resolved:
            return f'cannot set resolved mode for unit "{unit.name}": already resolved'
        unit.resolved = mode
        agent = self.agents.get(unit.name)
        if agent is not None:
            agent.wake.set()  # act now, not at the back-off timer
        return None

    def resolve_unit(self, spec: str) -> str:
        if spec.endswith("/leader"):
            app = spec.split("/")[0]
            a = self.model.applications.get(app)
            if a is None:
                raise UserError(f'application "{app}" not found')
            if not a.leader:
                raise UserError(f'could not determine leader for "{app}"')
            return a.leader
        if spec not in self.model.units:
            raise UserError(f'unit "{spec}" not found')
        return spec

    # ------------------------------------------------------------------ refresh / resources

    async def refresh(self, app_name: str, path: str | None, resources: dict[str, str]) -> int:
        app = self.model.applications.get(app_name)
        if app is None:
            raise UserError(f'application "{app_name}" not found')
        if path is None and not resources:
            raise UserError("refresh: only --path and --resource are supported by the local model")
        if path is not None:
            src, _ = self.resolve_charm(path)
            ch, rev = self.unpack_charm(src, app_name)
            if ch.name != app.charm:
                raise UserError(f'cannot refresh "{app.charm}" to "{ch.name}"')
            broken = relation_broken_by(ch, app_name, self.model.relations_of(app_name))
            if broken is not None:
                # Juju uploads the charm before SetCharm refuses it: the revision stays taken
                # (its charm revision sequence), the application is left as it was.
                shutil.rmtree(ch.path, ignore_errors=True)
                self.save()
                curl = f"local:{ch.name}-{rev}"
                raise UserError(
                    f'cannot upgrade application "{app_name}" to charm "{curl}": '
                    f'would break relation "{broken.key}"'
                )
            app.charm_dir = str(ch.path)
            app.charm_revision = rev
        ch = self.charm(app_name)
        for r, p in resources.items():
            self._attach_resource(app, ch, r, p)
        if resources and path is None:
            # A new resource revision makes Juju run upgrade-charm (same charm, new revision).
            src = Path(app.charm_dir)
            ch2, rev = self.unpack_charm(src, app_name)
            app.charm_dir = str(ch2.path)
            app.charm_revision = rev
        self.changed()
        return app.charm_revision


def endpoint_implemented_by(ep: Endpoint, ch: Charm) -> bool:
    """Juju's ``charm.Relation.ImplementedBy``: whether the charm still has the endpoint an
    established relation uses, with the same role and interface (and, for a global relation,
    an endpoint that is not container-scoped). ``juju-info`` provided is Juju's own."""
    if ep.name == "juju-info" and ep.interface == "juju-info" and ep.role == "provider":
        return True
    spec = ch.endpoints.get(ep.name)
    if spec is None or spec.role != ep.role or spec.interface != ep.interface:
        return False
    return ep.scope == "container" or spec.scope != "container"


def relation_broken_by(ch: Charm, app: str, relations: list[Relation]) -> Relation | None:
    """The first relation of ``app`` that a refresh to ``ch`` would break, or None.

    Juju's ``Application.checkRelationsOps`` (state/application.go, run by ``SetCharm``):
    every relation of the application must have its endpoint implemented by the new charm;
    a peer relation may go (Juju then removes it with the charm switch)."""
    for rel in sorted(relations, key=lambda r: r.id):
        ep = rel.endpoint_of(app)
        if ep is None or endpoint_implemented_by(ep, ch):
            continue
        if ep.role != "peer":
            return rel
    return None


def new_model(name: str, index: int, config: dict[str, Any]) -> Model:
    import uuid

    cfg = dict(state.MODEL_CONFIG_DEFAULTS)
    cfg.update(config)
    return Model(name=name, uuid=str(uuid.uuid4()), network_index=index, config=cfg)


__all__ = [
    "Controller",
    "UserError",
    "new_model",
    "unit_tag",
    "StatusInfo",
    "endpoint_implemented_by",
    "relation_broken_by",
]
