"""``apt-get`` for a local-model machine: installs only from the model's local archive.

The archive is ``/var/lib/localjuju/apt`` on the machine (read-only; ``$LOCALJUJU_APT_REPO``
overrides), built on the host from ``.cache/debs`` by ``python -m localjuju.debrepo`` (see that
module). Machines never reach a real archive.

Commands: ``update`` (nothing to fetch: succeeds), ``install``, ``remove``, ``purge``,
``autoremove``, ``clean``/``autoclean``; options ``-y``/``--yes``/``--assume-yes``,
``-q``/``-qq``, ``--purge``, ``-o``/``--option`` (``Dpkg::Options::=--force-confnew`` is
honoured; conffiles are otherwise kept as with ``--force-confold``), ``--no-install-recommends``
and other options that change nothing here. Messages and exit codes follow apt 2.4 (``E: Unable
to locate package foo``, exit 100). Packages are unpacked and configured by
:mod:`localjuju.machine.dpkg`, in the same process.

Dependencies on packages the archive does not have (``libc6``, ``adduser``...) are taken as
satisfied by the machine's base system (the host's ``/usr``); a dependency on an archive package
is installed, and apt's auto-installed marks are kept in ``/var/lib/apt/extended_states``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import debrepo as D
from . import apt_repo_dir, mpath
from . import dpkg as P

ARCHIVE_PATH = "/var/lib/localjuju/apt"
EXTENDED_STATES = "/var/lib/apt/extended_states"
EXIT_ERROR = 100
SCREEN_WIDTH = 80


class AptError(Exception):
    """Printed as ``E: <line>`` for each line, exit 100."""


class Abort(Exception):
    """The user (or a closed stdin) declined: ``Abort.``, exit 1."""


@dataclass
class Options:
    yes: bool = False
    quiet: int = 0
    purge: bool = False
    confnew: bool = False
    command: str = ""
    args: list[str] = field(default_factory=list)


def parse(argv: list[str]) -> Options:
    o = Options()
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-y", "--yes", "--assume-yes", "--force-yes"):
            o.yes = True
        elif a in ("-q", "--quiet"):
            o.quiet += 1
        elif a == "-qq":
            o.quiet += 2
        elif a.startswith("--quiet="):
            o.quiet = int(a.split("=", 1)[1] or 0)
        elif a == "--purge":
            o.purge = True
        elif a in ("-o", "--option") or a.startswith(("--option=", "-o")):
            if a in ("-o", "--option"):
                i += 1
                value = argv[i] if i < len(argv) else ""
            else:
                value = a.split("=", 1)[1] if a.startswith("--option=") else a[2:]
            key, _, val = value.partition("=")
            if key.lower() == "dpkg::options::" and val == "--force-confnew":
                o.confnew = True
            elif key.lower() == "dpkg::options::" and val == "--force-confold":
                o.confnew = False
        elif a.startswith("--"):
            pass  # --no-install-recommends, --fix-broken, --allow-*...: nothing changes here
        elif a.startswith("-") and len(a) > 1:
            letters = a[1:]
            if not set(letters) <= set("yqfmVud"):
                raise AptError(
                    f"Command line option '{a}' is not understood in combination with the "
                    "other options"
                )
            o.yes = o.yes or "y" in letters
            o.quiet += letters.count("q")
        elif not o.command:
            o.command = a
        else:
            o.args.append(a)
        i += 1
    return o


# ---------------------------------------------------------------------------------------------
# Output helpers


def size_to_str(size: float) -> str:
    """apt's SizeToStr (powers of 1000): ``13.1 M``, ``940 ``, ``41.0 M``."""
    exts = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"]
    value = abs(size)
    for i, ext in enumerate(exts):
        if value < 100 and i != 0:
            return f"{value:.1f} {ext}"
        if value < 10000:
            return f"{value:.0f} {ext}"
        value /= 1000.0
    return f"{value:.0f} Y"


