"""``juju storage`` and ``juju show-storage`` (cmd/juju/storage: list.go, show.go, storage.go,
volume.go, listformatters.go, volumelistformatters.go), and the ``storage`` section of status.

The controller answers with plain mappings in the Go structs' field order; here the struct
levels become :class:`GoStruct` (field order kept) and the map levels stay dicts (sorted keys,
as Go marshals maps).
"""

from __future__ import annotations

from typing import Any

from ._go import GoStruct, go_json
from ._goyaml import go_yaml

_UNIT_ATTACHMENT = ("machine", "location", "life")
_STORAGE = ("kind", "life", "status", "persistent", "attachments")
_VOLUME = ("provider-id", "storage", "attachments", "pool", "hardware-id", "wwn", "size",
           "persistent", "life", "status")  # fmt: skip
_VOLUME_ATTACHMENT = ("device", "device-link", "bus-address", "read-only", "life")


def _struct(d: dict[str, Any], keys: tuple[str, ...]) -> GoStruct:
    return GoStruct((k, d[k]) for k in keys if k in d)


def _units(d: dict[str, Any]) -> dict[str, Any]:
    return {u: _struct(a, _UNIT_ATTACHMENT) for u, a in d.items()}


def storage_struct(info: dict[str, Any]) -> GoStruct:
    out = _struct(info, _STORAGE)
    out["status"] = GoStruct(info["status"])
    if "attachments" in info:
        out["attachments"] = GoStruct(units=_units(info["attachments"]["units"]))
    return out


def volume_struct(info: dict[str, Any]) -> GoStruct:
    out = _struct(info, _VOLUME)
    out["status"] = GoStruct(info["status"])
    if "attachments" in info:
        a = info["attachments"]
        att = GoStruct()
        if a.get("machines"):
            att["machines"] = {m: _struct(v, _VOLUME_ATTACHMENT) for m, v in a["machines"].items()}
        if a.get("units"):
            att["units"] = _units(a["units"])
        out["attachments"] = att
    return out


def combined_struct(d: dict[str, Any]) -> GoStruct:
    """``CombinedStorage``: storage, filesystems, volumes, each omitted when empty."""
    out = GoStruct()
    if d.get("storage"):
        out["storage"] = {k: storage_struct(v) for k, v in d["storage"].items()}
    if d.get("filesystems"):
        out["filesystems"] = d["filesystems"]
    if d.get("volumes"):
        out["volumes"] = {k: volume_struct(v) for k, v in d["volumes"].items()}
    return out


def storage_output(d: dict[str, Any], form: str) -> tuple[str, str]:
    """``juju storage``: (stdout, stderr). An empty model prints nothing in json and yaml,
    and "No storage to display." on stderr in tabular."""
    value = combined_struct(d)
    if not value:
        return "", ("No storage to display.\n" if form == "tabular" else "")
    if form == "json":
        return go_json(value), ""
    if form == "yaml":
        return go_yaml(value), ""
    return storage_tabular(d), ""


def show_storage_output(d: dict[str, Any], form: str) -> str:
    value = {k: storage_struct(v) for k, v in d.items()}
    return go_json(value) if form == "json" else go_yaml(value)


def _ibytes(mib: int) -> str:
    """go-humanize IBytes (``1.0 GiB``)."""
    b = float(mib) * 1024 * 1024
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    i = 0
    while b >= 1024 and i < len(units) - 1:
        b /= 1024
        i += 1
    return f"{b:.0f} {units[i]}" if i == 0 else f"{b:.1f} {units[i]}"


def storage_tabular(d: dict[str, Any]) -> str:
    """listformatters.go formatStorageListTabular: Unit, Storage ID, Type, Pool, Size, Status,
    Message, one row per attachment (a detached storage: one row without a unit)."""
    vols = {v["storage"]: v for v in (d.get("volumes") or {}).values()}
    rows = [["Unit", "Storage ID", "Type", "Pool", "Size", "Status", "Message"]]
    for sid, s in (d.get("storage") or {}).items():
        v = vols.get(sid, {})
        units = sorted((s.get("attachments") or {}).get("units") or {}) or [""]
        for u in units:
            rows.append([u, sid, s["kind"], v.get("pool", ""), _ibytes(v["size"]) if v else "",
                         s["status"].get("current", ""), s["status"].get("message", "")])  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [c.ljust(widths[i]) for i, c in enumerate(r[:-1])] + [r[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
