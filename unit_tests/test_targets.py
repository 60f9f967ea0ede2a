"""The ``target`` directory of snapshot, restore's and snap-upgrade's backups: what is
refused (with the rule and what to use instead, nothing created) and what is made."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from etcd_charm import targets
from etcd_charm.params import ActionError

DEFAULT = "/home/ubuntu/etcd-snapshots"


@pytest.mark.parametrize(
    "path,rule",
    [
        ("/etc", "/etc holds the system's configuration"),
        ("/etc/", "/etc holds the system's configuration"),
        ("//etc", "/etc holds the system's configuration"),
        ("/etc/etcd-snapshots", "it is under /etc, which holds the system's configuration"),
        ("/", "it is the root directory"),
        ("/proc/1", "it is under /proc"),
        ("/sys", "/sys holds"),
        ("/dev/shm", "it is under /dev"),
        ("/boot", "/boot holds"),
        ("/usr/local/backups", "it is under /usr"),
        ("/bin", "/bin holds"),
        ("/sbin", "/sbin holds"),
        ("/lib/x", "it is under /lib,"),
        ("/lib64", "/lib64 holds"),
        ("/run/etcd", "it is under /run"),
        ("/var/lib/juju", "/var/lib/juju holds the Juju agent's state"),
        ("/var/lib/juju/agents/unit-etcd-0", "it is under /var/lib/juju"),
        ("/var/lib/etcd", "the Debian package's etcd data"),
        ("/var/snap/etcd/current", "it is under /var/snap/etcd, which holds etcd's own data"),
        ("/var/snap/etcd/common", "only /var/snap/etcd/common/backups is allowed there"),
        ("/var/snap/etcd/common/restore-staging", "it is under /var/snap/etcd"),
        ("/var/snap/etcd", "/var/snap/etcd holds"),
        ("relative/dir", "it is not an absolute path"),
        ("~/snapshots", "it is not an absolute path"),
        ("", "it is empty"),
        ("/home/ubuntu/../../etc", "it has a '..' component"),
        ("/home/ubuntu/..", "it has a '..' component"),
    ],
)
def test_refused_with_the_rule_it_breaks(path: str, rule: str) -> None:
    assert rule in targets.refusal(path)
    with pytest.raises(ActionError) as e:
        targets.check(path, "target", DEFAULT)
    message = str(e.value)
    assert message.startswith(f"target={path!r} is refused: ")
    assert rule in message
    assert f"Use a directory of the operator's, such as the default {DEFAULT}" in message
    assert message.endswith("nothing was written")


@pytest.mark.parametrize(
    "path",
    [
        "/home/ubuntu/etcd-snapshots",
        "/home/ubuntu",
        "/home/ubuntu/etcd-snapshots/",
        "/var/snap/etcd/common/backups",  # the charm's own backups (upgrades)
        "/var/snap/etcd/common/backups/manual",
        "/srv/etcd",
        "/var/backups/etcd",
        "/etcetera",  # a prefix of the name is not the directory
        "/var/lib/jujube",
    ],
)
def test_allowed(path: str) -> None:
    assert targets.refusal(path) == ""
    assert targets.check(path, "target", DEFAULT) == os.path.normpath(path)


def test_a_symlink_is_judged_by_where_it_leads(tmp_path: Path) -> None:
    (tmp_path / "to-etc").symlink_to("/etc")
    why = targets.refusal(str(tmp_path / "to-etc" / "snapshots"))
    assert (
        why
        == "it resolves to /etc/snapshots: it is under /etc, which holds the system's configuration"
    )
    (tmp_path / "to-root").symlink_to("/")
    assert "it is the root directory" in targets.refusal(str(tmp_path / "to-root"))
    (tmp_path / "real").mkdir()
    (tmp_path / "fine").symlink_to(tmp_path / "real")
    assert targets.refusal(str(tmp_path / "fine")) == ""


def test_a_file_is_no_directory(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert targets.refusal(str(tmp_path / "f")) == "it exists and is not a directory"


def test_a_missing_directory_is_made_0700_for_the_operator(tmp_path: Path) -> None:
    given: list[str] = []
    made = targets.ensure(str(tmp_path / "a" / "b"), "target", DEFAULT, given.append)
    assert made == str(tmp_path / "a" / "b")
    assert stat.S_IMODE(os.stat(made).st_mode) == 0o700
    assert given == [made]
    old = os.umask(0o177)  # whatever the umask: 0700
    try:
        made = targets.ensure(str(tmp_path / "c"), "target", DEFAULT)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(made).st_mode) == 0o700


def test_an_existing_directory_is_used_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir(mode=0o755)
    os.chmod(tmp_path / "d", 0o755)
    given: list[str] = []
    assert targets.ensure(str(tmp_path / "d"), "target", DEFAULT, given.append) == str(
        tmp_path / "d"
    )
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755 and given == []


def test_a_refused_target_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = tmp_path / "system"
    system.mkdir()
    monkeypatch.setitem(targets.FORBIDDEN, str(system), "the system's files")
    given: list[str] = []
    with pytest.raises(ActionError, match="which holds the system's files"):
        targets.ensure(str(system / "x" / "y"), "target", DEFAULT, given.append)
    assert list(system.iterdir()) == [] and given == []


def test_a_directory_that_cannot_be_made_says_so(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ActionError) as e:  # a parent that is a file
        targets.ensure(str(tmp_path / "f" / "sub"), "target", DEFAULT)
    assert "cannot create it (Not a directory)" in str(e.value)
    assert f"such as the default {DEFAULT}" in str(e.value)
