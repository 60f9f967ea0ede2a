"""Debian packages for the local model: ``.deb`` files, control data, versions, the local archive.

The machines' ``apt-get`` installs only from a local archive built from the packages that
``scripts/fetch-etcd`` downloads into ``.cache/debs`` (machines never reach a real archive). The
archive is a directory (``.cache/apt-repo``, ``$LOCALJUJU_APT_REPO`` overrides), read-only at
``/var/lib/localjuju/apt`` inside every machine::

    <repo>/Packages          deb822 stanzas: each package's control fields + Filename, Size,
                             MD5sum, SHA256 (as in a Debian archive's Packages file)
    <repo>/pool/<file>.deb   the packages
    <repo>/localjuju.json    how it was built (builder version, the source .debs), to rebuild
                             only when something changed

It holds the ``.deb`` files of one upstream version (the machine's "distribution" version of
etcd, 3.4.23 from Debian bookworm), ``etcd``, a transitional package that depends on
``etcd-server`` and ``etcd-client`` (as Ubuntu's ``etcd`` package does), built here because
Debian no longer ships one, and the NRPE packages of :data:`EXTRA_PACKAGES` found in the cache. Only the standard library is used (machines import this module).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from .store import file_digest, sha256_file

BUILDER_VERSION = 2
TRANSITIONAL = "etcd"
TRANSITIONAL_DEPENDS = ("etcd-server", "etcd-client")
#: Debian bookworm packages published as they are (their newest .deb in the cache): the NRPE
#: server and plugins that the nrpe subordinate installs, and their dependencies that the
#: machines' base system (the host's /usr) lacks. ``scripts/fetch-nrpe`` downloads them.
EXTRA_PACKAGES = (
    "nagios-nrpe-server",
    "nagios-nrpe-plugin",
    "monitoring-plugins-basic",
    "monitoring-plugins-common",
    "libwrap0",
    "iputils-ping",
)


class DebError(Exception):
    """A problem with a ``.deb`` file or the archive, with a message for the operator."""


# ---------------------------------------------------------------------------------------------
# deb822 (control files, Packages, dpkg's status file)

Stanza = dict[str, str]


def parse_deb822(text: str) -> list[Stanza]:
    """Stanzas in file order. A multi-line value keeps its continuation lines verbatim
    (``"summary\\n more\\n ."``), so :func:`format_deb822` writes it back unchanged."""
    stanzas: list[Stanza] = []
    cur: Stanza = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if cur:
                stanzas.append(cur)
            cur, key = {}, ""
            continue
        if line.startswith("#"):
            continue
        if line[0] in " \t":
            if not key:
                raise DebError(f"continuation line without a field: {line!r}")
            cur[key] += "\n" + line
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise DebError(f"line without a field name: {line!r}")
        key = name.strip()
        cur[key] = value.strip()
    if cur:
        stanzas.append(cur)
    return stanzas


def format_deb822(stanza: Stanza) -> str:
    out = []
    for k, v in stanza.items():
        out.append(f"{k}: {v}\n" if v and not v.startswith("\n") else f"{k}:{v}\n")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Versions (Debian policy 5.6.12, as dpkg compares them)


def _split_version(v: str) -> tuple[int, str, str]:
    v = v.strip()
    epoch = 0
    if ":" in v:
        e, v = v.split(":", 1)
        epoch = int(e) if e.isdigit() else 0
    if "-" in v:
        upstream, revision = v.rsplit("-", 1)
    else:
        upstream, revision = v, ""
    return epoch, upstream, revision


def upstream_version(v: str) -> str:
    return _split_version(v)[1]


def _order(c: str) -> int:
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def version_compare(a: str, b: str) -> int:
    """<0, 0 or >0 as version ``a`` sorts before, equal to or after ``b``."""
    ea, ua, ra = _split_version(a)
    eb, ub, rb = _split_version(b)
    if ea != eb:
        return ea - eb
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def version_satisfies(version: str, op: str, wanted: str) -> bool:
    c = version_compare(version, wanted)
    return {
        "<<": c < 0,
        "<=": c <= 0,
        "=": c == 0,
        ">=": c >= 0,
        ">>": c > 0,
        "<": c <= 0,  # obsolete forms, as dpkg reads them
        ">": c >= 0,
    }.get(op, False)


@dataclass(frozen=True)
class Relation:
    name: str
    op: str = ""
    version: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.op} {self.version})" if self.op else self.name


def parse_relations(text: str) -> list[list[Relation]]:
    """``Depends:`` -> [[alternative, ...], ...] (architecture qualifiers dropped)."""
    out: list[list[Relation]] = []
    for group in text.replace("\n", " ").split(","):
        group = group.strip()
        if not group:
            continue
        alts = []
        for alt in group.split("|"):
            m = re.fullmatch(
                r"\s*([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*"
                r"(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^)\s]+)\s*\))?\s*(?:\[.*\])?\s*(?:<.*>)?\s*",
                alt,
            )
            if not m:
                raise DebError(f"invalid relation {alt.strip()!r}")
            alts.append(Relation(m.group(1), m.group(2) or "", m.group(3) or ""))
        out.append(alts)
    return out


# ---------------------------------------------------------------------------------------------
# .deb files: an ar archive with debian-binary, control.tar.* and data.tar.*


def _ar_members(path: str) -> dict[str, tuple[int, int]]:
    """name -> (offset, size) of the members of an ar archive."""
    members: dict[str, tuple[int, int]] = {}
    with open(path, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise DebError(f"{path}: not a Debian package (no ar signature)")
        while True:
            header = f.read(60)
            if not header:
                break
            if len(header) < 60 or header[58:60] != b"`\n":
                raise DebError(f"{path}: corrupt ar archive")
            name = header[:16].decode("ascii", "replace").strip().rstrip("/")
            size = int(header[48:58].decode("ascii").strip())
            offset = f.tell()
            members[name] = (offset, size)
            f.seek(size + (size & 1), io.SEEK_CUR)
    return members


def _decompress(name: str, data: bytes) -> bytes:
    if name.endswith(".xz"):
        return lzma.decompress(data)
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".tar"):
        return data
    raise DebError(f"unsupported compression of {name} (xz, gz or none are)")


class DebFile:
    """A ``.deb``: its control fields, control members (conffiles, md5sums, maintainer
    scripts) and its data archive."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._members = _ar_members(path)
        if "debian-binary" not in self._members:
            raise DebError(f"{path}: not a Debian package (no debian-binary)")
        self.control_files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(self._member("control.tar"))) as tar:
            for m in tar.getmembers():
                name = os.path.normpath(m.name)
                if m.isfile() and "/" not in name:
                    f = tar.extractfile(m)
                    if f is not None:
                        self.control_files[name] = f.read()
        if "control" not in self.control_files:
            raise DebError(f"{path}: no control file")
        stanzas = parse_deb822(self.control_files["control"].decode("utf-8", "replace"))
        if len(stanzas) != 1 or "Package" not in stanzas[0]:
            raise DebError(f"{path}: invalid control file")
        self.control: Stanza = stanzas[0]

    def _member(self, prefix: str) -> bytes:
        for name, (offset, size) in self._members.items():
            if name == prefix or name.startswith(prefix + "."):
                with open(self.path, "rb") as f:
                    f.seek(offset)
                    return _decompress(name, f.read(size))
        raise DebError(f"{self.path}: no {prefix} member")

    @property
    def package(self) -> str:
        return self.control["Package"]

    @property
    def version(self) -> str:
        return self.control.get("Version", "")

    @property
    def architecture(self) -> str:
        return self.control.get("Architecture", "")

    def conffiles(self) -> list[str]:
        text = self.control_files.get("conffiles", b"").decode("utf-8", "replace")
        return [line.strip() for line in text.splitlines() if line.strip().startswith("/")]

    def maintainer_scripts(self) -> dict[str, bytes]:
        names = ("preinst", "postinst", "prerm", "postrm", "config", "triggers")
        return {n: self.control_files[n] for n in names if n in self.control_files}

    @contextlib.contextmanager
    def data(self) -> Iterator[tarfile.TarFile]:
        with tarfile.open(fileobj=io.BytesIO(self._member("data.tar"))) as tar:
            yield tar


