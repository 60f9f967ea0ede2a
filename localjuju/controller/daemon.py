"""The controller process of one model and its API (JSON lines over ``controller.sock``).

Started by ``localjuju add-model`` (detached), stopped by ``destroy-model``. A request is one
JSON object ``{"cmd": ..., "args": {...}}``; the answer is ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "...", "code": N}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .. import bases
from . import state
from .controller import Controller, UserError, parse_duration
from .status import status_doc

log = logging.getLogger("localjuju.daemon")


class API:
    def __init__(self, ctl: Controller):
        self.ctl = ctl

    async def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        fn = getattr(self, "cmd_" + cmd.replace("-", "_"), None)
        if fn is None:
            raise UserError(f"unknown API command {cmd!r}", 2)
        return await fn(**args)

    # ---------------------------------------------------------------- model
    async def cmd_ping(self) -> dict[str, Any]:
        return {"model": self.ctl.model.name, "uuid": self.ctl.model.uuid, "pid": os.getpid()}

    async def cmd_status(self) -> dict[str, Any]:
        return status_doc(self.ctl)

    async def cmd_model_config(
        self, values: dict[str, str] | None = None, reset: list[str] | None = None
    ) -> dict[str, Any]:
        cfg = self.ctl.model.config
        for k in reset or []:
            if k in state.MODEL_CONFIG_DEFAULTS:
                cfg[k] = state.MODEL_CONFIG_DEFAULTS[k]
            else:
                cfg.pop(k, None)
        for k, v in (values or {}).items():
            if k.endswith("interval") or k in state.LOCALJUJU_DURATIONS:
                try:
                    parse_duration(v)
                except ValueError:
                    raise UserError(f'{k}: invalid duration "{v}"') from None
            if k in ("automatically-retry-hooks", "localjuju-snap-store-reachable"):
                if str(v).lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise UserError(f'{k}: expected a boolean, got "{v}"')
                cfg[k] = str(v).lower() in ("true", "1", "yes")
                continue
            if k == "localjuju-snap-auto-refresh" and str(v).strip() not in ("0", "0s", ""):
                try:
                    parse_duration(v)
                except ValueError:
                    raise UserError(f'{k}: invalid duration "{v}" (0 for never)') from None
            if k == "default-base" and v:
                try:
                    bases.parse(v)
                except bases.BaseError as e:
                    raise UserError(f"invalid default base: {e}") from None
            cfg[k] = v
        if values and "update-status-hook-interval" in values:
            t = time.time() + self.ctl.update_status_interval()
            for u in self.ctl.model.units.values():
                if u.local.started:
                    u.local.update_status_due = min(u.local.update_status_due, t)
        self.ctl.sync_store_overlay()
        self.ctl.changed()
        return {"config": cfg, "defaults": state.MODEL_CONFIG_DEFAULTS}

    async def cmd_store(self, op: str, snap: str, args: list[str] | None = None) -> Any:
        return self.ctl.edit_store_overlay(op, snap, list(args or []))

    async def cmd_destroy(self) -> dict[str, Any]:
        asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(self._destroy()))
        return {}

    async def _destroy(self) -> None:
        ctl = self.ctl
        await ctl.shutdown()
        for mid in list(ctl.model.machines):
            await asyncio.to_thread(ctl.machine(mid).destroy)
        await asyncio.to_thread(ctl.storage.destroy_all)
        ctl.network.destroy()
        os._exit(0)

    # ---------------------------------------------------------------- apps/units
    async def cmd_deploy(self, **args: Any) -> dict[str, Any]:
        return await self.ctl.deploy(args)

    async def cmd_add_unit(
        self, application: str, num_units: int = 1, attach_storage: list[str] | None = None
    ) -> list[str]:
        return await self.ctl.add_units(application, num_units, attach_storage)

    async def cmd_remove_unit(
        self,
        units: list[str],
        force: bool = False,
        no_wait: bool = False,
        destroy_storage: bool = False,
    ) -> list[str]:
        return await self.ctl.remove_units(units, force, no_wait, destroy_storage)

    async def cmd_remove_application(
        self,
        applications: list[str],
        force: bool = False,
        no_wait: bool = False,
        destroy_storage: bool = False,
    ) -> list[str]:
        return await self.ctl.remove_applications(applications, force, no_wait, destroy_storage)

    # ---------------------------------------------------------------- storage
    async def cmd_storage(self) -> dict[str, Any]:
        return self.ctl.storage.combined()

    async def cmd_show_storage(self, ids: list[str]) -> dict[str, Any]:
        return self.ctl.storage.show(ids)

    async def cmd_add_storage(self, unit: str, items: list[str]) -> list[str]:
        return self.ctl.storage.add(unit, items)

    async def cmd_attach_storage(self, unit: str, ids: list[str]) -> list[str]:
        return self.ctl.storage.attach(unit, ids)

    async def cmd_detach_storage(self, ids: list[str], force: bool = False) -> list[str]:
        return self.ctl.storage.detach(ids, force)

    async def cmd_remove_storage(
        self, ids: list[str], force: bool = False, no_destroy: bool = False
    ) -> dict[str, Any]:
        lines, attached = self.ctl.storage.remove(ids, force, no_destroy)
        return {"lines": lines, "attached": attached}

    async def cmd_integrate(self, a: str, b: str) -> dict[str, Any]:
        return self.ctl.integrate(a, b)

    async def cmd_remove_relation(self, a: str, b: str, force: bool = False) -> None:
        self.ctl.remove_relation(a, b, force)

    async def cmd_get_config(self, application: str) -> dict[str, Any]:
        if application not in self.ctl.model.applications:
            raise UserError(f'application "{application}" not found')
        app = self.ctl.model.applications[application]
        ch = self.ctl.charm(application)
        return {"application": application, "charm": app.charm, "options": ch.config,
                "values": dict(app.config)}  # fmt: skip

    async def cmd_set_config(
        self, application: str, values: dict[str, str], reset: list[str]
    ) -> None:
        self.ctl.set_config(application, values, reset)

    async def cmd_refresh(
        self, application: str, path: str | None = None, resources: dict[str, str] | None = None
    ) -> int:
        return await self.ctl.refresh(application, path, resources or {})

    async def cmd_attach_resource(self, application: str, resources: dict[str, str]) -> int:
        return await self.ctl.refresh(application, None, resources)

    async def cmd_show_unit(self, unit: str) -> dict[str, Any]:
        from .status import show_unit

        return show_unit(self.ctl, self.ctl.resolve_unit(unit))

    async def cmd_resolved(
        self, units: list[str], all_units: bool = False, retry: bool = True
    ) -> None:
        errors = self.ctl.resolve_errors(units, all_units, retry)
        if errors:
            # params.ErrorResults.Combine: one line per unit that could not be marked.
            raise UserError("\n".join(errors))

    # ---------------------------------------------------------------- tasks
    async def cmd_run(
        self, units: list[str], action: str, params: dict[str, Any], wait: float | None
    ) -> list[dict[str, Any]]:
        ctl = self.ctl
        resolved = [ctl.resolve_unit(u) for u in units]
        tasks = []
        for u in resolved:
            ch = ctl.charm(u.split("/")[0])
            spec = ch.actions.get(action)
            if spec is None:
                raise UserError(f'action "{action}" not defined on unit "{u}"')
            full = validate_action_params(action, spec, params)
            tasks.append(ctl.enqueue(u, action, full))
        return await self._wait_tasks(tasks, wait)

    async def cmd_exec(
        self, units: list[str], machines: list[str], command: str, wait: float | None
    ) -> list[dict[str, Any]]:
        ctl = self.ctl
        targets = [ctl.resolve_unit(u) for u in units]
        for mid in machines:
            sm = ctl.model.machines.get(mid)
            if sm is None:
                raise UserError(f'machine "{mid}" not found')
            if not sm.units:
                raise UserError(f"machine {mid} has no units; the local model runs exec on units")
            targets.append(sm.units[0])
        tasks = [ctl.enqueue(u, "juju-exec", {"command": command}) for u in targets]
        return await self._wait_tasks(tasks, wait)

    async def _wait_tasks(self, tasks: list[Any], wait: float | None) -> list[dict[str, Any]]:
        done = await self.ctl.wait_for(
            lambda: all(t.status not in ("pending", "running") for t in tasks), wait
        )
        out = [state.to_jsonable(t) for t in tasks]
        return [dict(t, timed_out=not done) for t in out]

    async def cmd_show_task(self, id: str) -> dict[str, Any]:
        t = self.ctl.model.tasks.get(id)
        if t is None:
            raise UserError(f'task "{id}" not found')
        return state.to_jsonable(t)

    # ---------------------------------------------------------------- waits
    async def cmd_wait_idle(self, timeout: float = 300) -> bool:
        """localjuju only: until every unit agent is idle with nothing queued."""

        def idle() -> bool:
            for u in self.ctl.model.units.values():
                if u.agent_status.current not in ("idle", "error"):
                    return False
            return True

        return await self.ctl.wait_for(idle, timeout)

    # ---------------------------------------------------------------- faults (localjuju only)
    def _machine_of(self, target: str) -> str:
        if target in self.ctl.model.machines:
            return target
        return self.ctl.model.units[self.ctl.resolve_unit(target)].machine

    async def _halt(self, target: str, how: str, state: str, message: str) -> str:
        """Kill or shut down a machine (``how``: its method) and show it ``state``."""
        mid = self._machine_of(target)
        sm = self.ctl.model.machines[mid]
        self.ctl.halting.add(mid)
        try:
            await asyncio.to_thread(getattr(self.ctl.machine(mid), how))
        finally:
            self.ctl.halting.discard(mid)
        sm.status.set(state, message)
        sm.agent_status.set("down", "agent is not communicating with the server")
        self.ctl.changed()
        return mid

    async def cmd_kill_machine(self, target: str) -> str:
        return await self._halt(target, "kill", "down", "killed (localjuju kill-machine)")

    async def cmd_stop_machine(self, target: str) -> str:
        return await self._halt(target, "shutdown", "stopped", "stopped (localjuju stop-machine)")

    async def cmd_start_machine(self, target: str) -> str:
        mid = self._machine_of(target)
        if self.ctl.machine(mid).running():
            raise UserError(f"machine {mid} is already running")
        await self.ctl.boot_machine(mid)
        return mid

    async def cmd_cut_network(self, target: str) -> str:
        mid = self._machine_of(target)
        await asyncio.to_thread(self.ctl.machine(mid).set_network, False)
        self.ctl.model.machines[mid].network_cut = True
        self.ctl.changed()
        return mid

    async def cmd_restore_network(self, target: str) -> str:
        mid = self._machine_of(target)
        await asyncio.to_thread(self.ctl.machine(mid).set_network, True)
        self.ctl.model.machines[mid].network_cut = False
        self.ctl.changed()
        return mid

    async def cmd_machine_info(self, target: str) -> dict[str, Any]:
        mid = self._machine_of(target)
        m = self.ctl.machine(mid)
        return {"id": mid, "pid": m.init_pid(), "address": m.address, "dir": str(m.dir)}


def validate_action_params(
    action: str, spec: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """Juju validates user params against the action's JSON schema and inserts defaults."""
    props: dict[str, Any] = spec.get("params") or {}
    out = {}
    for k, v in params.items():
        if k not in props and spec.get("additionalProperties", True) is False:
            raise UserError(
                f'validation failed: (root) : additional property "{k}" is not allowed'
            )
        typ: Any = (props.get(k) or {}).get("type")  # a JSON type name; None: any value
        ok = {
            "string": isinstance(v, str),
            "integer": isinstance(v, int) and not isinstance(v, bool),
            "number": isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": isinstance(v, bool),
            "object": isinstance(v, dict),
            "array": isinstance(v, list),
        }.get(typ, True)
        if not ok:
            raise UserError(f"validation failed: (root).{k} : must be of type {typ}, given {v!r}")
        out[k] = v
    for k in spec.get("required") or []:
        if k not in out:
            raise UserError(
                f'validation failed: (root) : "{k}" property is missing and required, given {json.dumps(params)}'
            )  # noqa: E501
    for k, p in props.items():
        if k not in out and isinstance(p, dict) and "default" in p:
            out[k] = p["default"]
    return out


