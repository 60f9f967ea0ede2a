"""The machine's ``apt-get``, ``dpkg`` and ``dpkg-query``: the archive builder, install, remove and
purge against a directory root (fake packages with the real etcd-server layout and unit), the
real cached etcd packages in a directory root, the unit search that only sees packaged units,
Type=notify and the other settings of Debian's etcd.service under the supervisor, and finally
``apt-get install -y etcd`` / ``apt-get purge -y etcd etcd-server etcd-client`` on a real
machine of a local model.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import socket
import stat
import time
from pathlib import Path

import jubilant
import pytest

from localjuju import debrepo as D
from localjuju.machine import dpkg as P
from localjuju.machine import units as U

from .conftest import HOOKLOG
from .test_systemd import Machine, wait_until

ROOT = Path(__file__).resolve().parents[2]
DEBS = ROOT / ".cache" / "debs"
UPSTREAM = "3.4.23"

# Debian's etcd.service (etcd-server 3.4.23-4), as shipped in /lib/systemd/system.
ETCD_UNIT = """[Unit]
Description=etcd - highly-available key value store
Documentation=https://etcd.io/docs
Documentation=man:etcd
After=network.target
Wants=network-online.target

[Service]
Environment=DAEMON_ARGS=
Environment=ETCD_NAME=%H
Environment=ETCD_DATA_DIR=/var/lib/etcd/default
EnvironmentFile=-/etc/default/%p
Type=notify
User=etcd
PermissionsStartOnly=true
#ExecStart=/bin/sh -c "GOMAXPROCS=$(nproc) /usr/bin/etcd $DAEMON_ARGS"
ExecStart=/usr/bin/etcd $DAEMON_ARGS
Restart=on-abnormal
#RestartSec=10s
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
Alias=etcd2.service
"""
ETCD_DEFAULT = """## etcd(1) daemon options
## See "/usr/share/doc/etcd-server/op-guide/configuration.md.gz"
## for available options.
##
## Use environment to override, for example: ETCD_NAME=default
"""
INIT_SCRIPT = "#!/bin/sh /lib/init/init-d-script\nNAME=etcd\n"

# A stand-in for etcd: records how it was started (in its data dir), then sends READY=1.
FAKE_ETCD = r"""#!/usr/bin/python3
import json, os, resource, socket, sys, time
root = os.environ.get("LOCALJUJU_MACHINE_ROOT", "")
data = root + os.environ.get("ETCD_DATA_DIR", "/nonexistent")
os.makedirs(data, exist_ok=True)
with open(os.path.join(data, "started.json"), "w") as f:
    json.dump({"uid": os.getuid(), "gid": os.getgid(), "argv": sys.argv, "env": dict(os.environ),
               "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)}, f)
time.sleep(float(os.environ.get("FAKE_READY_DELAY", "0.5")))
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"READY=1\nSTATUS=serving", addr)
while True:
    time.sleep(3600)
"""


def control(name: str, version: str, **extra: str) -> D.Stanza:
    st: D.Stanza = {
        "Package": name,
        "Source": f"etcd ({version.split('+')[0]})",
        "Version": version,
        "Architecture": "amd64",
        "Maintainer": "Debian Go Packaging Team <team+pkg-go@tracker.debian.org>",
        "Installed-Size": "100",
    }
    st.update(extra)
    st.setdefault("Section", "net")
    st.setdefault("Priority", "optional")
    st.setdefault("Description", f"highly-available key value store -- {name}\n test package")
    return st


def make_fake_debs(d: Path, version: str = "3.4.23-4+b4") -> Path:
    """etcd-server and etcd-client .debs with the real layout (a fake etcd binary)."""
    d.mkdir(parents=True, exist_ok=True)
    D.build_deb(
        str(d / f"etcd-server_{version}_amd64.deb"),
        control(
            "etcd-server",
            version,
            **{"Pre-Depends": "init-system-helpers (>= 1.54~)", "Depends": "adduser, libc6"},
            Suggests="etcd-client",
            Description="highly-available key value store -- daemon\n test package",
        ),
        {
            "/etc/default/etcd": ETCD_DEFAULT.encode(),
            "/etc/init.d/etcd": INIT_SCRIPT.encode(),
            "/lib/systemd/system/etcd.service": ETCD_UNIT.encode(),
            "/usr/bin/etcd": FAKE_ETCD.encode(),
            "/usr/share/doc/etcd-server/copyright": b"Apache-2.0\n",
        },
        conffiles=["/etc/default/etcd", "/etc/init.d/etcd"],
        symlinks={"/usr/share/doc/etcd-server/README.md.gz": "docs.md.gz"},
        mtime=1681026180,
    )
    D.build_deb(
        str(d / f"etcd-client_{version}_amd64.deb"),
        control("etcd-client", version, Depends="libc6 (>= 2.34)"),
        {
            "/usr/bin/etcdctl": b"#!/bin/sh\necho 'etcdctl version: 3.4.23'\n",
            "/usr/share/doc/etcd-client/copyright": b"Apache-2.0\n",
        },
        mtime=1681026180,
    )
    return d


def expected_nofile(want: int) -> list[int]:
    """LimitNOFILE= as applied here: capped at the host's hard limit without CAP_SYS_RESOURCE."""
    from localjuju.machine.systemd import _may_raise_limits

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if _may_raise_limits() or hard == resource.RLIM_INFINITY or hard >= want:
        return [want, want]
    return [hard, hard]


class AptMachine(Machine):
    def __init__(self, root: Path, repo: Path) -> None:
        super().__init__(root)
        self.env["LOCALJUJU_APT_REPO"] = str(repo)
        self.env.pop("NOTIFY_SOCKET", None)
        root.mkdir(parents=True, exist_ok=True)
        for d in ("etc", "usr/bin", "usr/lib", "var"):
            (root / d).mkdir(parents=True, exist_ok=True)
        if not (root / "lib").exists():
            (root / "lib").symlink_to("usr/lib")  # merged /usr, as on Ubuntu 22.04
        (root / "etc/passwd").write_text(
            "root:x:0:0:root:/root:/bin/bash\n"
            "messagebus:x:100:102::/nonexistent:/usr/sbin/nologin\n"
            "ubuntu:x:1000:1000:Ubuntu:/home/ubuntu:/bin/bash\n"
        )
        (root / "etc/group").write_text("root:x:0:\nusers:x:100:\nmessagebus:x:102:\n")
        (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
        (root / "etc/gshadow").write_text("root:*::\n")

    def apt(self, *args: str) -> tuple[int, str, str]:
        p = self.run("apt_get", *args)
        return p.returncode, p.stdout, p.stderr

    def dpkg(self, *args: str) -> tuple[int, str, str]:
        p = self.run("dpkg", *args)
        return p.returncode, p.stdout, p.stderr

    def query(self, *args: str) -> tuple[int, str, str]:
        p = self.run("dpkg_query", *args)
        return p.returncode, p.stdout, p.stderr


@pytest.fixture
def fake_repo(tmp_path: Path) -> Path:
    debs = make_fake_debs(tmp_path / "debs")
    repo = tmp_path / "repo"
    assert D.build_archive(str(debs), str(repo), UPSTREAM) is True
    return repo


# ---------------------------------------------------------------------------------------------
# Versions, relations, deb822


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [
        ("3.4.23-4+b4", "3.4.23-4", 1),
        ("3.4.23-4", "3.5.16-4", -1),
        ("1.0~rc1", "1.0", -1),
        ("1:0.9", "2.0", 1),
        ("1.0-1", "1.0-1", 0),
        ("1.10", "1.9", 1),
        ("1.0a", "1.0", 1),
        ("1.54~", "1.54", -1),
    ],
)
def test_version_compare_like_dpkg(a: str, b: str, sign: int) -> None:
    c = D.version_compare(a, b)
    assert (c > 0) - (c < 0) == sign


def test_relations_and_deb822_roundtrip() -> None:
    rels = D.parse_relations("adduser, libc6 (>= 2.34), a | b (<< 2)")
    assert [[str(r) for r in g] for g in rels] == [
        ["adduser"],
        ["libc6 (>= 2.34)"],
        ["a", "b (<< 2)"],
    ]
    text = "Package: x\nDescription: one\n two\n .\n three\nConffiles:\n /etc/a 0123\n"
    (st,) = D.parse_deb822(text)
    assert st["Description"] == "one\n two\n .\n three"
    assert D.format_deb822(st) == text


# ---------------------------------------------------------------------------------------------
# The archive


def test_archive_from_debs_adds_the_transitional_package(tmp_path: Path, fake_repo: Path) -> None:
    archive = D.load_archive(str(fake_repo))
    assert sorted(archive) == ["etcd", "etcd-client", "etcd-server"]
    etcd = archive["etcd"][0]
    assert etcd.version == "3.4.23-4"
    assert etcd.fields["Architecture"] == "all"
    assert etcd.fields["Depends"] == "etcd-server (>= 3.4.23-4), etcd-client (>= 3.4.23-4)"
    assert D.verify_archive(str(fake_repo)) == []
    # up to date: nothing rebuilt; another upstream version is refused (its debs are missing)
    assert D.build_archive(str(tmp_path / "debs"), str(fake_repo), UPSTREAM) is False
    with pytest.raises(D.DebError, match="no etcd-server, etcd-client 3.5.16"):
        D.build_archive(str(tmp_path / "debs"), str(tmp_path / "other"), "3.5.16")


# ---------------------------------------------------------------------------------------------
# install / remove / purge against a directory root (no service manager)


def test_install_remove_purge(tmp_path: Path, fake_repo: Path) -> None:
    m = AptMachine(tmp_path / "root", fake_repo)
    rc, out, err = m.apt("install", "-y", "etcd")
    assert rc == 0, err
    assert (
        "The following additional packages will be installed:\n  etcd-client etcd-server\n" in out
    )
    assert "The following NEW packages will be installed:\n  etcd etcd-client etcd-server\n" in out
    assert "0 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.\n" in out
    assert "Setting up etcd-server (3.4.23-4+b4) ...\n" in out
    assert (
        "Created symlink /etc/systemd/system/multi-user.target.wants/etcd.service \u2192 "
        "/lib/systemd/system/etcd.service.\n"
        "Created symlink /etc/systemd/system/etcd2.service \u2192 /lib/systemd/system/etcd.service.\n"
    ) in err
    # the files, through the merged-/usr /lib link
    assert m.path("/usr/lib/systemd/system/etcd.service").read_text() == ETCD_UNIT
    assert os.access(m.path("/usr/bin/etcd"), os.X_OK)
    assert m.path("/etc/default/etcd").read_text() == ETCD_DEFAULT
    # dpkg's database
    rc, out, _ = m.dpkg("-l", "etcd-server")
    assert rc == 0
    assert out.splitlines()[-1].split()[:3] == ["ii", "etcd-server", "3.4.23-4+b4"]
    rc, out, _ = m.query("-W", "-f=${Package} ${Status} ${db:Status-Abbrev}|\n", "etcd*")
    assert out == (
        "etcd install ok installed ii |\n"
        "etcd-client install ok installed ii |\n"
        "etcd-server install ok installed ii |\n"
    )
    status = m.dpkg("-s", "etcd-server")[1]
    assert status.splitlines()[:2] == ["Package: etcd-server", "Status: install ok installed"]
    assert " /etc/default/etcd " in status and " /etc/init.d/etcd " in status
    listed = m.dpkg("-L", "etcd-server")[1].splitlines()
    assert listed[0] == "/." and "/lib/systemd/system/etcd.service" in listed
    assert m.dpkg("-S", "/usr/bin/etcdctl")[1] == "etcd-client: /usr/bin/etcdctl\n"
    assert "Auto-Installed: 1" in m.path("/var/lib/apt/extended_states").read_text()
    # postinst: the system user and group, its home, the enablement and the rc links
    passwd = m.path("/etc/passwd").read_text()
    assert "etcd:x:101:101::/var/lib/etcd/:/usr/sbin/nologin\n" in passwd
    assert "etcd:x:101:\n" in m.path("/etc/group").read_text()
    assert m.path("/etc/shadow").read_text().startswith("root:*")
    assert "\netcd:!:" in m.path("/etc/shadow").read_text()
    home = os.stat(m.path("/var/lib/etcd"))
    assert (stat.S_IMODE(home.st_mode), home.st_uid, home.st_gid) == (0o700, 101, 101)
    assert os.readlink(m.path("/etc/rc2.d/S01etcd")) == "../init.d/etcd"
    assert os.readlink(m.path("/etc/rc0.d/K01etcd")) == "../init.d/etcd"
    wants = m.path("/etc/systemd/system/multi-user.target.wants/etcd.service")
    assert os.readlink(wants) == "/lib/systemd/system/etcd.service"
    assert m.path("/var/lib/systemd/deb-systemd-helper-enabled/etcd.service.dsh-also").exists()
    # an installed package again: nothing to do
    rc, out, _ = m.apt("install", "-y", "etcd-server")
    assert rc == 0 and "etcd-server is already the newest version (3.4.23-4+b4).\n" in out
    assert "etcd-server set to manually installed.\n" in out

    # remove: files go, conffiles stay, the unit's links stay (deb-systemd-helper purges them)
    m.path("/etc/default/etcd").write_text(ETCD_DEFAULT + "DAEMON_ARGS=--debug\n")
    rc, out, err = m.apt("remove", "-y", "etcd-server")
    assert rc == 0, err
    assert "The following packages will be REMOVED:\n  etcd etcd-server\n" in out
    assert "Removing etcd (3.4.23-4) ...\nRemoving etcd-server (3.4.23-4+b4) ...\n" in out
    assert not m.path("/usr/bin/etcd").exists()
    assert not m.path("/usr/lib/systemd/system/etcd.service").exists()
    assert m.path("/etc/default/etcd").read_text().endswith("DAEMON_ARGS=--debug\n")
    assert not os.access(m.path("/etc/init.d/etcd"), os.X_OK)  # postrm: chmod -x
    assert os.path.islink(wants)
    assert m.path("/var/lib/etcd").is_dir()
    assert "etcd:x:101" in m.path("/etc/passwd").read_text()
    out = m.dpkg("-l", "etcd-server")[1]
    assert out.splitlines()[-1].split()[:2] == ["rc", "etcd-server"]
    assert m.dpkg("-L", "etcd-server")[1].splitlines() == [
        "/.",
        "/etc",
        "/etc/default",
        "/etc/default/etcd",
        "/etc/init.d",
        "/etc/init.d/etcd",
    ]

    # reinstall: the changed conffile is kept silently (the package did not change it)
    rc, out, err = m.apt("install", "-y", "etcd-server")
    assert rc == 0, err
    assert m.path("/etc/default/etcd").read_text().endswith("DAEMON_ARGS=--debug\n")
    assert not m.path("/etc/default/etcd.dpkg-dist").exists()
    assert os.access(m.path("/etc/init.d/etcd"), os.X_OK)  # preinst: chmod +x

    # purge: conffiles, links, user, /var/lib/etcd and the status entry go
    rc, out, err = m.apt("purge", "-y", "etcd", "etcd-server", "etcd-client")
    assert rc == 0, err
    assert "Package 'etcd' is not installed, so not removed\n" in out
    assert "The following packages will be REMOVED:\n  etcd-client* etcd-server*\n" in out
    assert "Purging configuration files for etcd-server (3.4.23-4+b4) ...\n" in out
    assert out.count("(Reading database ... ") == 2
    assert not m.path("/etc/default/etcd").exists()
    assert not m.path("/etc/init.d/etcd").exists()
    assert not os.path.lexists(wants)
    assert not os.path.lexists(m.path("/etc/systemd/system/etcd2.service"))
    assert not os.path.lexists(m.path("/etc/rc2.d/S01etcd"))
    assert not m.path("/var/lib/etcd").exists()
    assert "etcd:" not in m.path("/etc/passwd").read_text()
    assert "etcd:" not in m.path("/etc/group").read_text()
    assert "etcd:" not in m.path("/etc/shadow").read_text()
    rc, out, err = m.dpkg("-l", "etcd-server")
    assert (rc, out, err) == (1, "", "dpkg-query: no packages found matching etcd-server\n")
    assert m.path("/var/lib/dpkg/status").read_text() == ""
    assert os.listdir(m.path("/var/lib/dpkg/info")) == []


def test_existing_conffile_is_kept(tmp_path: Path, fake_repo: Path) -> None:
    m = AptMachine(tmp_path / "root", fake_repo)
    m.write("/etc/default/etcd", "ETCD_NAME=mine\n")
    rc, _, err = m.apt("-o", "Dpkg::Options::=--force-confold", "install", "-y", "etcd-server")
    assert rc == 0, err
    assert "Configuration file '/etc/default/etcd'" in err
    assert " ==> Using current old file as you requested." in err
    assert m.path("/etc/default/etcd").read_text() == "ETCD_NAME=mine\n"
    assert m.path("/etc/default/etcd.dpkg-dist").read_text() == ETCD_DEFAULT
    assert m.apt("purge", "-y", "etcd-server")[0] == 0
    assert not m.path("/etc/default/etcd").exists()
    assert not m.path("/etc/default/etcd.dpkg-dist").exists()


def test_errors_look_like_debian(tmp_path: Path, fake_repo: Path) -> None:
    m = AptMachine(tmp_path / "root", fake_repo)
    rc, out, err = m.apt("install", "-y", "etcd", "nosuch")
    assert (rc, err) == (100, "E: Unable to locate package nosuch\n")
    assert (
        out
        == "Reading package lists...\nBuilding dependency tree...\nReading state information...\n"
    )
    assert not m.path("/var/lib/dpkg/status").exists()  # nothing was done
    assert m.apt("install", "-y", "etcd-server=9.9")[2] == (
        "E: Version '9.9' for 'etcd-server' was not found\n"
    )
    rc, out, _ = m.apt("remove", "-y", "etcd-server")
    assert rc == 0 and "Package 'etcd-server' is not installed, so not removed\n" in out
    assert m.apt("frobnicate")[0:3:2] == (100, "E: Invalid operation frobnicate\n")
    assert m.apt("update")[0] == 0
    # without -y, extra packages need a yes; a closed stdin answers no
    rc, out, _ = m.apt("install", "etcd")
    assert rc == 1 and out.endswith("Do you want to continue? [Y/n] Abort.\n")
    assert m.dpkg("-s", "etcd")[0:3:2] == (
        1,
        "dpkg-query: package 'etcd' is not installed and no information is available\n"
        "Use dpkg --info (= dpkg-deb --info) to examine archive files.\n",
    )
    assert m.dpkg("-L", "etcd")[0] == 1
    assert m.query("-W", "etcd")[0:3:2] == (1, "dpkg-query: no packages found matching etcd\n")
    assert m.dpkg("--compare-versions", "3.4.23-4+b4", "gt", "3.4.23-4")[0] == 0
    assert m.dpkg("--compare-versions", "3.4.23", "ge", "3.5.16")[0] == 1
    assert m.dpkg("--print-architecture")[1].strip() == P.architecture()
    assert m.dpkg("-W")[0] == 2  # dpkg-query's, not dpkg's


def test_a_held_lock_is_reported(tmp_path: Path, fake_repo: Path) -> None:
    m = AptMachine(tmp_path / "root", fake_repo)
    lock = m.path("/var/lib/dpkg/lock-frontend")
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as f:
        fcntl.lockf(f, fcntl.LOCK_EX)
        rc, _, err = m.apt("install", "-y", "etcd")
    assert rc == 100
    assert err.startswith(
        f"E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process {os.getpid()}"
    )


def test_unknown_maintainer_scripts_are_refused(tmp_path: Path) -> None:
    debs = make_fake_debs(tmp_path / "debs")
    D.build_deb(
        str(debs / "other_3.4.23-1_amd64.deb"),
        control("other", "3.4.23-1"),
        {"/usr/bin/other": b"#!/bin/sh\n"},
        scripts={"postinst": b"#!/bin/sh\nadduser other\n"},
    )
    repo = tmp_path / "repo"
    D.build_archive(str(debs), str(repo), UPSTREAM)
    m = AptMachine(tmp_path / "root", repo)
    rc, _, err = m.apt("install", "-y", "other")
    assert rc == 100
    assert "localjuju's dpkg has no native stand-in for them" in err
    assert "E: Sub-process /usr/bin/dpkg returned an error code (1)\n" in err
    assert not m.path("/usr/bin/other").exists()


# ---------------------------------------------------------------------------------------------
# The real cached packages in a directory root (no service manager)


@pytest.mark.skipif(
    not any(DEBS.glob(f"etcd-server_{UPSTREAM}-*.deb")), reason="run scripts/fetch-etcd"
)
def test_real_packages_in_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    D.build_archive(str(DEBS), str(repo), UPSTREAM)
    m = AptMachine(tmp_path / "root", repo)
    rc, out, err = m.apt("install", "-y", "etcd")
    assert rc == 0, err
    assert "warning" not in err  # the scripts are the ones the stand-in follows
    status = m.dpkg("-s", "etcd-server")[1]
    assert "Conffiles:\n /etc/default/etcd b7921986da4a49739814359cc296d2fb\n" in status
    assert m.path("/usr/lib/systemd/system/etcd.service").read_text() == ETCD_UNIT
    assert m.path("/etc/default/etcd").read_text() == ETCD_DEFAULT
    version = m.path("/usr/bin/etcd")
    assert version.stat().st_size > 1_000_000
    monkeypatch.setenv("LOCALJUJU_MACHINE_ROOT", str(m.root))
    cfg = U.load_unit_config("etcd.service")
    assert (cfg.load_state, cfg.fragment, cfg.type, cfg.user) == (
        "loaded",
        "/lib/systemd/system/etcd.service",
        "notify",
        "etcd",
    )
    assert m.apt("purge", "-y", "etcd", "etcd-server", "etcd-client")[0] == 0
    assert not m.path("/usr/bin/etcd").exists() and not m.path("/var/lib/etcd").exists()


# ---------------------------------------------------------------------------------------------
# Units of packages


def test_packaged_units_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    monkeypatch.setenv("LOCALJUJU_MACHINE_ROOT", str(root))
    (root / "usr/lib/systemd/system").mkdir(parents=True)
    (root / "lib").symlink_to("usr/lib")
    (root / "usr/lib/systemd/system/etcd.service").write_text(ETCD_UNIT)
    (root / "usr/lib/systemd/system/host.service").write_text("[Service]\nExecStart=/bin/true\n")
    # the host's units (and a package's before dpkg lists it) are not units of the machine
    assert U.load_unit_config("etcd.service").load_state == "not-found"
    assert U.load_unit_config("host.service").load_state == "not-found"
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (info / "etcd-server.list").write_text("/.\n/lib\n/lib/systemd/system/etcd.service\n")
    cfg = U.load_unit_config("etcd.service")
    assert (cfg.load_state, cfg.fragment) == ("loaded", "/lib/systemd/system/etcd.service")
    assert U.load_unit_config("host.service").load_state == "not-found"
    assert U.unit_files() == ["etcd.service"]
    # what Debian's etcd.service uses
    assert cfg.type == "notify" and cfg.user == "etcd" and cfg.permissions_start_only
    assert cfg.restart == "on-abnormal" and cfg.limit_nofile == (65536, 65536)
    env = dict(cfg.environment)
    assert env["ETCD_NAME"] == socket.gethostname()
    assert env["DAEMON_ARGS"] == "" and env["ETCD_DATA_DIR"] == "/var/lib/etcd/default"
    assert cfg.environment_files == [("/etc/default/etcd", True)]
    assert (cfg.wanted_by, cfg.alias) == (["multi-user.target"], ["etcd2.service"])
    # enabled: the alias stands for the unit
    U.enable_unit("etcd.service")
    assert U.canonical_name("etcd2.service") == "etcd.service"
    assert U.enabled_state("etcd.service") == "enabled"
    assert U.enabled_state("etcd2.service") == "alias"
    # once dpkg no longer lists it, the file is not a unit (even if it is still there)
    (info / "etcd-server.list").write_text("/.\n")
    assert U.load_unit_config("etcd.service").load_state == "not-found"


# ---------------------------------------------------------------------------------------------
# Under the supervisor: Type=notify, User=, EnvironmentFile=, the alias


def test_install_starts_the_service_as_its_user(open_root: Path, fake_repo: Path) -> None:
    m = AptMachine(open_root / "root", fake_repo)
    m.root.chmod(0o755)
    m.write("/etc/default/etcd", ETCD_DEFAULT + 'DAEMON_ARGS="--listen-client-urls http://x:1"\n')
    m.boot()
    try:
        t0 = time.monotonic()
        rc, out, err = m.apt("install", "-y", "etcd")
        assert rc == 0, err
        # Type=notify: install (deb-systemd-invoke start) returned once etcd said READY=1
        assert time.monotonic() - t0 >= 0.5
        assert m.prop("etcd.service", "ActiveState") == "active"
        assert m.prop("etcd.service", "SubState") == "running"
        assert m.prop("etcd.service", "StatusText") == "serving"
        assert m.prop("etcd.service", "UnitFileState") == "enabled"
        assert m.prop("etcd.service", "FragmentPath") == "/lib/systemd/system/etcd.service"
        started = json.loads(m.path("/var/lib/etcd/default/started.json").read_text())
        assert (started["uid"], started["gid"]) == (101, 101)  # User=etcd
        assert started["argv"][1:] == ["--listen-client-urls", "http://x:1"]  # $DAEMON_ARGS
        assert started["env"]["ETCD_NAME"] == socket.gethostname()  # %H
        assert started["env"]["ETCD_DATA_DIR"] == "/var/lib/etcd/default"
        assert started["env"]["HOME"] == "/var/lib/etcd/" and started["env"]["USER"] == "etcd"
        assert started["nofile"] == expected_nofile(65536)
        # the existing /etc/default/etcd was kept: the package's version is beside it
        assert m.path("/etc/default/etcd.dpkg-dist").read_text() == ETCD_DEFAULT
        # the alias is the same unit
        assert m.systemctl("is-active", "etcd2").stdout.strip() == "active"
        assert m.prop("etcd2.service", "MainPID") == m.prop("etcd.service", "MainPID")
        pid = int(m.prop("etcd.service", "MainPID"))
        # Restart=on-abnormal: a killed etcd comes back
        m.systemctl("kill", "--signal=SIGKILL", "etcd", check=True)
        wait_until(
            lambda: m.prop("etcd.service", "MainPID") not in ("0", str(pid))
            and m.prop("etcd.service", "ActiveState") == "active",
            what="etcd restarted",
        )
        # purge: prerm stops it
        rc, out, err = m.apt("purge", "-y", "etcd", "etcd-server", "etcd-client")
        assert rc == 0, err
        assert m.prop("etcd.service", "ActiveState") == "inactive"
        assert m.prop("etcd.service", "LoadState") == "not-found"
        assert not m.path("/var/lib/etcd").exists()
    finally:
        m.shutdown()


# ---------------------------------------------------------------------------------------------
# A real machine of a local model


@pytest.mark.integration
def test_apt_get_etcd_on_a_machine(juju: jubilant.Juju) -> None:
    if not (D.load_archive(str(ROOT / ".cache" / "apt-repo"))):
        pytest.skip("no local package archive in .cache/apt-repo (run scripts/fetch-etcd)")
    juju.deploy(HOOKLOG, "hooklog")
    juju.wait(jubilant.all_active, timeout=120)
    unit = "hooklog/0"

    def sh(command: str) -> str:
        return juju.exec(command, unit=unit).stdout

    out = sh("apt-get install -y etcd")
    assert "Setting up etcd-server (3.4.23-4+b4) ..." in out
    show = sh("systemctl show -p ActiveState,MainPID,FragmentPath,Type,UnitFileState etcd")
    props = dict(line.split("=", 1) for line in show.splitlines())
    assert props["ActiveState"] == "active"
    assert props["FragmentPath"] == "/lib/systemd/system/etcd.service"
    assert props["UnitFileState"] == "enabled"
    assert sh(f"ps -o user= -p {props['MainPID']}").strip() == "etcd"
    # (etcdctl 3.4 prints its verdict on stderr)
    health = sh("ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 endpoint health 2>&1")
    assert "http://127.0.0.1:2379 is healthy" in health
    status = json.loads(
        sh("ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 endpoint status -w json")
    )
    assert status[0]["Status"]["version"] == "3.4.23"
    listed = sh("dpkg -l etcd-server").splitlines()[-1].split()
    assert listed[:3] == ["ii", "etcd-server", "3.4.23-4+b4"]
    assert sh("stat -c '%U %a' /var/lib/etcd /var/lib/etcd/default").split() == [
        "etcd",
        "700",
        "etcd",
        "700",
    ]
    members = sh("ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 member list")
    assert f", started, {sh('hostname').strip()}, " in members  # ETCD_NAME=%H

    out = sh("apt-get purge -y etcd etcd-server etcd-client")
    assert "Purging configuration files for etcd-server (3.4.23-4+b4) ..." in out
    assert sh("systemctl is-active etcd || true").strip() == "inactive"
    assert sh("test -e /usr/bin/etcd && echo present || echo gone").strip() == "gone"
    assert sh("test -e /var/lib/etcd && echo present || echo gone").strip() == "gone"
    assert sh("getent passwd etcd || echo none").strip() == "none"
    assert sh("dpkg -l etcd-server 2>&1 || true").strip() == (
        "dpkg-query: no packages found matching etcd-server"
    )
