#!/usr/bin/env python3
"""jujuc: the hook tool client. Every tool name is a symlink to this script.

It forwards ``basename(argv[0])``, the arguments and the working directory to the unit agent
over ``$JUJU_AGENT_SOCKET_ADDRESS`` (network ``$JUJU_AGENT_SOCKET_NETWORK``, must be ``unix``;
an address starting with ``@`` is abstract) with ``$JUJU_CONTEXT_ID``, then prints the
tool's stdout/stderr and exits with its code.

Stdin and files named by ``--file`` are read here, in the unit's machine, and only when the
agent asks for them (a tool never blocks on a stdin it does not use); ``-o FILE`` output is
written here too.

Wire format (see ``server.py``): a message is ``!I`` field count, then per field ``!I``
length + bytes. Request: ``JUJUC1, context id, command, dir, argc, args..., has-stdin,
stdin, nfiles, (path, ok|err, content-or-error)...``. Reply: ``result, code, stdout, stderr,
output-path, output-data`` | ``need, need-stdin, paths...`` | ``error, message``.

Must start fast and run under ``python3 -IS``: only ``os``, ``sys``, ``struct`` and the
socket core. Errors mirror jujud's hook tool main: ``ERROR <message>`` and exit code 1.
"""

import os
import struct
import sys

try:  # the C core avoids importing enum/selectors; same API for what we use
    import _socket as socket_mod
except ImportError:  # pragma: no cover
    import socket as socket_mod  # type: ignore[no-redef]

MAGIC = b"JUJUC1"
MAX_ROUNDS = 4
_U32 = struct.Struct("!I")


def encode(fields: list) -> bytes:
    parts = [_U32.pack(len(fields))]
    for f in fields:
        parts.append(_U32.pack(len(f)))
        parts.append(f)
    return b"".join(parts)


def _recv_exact(sock: object, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))  # type: ignore[attr-defined]
        if not chunk:
            raise ConnectionError("connection closed by the unit agent")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def receive(sock: object) -> list:
    (count,) = _U32.unpack(_recv_exact(sock, 4))
    fields = []
    for _ in range(count):
        (size,) = _U32.unpack(_recv_exact(sock, 4))
        fields.append(_recv_exact(sock, size))
    return fields


def _os_error(err: OSError) -> str:
    text = err.strerror or str(err)
    return text[:1].lower() + text[1:]


def _fail(message: str, code: int = 1) -> int:
    sys.stderr.write("ERROR " + message + "\n")
    sys.stderr.flush()
    return code


def _getenv(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise LookupError(name + " not set")
    return value


def _b(text: str) -> bytes:
    return os.fsencode(text)


def main(argv: list) -> int:
    command = os.path.basename(argv[0])
    if command in ("jujuc", "jujuc.py"):
        return _fail("jujuc should not be called directly", 2)
    try:
        context_id = _getenv("JUJU_CONTEXT_ID")
        cwd = os.path.abspath(os.getcwd())
        address = _getenv("JUJU_AGENT_SOCKET_ADDRESS")
        network = _getenv("JUJU_AGENT_SOCKET_NETWORK")
    except LookupError as e:
        return _fail(str(e.args[0]))
    except OSError as e:
        return _fail("getwd: " + _os_error(e))
    if network != "unix":
        return _fail("unsupported hook tool socket network " + repr(network))
    target = "\0" + address[1:] if address.startswith("@") else address
    sock = socket_mod.socket(socket_mod.AF_UNIX, socket_mod.SOCK_STREAM)
    try:
        sock.connect(target)
    except OSError as e:
        sock.close()
        return _fail("dial unix " + address + ": connect: " + _os_error(e))

    head = [MAGIC, _b(context_id), _b(command), _b(cwd), str(len(argv) - 1).encode()]
    head.extend(_b(a) for a in argv[1:])
    stdin = None
    files: dict = {}
    try:
        for _ in range(MAX_ROUNDS):
            fields = list(head)
            fields.append(b"1" if stdin is not None else b"0")
            fields.append(stdin or b"")
            fields.append(str(len(files)).encode())
            for path, (ok, data) in files.items():
                fields.extend((path, b"ok" if ok else b"err", data))
            sock.sendall(encode(fields))
            reply = receive(sock)
            kind = reply[0]
            if kind == b"error":
                return _fail(reply[1].decode("utf-8", "replace"))
            if kind == b"need":
                if reply[1] == b"1" and stdin is None:
                    try:
                        stdin = sys.stdin.buffer.read()
                    except (OSError, ValueError, AttributeError) as e:
                        return _fail("cannot read stdin: " + str(e))
                for path in reply[2:]:
                    try:
                        with open(path, "rb") as f:
                            files[path] = (True, f.read())
                    except OSError as e:
                        msg = "open " + os.fsdecode(path) + ": " + _os_error(e)
                        files[path] = (False, msg.encode())
                continue
            break
        else:
            return _fail("hook tool kept asking for input")
    except (OSError, ValueError, IndexError, struct.error) as e:
        return _fail("unit agent connection: " + str(e))
    finally:
        sock.close()

    code, out, err, output_path, output_data = reply[1:6]
    if out:
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()
    if err:
        sys.stderr.buffer.write(err)
        sys.stderr.buffer.flush()
    if output_path:
        try:
            with open(output_path, "wb") as f:
                f.write(output_data)
        except OSError as e:
            return _fail("open " + os.fsdecode(output_path) + ": " + _os_error(e))
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