async def serve(model_dir: Path) -> None:
    ctl = Controller(model_dir)
    api = API(ctl)
    sock_path = model_dir / "controller.sock"
    sock_path.unlink(missing_ok=True)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            req = json.loads(line)
            try:
                result = await api.handle(req["cmd"], req.get("args") or {})
                resp = {"ok": True, "result": result}
            except UserError as e:
                resp = {"ok": False, "error": e.message, "code": e.code}
            except Exception as e:  # noqa: BLE001 - reported to the CLI
                log.exception("API %s failed", req.get("cmd"))
                resp = {"ok": False, "error": f"{type(e).__name__}: {e}", "code": 1}
            writer.write(json.dumps(resp, default=str).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, json.JSONDecodeError):
            pass
        finally:
            writer.close()

    import socket as _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    cwd = os.getcwd()
    try:
        os.chdir(model_dir)
        sock.bind("controller.sock")
    finally:
        os.chdir(cwd)
    server = await asyncio.start_unix_server(handler, sock=sock)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await ctl.start()
    (model_dir / "controller.pid").write_text(str(os.getpid()))
    async with server:
        await stop.wait()
    await ctl.shutdown()


def main() -> None:
    model_dir = Path(sys.argv[1])
    logging.basicConfig(
        filename=str(model_dir / "controller.log"),
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    asyncio.run(serve(model_dir))


if __name__ == "__main__":
    main()