def md5_file(path: str) -> str:
    """dpkg's digest for conffiles and ``md5sums``."""
    return file_digest(path, "md5")


def build_deb(
    out: str,
    control: Stanza,
    files: dict[str, bytes],
    conffiles: list[str] | None = None,
    scripts: dict[str, bytes] | None = None,
    mtime: int = 0,
    modes: dict[str, int] | None = None,
    symlinks: dict[str, str] | None = None,
) -> None:
    """Write a ``.deb`` (gzip'd control and data tars, deterministic) with ``files`` (machine
    path -> content; mode 0755 for content starting with ``#!``, else 0644, unless ``modes``
    says), ``symlinks`` (path -> target), ``conffiles`` and maintainer ``scripts``."""
    modes = modes or {}
    symlinks = symlinks or {}
    dirs: set[str] = set()
    for p in list(files) + list(symlinks):
        d = os.path.dirname(p.lstrip("/"))
        while d:
            dirs.add(d)
            d = os.path.dirname(d)
    md5sums = "".join(
        f"{hashlib.md5(data).hexdigest()}  {p.lstrip('/')}\n"  # noqa: S324
        for p, data in sorted(files.items())
    )
    ctl: dict[str, bytes] = {
        "control": format_deb822(control).encode(),
        "md5sums": md5sums.encode(),
    }
    if conffiles:
        ctl["conffiles"] = "".join(f"{c}\n" for c in conffiles).encode()
    ctl.update(scripts or {})

    def tar_bytes(entries: list[tarfile.TarInfo], contents: dict[str, bytes]) -> bytes:
        raw = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
                for info in entries:
                    data = contents.get(info.name)
                    tar.addfile(info, io.BytesIO(data) if data is not None else None)
        return raw.getvalue()

    def info(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.size, ti.mtime, ti.linkname = kind, mode, size, mtime, link
        ti.uname = ti.gname = "root"
        return ti

    ctl_entries = [info("./", tarfile.DIRTYPE, 0o755)]
    ctl_contents = {}
    for name, data in sorted(ctl.items()):
        mode = 0o755 if name in ("preinst", "postinst", "prerm", "postrm", "config") else 0o644
        ctl_entries.append(info(f"./{name}", tarfile.REGTYPE, mode, len(data)))
        ctl_contents[f"./{name}"] = data
    data_entries = [info("./", tarfile.DIRTYPE, 0o755)]
    data_contents = {}
    entries: list[tuple[str, tarfile.TarInfo]] = []
    for d in dirs:
        entries.append((d, info(f"./{d}/", tarfile.DIRTYPE, 0o755)))
    for p, data in files.items():
        name = "./" + p.lstrip("/")
        mode = modes.get(p, 0o755 if data.startswith(b"#!") else 0o644)
        entries.append((p.lstrip("/"), info(name, tarfile.REGTYPE, mode, len(data))))
        data_contents[name] = data
    for p, target in symlinks.items():
        ti = info("./" + p.lstrip("/"), tarfile.SYMTYPE, 0o777, link=target)
        entries.append((p.lstrip("/"), ti))
    data_entries += [ti for _, ti in sorted(entries, key=lambda e: e[0])]  # dpkg-deb's order
    members = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", tar_bytes(ctl_entries, ctl_contents)),
        ("data.tar.gz", tar_bytes(data_entries, data_contents)),
    ]
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"!<arch>\n")
        for name, data in members:
            f.write(f"{name:<16}{mtime:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode())
            f.write(data)
            if len(data) & 1:
                f.write(b"\n")
    os.replace(tmp, out)


# ---------------------------------------------------------------------------------------------
# The local archive


@dataclass
class ArchivePackage:
    """One stanza of the archive's ``Packages``."""

    fields: Stanza
    path: str  # the .deb file's real path

    @property
    def name(self) -> str:
        return self.fields["Package"]

    @property
    def version(self) -> str:
        return self.fields.get("Version", "")

    def relations(self, field: str) -> list[list[Relation]]:
        return parse_relations(self.fields.get(field, ""))


def load_archive(repo: str) -> dict[str, list[ArchivePackage]]:
    """name -> its versions in the archive, newest first. A missing archive reads as empty."""
    try:
        with open(os.path.join(repo, "Packages"), encoding="utf-8") as f:
            stanzas = parse_deb822(f.read())
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise DebError(f"cannot read the package index {repo}/Packages: {e.strerror}") from e
    out: dict[str, list[ArchivePackage]] = {}
    for st in stanzas:
        if "Package" not in st or "Filename" not in st:
            continue
        out.setdefault(st["Package"], []).append(
            ArchivePackage(st, os.path.join(repo, st["Filename"]))
        )
    for versions in out.values():
        versions.sort(key=_VersionKey, reverse=True)
    return out


class _VersionKey:
    def __init__(self, p: ArchivePackage) -> None:
        self.v = p.version

    def __lt__(self, other: _VersionKey) -> bool:
        return version_compare(self.v, other.v) < 0


def transitional_version(server: DebFile) -> str:
    """The source version of ``etcd-server`` (an ``all`` package has no binNMU suffix)."""
    m = re.search(r"\(([^)]+)\)", server.control.get("Source", ""))
    return m.group(1) if m else re.sub(r"\+b\d+$", "", server.version)


def _transitional_deb(out: str, server: DebFile, copyright_text: bytes, mtime: int) -> None:
    source = server.control.get("Source", "etcd").split()[0]
    version = transitional_version(server)
    control: Stanza = {
        "Package": TRANSITIONAL,
        "Source": source,
        "Version": version,
        "Architecture": "all",
        "Maintainer": server.control.get("Maintainer", ""),
        "Installed-Size": "12",
        "Depends": ", ".join(f"{p} (>= {version})" for p in TRANSITIONAL_DEPENDS),
        "Section": "oldlibs",
        "Priority": "optional",
        "Homepage": server.control.get("Homepage", "https://etcd.io"),
        "Description": "Transitional package for etcd-client and etcd-server\n"
        " This is a transitional package to ease upgrades to the etcd-client and\n"
        " etcd-server packages. It can safely be removed.",
    }
    build_deb(out, control, {"/usr/share/doc/etcd/copyright": copyright_text}, mtime=mtime)


def _copyright_of(deb: DebFile) -> bytes:
    with deb.data() as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.endswith(f"/usr/share/doc/{deb.package}/copyright"):
                f = tar.extractfile(m)
                if f is not None:
                    return f.read()
    return b""


def build_archive(debs_dir: str, repo: str, upstream: str) -> bool:
    """Build (or verify) the archive ``repo`` from the ``.deb`` files of ``debs_dir`` whose
    upstream version is ``upstream``. Returns True when something was (re)built."""
    sources = []
    extra: dict[str, DebFile] = {}
    for name in sorted(os.listdir(debs_dir)) if os.path.isdir(debs_dir) else []:
        if not name.endswith(".deb"):
            continue
        path = os.path.join(debs_dir, name)
        deb = DebFile(path)
        if deb.package in EXTRA_PACKAGES:
            have = extra.get(deb.package)
            if have is None or version_compare(deb.version, have.version) > 0:
                extra[deb.package] = deb
        elif upstream_version(deb.version) == upstream:
            sources.append(deb)
    sources += [extra[n] for n in sorted(extra)]
    names = {d.package for d in sources}
    missing = [p for p in TRANSITIONAL_DEPENDS if p not in names]
    if missing:
        raise DebError(
            f"no {', '.join(missing)} {upstream} .deb in {debs_dir} (run scripts/fetch-etcd)"
        )
    record = {
        "builder": BUILDER_VERSION,
        "upstream": upstream,
        "sources": {
            os.path.basename(d.path): [os.path.getsize(d.path), sha256_file(d.path)]
            for d in sources
        },
    }
    meta_path = os.path.join(repo, "localjuju.json")
    try:
        with open(meta_path, encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = None
    if old == record and not verify_archive(repo):
        return False
    os.makedirs(repo, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=repo, prefix=".build.")
    try:
        pool = os.path.join(tmp, "pool")
        os.makedirs(pool)
        files = []
        for d in sources:
            dest = os.path.join(pool, os.path.basename(d.path))
            shutil.copy2(d.path, dest)
            files.append(dest)
        server = next(d for d in sources if d.package == "etcd-server")
        mtime = int(os.stat(server.path).st_mtime)
        trans = os.path.join(pool, f"{TRANSITIONAL}_{transitional_version(server)}_all.deb")
        _transitional_deb(trans, server, _copyright_of(server), mtime)
        files.append(trans)
        stanzas = []
        for path in files:
            deb = DebFile(path)
            st = dict(deb.control)
            st["Filename"] = f"pool/{os.path.basename(path)}"
            st["Size"] = str(os.path.getsize(path))
            st["MD5sum"] = md5_file(path)
            st["SHA256"] = sha256_file(path)
            stanzas.append(st)
        stanzas.sort(key=lambda s: s["Package"])
        with open(os.path.join(tmp, "Packages"), "w", encoding="utf-8") as f:
            f.write("\n".join(format_deb822(s) for s in stanzas))
        with open(os.path.join(tmp, "localjuju.json"), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)
            f.write("\n")
        # Swap the new content in: pool first, then the index that points into it.
        old_pool = os.path.join(repo, "pool")
        if os.path.isdir(old_pool):
            shutil.rmtree(old_pool)
        os.replace(pool, old_pool)
        for name in ("Packages", "localjuju.json"):
            os.chmod(os.path.join(tmp, name), 0o644)
            os.replace(os.path.join(tmp, name), os.path.join(repo, name))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True


def verify_archive(repo: str) -> list[str]:
    """Problems with the archive (missing files, size or sha256 mismatch); empty when sound."""
    problems = []
    archive = load_archive(repo)
    if not archive:
        return [f"{repo}: no Packages index or no packages"]
    for versions in archive.values():
        for p in versions:
            if not os.path.exists(p.path):
                problems.append(f"{p.name} {p.version}: missing {p.path}")
            elif os.path.getsize(p.path) != int(p.fields.get("Size", -1)):
                problems.append(f"{p.name} {p.version}: size mismatch for {p.path}")
            elif sha256_file(p.path) != p.fields.get("SHA256"):
                problems.append(f"{p.name} {p.version}: sha256 mismatch for {p.path}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localjuju.debrepo")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build or verify the machines' local package archive")
    b.add_argument("--debs", required=True, help="directory with the downloaded .deb files")
    b.add_argument("--upstream", required=True, help="the upstream version to publish")
    b.add_argument("--repo", required=True)
    s = sub.add_parser("show", help="print the archive's packages")
    s.add_argument("--repo", required=True)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "build":
            built = build_archive(args.debs, args.repo, args.upstream)
            problems = verify_archive(args.repo)
            if problems:
                for p in problems:
                    print(f"debrepo: error: {p}", file=sys.stderr)
                return 1
            print(f"debrepo: {'built' if built else 'up to date'}: {args.repo}")
        else:
            for name, versions in sorted(load_archive(args.repo).items()):
                for pkg in versions:
                    print(
                        f"{name}\t{pkg.version}\t{pkg.fields.get('Architecture', '')}\t{pkg.path}"
                    )
    except DebError as e:
        print(f"debrepo: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
