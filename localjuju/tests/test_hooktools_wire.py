"""The real jujuc clients, as subprocesses, against the asyncio server on a unix socket.

Every test runs with both clients: the compiled one (``jujuc.c``, what machines get) and the
Python script (``jujuc.py``, what they get without a C compiler)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from localjuju.hooktools.context import InterfaceAddress, NetworkInfo, NetworkInterface
from localjuju.hooktools.fake import FakeContext, FakeRelation
from localjuju.hooktools.server import build_client, install_tools
from localjuju.hooktools.tools import TOOL_NAMES

from .toolserver import serving

CONTEXT_ID = "etcd-0-db-relation-changed-0123456789abcdef0123456789abcdef"


@dataclass
class Agent:
    ctx: FakeContext
    tools: Path
    socket: Path
    workdir: Path
    client: str  # "compiled" or "script"

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            "PATH": f"{self.tools}:/usr/bin:/bin",
            "JUJU_CONTEXT_ID": CONTEXT_ID,
            "JUJU_AGENT_SOCKET_ADDRESS": str(self.socket),
            "JUJU_AGENT_SOCKET_NETWORK": "unix",
        }
        env.update(overrides)
        return {k: v for k, v in env.items() if v != "<unset>"}

    def run(
        self, *argv: str, stdin: bytes | None = b"", **env: str
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            list(argv),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            env=self.env(**env),
            cwd=self.workdir,
            timeout=30,
        )


def _context() -> FakeContext:
    ctx = FakeContext(
        unit_name="etcd/0",
        hook_name="db-relation-changed",
        hook_relation_id=7,
        remote_unit="etcd/1",
        remote_app="etcd",
    )
    ctx.relations[7] = FakeRelation(
        7,
        "cluster",
        "etcd",
        is_peer=True,
        members=["etcd/1"],
        units={"etcd/1": {"private-address": "10.5.0.10", "cert": "-----BEGIN-----\nabc\n"}},
    )
    ctx.config_values = {"channel": "3.5/stable", "port": 2379, "flag": False, "x": None}
    net = NetworkInfo(
        (
            NetworkInterface(
                "00:16:3e:aa:bb:cc", "eth0", (InterfaceAddress("10.5.0.9", "10.5.0.0/24"),)
            ),
        ),
        ("10.5.0.9/32",),
        ("10.5.0.9",),
    )
    ctx.networks = {"db": net}
    return ctx


@pytest.fixture(params=["compiled", "script"])
def agent(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Agent]:
    ctx = _context()
    sock = tmp_path / "agent.socket"
    with serving(sock, lambda cid: ctx if cid == CONTEXT_ID else None):
        tools = tmp_path / "tools"
        install_tools(tools, sys.executable, compiled=request.param == "compiled")
        work = tmp_path / "charm"
        work.mkdir()
        yield Agent(ctx, tools, sock, work, request.param)


def test_install_tools_links_every_tool(agent: Agent) -> None:
    client = agent.tools / "jujuc"
    assert os.access(client, os.X_OK)
    compiled = build_client(required=True)
    assert compiled is not None
    if agent.client == "compiled":
        assert client.read_bytes() == compiled.read_bytes()
    else:
        assert client.read_text().splitlines()[0] == f"#!{sys.executable} -IS"
    for name in TOOL_NAMES:
        link = agent.tools / name
        assert link.is_symlink() and os.readlink(link) == "jujuc"
    install_tools(agent.tools, sys.executable)  # idempotent; the compiled one by default
    assert client.read_bytes() == compiled.read_bytes()


def test_the_compiled_client_is_built_once_per_source(tmp_path: Path) -> None:
    first = build_client(required=True)
    assert first is not None and first.read_bytes().startswith(b"\x7fELF")
    stamp = first.stat().st_mtime_ns
    assert build_client(required=True) == first and first.stat().st_mtime_ns == stamp


def test_relation_get_json(agent: Agent) -> None:
    p = agent.run("relation-get", "--format=json", "-", "etcd/1")
    assert (p.returncode, p.stderr) == (0, b"")
    assert p.stdout == (b'{"cert":"-----BEGIN-----\\nabc\\n","private-address":"10.5.0.10"}\n')


def test_relation_set_file(agent: Agent, tmp_path: Path) -> None:
    settings = tmp_path / "x.yaml"
    settings.write_text("a: b\nlong: |\n  line1\n  line2\ngone: null\n")
    p = agent.run("relation-set", "--file", str(settings))
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")
    assert agent.ctx.pending_relation[(7, False)] == {
        "a": "b",
        "long": "line1\nline2\n",
        "gone": "",
    }
    p = agent.run("relation-get", "-", "etcd/0")
    assert p.stdout == b"a: b\nlong: |\n  line1\n  line2\n"


def test_relation_set_relative_file_and_stdin(agent: Agent) -> None:
    (agent.workdir / "rel.yaml").write_text("r: '1'\n")
    assert agent.run("relation-set", "--file", "rel.yaml").returncode == 0
    p = agent.run("relation-set", "--file", "-", "s=2", stdin=b"t: 3\n")
    assert (p.returncode, p.stderr) == (0, b"")
    assert agent.ctx.pending_relation[(7, False)] == {"r": "1", "t": "3", "s": "2"}
    p = agent.run("relation-set", "--file", "missing.yaml")
    assert p.returncode == 1
    assert p.stderr == (
        f"ERROR open {agent.workdir}/missing.yaml: no such file or directory\n".encode()
    )


def test_tool_does_not_block_on_unused_stdin(agent: Agent) -> None:
    # stdin is an open pipe that is never written or closed: reading it would hang.
    proc = subprocess.Popen(
        ["is-leader", "--format=json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=agent.env(),
        cwd=agent.workdir,
    )
    try:
        assert proc.wait(timeout=20) == 0
        assert proc.stdout is not None and proc.stdout.read() == b"false\n"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.kill()
        proc.wait()


def test_config_get_all_json(agent: Agent) -> None:
    p = agent.run("config-get", "--all", "--format=json")
    assert p.stdout == b'{"channel":"3.5/stable","flag":false,"port":2379,"x":null}\n'


def test_network_get_yaml(agent: Agent) -> None:
    p = agent.run("network-get", "db", "--format", "yaml")
    assert p.returncode == 0
    assert p.stdout.decode().startswith(
        "bind-addresses:\n- mac-address: 00:16:3e:aa:bb:cc\n  interface-name: eth0\n"
    )
    assert b"  macaddress: 00:16:3e:aa:bb:cc\n" in p.stdout


def test_leader_set_and_is_leader(agent: Agent) -> None:
    p = agent.run("leader-set", "a=b")
    assert (p.returncode, p.stderr) == (
        1,
        b"ERROR cannot write leadership settings: cannot write settings: not the leader\n",
    )
    agent.ctx.leader = True
    assert agent.run("leader-set", "a=b").returncode == 0
    assert agent.ctx.leader_data == {"a": "b"}
    p = agent.run("is-leader", "--format=json")
    assert (p.returncode, p.stdout) == (0, b"true\n")


def test_status_set(agent: Agent) -> None:
    p = agent.run("status-set", "active", "Healthy")
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")
    assert (agent.ctx.status.status, agent.ctx.status.message) == ("active", "Healthy")


def test_errors_and_exit_codes(agent: Agent) -> None:
    p = agent.run("relation-get", "--foo")
    assert (p.returncode, p.stderr) == (2, b"ERROR option provided but not defined: --foo\n")
    p = agent.run("relation-set", "--help")
    assert p.returncode == 0 and b"--file" in p.stdout
    p = agent.run("action-get")
    assert (p.returncode, p.stderr) == (1, b"ERROR not running an action\n")


def test_output_file_written_by_client(agent: Agent) -> None:
    p = agent.run("config-get", "port", "-o", "port.txt")
    assert (p.returncode, p.stdout) == (0, b"")
    assert (agent.workdir / "port.txt").read_bytes() == b"2379\n"


def test_bad_context_id(agent: Agent) -> None:
    p = agent.run("is-leader", JUJU_CONTEXT_ID="expired")
    assert (p.returncode, p.stdout) == (1, b"")
    assert p.stderr == b'ERROR bad request: wrong context ID; got "expired"\n'


def test_missing_environment(agent: Agent) -> None:
    p = agent.run("is-leader", JUJU_CONTEXT_ID="<unset>")
    assert (p.returncode, p.stderr) == (1, b"ERROR JUJU_CONTEXT_ID not set\n")
    p = agent.run("is-leader", JUJU_AGENT_SOCKET_ADDRESS="<unset>")
    assert (p.returncode, p.stderr) == (1, b"ERROR JUJU_AGENT_SOCKET_ADDRESS not set\n")


def test_no_agent_listening(agent: Agent, tmp_path: Path) -> None:
    missing = tmp_path / "nope.socket"
    p = agent.run("is-leader", JUJU_AGENT_SOCKET_ADDRESS=str(missing))
    assert p.returncode == 1
    assert p.stderr == f"ERROR dial unix {missing}: connect: no such file or directory\n".encode()


def test_jujuc_called_directly(agent: Agent) -> None:
    p = agent.run(str(agent.tools / "jujuc"))
    assert (p.returncode, p.stderr) == (2, b"ERROR jujuc should not be called directly\n")
