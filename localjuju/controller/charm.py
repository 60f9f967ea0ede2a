"""Reading charms: a charm directory or a ``.charm`` zip, as Juju 3 accepts them (spec 4.3)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
KNOWN_OS = {"ubuntu", "centos"}
SERIES_BASES = {
    "focal": "ubuntu@20.04",
    "jammy": "ubuntu@22.04",
    "noble": "ubuntu@24.04",
    "bionic": "ubuntu@18.04",
    "xenial": "ubuntu@16.04",
}


class CharmError(Exception):
    pass


@dataclass
class EndpointSpec:
    name: str
    role: str  # provider | requirer | peer
    interface: str
    scope: str = "global"
    limit: int | None = None


@dataclass
class Charm:
    path: Path
    meta: dict[str, Any]
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def endpoints(self) -> dict[str, EndpointSpec]:
        out: dict[str, EndpointSpec] = {}
        for key, role in (("provides", "provider"), ("requires", "requirer"), ("peers", "peer")):
            for name, spec in (self.meta.get(key) or {}).items():
                if isinstance(spec, str):
                    spec = {"interface": spec}
                out[name] = EndpointSpec(
                    name=name,
                    role=role,
                    interface=str(spec.get("interface", "")),
                    scope=str(spec.get("scope", "global")),
                    limit=spec.get("limit"),
                )
        return out

    @property
    def subordinate(self) -> bool:
        """metadata.yaml's ``subordinate``: the charm's units live in a principal's container."""
        return bool(self.meta.get("subordinate", False))

    @property
    def extra_bindings(self) -> list[str]:
        return list((self.meta.get("extra-bindings") or {}).keys())

    @property
    def storage(self) -> dict[str, dict[str, Any]]:
        return dict(self.meta.get("storage") or {})

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.meta.get("resources") or {})

    @property
    def bases(self) -> list[str]:
        bases = []
        for b in self.manifest.get("bases") or []:
            bases.append(f"{b.get('name')}@{b.get('channel')}")
        if not bases:
            for s in self.meta.get("series") or []:
                if s in SERIES_BASES:
                    bases.append(SERIES_BASES[s])
        return bases

    def hook_names(self) -> list[str]:
        names = [
            "install",
            "start",
            "stop",
            "remove",
            "config-changed",
            "upgrade-charm",
            "update-status",
            "leader-elected",
            "leader-settings-changed",
            "pre-series-upgrade",
            "post-series-upgrade",
            "collect-metrics",
            "meter-status-changed",
        ]
        for ep in self.endpoints:
            for kind in ("created", "joined", "changed", "departed", "broken"):
                names.append(f"{ep}-relation-{kind}")
        for s in self.storage:
            names += [f"{s}-storage-attached", f"{s}-storage-detaching"]
        return names

    def config_defaults(self) -> dict[str, Any]:
        return {k: v.get("default") for k, v in self.config.items()}

    def config_types(self) -> dict[str, str]:
        return {k: str(v.get("type", "string")) for k, v in self.config.items()}


