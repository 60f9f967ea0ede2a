"""The model's status as Juju 3's ``juju status --format json`` document."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .state import StatusInfo, Unit

if TYPE_CHECKING:
    from .controller import Controller


def _st(s: StatusInfo, version: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"current": s.current}
    if s.message:
        d["message"] = s.message
    d["since"] = _since(s.since)
    if version is not None:
        d["version"] = version
    return d


def _since(iso: str) -> str:
    """Kept as ISO 8601 here; the CLI formats it as Juju does."""
    return iso


def unit_view(ctl: Controller, name: str) -> tuple[StatusInfo, StatusInfo]:
    """(workload, agent) status as Juju derives them, including lost agents and errors."""
    u = ctl.model.units[name]
    mach = ctl.model.machines.get(u.machine)
    running = ctl.machine(u.machine).running() and not (mach and mach.network_cut)
    workload, agent = u.workload_status, u.agent_status
    if agent.current == "error":
        wl = StatusInfo("error", agent.message, agent.since, dict(agent.data))
        return wl, StatusInfo("idle", "", agent.since)
    if not running and agent.current != "allocating":
        return (
            StatusInfo(
                "unknown", f"agent lost, see 'juju show-status-log {name}'", workload.since
            ),
            StatusInfo("lost", "agent is not communicating with the server", agent.since),
        )
    return workload, agent
    return workload, agent


def app_status(ctl: Controller, app_name: str) -> StatusInfo:
    app = ctl.model.applications[app_name]
    if app.status.current != "unset":
        return app.status
    # Derived from the units: the most severe workload status.
    order = ["error", "blocked", "maintenance", "waiting", "active", "unknown", "terminated"]
    best: StatusInfo | None = None
    for u in ctl.model.app_units(app_name):
        wl, _ = unit_view(ctl, u.name)
        if best is None or (
            wl.current in order and order.index(wl.current) < order.index(best.current)
        ):
            best = wl
    return best or StatusInfo("waiting", "waiting for machine")


def status_doc(ctl: Controller) -> dict[str, Any]:
    m = ctl.model
    machines: dict[str, Any] = {}
    for mid, sm in sorted(m.machines.items(), key=lambda kv: int(kv[0])):
        running = ctl.machine(mid).running()
        js = (
            sm.agent_status
            if running
            else StatusInfo(
                "down" if sm.status.current != "pending" else "pending",
                (
                    "agent is not communicating with the server"
                    if sm.status.current != "pending"
                    else ""
                ),
                sm.agent_status.since,
            )
        )
        machines[mid] = {
            "juju-status": _st(js, ctl.juju_version if running else None),
            "hostname": sm.hostname,
            "dns-name": sm.address,
            "ip-addresses": [sm.address],
            "instance-id": f"localjuju-{m.name}-{mid}",
            "display-name": "",
            "machine-status": _st(sm.status),
            "modification-status": {"current": "applied", "since": _since(sm.status.since)},
            "base": _base(sm.base),
            "network-interfaces": {
                "eth0": {
                    "ip-addresses": [sm.address],
                    "mac-address": ctl.machine(mid).mac_address() if running else "",
                    "gateway": "",
                    "space": "alpha",
                    "is-up": running and not sm.network_cut,
                }
            },
            "constraints": "",
            "hardware": "arch=amd64",
        }
    apps: dict[str, Any] = {}
    # subordinate units are shown under their principal's entry (Juju's processUnit)
    subordinate_docs: dict[str, dict[str, Any]] = {}
    for u in sorted(m.units.values(), key=lambda u: (u.app, u.number)):
        if u.principal and u.app in m.applications:
            subordinate_docs.setdefault(u.principal, {})[u.name] = _unit_doc(ctl, u)
    for name, app in sorted(m.applications.items()):
        ch = ctl.charm(name)
        rels: dict[str, list[dict[str, Any]]] = {}
        for rel in m.relations_of(name):
            ep = rel.endpoint_of(name)
            assert ep is not None
            rels.setdefault(ep.name, []).append(
                {
                    "related-application": rel.other_app(name),
                    "interface": ep.interface,
                    "scope": ep.scope,
                }
            )
        units: dict[str, Any] = {}
        for u in sorted(m.app_units(name), key=lambda u: u.number):
            if u.principal:
                continue
            ud = _unit_doc(ctl, u)
            ud["machine"] = u.machine
            if u.name in subordinate_docs:
                ud["subordinates"] = subordinate_docs[u.name]
            units[u.name] = ud
        ad: dict[str, Any] = {
            "charm": (
                f"local:{app.charm}-{app.charm_revision}"
                if app.charm_source == "local"
                else app.charm
            ),
            "base": _base(app.base),
            "charm-origin": "local" if app.charm_source == "local" else "charmhub",
            "charm-name": app.charm,
            "charm-rev": app.charm_revision,
            "exposed": app.exposed,
            "application-status": _st(app_status(ctl, name)),
            "relations": rels,
            "units": units,
            "subordinate-to": (
                sorted(
                    {
                        rel.other_app(name)
                        for rel in m.relations_of(name)
                        if rel.endpoints[0].scope == "container"
                        and not ctl.charm(rel.other_app(name)).subordinate
                    }
                )
                if ch.subordinate
                else []
            ),
            "endpoint-bindings": {"": "alpha", **{e: "alpha" for e in ch.endpoints}},
        }
        if app.charm_source != "local":
            ad["charm-channel"] = app.channel or "stable"
        if app.workload_version:
            ad["version"] = app.workload_version
        if app.life != "alive":
            ad["life"] = app.life
        apps[name] = ad
    return {
        "model": {
            "name": m.name,
            "type": "iaas",
            "controller": "localjuju",
            "cloud": "localhost",
            "region": "localhost",
            "version": ctl.juju_version,
            "model-status": {"current": "available", "since": _since(StatusInfo().since)},
            "sla": "unsupported",
        },
        "machines": machines,
        "applications": apps,
        "storage": ctl.storage.combined(),
        "controller": {"timestamp": _since(StatusInfo().since)},
        # Not part of Juju's document; used by the tabular formatter for the relations table.
        "_relations": [
            {
                "id": rel.id,
                "key": rel.key,
                "endpoints": [
                    {"app": e.app, "name": e.name, "role": e.role, "interface": e.interface}
                    for e in rel.endpoints
                ],
                "scope": rel.endpoints[0].scope,
                "life": rel.life,
            }
            for rel in sorted(m.relations.values(), key=lambda r: r.id)
        ],
    }


def _unit_doc(ctl: Controller, u: Unit) -> dict[str, Any]:
    """A unit's entry in status, without its machine (a subordinate's has none)."""
    m = ctl.model
    wl, ag = unit_view(ctl, u.name)
    ud: dict[str, Any] = {
        "workload-status": _st(wl),
        "juju-status": _st(ag, ctl.juju_version),
        "public-address": m.machines[u.machine].address if u.machine in m.machines else "",
    }
    if u.life != "alive":
        ud["workload-status"]["life"] = u.life  # not shown by Juju; harmless
        ud["juju-status"]["life"] = u.life
    if m.applications[u.app].leader == u.name:
        ud["leader"] = True
    if u.opened_ports:
        ud["open-ports"] = list(u.opened_ports)
    return ud


def show_unit(ctl: Controller, name: str) -> dict[str, Any]:
    m = ctl.model
    u = m.units[name]
    app = m.applications[u.app]
    rel_info = []
    for rel in m.relations_of(u.app):
        ep = rel.endpoint_of(u.app)
        assert ep is not None
        related: dict[str, Any] = {}
        for other, departing in sorted(rel.scope.items()):
            if other == name or departing:
                continue
            if other.split("/")[0] != rel.other_app(u.app):
                continue
            if rel.endpoints[0].scope == "container" and (
                other not in m.units or m.units[other].container != u.container
            ):
                continue
            related[other] = {
                "in-scope": True,
                "data": dict(rel.units[other].data) if other in rel.units else {},
            }
        entry: dict[str, Any] = {
            "relation-id": rel.id,
            "endpoint": ep.name,
            "related-endpoint": next((e.name for e in rel.endpoints if e.app != u.app), ep.name),
            "application-data": (
                dict(rel.apps[rel.other_app(u.app)].data)
                if rel.other_app(u.app) in rel.apps
                else {}
            ),
        }
        if related:
            entry["related-units"] = related
        entry["local-unit"] = {
            "in-scope": name in rel.scope,
            "data": dict(rel.units[name].data) if name in rel.units else {},
        }
        rel_info.append(entry)
    d: dict[str, Any] = {
        "opened-ports": list(u.opened_ports),
        "charm": f"local:{app.charm}-{app.charm_revision}",
        "leader": app.leader == name,
        "life": u.life,
        "relation-info": rel_info,
        "machine": u.machine,
        "public-address": m.machines[u.machine].address if u.machine in m.machines else "",
    }
    if app.workload_version:
        d["workload-version"] = app.workload_version
    return {name: d}


def _base(base: str) -> dict[str, str]:
    name, _, channel = base.partition("@")
    return {"name": name, "channel": channel}
