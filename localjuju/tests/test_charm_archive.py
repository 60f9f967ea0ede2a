"""Reading a user's charm: symlinks are kept as they are, and refused as Juju refuses them
when they could not work on the unit (charm/charmdir.go checkSymlinkTarget)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from localjuju.controller import charm as charmlib

METADATA = "name: linky\nsummary: s\ndescription: d\nseries: [jammy]\n"


def make_charm(root: Path, link: str, target: str) -> Path:
    src = root / "src-charm"
    (src / "src").mkdir(parents=True)
    (src / "metadata.yaml").write_text(METADATA)
    (src / "src" / "real.py").write_text("x = 1\n")
    os.symlink(target, src / link)
    return src


def test_a_link_inside_the_charm_is_kept(tmp_path: Path) -> None:
    src = make_charm(tmp_path, "src/alias.py", "real.py")
    charmlib.unpack(src, tmp_path / "out")
    assert os.readlink(tmp_path / "out" / "src" / "alias.py") == "real.py"
    assert (tmp_path / "out" / "src" / "alias.py").read_text() == "x = 1\n"


@pytest.mark.parametrize(
    "link, target, message",
    [
        (
            "src/out.py",
            "../../elsewhere.py",
            'symlink "src/out.py" links out of charm: "../../elsewhere.py"',
        ),
        ("up", "..", 'symlink "up" links out of charm: ".."'),
        ("src/abs.py", "/etc/passwd", 'symlink "src/abs.py" is absolute: "/etc/passwd"'),
    ],
)
def test_links_that_leave_the_charm_are_refused(
    tmp_path: Path, link: str, target: str, message: str
) -> None:
    src = make_charm(tmp_path, link, target)
    with pytest.raises(charmlib.CharmError) as e:
        charmlib.unpack(src, tmp_path / "out")
    assert str(e.value) == message
    assert not (tmp_path / "out").exists()


def test_built_in_charms_resolve_their_shared_files(tmp_path: Path) -> None:
    src = make_charm(tmp_path, "src/shared.py", "../../elsewhere.py")
    (tmp_path / "elsewhere.py").write_text("y = 2\n")
    charmlib.unpack(src, tmp_path / "out", resolve_links=True)
    copied = tmp_path / "out" / "src" / "shared.py"
    assert not copied.is_symlink() and copied.read_text() == "y = 2\n"


def test_an_upgrade_removes_what_the_old_charm_had(tmp_path: Path) -> None:
    """Juju's manifest deployer: the old charm's dispatch and src/ go when the new charm has
    none (else dispatch would still run the old code); run-time files stay."""
    from localjuju.controller.agent import deploy_charm

    old = tmp_path / "old"
    (old / "src").mkdir(parents=True)
    (old / "dispatch").write_text("#!/bin/sh\n")
    (old / "src" / "charm.py").write_text("old\n")
    (old / "metadata.yaml").write_text(METADATA)
    new = tmp_path / "new"
    (new / "hooks").mkdir(parents=True)
    (new / "hooks" / "install").write_text("#!/bin/sh\n")
    (new / "metadata.yaml").write_text(METADATA.replace("summary: s", "summary: new"))
    unit = tmp_path / "unit-charm"
    unit.mkdir()
    asyncio.run(deploy_charm(old, unit))
    (unit / ".unit-state.db").write_text("state")  # made by the charm at run time
    asyncio.run(deploy_charm(new, unit))
    kept = sorted(p.relative_to(unit).as_posix() for p in unit.rglob("*"))
    assert kept == [
        ".localjuju-manifest",
        ".unit-state.db",
        "hooks",
        "hooks/install",
        "metadata.yaml",
    ]
    assert "summary: new" in (unit / "metadata.yaml").read_text()


def test_a_deploy_copies_modes_times_and_links_over_what_is_there(tmp_path: Path) -> None:
    """The copy keeps each file's mode and mtime and each link as a link, and an upgrade
    replaces a link and a file of the previous charm with the new charm's."""
    from localjuju.controller.agent import deploy_charm

    old = tmp_path / "old"
    (old / "hooks").mkdir(parents=True)
    (old / "hooks" / "install").write_text("#!/bin/sh\nold\n")
    (old / "hooks" / "install").chmod(0o755)
    (old / "lib.py").write_text("old\n")
    (old / "link").symlink_to("lib.py")
    os.utime(old / "lib.py", (1_600_000_000, 1_600_000_000))
    new = tmp_path / "new"
    (new / "hooks").mkdir(parents=True)
    (new / "hooks" / "install").write_text("#!/bin/sh\nnew\n")
    (new / "hooks" / "install").chmod(0o750)
    (new / "lib.py").write_text("new\n")
    (new / "other.py").write_text("other\n")
    (new / "link").symlink_to("other.py")
    unit = tmp_path / "unit"
    asyncio.run(deploy_charm(old, unit))
    assert (unit / "hooks" / "install").stat().st_mode & 0o777 == 0o755
    assert (unit / "lib.py").stat().st_mtime == 1_600_000_000
    assert os.readlink(unit / "link") == "lib.py"
    asyncio.run(deploy_charm(new, unit))
    assert (unit / "hooks" / "install").read_text() == "#!/bin/sh\nnew\n"
    assert (unit / "hooks" / "install").stat().st_mode & 0o777 == 0o750
    assert os.readlink(unit / "link") == "other.py"
    assert (unit / "link").read_text() == "other\n"


def test_a_machine_runs_only_while_its_own_init_does(tmp_path: Path) -> None:
    """init.pid names the booted process by PID and start time: a PID the host reused for
    another process after the machine stopped is not the machine (hooks ran in that
    process's namespaces once)."""
    from localjuju.controller import machines as M

    m = object.__new__(M.Machine)
    m.dir = tmp_path
    me = os.getpid()
    started = M._start_time(me)
    assert started
    (tmp_path / "init.pid").write_text(f"{me} {started}")
    assert m.init_pid() == me and m.running()
    (tmp_path / "init.pid").write_text(f"{me} {int(started) + 1}")  # the PID, reused
    assert m.init_pid() is None and not m.running()
    (tmp_path / "init.pid").write_text(str(me))  # written before start times were kept
    assert m.init_pid() == me
    (tmp_path / "init.pid").unlink()
    assert m.init_pid() is None