def _load_yaml(text: str | None, what: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CharmError(f"invalid {what}: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CharmError(f"invalid {what}: expected a map")
    return data


def read_charm(path: Path) -> Charm:
    """Read and validate an unpacked charm directory."""
    meta_file = path / "metadata.yaml"
    if not meta_file.exists():
        raise CharmError(f'invalid charm "{path}": metadata.yaml missing')
    meta = _load_yaml(meta_file.read_text(), "metadata.yaml")
    name = meta.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise CharmError(f"invalid charm name {name!r} in metadata.yaml")

    def opt(file: str) -> str | None:
        p = path / file
        return p.read_text() if p.exists() else None

    config = _load_yaml(opt("config.yaml"), "config.yaml").get("options") or {}
    actions = _load_yaml(opt("actions.yaml"), "actions.yaml")
    manifest = _load_yaml(opt("manifest.yaml"), "manifest.yaml")
    charm = Charm(path=path, meta=meta, config=config, actions=actions, manifest=manifest)
    _validate(charm)
    return charm


def _validate(charm: Charm) -> None:
    meta = charm.meta
    if meta.get("series") is None and charm.manifest:
        for bad in ("series", "min-juju-version", "deployment"):
            if bad in meta:
                raise CharmError(f"metadata v2 manifest.yaml with {bad} slice not valid")
    for b in charm.manifest.get("bases") or []:
        if b.get("name") not in KNOWN_OS or not b.get("channel"):
            raise CharmError(f"manifest.yaml: invalid base {b!r}")
    if not charm.bases:
        raise CharmError("charm does not define any bases")
    for opt_name, spec in charm.config.items():
        t = spec.get("type", "string")
        if t not in ("string", "int", "float", "boolean", "secret"):
            raise CharmError(f'invalid config: option "{opt_name}" has unknown type "{t}"')
    for action in charm.actions:
        if not NAME_RE.match(action):
            raise CharmError(f"invalid action name {action!r}")
    if charm.subordinate and not any(
        ep.role == "requirer" and ep.scope == "container" for ep in charm.endpoints.values()
    ):
        # juju/charm's Meta.Check
        raise CharmError(
            f'subordinate charm "{charm.name}" lacks "requires" relation with container scope'
        )
    names: set[str] = set()
    for ep in charm.endpoints.values():
        if ep.name in names:
            raise CharmError(f'charm "{charm.name}" using a duplicated relation name: "{ep.name}"')
        names.add(ep.name)


def check_symlinks(root: Path) -> None:
    """Juju archives a charm's symlinks as they are and refuses those that could not work
    on the unit (charm/charmdir.go checkSymlinkTarget): absolute ones and ones that lead out
    of the charm."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                continue
            rel = path.relative_to(root).as_posix()
            target = os.readlink(path)
            joined = os.path.normpath(os.path.join(os.path.dirname(rel), target))
            if os.path.isabs(target):
                problem = "is absolute"
            elif joined == ".." or joined.startswith("../"):
                problem = "links out of charm"
            else:
                continue
            shutil.rmtree(root, ignore_errors=True)
            raise CharmError(f'symlink "{rel}" {problem}: "{target}"')


def archive_bases(source: Path) -> list[str]:
    """The bases a charm declares, read from a .charm archive or a charm directory without
    unpacking it (what the deployment may choose from)."""
    if source.is_dir():
        return read_charm(source).bases
    try:
        with zipfile.ZipFile(source) as zf:
            names = set(zf.namelist())
            meta = yaml.safe_load(zf.read("metadata.yaml")) if "metadata.yaml" in names else {}
            manifest = yaml.safe_load(zf.read("manifest.yaml")) if "manifest.yaml" in names else {}
    except (zipfile.BadZipFile, OSError, yaml.YAMLError) as e:
        raise CharmError(f"invalid charm archive {source}: {e}") from None
    if not isinstance(meta, dict) or not isinstance(manifest, dict):
        raise CharmError(f"invalid charm archive {source}: metadata or manifest is not a map")
    return Charm(path=source, meta=meta, manifest=manifest).bases


def unpack(source: Path, dest: Path, resolve_links: bool = False) -> Charm:
    """Copy a charm dir or extract a .charm into ``dest`` (preserving modes) and read it.

    ``resolve_links`` copies what symlinks point to (the built-in charms link to files they
    share); a user's charm directory keeps its symlinks, as Juju archives them."""
    if dest.exists():
        shutil.rmtree(dest)
    if source.is_dir():
        shutil.copytree(
            source, dest, symlinks=not resolve_links, ignore=shutil.ignore_patterns(".git")
        )
    elif zipfile.is_zipfile(source):
        dest.mkdir(parents=True)
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist():
                target = dest / info.filename
                if not str(target.resolve()).startswith(str(dest.resolve())):
                    raise CharmError(f"invalid charm archive: bad path {info.filename}")
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                mode = (info.external_attr >> 16) & 0o7777
                if stat.S_ISLNK(info.external_attr >> 16):
                    target.symlink_to(zf.read(info).decode())
                    continue
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                if mode:
                    target.chmod(mode)
    else:
        raise CharmError(f"invalid charm or bundle provided at {str(source)!r}")
    check_symlinks(dest)
    charm = read_charm(dest)
    # Juju sets the owner-execute bit on known hooks of the charm.
    hooks = dest / "hooks"
    if hooks.is_dir():
        known = set(charm.hook_names())
        for f in hooks.iterdir():
            if f.name in known and f.is_file():
                f.chmod(f.stat().st_mode | stat.S_IXUSR)
    return charm


def validate_config(charm: Charm, values: dict[str, str]) -> dict[str, Any]:
    """Parse ``k=v`` strings from the CLI into typed values, as ``juju config`` does."""
    out: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in charm.config:
            raise CharmError(f'unknown option "{key}"')
        t = charm.config[key].get("type", "string")
        out[key] = coerce(key, t, raw)
    return out


def coerce(key: str, t: str, raw: Any) -> Any:
    """A CLI value (usually a string) as the option's type."""
    try:
        if t == "int":
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        if t == "float":
            return float(raw)
        if t == "boolean":
            if isinstance(raw, bool):
                return raw
            low = str(raw).lower()
            if low in ("true", "yes", "on", "1", "y"):
                return True
            if low in ("false", "no", "off", "0", "n"):
                return False
            raise ValueError
    except ValueError:
        what = {"int": "int", "float": "float", "boolean": "bool"}[t]
        raise CharmError(f'option "{key}" expected {what}, got {raw!r}') from None
    return "" if raw is None else str(raw)