def show_list(title: str, names: list[str]) -> str:
    if not names:
        return ""
    lines = [title]
    line = " "
    for n in names:
        if len(line) + 1 + len(n) > SCREEN_WIDTH - 1 and line.strip():
            lines.append(line)
            line = " "
        line += " " + n
    lines.append(line)
    return "\n".join(lines) + "\n"


class Console:
    def __init__(self, quiet: int) -> None:
        self.quiet = quiet

    def say(self, text: str, level: int = 1) -> None:
        """Print unless quiet enough (``-qq`` hides the summary lines); nothing for ""."""
        if text and (self.quiet < 2 or level > 1):
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.stdout.flush()

    def reading(self) -> None:
        self.say("Reading package lists...")
        self.say("Building dependency tree...")
        self.say("Reading state information...")


# ---------------------------------------------------------------------------------------------
# apt's extended states (auto-installed marks)


def load_auto() -> set[str]:
    try:
        with open(mpath(EXTENDED_STATES), encoding="utf-8") as f:
            stanzas = D.parse_deb822(f.read())
    except FileNotFoundError:
        return set()
    return {s["Package"] for s in stanzas if s.get("Auto-Installed") == "1" and "Package" in s}


def save_auto(auto: set[str], archs: dict[str, str]) -> None:
    path = mpath(EXTENDED_STATES)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = "\n".join(
        D.format_deb822(
            {"Package": n, "Architecture": archs.get(n) or P.architecture(), "Auto-Installed": "1"}
        )
        for n in sorted(auto)
    )
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Planning


def _installed_version(db: P.Database, name: str) -> str | None:
    st = db.get(name)
    if st is None or db.state(name) != "installed":
        return None
    return st.get("Version", "")


def _satisfied_by_installed(db: P.Database, rel: D.Relation) -> bool:
    v = _installed_version(db, rel.name)
    return v is not None and (not rel.op or D.version_satisfies(v, rel.op, rel.version))


def _candidate(
    archive: dict[str, list[D.ArchivePackage]], rel: D.Relation
) -> D.ArchivePackage | None:
    for p in archive.get(rel.name, []):
        if not rel.op or D.version_satisfies(p.version, rel.op, rel.version):
            return p
    return None


@dataclass
class InstallPlan:
    new: list[D.ArchivePackage] = field(default_factory=list)  # unpack order
    requested: set[str] = field(default_factory=set)
    already: list[tuple[str, str]] = field(default_factory=list)
    now_manual: list[str] = field(default_factory=list)
    suggested: list[str] = field(default_factory=list)


def plan_install(
    db: P.Database, archive: dict[str, list[D.ArchivePackage]], requests: list[str], auto: set[str]
) -> InstallPlan:
    plan = InstallPlan()
    chosen: dict[str, D.ArchivePackage] = {}
    errors = []
    for req in requests:
        name, _, version = req.partition("=")
        name = name.split("/", 1)[0]
        versions = archive.get(name)
        if not versions:
            if _installed_version(db, name) is not None:
                plan.already.append((name, _installed_version(db, name) or ""))
                continue
            errors.append(f"Unable to locate package {name}")
            continue
        pick = versions[0]
        if version:
            match = [p for p in versions if p.version == version]
            if not match:
                errors.append(f"Version '{version}' for '{name}' was not found")
                continue
            pick = match[0]
        current = _installed_version(db, name)
        if current is not None:
            if D.version_compare(current, pick.version) < 0:
                errors.append(
                    f"{name} {current} is installed: localjuju's apt-get does not upgrade "
                    "packages"
                )
            else:
                plan.already.append((name, current))
                if name in auto:
                    plan.now_manual.append(name)
            continue
        chosen[name] = pick
        plan.requested.add(name)
    if errors:
        raise AptError("\n".join(errors))
    unmet: list[str] = []

    def need(pkg: D.ArchivePackage) -> None:
        for fname in ("Pre-Depends", "Depends"):
            for group in pkg.relations(fname):
                if any(_satisfied_by_installed(db, r) for r in group):
                    continue
                if any(
                    r.name in chosen
                    and (not r.op or D.version_satisfies(chosen[r.name].version, r.op, r.version))
                    for r in group
                ):
                    continue
                cand = next((c for c in (_candidate(archive, r) for r in group) if c), None)
                if cand is not None:
                    chosen[cand.name] = cand
                    need(cand)
                elif any(r.name in archive or db.get(r.name) for r in group):
                    have = archive.get(group[0].name) or []
                    what = (
                        f"but {have[0].version} is to be installed"
                        if have
                        else "but it is not installable"
                    )
                    unmet.append(f" {pkg.name} : {fname}: {' | '.join(map(str, group))} {what}")
                # else: provided by the machine's base system (the host's /usr)

    for pkg in list(chosen.values()):
        need(pkg)
    if unmet:
        raise AptError(
            "UNMET\n"
            + "\n".join(unmet)
            + "\nUnable to correct problems, you have held broken packages."
        )

    # unpack order: dependencies first, then by name
    def dependencies(n: str) -> list[str]:
        deps = {
            r.name for f in ("Pre-Depends", "Depends") for g in chosen[n].relations(f) for r in g
        }
        return sorted(deps & set(chosen))

    plan.new = [chosen[n] for n in _postorder(sorted(chosen), dependencies)]
    for pkg in plan.new:
        for group in pkg.relations("Suggests"):
            for r in group:
                if r.name not in chosen and _installed_version(db, r.name) is None:
                    if r.name not in plan.suggested:
                        plan.suggested.append(r.name)
    return plan


