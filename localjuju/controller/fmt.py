"""CLI output formatting glue: turns controller answers into Juju's output formats.

The exact Juju formats live in :mod:`localjuju.formats` when available; this module adapts the
controller's documents to them.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import yaml


def task_dict(t: dict[str, Any]) -> dict[str, Any]:
    d: dict[str, Any] = {"id": t["id"]}
    if t.get("log"):
        d["log"] = [f"{e['timestamp']} {e['message']}" for e in t["log"]]
    if t.get("message"):
        d["message"] = t["message"]
    d["results"] = t.get("results") or {}
    d["status"] = t["status"]
    d["timing"] = {
        k: v for k, v in (("enqueued", t.get("enqueued")), ("started", t.get("started")),
                          ("completed", t.get("completed"))) if v
    }  # fmt: skip
    d["unit"] = t["unit"]
    return d


def tasks_json(tasks: list[dict[str, Any]]) -> str:
    return json.dumps({t["unit"]: task_dict(t) for t in tasks}, separators=(",", ":"))


def tasks_plain(tasks: list[dict[str, Any]]) -> str:
    chunks = []
    for t in tasks:
        res = dict(t.get("results") or {})
        stdout = res.pop("stdout", "")
        stderr = res.pop("stderr", "")
        res.pop("return-code", None)
        res.pop("stdout-encoding", None)
        res.pop("stderr-encoding", None)
        text = ""
        if len(tasks) > 1:
            text += f"{t['unit']}:\n"
        if t.get("log"):
            for e in t["log"]:
                text += f"{e['timestamp']} {e['message']}\n"
        if res:
            text += yaml.safe_dump(res, sort_keys=True, default_flow_style=False)
        if stdout:
            text += stdout if stdout.endswith("\n") else stdout + "\n"
        if stderr:
            text += stderr if stderr.endswith("\n") else stderr + "\n"
        chunks.append(text)
    return "".join(chunks).rstrip("\n")


def debug_log_line(r: dict[str, Any]) -> str:
    t = datetime.datetime.fromtimestamp(r["ts"]).strftime("%H:%M:%S")
    return f"{r['entity']}: {t} {r['level']} {r['module']} {r['message']}"


def models_json(models: list[dict[str, Any]], current: str) -> str:
    doc = {
        "models": [
            {
                "name": f"admin/{m['name']}",
                "short-name": m["name"],
                "model-uuid": m["uuid"],
                "model-type": "iaas",
                "controller-name": "localjuju",
                "owner": "admin",
                "cloud": "localhost",
                "region": "localhost",
                "life": "alive",
                "status": {"current": "available"},
                "machines": {},
            }
            for m in models
        ],
        "current-model": current,
    }
    return json.dumps(doc, separators=(",", ":"))


def models_tabular(models: list[dict[str, Any]], current: str) -> str:
    lines = ["Controller: localjuju", "", f"{'Model':<20}{'Cloud/Region':<21}{'Type':<6}"
             f"{'Status':<11}{'Machines':>8}  {'Units':>5}  Access  Last connection"]  # fmt: skip
    for m in models:
        name = m["name"] + ("*" if m["name"] == current else "")
        lines.append(f"{name:<20}{'localhost/localhost':<21}{'iaas':<6}{'available':<11}"
                     f"{m['machines']:>8}  {m['units']:>5}  admin   just now")  # fmt: skip
    return "\n".join(lines)


def show_model(st: dict[str, Any], f: str) -> str:
    doc = {
        st["name"]: {
            "name": f"admin/{st['name']}",
            "short-name": st["name"],
            "model-uuid": st["uuid"],
            "model-type": "iaas",
            "controller-uuid": "00000000-0000-0000-0000-000000000000",
            "controller-name": "localjuju",
            "is-controller": False,
            "owner": "admin",
            "cloud": "localhost",
            "region": "localhost",
            "type": "localjuju",
            "life": "alive",
            "status": {"current": "available"},
            "users": {"admin": {"display-name": "admin", "access": "admin"}},
            "sla": "unsupported",
            "agent-version": "3.6.8",
        }
    }
    if f == "json":
        return json.dumps(doc, separators=(",", ":"))
    return yaml.safe_dump(doc, sort_keys=False)


def app_config(info: dict[str, Any], form: str) -> str:
    """``juju config <app>`` through :mod:`localjuju.formats`."""
    from .. import formats as f

    options = {
        k: f.ConfigOption(
            type=spec.get("type", "string"),
            description=spec.get("description", ""),
            default=spec.get("default"),
        )
        for k, spec in sorted(info["options"].items())
    }
    args = (info["application"], info["charm"], options, dict(info["values"]))
    return str(f.app_config_json(*args) if form == "json" else f.app_config_yaml(*args))


def model_config(cfg: dict[str, Any], defaults: dict[str, Any], form: str) -> str:
    """``juju model-config`` through :mod:`localjuju.formats` (JSON keys ``Value``/``Source``)."""
    from .. import formats as f

    table = {
        k: (v, "default" if k in defaults and defaults[k] == v else "model")
        for k, v in cfg.items()
    }
    if form == "json":
        return str(f.model_config_json(table))
    if form == "yaml":
        return str(f.model_config_yaml(table))
    return str(f.model_config_tabular(table))


def _dt(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return datetime.datetime.fromisoformat(v)
        except ValueError:
            return v
    return v


def status_document(d: dict[str, Any]) -> Any:
    """The controller's status dict as :class:`localjuju.formats.StatusDocument`."""
    from .. import formats as f

    def si(x: dict[str, Any] | None) -> Any:
        x = x or {}
        return f.StatusInfo(
            current=x.get("current", ""),
            message=x.get("message", ""),
            since=_dt(x.get("since")),
            version=x.get("version", ""),
            life=x.get("life", ""),
        )

    def base(b: dict[str, Any] | None) -> Any:
        return f.Base(b["name"], b["channel"]) if b else None

    machines = {
        mid: f.Machine(
            juju_status=si(m.get("juju-status")),
            hostname=m.get("hostname", ""),
            dns_name=m.get("dns-name", ""),
            ip_addresses=list(m.get("ip-addresses", [])),
            instance_id=m.get("instance-id", ""),
            display_name=m.get("display-name", ""),
            machine_status=si(m.get("machine-status")),
            modification_status=si(m.get("modification-status")),
            base=base(m.get("base")),
            network_interfaces={
                n: f.NetworkInterface(
                    ip_addresses=list(i.get("ip-addresses", [])),
                    mac_address=i.get("mac-address", ""),
                    gateway=i.get("gateway", ""),
                    space=i.get("space", ""),
                    is_up=bool(i.get("is-up")),
                )
                for n, i in (m.get("network-interfaces") or {}).items()
            },
            constraints=m.get("constraints", ""),
            hardware=m.get("hardware", ""),
        )
        for mid, m in d["machines"].items()
    }

    def unit(u: dict[str, Any]) -> Any:
        return f.Unit(
            workload_status=si(u.get("workload-status")),
            juju_status=si(u.get("juju-status")),
            leader=bool(u.get("leader")),
            machine=u.get("machine", ""),
            open_ports=list(u.get("open-ports", [])),
            public_address=u.get("public-address", ""),
            subordinates={k: unit(v) for k, v in (u.get("subordinates") or {}).items()},
        )

    apps = {}
    for name, a in d["applications"].items():
        units = {un: unit(u) for un, u in a["units"].items()}
        rels = {ep: [r["related-application"] for r in lst] for ep, lst in a["relations"].items()}
        apps[name] = f.Application(
            charm_url=(
                a["charm"] if ":" in a["charm"] else f"ch:amd64/{a['charm']}-{a['charm-rev']}"
            ),
            base=base(a.get("base")),
            charm_channel=a.get("charm-channel", ""),
            exposed=a.get("exposed", False),
            life=a.get("life", ""),
            status=si(a.get("application-status")),
            relations=rels,
            units=units,
            subordinate_to=list(a.get("subordinate-to") or []),
            version=a.get("version", ""),
            endpoint_bindings=dict(a.get("endpoint-bindings", {})),
        )
    relations = [
        f.Relation(
            id=r["id"],
            interface=r["endpoints"][0]["interface"],
            endpoints=[f.RelationEndpoint(e["app"], e["name"], e["role"]) for e in r["endpoints"]],
            scope=r.get("scope", "global"),
            status="joined" if r["life"] == "alive" else "broken",
        )
        for r in d.get("_relations", [])
    ]
    m = d["model"]
    return f.StatusDocument(
        model=f.ModelInfo(
            name=m["name"],
            controller=m["controller"],
            cloud=m["cloud"],
            region=m.get("region", ""),
            version=m["version"],
            type=m.get("type", "iaas"),
            status=si(m.get("model-status")),
            sla=m.get("sla", "unsupported"),
        ),
        machines=machines,
        applications=apps,
        relations=relations,
        storage=dict(d.get("storage") or {}),
        controller_timestamp=_dt(d.get("controller", {}).get("timestamp")),
    )


def status_output(d: dict[str, Any], form: str, relations: bool, color: bool) -> str:
    from .. import formats as f

    doc = status_document(d)
    if form == "json":
        return str(f.status_json(doc))
    if form == "yaml":
        return str(f.status_yaml(doc))
    return str(f.status_tabular(doc, relations=relations, color=color))
