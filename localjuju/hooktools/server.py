"""The unit agent side of the hook tool wire, for asyncio unix servers, and tool installation.

Usage by the controller::

    server = await asyncio.start_unix_server(
        lambda r, w: handle_connection(r, w, lookup), path=socket_path)
    # or: server = await start_server(socket_path, lookup)

``lookup(context_id)`` returns the live :class:`ToolContext` or ``None`` for an unknown or
expired id, which the client reports like Juju 3.6 does:
``ERROR bad request: wrong context ID; got "<id>"`` (exit 1).

Tool calls run synchronously in the event loop (they answer from memory), one at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import stat
import struct
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .context import ToolContext
from .formatting import go_quote
from .tools import ALL_TOOLS, TOOL_NAMES, NeedInput, ToolResult, run_tool

__all__ = ["handle_connection", "start_server", "install_tools", "build_client", "JUJUC_SOURCE"]

Lookup = Callable[[str], "ToolContext | None"]

MAX_FIELDS = 1 << 16
MAX_FIELD = 1 << 30
MAGIC = b"JUJUC1"
_U32 = struct.Struct("!I")

#: The client script shipped to machines (``install_tools`` rewrites its shebang).
JUJUC_SOURCE = Path(__file__).with_name("jujuc.py")
#: The same client in C, what machines get once built (:func:`build_client`).
JUJUC_C_SOURCE = Path(__file__).with_name("jujuc.c")


class _BadRequest(Exception):
    pass


async def _read_message(reader: asyncio.StreamReader) -> list[bytes]:
    (count,) = _U32.unpack(await reader.readexactly(4))
    if count > MAX_FIELDS:
        raise _BadRequest("too many fields")
    fields = []
    for _ in range(count):
        (size,) = _U32.unpack(await reader.readexactly(4))
        if size > MAX_FIELD:
            raise _BadRequest("field too large")
        fields.append(await reader.readexactly(size))
    return fields


def encode(fields: list[bytes]) -> bytes:
    """Encode a wire message (the same format as ``jujuc.encode``)."""
    parts = [_U32.pack(len(fields))]
    for f in fields:
        parts.append(_U32.pack(len(f)))
        parts.append(f)
    return b"".join(parts)


def _bad_request(message: str) -> bytes:
    return encode([b"error", f"bad request: {message}".encode()])


@dataclass
class _Request:
    context_id: str
    command: str
    cwd: str
    args: list[str]
    stdin: bytes | None
    files: dict[str, bytes | str]


def _parse_request(fields: list[bytes]) -> _Request:
    try:
        if fields[0] != MAGIC:
            raise _BadRequest("unsupported protocol")
        context_id, command, cwd = (os.fsdecode(f) for f in fields[1:4])
        argc = int(fields[4])
        args = [os.fsdecode(f) for f in fields[5 : 5 + argc]]
        pos = 5 + argc
        has_stdin, stdin_data = fields[pos], fields[pos + 1]
        nfiles = int(fields[pos + 2])
        pos += 3
        files: dict[str, bytes | str] = {}
        for _ in range(nfiles):
            path, status, data = fields[pos : pos + 3]
            if status not in (b"ok", b"err"):
                raise _BadRequest("malformed file entry")
            files[os.fsdecode(path)] = data if status == b"ok" else data.decode("utf-8", "replace")
            pos += 3
    except (IndexError, ValueError) as e:
        raise _BadRequest(f"malformed request: {e}") from None
    return _Request(
        context_id, command, cwd, args, stdin_data if has_stdin == b"1" else None, files
    )


def _execute(fields: list[bytes], lookup: Lookup) -> bytes:
    try:
        req = _parse_request(fields)
    except _BadRequest as e:
        return _bad_request(str(e))
    if not req.command:
        return _bad_request("command not specified")
    if not os.path.isabs(req.cwd):
        return _bad_request("Dir is not absolute")
    ctx = lookup(req.context_id)
    if ctx is None:
        return _bad_request(f"wrong context ID; got {go_quote(req.context_id)}")
    if req.command not in ALL_TOOLS:
        return _bad_request(f"unknown hook command: {req.command}")
    try:
        result = run_tool(
            ctx, req.command, req.args, req.stdin, req.cwd, files=req.files, local_fs=False
        )
    except NeedInput as need:
        return encode(
            [b"need", b"1" if need.stdin else b"0", *(os.fsencode(p) for p in need.files)]
        )
    except Exception as e:  # a bug in a tool or in the context: report it, keep serving
        result = ToolResult(1, b"", f"ERROR internal error: {type(e).__name__}: {e}\n".encode())
    out_path, out_data = b"", b""
    if result.output_file is not None:
        out_path, out_data = os.fsencode(result.output_file[0]), result.output_file[1]
    return encode(
        [b"result", str(result.code).encode(), result.stdout, result.stderr, out_path, out_data]
    )


async def handle_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, lookup: Lookup
) -> None:
    """Serve one jujuc client connection (one tool call, possibly in several rounds)."""
    try:
        while True:
            try:
                fields = await _read_message(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            except _BadRequest as e:
                writer.write(_bad_request(str(e)))
                await writer.drain()
                return
            response = _execute(fields, lookup)
            writer.write(response)
            await writer.drain()
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def start_server(socket_path: str | os.PathLike[str], lookup: Lookup) -> asyncio.Server:
    """Listen on a unix socket (``@name`` = abstract) and serve hook tool calls."""
    path = os.fspath(socket_path)
    if path.startswith("@"):
        path = "\0" + path[1:]
    elif os.path.exists(path):
        os.unlink(path)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await handle_connection(reader, writer, lookup)

    return await asyncio.start_unix_server(on_connect, path=path)


def _client_dir() -> Path:
    from .. import paths

    return paths.ROOT / ".cache" / "jujuc"


def build_client(required: bool = False) -> Path | None:
    """The compiled client (``jujuc.c``), built once per source into ``.cache/jujuc/``.

    Juju's jujuc is a Go binary: a hook tool call costs its machine about a millisecond of CPU,
    where a Python client costs ten, and a charm makes dozens per hook. scripts/setup builds it
    (``required``: a missing C compiler is an error); otherwise None without a compiler."""
    source = JUJUC_C_SOURCE.read_bytes()
    target = _client_dir() / hashlib.sha256(source).hexdigest()[:16] / "jujuc"
    if target.exists():
        return target
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        if required:
            raise RuntimeError("no C compiler (cc) to build the hook tool client jujuc.c")
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".jujuc.")
    os.close(fd)
    try:
        subprocess.run(
            [compiler, "-O2", "-Wall", "-Werror", "-o", tmp, str(JUJUC_C_SOURCE)],
            check=True,
            capture_output=True,
            text=True,
        )
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    except subprocess.CalledProcessError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise RuntimeError(f"building jujuc.c failed: {exc.stderr.strip()}") from exc
    return target


def install_tools(tools_dir: Path, python: str, compiled: bool = True) -> None:
    """Install the ``jujuc`` client into ``tools_dir`` and a symlink ``<tool> -> jujuc`` for
    every hook tool name (existing entries are replaced).

    The client is the compiled one (:func:`build_client`) when ``compiled`` and a compiler or
    an earlier build is at hand, else ``jujuc.py`` with shebang ``#!<python> -IS``: ``python``
    must be the absolute path of a Python >= 3.10 interpreter that exists inside the unit's
    machine; the script uses only the standard library.
    """
    tools_dir = Path(tools_dir)
    tools_dir.mkdir(parents=True, exist_ok=True)
    binary = build_client() if compiled else None
    script = tools_dir / "jujuc"
    tmp = tools_dir / ".jujuc.tmp"
    if binary is not None:
        shutil.copyfile(binary, tmp)
    else:
        source = JUJUC_SOURCE.read_text()
        lines = source.splitlines(keepends=True)
        if lines and lines[0].startswith("#!"):
            lines = lines[1:]
        tmp.write_text(f"#!{python} -IS\n" + "".join(lines))
    tmp.chmod(0o755 | stat.S_IRUSR)
    os.replace(tmp, script)
    for name in TOOL_NAMES:
        link = tools_dir / name
        if link.is_symlink() or link.exists():
            if link.is_dir() and not link.is_symlink():
                shutil.rmtree(link)
            else:
                link.unlink()
        link.symlink_to("jujuc")
