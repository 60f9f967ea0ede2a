"""CLI output formatting glue: turns controller answers into Juju's output formats.

The exact Juju formats live in :mod:`localjuju.formats` when available; this module adapts the
controller's documents to them.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import yaml


def _time(ts: str) -> str:
    return ts


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


def app_config(info: dict[str, Any], f: str) -> str:
    settings = {}
    for k, spec in sorted(info["options"].items()):
        entry: dict[str, Any] = {
            "default": spec.get("default"),
            "description": spec.get("description", ""),
            "source": "user" if k in info["values"] else "default",
            "type": spec.get("type", "string"),
        }
        if k in info["values"]:
            entry["value"] = info["values"][k]
        elif spec.get("default") is not None:
            entry["value"] = spec.get("default")
        if entry["default"] is None:
            del entry["default"]
        settings[k] = entry
    doc = {
        "application": info["application"],
        "application-config": {
            "trust": {
                "default": False,
                "description": "Does this application have access to trusted credentials",
                "source": "default",
                "type": "bool",
                "value": False,
            }
        },
        "charm": info["charm"],
        "settings": settings,
    }
    if f == "json":
        return json.dumps(doc, separators=(",", ":"))
    return yaml.safe_dump(doc, sort_keys=False)


def model_config(cfg: dict[str, Any], defaults: dict[str, Any], f: str) -> str:
    doc = {
        k: {
            "default": defaults.get(k),
            "source": "default" if defaults.get(k) == v else "model",
            "value": v,
        }
        for k, v in sorted(cfg.items())
    }
    if f == "json":
        return json.dumps(doc, separators=(",", ":"))
    if f == "yaml":
        return yaml.safe_dump(doc, sort_keys=True)
    lines = [f"{'Attribute':<40}{'From':<9}Value"]
    for k, v in doc.items():
        val = str(v["value"]).lower() if isinstance(v["value"], bool) else str(v["value"])
        lines.append(f"{k:<40}{v['source']:<9}{val}")
    return "\n".join(lines)


def status_tabular(doc: dict[str, Any], relations: bool = False) -> str:
    try:
        from ..formats import status_tabular as real  # type: ignore[attr-defined]

        return str(real(doc, relations=relations))
    except (ImportError, AttributeError, TypeError, KeyError):
        pass
    m = doc["model"]
    lines = [
        f"{'Model':<8}{'Controller':<11}{'Cloud/Region':<20}{'Version':<8}  SLA          Timestamp",
        f"{m['name']:<8}{m['controller']:<11}{'localhost/localhost':<20}{m['version']:<8}  "
        f"unsupported  {doc['controller']['timestamp']}",
        "",
    ]
    apps = doc["applications"]
    if apps:
        lines.append("App  Version  Status  Scale  Charm  Channel  Rev  Exposed  Message")
        for name, a in apps.items():
            st = a["application-status"]
            lines.append(f"{name}  {a.get('version', '')}  {st['current']}  {len(a['units'])}  "
                         f"{a['charm-name']}  {a.get('charm-channel', '')}  {a['charm-rev']}  "
                         f"{'yes' if a['exposed'] else 'no'}  {st.get('message', '')}")  # fmt: skip
        lines.append("")
        lines.append("Unit  Workload  Agent  Machine  Public address  Ports  Message")
        for name, a in apps.items():
            for un, u in a["units"].items():
                lead = "*" if u.get("leader") else ""
                lines.append(f"{un}{lead}  {u['workload-status']['current']}  "
                             f"{u['juju-status']['current']}  {u['machine']}  "
                             f"{u['public-address']}  {','.join(u.get('open-ports', []))}  "
                             f"{u['workload-status'].get('message', '')}")  # fmt: skip
        lines.append("")
    if doc["machines"]:
        lines.append("Machine  State  Address  Inst id  Base  AZ  Message")
        for mid, mm in doc["machines"].items():
            lines.append(f"{mid}  {mm['juju-status']['current']}  {mm['dns-name']}  "
                         f"{mm['instance-id']}  ubuntu@22.04    "
                         f"{mm['machine-status'].get('message', '')}")  # fmt: skip
    return "\n".join(lines)