def _postorder(roots: list[str], before: Callable[[str], list[str]]) -> list[str]:
    """Every name reachable from ``roots``, each after the names ``before`` gives for it
    (depth first, in the order given)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(n: str) -> None:
        if n in seen:
            return
        seen.add(n)
        for m in before(n):
            visit(m)
        order.append(n)

    for n in roots:
        visit(n)
    return order


def plan_removal(db: P.Database, names: list[str], purge: bool) -> tuple[list[str], list[str]]:
    """(packages to remove or purge in dpkg's order, notes for names that are not installed).

    Installed packages that depend on a removed one (without an installed alternative) are
    removed too, as apt does."""
    notes = []
    targets: list[str] = []
    for n in names:
        state = db.state(n)
        if state == "installed" or state in ("unpacked", "half-configured"):
            targets.append(n)
        elif state == "config-files" and purge:
            targets.append(n)
        else:
            notes.append(f"Package '{n}' is not installed, so not removed")
    removing = set(targets)
    changed = True
    while changed:
        changed = False
        for n, st in db.packages.items():
            if n in removing or db.state(n) != "installed":
                continue
            for fname in ("Pre-Depends", "Depends"):
                for group in D.parse_relations(st.get(fname, "")):
                    names_in_group = [r.name for r in group]
                    if any(x in removing for x in names_in_group) and not any(
                        x not in removing and _satisfied_by_installed(db, r)
                        for x, r in zip(names_in_group, group, strict=True)
                    ):
                        removing.add(n)
                        changed = True

    # dependents first
    def dependents(n: str) -> list[str]:
        return [
            other
            for other in sorted(removing)
            if other != n
            and any(
                r.name == n
                for f in ("Pre-Depends", "Depends")
                for g in D.parse_relations(db.packages[other].get(f, ""))
                for r in g
            )
        ]

    order = _postorder(sorted(removing), dependents)
    return order, notes


def orphans(db: P.Database, auto: set[str], removing: set[str]) -> list[str]:
    """Auto-installed packages that nothing installed (and staying) depends on any more."""
    staying = [n for n in db.packages if db.state(n) == "installed" and n not in removing]
    needed: set[str] = set()
    stack = [n for n in staying if n not in auto]
    while stack:
        n = stack.pop()
        if n in needed:
            continue
        needed.add(n)
        st = db.packages.get(n) or {}
        for fname in ("Pre-Depends", "Depends", "Recommends"):
            for group in D.parse_relations(st.get(fname, "")):
                for r in group:
                    if r.name in db.packages and r.name not in needed:
                        stack.append(r.name)
    return sorted(n for n in staying if n in auto and n not in needed)


# ---------------------------------------------------------------------------------------------
# Commands


def _confirm(o: Options, con: Console) -> None:
    if o.yes:
        return
    sys.stdout.write("Do you want to continue? [Y/n] ")
    sys.stdout.flush()
    answer = sys.stdin.readline()
    if not answer or answer.strip().lower() not in ("", "y", "yes"):
        con.say("Abort.", level=2)
        raise Abort()


def _installed_size(st: D.Stanza) -> int:
    try:
        return int(st.get("Installed-Size", "0")) * 1024
    except ValueError:
        return 0


def _dpkg_failed(e: P.DpkgError) -> AptError:
    sys.stderr.write(str(e) + "\n")
    return AptError("Sub-process /usr/bin/dpkg returned an error code (1)")


def cmd_install(o: Options, con: Console) -> int:
    if not o.args:
        con.reading()
        con.say("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        return 0
    archive = D.load_archive(apt_repo_dir())
    with P.locked():
        db = P.Database()
        auto = load_auto()
        con.reading()
        plan = plan_install(db, archive, o.args, auto)
        for name, version in plan.already:
            con.say(f"{name} is already the newest version ({version}).")
        for name in plan.now_manual:
            con.say(f"{name} set to manually installed.")
            auto.discard(name)
        new_names = sorted(p.name for p in plan.new)
        extra = sorted(n for n in new_names if n not in plan.requested)
        con.say(show_list("The following additional packages will be installed:", extra))
        con.say(show_list("Suggested packages:", plan.suggested))
        con.say(show_list("The following NEW packages will be installed:", new_names))
        con.say(f"0 upgraded, {len(new_names)} newly installed, 0 to remove and 0 not upgraded.")
        if not plan.new:
            if plan.now_manual:
                save_auto(auto, {})
            return 0
        size = sum(int(p.fields.get("Size", "0")) for p in plan.new)
        used = sum(_installed_size(p.fields) for p in plan.new)
        con.say(f"Need to get 0 B/{size_to_str(size)}B of archives.")
        con.say(
            f"After this operation, {size_to_str(used)}B of additional disk space will be used."
        )
        if extra:
            _confirm(o, con)
        d = P.Dpkg(confnew=o.confnew, db=db)
        try:
            unpacked = []
            for pkg in plan.new:
                unpacked.append(d.unpack(pkg.path, f".../{os.path.basename(pkg.path)}"))
                if pkg.name not in plan.requested:
                    auto.add(pkg.name)
            save_auto(auto, {p.name: p.fields.get("Architecture", "") for p in plan.new})
            d.new_run()
            for name in unpacked:
                d.configure(name)
        except P.DpkgError as e:
            raise _dpkg_failed(e) from e
    return 0


def cmd_remove(o: Options, con: Console, purge: bool, names: list[str] | None = None) -> int:
    with P.locked():
        db = P.Database()
        auto = load_auto()
        con.reading()
        archive = D.load_archive(apt_repo_dir())
        errors = [
            f"Unable to locate package {n}"
            for n in (names if names is not None else o.args)
            if db.get(n) is None and not archive.get(n)
        ]
        if errors:
            raise AptError("\n".join(errors))
        order, notes = plan_removal(db, names if names is not None else o.args, purge)
        for note in notes:
            con.say(note)
        left = orphans(db, auto, set(order))
        if left and names is None:
            con.say(
                show_list(
                    "The following packages were automatically installed and are no longer "
                    "required:",
                    left,
                )
                + "Use 'apt autoremove' to remove them."
            )
        mark = "*" if purge else ""
        con.say(
            show_list("The following packages will be REMOVED:", [n + mark for n in sorted(order)])
        )
        n_remove = len(order)
        con.say(f"0 upgraded, 0 newly installed, {n_remove} to remove and 0 not upgraded.")
        if not order:
            return 0
        freed = sum(
            _installed_size(db.packages[n]) for n in order if db.state(n) != "config-files"
        )
        if freed:
            con.say(f"After this operation, {size_to_str(freed)}B disk space will be freed.")
        else:
            con.say("After this operation, 0 B of additional disk space will be used.")
        _confirm(o, con)
        d = P.Dpkg(db=db)
        try:
            installed = [n for n in order if db.state(n) != "config-files"]
            for n in installed:
                d.remove(n)
            if purge:
                d.new_run()
                for n in order:
                    d.purge(n)
        except P.DpkgError as e:
            raise _dpkg_failed(e) from e
        finally:
            save_auto({a for a in auto if a in db.packages and db.installed(a)}, {})
    return 0


def cmd_autoremove(o: Options, con: Console) -> int:
    with P.locked():
        db = P.Database()
        left = orphans(db, load_auto(), set())
    if not left:
        con.reading()
        con.say("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        return 0
    return cmd_remove(o, con, o.purge, names=left)


def cmd_update(o: Options, con: Console) -> int:
    repo = apt_repo_dir()
    if os.path.exists(os.path.join(repo, "Packages")):
        con.say(f"Hit:1 file:{ARCHIVE_PATH} ./ InRelease")
    else:
        sys.stderr.write(
            f"W: The local package archive {ARCHIVE_PATH} is not available (scripts/fetch-etcd "
            "builds it on the host)\n"
        )
    con.say("Reading package lists...")
    return 0


HELP = """apt 2.4.13 (amd64)
Usage: apt-get [options] command

This is the local model's apt-get: it installs from the model's local package archive only.

Commands: update install remove purge autoremove clean autoclean
"""


def run(argv: list[str]) -> int:
    o = parse(argv)
    con = Console(o.quiet)
    if o.command in ("", "help", "-h", "--help"):
        sys.stdout.write(HELP)
        return 0 if o.command else 1
    if o.command in ("--version", "-v"):
        sys.stdout.write("apt 2.4.13 (amd64)\n")
        return 0
    if o.command == "update":
        return cmd_update(o, con)
    if o.command == "install":
        return cmd_install(o, con)
    if o.command in ("remove", "purge"):
        return cmd_remove(o, con, purge=o.command == "purge" or o.purge)
    if o.command in ("autoremove", "auto-remove"):
        return cmd_autoremove(o, con)
    if o.command in ("clean", "autoclean", "auto-clean", "check"):
        if o.command == "check":
            con.reading()
        return 0
    raise AptError(f"Invalid operation {o.command}")


def main(argv: list[str] | None = None) -> int:
    try:
        return run(list(sys.argv[1:] if argv is None else argv))
    except AptError as e:
        text = str(e)
        if text.startswith("UNMET\n"):
            sys.stdout.write(
                "Some packages could not be installed. This may mean that you have\n"
                "requested an impossible situation or if you are using the unstable\n"
                "distribution that some required packages have not yet been created\n"
                "or been moved out of Incoming.\n"
                "The following information may help to resolve the situation:\n\n"
                "The following packages have unmet dependencies:\n"
            )
            lines = text.split("\n")[1:]
            sys.stdout.write("\n".join(lines[:-1]) + "\n")
            text = lines[-1]
        for line in text.split("\n"):
            sys.stderr.write(f"E: {line}\n")
        return EXIT_ERROR
    except P.LockError as e:
        if e.reason:
            sys.stderr.write(
                f"E: Could not open lock file {e.path} - {e.reason}\n"
                f"E: Unable to acquire the dpkg frontend lock ({e.path}), are you root?\n"
            )
        else:
            holder = ""
            try:
                with open(f"/proc/{e.holder}/comm", encoding="utf-8") as f:
                    holder = f.read().strip()
            except OSError:
                pass
            sys.stderr.write(
                f"E: Could not get lock {e.path}. It is held by process {e.holder} ({holder})\n"
                "N: Be aware that removing the lock file is not a solution and may break your "
                "system.\n"
                f"E: Unable to acquire the dpkg frontend lock ({e.path}), is another process "
                "using it?\n"
            )
        return EXIT_ERROR
    except P.DpkgError as e:
        sys.stderr.write(str(e) + "\n")
        return EXIT_ERROR
    except D.DebError as e:
        sys.stderr.write(f"E: {e}\n")
        return EXIT_ERROR
    except Abort:
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
