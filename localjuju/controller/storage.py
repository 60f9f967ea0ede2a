"""Storage of the local model, as Juju 3.6 keeps and provisions it.

State (juju/juju state/storage.go, state/volume.go): a storage instance ``<name>/<n>`` (the
model-wide "stores" sequence) owned by and attached to a unit, backed by a volume. Two pools
provision block volumes, both as loop devices over sparse files in ``<model>/volumes/``
(:mod:`.volumes`):

- ``loop``: Juju's own loop provider, machine-scoped. Its volumes are named ``<machine>/<n>``,
  are not persistent, stay attached to their machine when the storage is detached from the
  unit, and are destroyed with the machine (removeMachineVolumesOps). It is what Juju gives
  block storage on the LXD cloud (the lxd provider has filesystems only), and the default
  here as there (``storage-default-block-source`` unset).
- ``ljvolume``: a model-scoped, dynamic, persistent block pool, as a cloud's ``ebs``,
  ``cinder`` or ``gce``: named ``<n>``, detached from the machine once the unit lets go of
  it, kept when its unit or application is removed without ``--destroy-storage``, and
  attachable to another unit of the model.

Life cycle of an attachment (worker/uniter/storage, state/storage.go DetachStorage): the
attachment is provisioned with its volume attached to the unit's machine; the unit runs
``<name>-storage-attached`` (before install for the storage it was deployed with); a
detach (``detach-storage``, ``remove-storage --force``, the unit's removal) makes the
attachment dying; the unit runs ``<name>-storage-detaching`` (first, when the unit is dying);
its commit removes the attachment and the owner; then the volume is detached from the machine
(model-scoped) or stays (loop), and the storage is destroyed if that was asked.

A volume still mounted on its machine cannot be detached: its status becomes ``error`` with
the mount named, and the detach is tried again on the next change of the model, as Juju's
storage provisioner retries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import volumes
from .state import StatusInfo, StorageInstance, Unit, Volume

if TYPE_CHECKING:
    from .controller import Controller

LOOP = "loop"
MODEL_POOL = "ljvolume"
POOLS = {LOOP: "machine", MODEL_POOL: "model"}
DEFAULT_SIZE = 1024  # MiB, without a size nor a charm minimum-size

_COUNT = re.compile(r"^[0-9]+$")
_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([MGTPEZY])(?:i?B)?$", re.I)
_POOL = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]*$")
_UNITS = "MGTPEZY"


class StorageError(Exception):
    pass


@dataclass
class Directive:
    pool: str = ""
    size: int = 0  # MiB
    count: int = 0


def parse_size(s: str) -> int:
    m = _SIZE.match(s)
    if not m:
        raise StorageError(f'invalid size "{s}"')
    value = float(m.group(1)) * (1024 ** _UNITS.index(m.group(2).upper()))
    return int(-(-value // 1))


def parse_directive(spec: str) -> Directive:
    """storage/constraints.go ParseConstraints: ``[pool][,size][,count]`` in any order."""
    if not spec:
        raise StorageError("storage constraints require at least one field to be specified")
    d = Directive()
    for field in spec.split(","):
        if _COUNT.match(field):
            if d.count:
                raise StorageError("storage constraint count specified more than once")
            d.count = int(field)
            if d.count == 0:
                raise StorageError("adding storage where instance count is 0 not valid")
        elif _SIZE.match(field):
            d.size = parse_size(field)
        elif _POOL.match(field):
            d.pool = field
        else:
            raise StorageError(f'unrecognized storage constraint "{field}" not valid')
    return d


def parse_storage_flag(item: str) -> tuple[str, Directive]:
    """``name=constraints`` (deploy/add-storage), or a bare ``name`` (count 1)."""
    if "=" not in item:
        if not _POOL.match(item):
            raise StorageError(f'expected "name=constraints" or "name", got "{item}"')
        return item, Directive(count=1)
    name, spec = item.split("=", 1)
    return name, parse_directive(spec)


def count_range(spec: dict[str, Any]) -> tuple[int, int | None]:
    """A charm store's (CountMin, CountMax); None = no maximum. Without ``multiple``: 1..1."""
    multiple = spec.get("multiple")
    if not multiple:
        return 1, 1
    r = str(multiple.get("range", "1"))
    if r.endswith("-"):
        return int(r[:-1]), None
    if "-" in r:
        lo, hi = r.split("-", 1)
        return int(lo), int(hi)
    return int(r), int(r)


def go_since(iso: str) -> str:
    """``common.FormatTime`` of a stored RFC 3339 time: ``02 Jan 2006 15:04:05Z07:00``."""
    import datetime

    from ..formats._go import format_time

    try:
        return format_time(datetime.datetime.fromisoformat(iso))
    except ValueError:
        return iso


class StorageManager:
    """The model's storage: the controller's state plus the volume provisioner."""

    def __init__(self, ctl: Controller):
        self.ctl = ctl

    @property
    def m(self) -> Any:
        return self.ctl.model

    @property
    def dir(self) -> Path:
        return self.ctl.dir / "volumes"

    # ------------------------------------------------------------------ queries

    def of_unit(self, unit: str) -> list[StorageInstance]:
        return [s for s in self.m.storage.values() if s.unit == unit]

    def location(self, s: StorageInstance) -> str:
        v = self.m.volumes.get(s.volume)
        return f"/dev/{v.device}" if v is not None and v.device else ""

    def provisioned(self, s: StorageInstance) -> bool:
        """A block attachment is provisioned once its device is on the unit's machine."""
        v = self.m.volumes.get(s.volume)
        unit = self.m.units.get(s.unit)
        return bool(v and v.device and unit and v.machine == unit.machine)

    # ------------------------------------------------------------------ creation

    def _defaults(self, app: str, name: str, d: Directive) -> tuple[dict[str, Any], Directive]:
        ch = self.ctl.charm(app)
        spec = ch.storage.get(name)
        if spec is None:
            raise StorageError(f'charm storage "{name}" not found')
        kind = str(spec.get("type", "filesystem"))
        if kind != "block":
            raise StorageError(
                f'storage "{name}" is of type {kind}: the local model provisions block '
                "storage only (see docs/localjuju-fidelity.md)"
            )
        # missing fields come from the application's recorded constraints, then the model's
        # defaults (storageConstraintsWithDefaults)
        recorded = self.m.applications[app].storage.get(name) or {}
        d = Directive(pool=d.pool or str(recorded.get("pool") or ""),
                      size=d.size or int(recorded.get("size") or 0), count=d.count)  # fmt: skip
        pool = d.pool or str(self.m.config.get("storage-default-block-source") or "") or LOOP
        if pool not in POOLS:
            raise StorageError(f'pool "{pool}" not found')
        minimum = parse_size(str(spec["minimum-size"])) if spec.get("minimum-size") else 0
        size = d.size or minimum or DEFAULT_SIZE
        if size < minimum:
            raise StorageError(
                f'charm "{ch.name}" store "{name}": minimum storage size is '
                f"{_human(minimum)}, {_human(size)} specified"
            )
        return spec, Directive(pool=pool, size=size, count=d.count or 1)

    def check_count(self, unit: Unit, name: str, delta: int, verb: str) -> None:
        spec = self.ctl.charm(unit.app).storage[name]
        lo, hi = count_range(spec)
        if lo == hi == 1:
            raise StorageError(f"cannot {verb}, storage is singular")
        have = len([s for s in self.of_unit(unit.name) if s.name == name])
        total = have + delta
        gerund = "attaching" if delta > 0 else "detaching"
        plural = "" if abs(delta) == 1 else "s"
        if hi is not None and total > hi:
            raise StorageError(
                f"{gerund} {abs(delta)} storage instance{plural} brings the total to {total}, "
                f"exceeding the maximum of {hi}"
            )
        if total < lo:
            raise StorageError(
                f"{gerund} {abs(delta)} storage instance{plural} brings the total to {total}, "
                f"which is less than the minimum of {lo}"
            )

    def validate_deploy(self, app: str, flags: dict[str, Directive]) -> dict[str, Directive]:
        """The storage a new unit of ``app`` gets: each store's directive with its defaults."""
        ch = self.ctl.charm(app)
        out: dict[str, Directive] = {}
        for name, d in flags.items():
            _, full = self._defaults(app, name, d)
            lo, hi = count_range(ch.storage[name])
            if hi is not None and full.count > hi:
                raise StorageError(
                    f'charm "{ch.name}" store "{name}": at most {hi} instances supported, '
                    f"{full.count} specified"
                )
            out[name] = full
        for name, spec in ch.storage.items():
            lo, _ = count_range(spec)
            if name not in out and lo > 0:
                _, out[name] = self._defaults(app, name, Directive(count=lo))
        return out

    def create(self, unit: Unit, name: str, d: Directive) -> StorageInstance:
        """A new storage instance with its volume, attached to ``unit`` and its machine."""
        sid = f"{name}/{self.m.next_storage}"
        self.m.next_storage += 1
        seq = self.m.next_volume
        self.m.next_volume += 1
        vid = f"{unit.machine}/{seq}" if POOLS[d.pool] == "machine" else str(seq)
        vol = Volume(id=vid, storage=sid, pool=d.pool, size=d.size, file="")
        vol.file = str(self.dir / f"{vol.provider_id}.img")
        s = StorageInstance(
            id=sid,
            kind="block",
            pool=d.pool,
            size=d.size,
            unit=unit.name,
            volume=vid,
        )
        self.m.storage[sid] = s
        self.m.volumes[vid] = vol
        volumes.create(Path(vol.file), d.size)
        self.attach_volume(vol, unit.machine)
        return s

    def attach_volume(self, vol: Volume, machine: str) -> None:
        if vol.machine == machine and vol.device:
            return
        vol.status.set("attaching")
        try:
            dev = volumes.attach(Path(vol.file))
        except volumes.VolumeError as e:
            vol.status.set("error", str(e))
            return
        vol.machine = machine
        vol.device = dev.removeprefix("/dev/")
        vol.status.set("attached")

    # ------------------------------------------------------------------ commands

    def add(self, unit_name: str, items: list[str]) -> list[str]:
        """``juju add-storage``: one line per result, as the CLI prints them."""
        unit = self._alive_unit(unit_name)
        lines = []
        for item in items:
            try:
                name, d = parse_storage_flag(item)
            except StorageError as e:
                raise _user(str(e)) from None
            try:
                _, full = self._defaults(unit.app, name, d)
                try:
                    self.check_count(unit, name, full.count, "attach")
                except StorageError as e:
                    raise StorageError(f'adding "{name}" storage to {unit.name}: {e}') from None
                for _ in range(full.count):
                    s = self.create(unit, name, full)
                    lines.append(f"added storage {s.id} to {unit.name}")
            except StorageError as e:
                lines.append(f'failed to add storage "{name}" to {unit.name}: {e}')
        self.ctl.changed()
        return lines

    def add_from_hook(self, unit: Unit, requests: dict[str, int]) -> None:
        """``storage-add`` of a committed hook (errors go to the unit's log, as Juju's)."""
        for name, count in requests.items():
            try:
                _, full = self._defaults(unit.app, name, Directive(count=count))
                self.check_count(unit, name, full.count, "attach")
                for _ in range(full.count):
                    self.create(unit, name, full)
            except StorageError as e:
                self.ctl.debug(f"unit-{unit.name.replace('/', '-')}", "ERROR",
                               "juju.worker.uniter", f'adding "{name}" storage: {e}')  # fmt: skip

    def attach(self, unit_name: str, ids: list[str]) -> list[str]:
        """``juju attach-storage``."""
        unit = self._alive_unit(unit_name)
        lines = []
        for sid in ids:
            try:
                self._attach(unit, sid)
                lines.append(f"attaching {sid} to {unit.name}")
            except StorageError as e:
                lines.append(
                    f"failed to attach {sid} to {unit.name}: cannot attach storage {sid} to "
                    f"unit {unit.name}: {e}"
                )
        self.ctl.changed()
        return lines

    def _attach(self, unit: Unit, sid: str) -> None:
        s = self.m.storage.get(sid)
        if s is None:
            raise StorageError(f'storage instance "{sid}" not found')
        if s.unit == unit.name:
            return  # already attached: a no-op that succeeds
        if s.life != "alive":
            raise StorageError("storage not alive")
        if s.unit:  # Juju's owner: the unit it is attached to, until the attachment goes
            raise StorageError(f"cannot attach storage owned by unit {s.unit} to unit {unit.name}")
        if s.name not in self.ctl.charm(unit.app).storage:
            raise StorageError(
                f"charm {self.ctl.charm(unit.app).name} has no storage called {s.name}"
            )
        vol = self.m.volumes[s.volume]
        if POOLS[vol.pool] == "machine" and vol.machine and vol.machine != unit.machine:
            raise StorageError(f"storage is non-detachable (bound to machine {vol.machine})")
        self.check_count(unit, s.name, 1, "attach")
        if vol.machine and vol.machine != unit.machine:
            raise StorageError(f"volume {vol.id} is still attached to machine {vol.machine}")
        s.unit = unit.name
        s.attachment_life = "alive"
        self.attach_volume(vol, unit.machine)

    def detach(self, ids: list[str], force: bool = False) -> list[str]:
        """``juju detach-storage``: every alive attachment goes dying."""
        lines = []
        for sid in ids:
            s = self.m.storage.get(sid)
            if s is None:
                lines.append(f'failed to detach {sid}: storage instance "{sid}" not found')
                continue
            if s.unit and s.attachment_life == "alive":
                unit = self.m.units[s.unit]
                try:
                    if unit.life == "alive":
                        self.check_count(unit, s.name, -1, "detach")
                except StorageError as e:
                    lines.append(
                        f"failed to detach {sid}: cannot destroy storage attachment "
                        f"{sid}:{s.unit}: {e}"
                    )
                    continue
                self.start_detach(s, "detach")
                if force:
                    self.attachment_removed(s)
            lines.append(f"detaching {sid}")
        self.ctl.changed()
        return lines

    def remove(self, ids: list[str], force: bool, no_destroy: bool) -> tuple[list[str], bool]:
        """``juju remove-storage``: (lines, whether one failed because it is attached)."""
        lines = []
        attached = False
        verb = "release" if no_destroy else "destroy"
        for sid in ids:
            s = self.m.storage.get(sid)
            if s is None:
                lines.append(f'failed to remove {sid}: storage instance "{sid}" not found')
                continue
            if s.unit and not force:
                lines.append(f'failed to remove {sid}: cannot {verb} storage "{sid}": '
                             "storage is attached")  # fmt: skip
                attached = True
                continue
            if no_destroy and s.pool == LOOP:
                lines.append(f'failed to remove {sid}: cannot {verb} storage "{sid}": storage '
                             f'provider "{LOOP}" does not support releasing storage')  # fmt: skip
                continue
            then = "release" if no_destroy else "destroy"
            if s.unit:
                self.start_detach(s, then)
                self.attachment_removed(s)
            else:
                self.finish(s, then)
            lines.append(f"removing {sid}")
        self.ctl.changed()
        return lines, attached

    def _alive_unit(self, name: str) -> Unit:
        from .controller import UserError

        unit = self.m.units.get(name)
        if unit is None:
            raise UserError(f'unit "{name}" not found')
        if unit.life != "alive":
            raise UserError(f"unit {name} is not alive")
        return unit

    # ------------------------------------------------------------------ detaching

    def start_detach(self, s: StorageInstance, then: str) -> None:
        s.attachment_life = "dying"
        s.then = then
        if s.then == "destroy":
            s.life = "dying"

    def unit_dying(self, unit: Unit, destroy_storage: bool) -> None:
        """``remove-unit``/``remove-application``: the unit's storage is detached or (with
        ``--destroy-storage``) destroyed once its detaching hook ran; machine-bound (loop)
        storage goes with the machine either way."""
        for s in self.of_unit(unit.name):
            self.start_detach(s, "destroy" if destroy_storage else "detach")

    def attachment_removed(self, s: StorageInstance) -> None:
        """The unit committed ``storage-detaching`` (or was forced): the attachment and the
        owner go (removeStorageAttachmentOps), then the volume follows."""
        unit = self.m.units.get(s.unit)
        if unit is not None and s.id in unit.local.storage_attached:
            unit.local.storage_attached.remove(s.id)
        s.unit = ""
        s.attachment_life = "alive"
        self.finish(s, s.then)

    def finish(self, s: StorageInstance, then: str) -> None:
        vol = self.m.volumes.get(s.volume)
        if then == "detach":
            if vol is not None and POOLS[vol.pool] == "model":
                self.detach_volume(vol)
            return
        s.life = "dying"
        if vol is not None:
            vol.life = "dying"
            if then == "release":
                self.detach_volume(vol)
                if not vol.machine:
                    self.m.volumes.pop(vol.id, None)
                    self.m.storage.pop(s.id, None)
                return
            vol.status.set("destroying")
            self.destroy_volume(vol)
            if vol.id in self.m.volumes:
                return  # busy: retried
        self.m.storage.pop(s.id, None)

    def detach_volume(self, vol: Volume) -> None:
        if not vol.machine:
            if vol.status.current not in ("detached", "destroying"):
                vol.status.set("detached")
            return
        if self._busy(vol, f"detaching volume {vol.id} from machine {vol.machine}"):
            return
        vol.status.set("detaching")
        try:
            volumes.detach(Path(vol.file))
        except volumes.VolumeError as e:
            vol.status.set("error", str(e))
            return
        vol.machine = ""
        vol.device = ""
        vol.status.set("detached")

    def destroy_volume(self, vol: Volume) -> None:
        if self._busy(vol, f"destroying volume {vol.id}"):
            return
        try:
            volumes.destroy(Path(vol.file))
        except volumes.VolumeError as e:
            vol.status.set("error", str(e))
            return
        self.m.volumes.pop(vol.id, None)

    def _busy(self, vol: Volume, doing: str) -> bool:
        """A volume still mounted somewhere is not detached nor destroyed: its status says
        where, and the provisioner tries again (:meth:`retry`)."""
        busy = self._mounts(vol)
        if busy:
            vol.status.set(
                "error", f"{doing}: /dev/{vol.device} is in use (mounted at {', '.join(busy)})"
            )
        return bool(busy)

    def _mounts(self, vol: Volume) -> list[str]:
        """Where the volume's device is mounted: in its machine, or in any namespace left
        holding it (a snap's kept namespace): a volume in use is not detached."""
        if not vol.device:
            return []
        return sorted(set(volumes.mounted_anywhere(f"/dev/{vol.device}")))

    def retry(self) -> bool:
        """Volumes whose detach or destroy failed (busy): try again. True if one moved."""
        moved = False
        for vol in list(self.m.volumes.values()):
            if vol.status.current != "error":
                continue
            s = self.m.storage.get(vol.storage)
            if s is not None and s.unit:
                continue
            before = (vol.machine, vol.id in self.m.volumes)
            if vol.life == "dying" and s is not None:
                self.finish(s, "destroy" if s.then != "release" else "release")
            elif s is not None and POOLS[vol.pool] == "model":
                self.detach_volume(vol)
            moved = moved or before != (vol.machine, vol.id in self.m.volumes)
        return moved

    def unit_gone(self, unit: Unit) -> None:
        """The unit left the model (removed, or forced out without its hooks)."""
        for s in self.of_unit(unit.name):
            if s.attachment_life != "dying":
                s.then = "detach"
            self.attachment_removed(s)

    def machine_gone(self, mid: str) -> None:
        """After the machine's processes are gone: its loop volumes and their storage are
        destroyed; model-scoped volumes are detached from it."""
        for vol in list(self.m.volumes.values()):
            if vol.machine != mid:
                continue
            s = self.m.storage.get(vol.storage)
            if POOLS[vol.pool] == "machine":
                try:
                    volumes.destroy(Path(vol.file))
                except volumes.VolumeError:
                    pass
                self.m.volumes.pop(vol.id, None)
                if s is not None:
                    self.m.storage.pop(s.id, None)
            else:
                self.detach_volume(vol)

    def destroy_all(self) -> None:
        """The model goes: every volume's loop device is released and its file deleted."""
        for vol in list(self.m.volumes.values()):
            try:
                volumes.destroy(Path(vol.file))
            except volumes.VolumeError:
                pass
        release_dir(self.dir)

    # ------------------------------------------------------------------ output

    def storage_info(self, s: StorageInstance) -> dict[str, Any]:
        vol = self.m.volumes.get(s.volume)
        st = vol.status if vol is not None else StatusInfo("pending")
        info: dict[str, Any] = {"kind": s.kind, "life": s.life, "status": _status(st),
                                "persistent": bool(vol and POOLS[vol.pool] == "model")}  # fmt: skip
        if s.unit:
            info["attachments"] = {"units": {s.unit: self._unit_attachment(s)}}
        return info

    def _unit_attachment(self, s: StorageInstance) -> dict[str, Any]:
        unit = self.m.units.get(s.unit)
        out: dict[str, Any] = {}
        if unit is not None:
            out["machine"] = unit.machine
        loc = self.location(s)
        if loc:
            out["location"] = loc
        out["life"] = s.attachment_life
        return out

    def volume_info(self, vol: Volume) -> dict[str, Any]:
        s = self.m.storage.get(vol.storage)
        info: dict[str, Any] = {"provider-id": vol.provider_id, "storage": vol.storage}
        atts: dict[str, Any] = {}
        if vol.machine:
            atts["machines"] = {vol.machine: {"device": vol.device, "read-only": False,
                                              "life": "alive"}}  # fmt: skip
        if s is not None and s.unit:
            atts["units"] = {s.unit: self._unit_attachment(s)}
        if atts:
            info["attachments"] = atts
        info["pool"] = vol.pool
        info["size"] = vol.size
        info["persistent"] = POOLS[vol.pool] == "model"
        info["life"] = vol.life
        info["status"] = _status(vol.status)
        return info

    def combined(self) -> dict[str, Any]:
        """``CombinedStorage`` (cmd/juju/storage/list.go), each section omitted when empty."""
        out: dict[str, Any] = {}
        if self.m.storage:
            out["storage"] = {k: self.storage_info(self.m.storage[k])
                              for k in sorted(self.m.storage, key=_id_key)}  # fmt: skip
        if self.m.volumes:
            out["volumes"] = {k: self.volume_info(self.m.volumes[k])
                              for k in sorted(self.m.volumes, key=_id_key)}  # fmt: skip
        return out

    def show(self, ids: list[str]) -> dict[str, Any]:
        from .controller import UserError

        if not ids:
            raise UserError("must specify storage ID(s)")
        missing = [f'storage instance "{i}" not found' for i in ids if i not in self.m.storage]
        if missing:
            raise UserError("\n".join(missing))
        return {i: self.storage_info(self.m.storage[i]) for i in ids}


def release_dir(d: Path) -> None:
    """Every loop device whose file is under ``d`` released (a model destroyed without its
    controller): no device is left behind on the host."""
    if not d.is_dir():
        return
    for f in d.glob("*.img"):
        try:
            volumes.detach(f)
        except volumes.VolumeError:
            pass


def _status(st: StatusInfo) -> dict[str, str]:
    out = {"current": st.current}
    if st.message:
        out["message"] = st.message
    out["since"] = go_since(st.since)
    return out


def _id_key(i: str) -> tuple[Any, ...]:
    parts = re.split(r"[/]", i)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def _human(mib: int) -> str:
    """``humanize.Bytes(size * humanize.MByte)``, as Juju words a storage size in its charm
    checks: the MiB count taken as millions of bytes (16 MiB is "16 MB")."""
    b = float(mib) * 1000 * 1000
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
    i = 0
    while b >= 1000 and i < len(units) - 1:
        b /= 1000
        i += 1
    if i == 0:
        return f"{int(b)} B"
    return f"{b:.1f} {units[i]}" if b < 10 else f"{b:.0f} {units[i]}"


def _user(message: str) -> Exception:
    from .controller import UserError

    return UserError(message)
