"""``localjuju``: the subset of the Juju 3 CLI that jubilant uses, for the local model.

Each command talks to the model's controller (``localjuju.controller.daemon``) over its socket,
starting the controller if it is not running (so a model survives the CLI and new sessions).
Errors print ``ERROR <message>`` on stderr and exit 1 (2 for usage errors), as juju does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import yaml

from . import paths
from .controller import fmt

CURRENT = "current-model"


class CLIError(Exception):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.message = message
        self.code = code


# ---------------------------------------------------------------------- controller access


def model_name(args: argparse.Namespace) -> str:
    name = getattr(args, "model", None) or os.environ.get("JUJU_MODEL")
    if not name:
        try:
            name = (paths.home() / CURRENT).read_text().strip()
        except OSError:
            name = ""
    if not name:
        raise CLIError('no model in focus\n\nPlease use "localjuju add-model" to create one')
    # Accept [controller:][user/]model.
    name = name.split(":")[-1].split("/")[-1]
    if not (paths.model_dir(name) / "state.json").exists():
        raise CLIError(f'model "{name}" not found (not found)')
    return name


def _connect(model: str, timeout: float | None) -> socket.socket:
    d = paths.model_dir(model)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    cwd = os.getcwd()
    try:
        os.chdir(d)
        s.connect("controller.sock")
    finally:
        os.chdir(cwd)
    return s


def _daemon_alive(model: str) -> bool:
    try:
        s = _connect(model, 5)
    except OSError:
        return False
    s.close()
    return True


def ensure_daemon(model: str) -> None:
    if _daemon_alive(model):
        return
    d = paths.model_dir(model)
    log = open(d / "controller.out", "ab")
    subprocess.Popen(
        [str(paths.venv_python()), "-m", "localjuju.controller.daemon", str(d)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
        cwd="/",
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _daemon_alive(model):
            return
        time.sleep(0.05)
    raise CLIError(f"the controller of model {model} did not start; see {d}/controller.log")


def call(model: str, cmd: str, sock_timeout: float | None = None, **args: Any) -> Any:
    ensure_daemon(model)
    s = _connect(model, sock_timeout)
    try:
        s.sendall(json.dumps({"cmd": cmd, "args": args}).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    if not buf:
        raise CLIError("connection to the controller was lost")
    resp = json.loads(buf)
    if not resp["ok"]:
        raise CLIError(resp["error"], resp.get("code", 1))
    return resp["result"]


# ---------------------------------------------------------------------- helpers


def parse_kv(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise CLIError(f'expected "key=value", got "{item}"', 2)
        k, v = item.split("=", 1)
        out[k] = v
    return out


def parse_wait(s: str | None) -> float | None:
    if s is None:
        return None
    from .controller.controller import parse_duration

    try:
        return parse_duration(s)
    except ValueError:
        raise CLIError(
            f'invalid value "{s}" for option --wait: time: invalid duration', 2
        ) from None


def out(text: str) -> None:
    sys.stdout.write(text)
    if text and not text.endswith("\n"):
        sys.stdout.write("\n")


# ---------------------------------------------------------------------- commands


def cmd_add_model(args: argparse.Namespace) -> None:
    from .controller import state
    from .controller.controller import new_model
    from .controller.machines import free_network_index

    name = args.name
    d = paths.model_dir(name)
    if (d / "state.json").exists():
        raise CLIError(f'failed to create new model: model "{name}" for admin already exists')
    used = set()
    for other in paths.models_dir().glob("*/state.json") if paths.models_dir().exists() else []:
        try:
            used.add(json.loads(other.read_text())["network_index"])
        except (OSError, ValueError, KeyError):
            pass
    cfg = parse_kv(args.config or [])
    model = new_model(name, free_network_index(used), cfg)
    d.mkdir(parents=True, exist_ok=True)
    state.save(model, d / "state.json")
    ensure_daemon(name)
    if not args.no_switch:
        (paths.home() / CURRENT).write_text(name)
    sys.stderr.write(
        f"Added '{name}' model on localhost/localhost with credential 'localjuju' for user 'admin'\n"
    )


def cmd_destroy_model(args: argparse.Namespace) -> None:
    name = args.name.split(":")[-1].split("/")[-1]
    d = paths.model_dir(name)
    if not (d / "state.json").exists():
        raise CLIError(f'model "{name}" not found (not found)')
    if _daemon_alive(name):
        pid_file = d / "controller.pid"
        pid = int(pid_file.read_text()) if pid_file.exists() else None
        call(name, "destroy")
        deadline = time.monotonic() + 120
        while pid and time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.05)
    else:
        # No controller: clean up whatever machines remain.
        from .controller import state
        from .controller.machines import Machine, Network

        m = state.load(d / "state.json")
        net = Network(m.network_index)
        for mid in m.machines:
            Machine(d, m.name, m.uuid, net, int(mid)).destroy()
        net.destroy()
    import shutil

    from .controller.storage import release_dir

    release_dir(d / "volumes")  # no loop device left behind, whatever the controller did
    shutil.rmtree(d, ignore_errors=True)
    cur = paths.home() / CURRENT
    if cur.exists() and cur.read_text().strip() == name:
        cur.unlink()
    sys.stderr.write("Destroying model\nModel destroyed.\n")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def cmd_models(args: argparse.Namespace) -> None:
    cur = ""
    try:
        cur = (paths.home() / CURRENT).read_text().strip()
    except OSError:
        pass
    names = (
        sorted(p.parent.name for p in paths.models_dir().glob("*/state.json"))
        if paths.models_dir().exists()
        else []
    )
    models = []
    for n in names:
        st = json.loads((paths.model_dir(n) / "state.json").read_text())
        models.append({"name": n, "uuid": st["uuid"], "machines": len(st["machines"]),
                       "units": len(st["units"])})  # fmt: skip
    if args.format == "json":
        out(fmt.models_json(models, cur))
    else:
        out(fmt.models_tabular(models, cur))


def cmd_switch(args: argparse.Namespace) -> None:
    name = args.name.split(":")[-1].split("/")[-1]
    if not (paths.model_dir(name) / "state.json").exists():
        raise CLIError(f'"{name}" is not the name of a model or controller')
    (paths.home() / CURRENT).write_text(name)


def cmd_show_model(args: argparse.Namespace) -> None:
    name = (args.name or model_name(args)).split(":")[-1].split("/")[-1]
    st = json.loads((paths.model_dir(name) / "state.json").read_text())
    out(fmt.show_model(st, args.format or "yaml"))


def cmd_status(args: argparse.Namespace) -> None:
    doc = call(model_name(args), "status")
    form = args.format or "tabular"
    if form not in ("json", "yaml"):
        form = "tabular"
    color = args.color or (sys.stdout.isatty() and not args.no_color)
    text = fmt.status_output(doc, form, args.relations, color)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if form == "tabular" and not doc["applications"] and not doc["machines"]:
        from . import formats

        sys.stderr.write(formats.empty_model_message(doc["model"]["name"]))


def cmd_deploy(args: argparse.Namespace) -> None:
    config: dict[str, Any] = {}
    for c in args.config or []:
        if "=" in c:
            config.update(parse_kv([c]))
        else:
            data = yaml.safe_load(Path(c).read_text()) or {}
            # juju deploy --config file.yaml: {app: {k: v}}
            for v in data.values():
                if isinstance(v, dict):
                    config.update(
                        {k: str(x) if not isinstance(x, str) else x for k, x in v.items()}
                    )
    charm = args.charm
    if os.path.exists(charm):
        charm = os.path.abspath(charm)
    res = {
        k: os.path.abspath(os.path.expanduser(v)) for k, v in parse_kv(args.resource or []).items()
    }
    result = call(
        model_name(args),
        "deploy",
        charm=charm,
        application=args.application,
        num_units=args.num_units,
        config=config,
        resources=res,
        channel=args.channel,
        base=_requested_base(args),
        force=args.force,
        storage=list(args.storage or []),
        attach_storage=[x for item in args.attach_storage or [] for x in item.split(",") if x],
    )
    sys.stderr.write(f"Deployed \"{result['application']}\" from local charm\n")


def _requested_base(args: argparse.Namespace) -> str | None:
    """``--base ubuntu@24.04`` (the last one given), or the base of a ``--series noble``."""
    from .controller.charm import SERIES_BASES

    if args.base:
        return str(args.base[-1])
    if args.series:
        series = args.series[-1]
        if series not in SERIES_BASES:
            raise CLIError(f'series "{series}" not valid')
        return SERIES_BASES[series]
    return None


def cmd_add_unit(args: argparse.Namespace) -> None:
    attach = [s for item in args.attach_storage or [] for s in item.split(",") if s]
    call(
        model_name(args),
        "add-unit",
        application=args.application,
        num_units=args.num_units,
        attach_storage=attach,
    )


def cmd_remove_unit(args: argparse.Namespace) -> None:
    model = model_name(args)
    units = list(args.units)
    if args.num_units:
        doc = call(model, "status")
        if len(units) != 1 or "/" in units[0]:
            raise CLIError("--num-units takes one application name", 2)
        app = doc["applications"].get(units[0])
        if app is None:
            raise CLIError(f'application "{units[0]}" not found')
        names = sorted(app["units"], key=lambda n: int(n.split("/")[1]))
        units = names[-args.num_units :]
    lines = call(
        model,
        "remove-unit",
        units=units,
        force=args.force,
        no_wait=args.no_wait,
        destroy_storage=args.destroy_storage,
    )
    for line in lines:
        sys.stderr.write(f"{line}\n")


def cmd_remove_application(args: argparse.Namespace) -> None:
    lines = call(
        model_name(args),
        "remove-application",
        applications=args.applications,
        force=args.force,
        no_wait=args.no_wait,
        destroy_storage=args.destroy_storage,
    )
    for line in lines:
        sys.stderr.write(f"{line}\n")


# ---------------------------------------------------------------------- storage


def cmd_storage(args: argparse.Namespace) -> None:
    from .formats.storage import storage_output

    if args.ids and not (args.filesystem or args.volume):
        raise CLIError("specifying IDs only supported with --filesystem and --volume options")
    if args.filesystem and args.volume:
        raise CLIError("--filesystem and --volume can not be used together")
    d = call(model_name(args), "storage")
    if args.filesystem:
        d = {"filesystems": {}}
    elif args.volume:
        vols = d.get("volumes") or {}
        d = {"volumes": {k: v for k, v in vols.items() if not args.ids or k in args.ids}}
    stdout, stderr = storage_output(d, args.format or "tabular")
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)


def cmd_show_storage(args: argparse.Namespace) -> None:
    from .formats.storage import show_storage_output

    if not args.ids:
        raise CLIError("must specify storage ID(s)")
    d = call(model_name(args), "show-storage", ids=args.ids)
    sys.stdout.write(show_storage_output(d, args.format or "yaml"))


def _storage_lines(lines: list[str]) -> None:
    failed = False
    for line in lines:
        sys.stderr.write(line + "\n")
        failed = failed or line.startswith("failed to ")
    if failed:
        sys.exit(1)


def cmd_add_storage(args: argparse.Namespace) -> None:
    if not args.directives:
        raise CLIError("add-storage requires a unit and a storage directive", 2)
    if not re.match(r"^[a-z][a-z0-9-]*/[0-9]+$", args.unit):
        raise CLIError(f'unit name "{args.unit}" not valid', 2)
    _storage_lines(call(model_name(args), "add-storage", unit=args.unit, items=args.directives))


def cmd_attach_storage(args: argparse.Namespace) -> None:
    if not args.ids:
        raise CLIError("attach-storage requires a unit ID and at least one storage ID", 2)
    _storage_lines(call(model_name(args), "attach-storage", unit=args.unit, ids=args.ids))


def cmd_detach_storage(args: argparse.Namespace) -> None:
    if args.no_wait and not args.force:
        raise CLIError("--no-wait without --force not valid", 2)
    _storage_lines(call(model_name(args), "detach-storage", ids=args.ids, force=args.force))


def cmd_remove_storage(args: argparse.Namespace) -> None:
    r = call(
        model_name(args), "remove-storage", ids=args.ids, force=args.force,
        no_destroy=args.no_destroy,
    )  # fmt: skip
    for line in r["lines"]:
        sys.stderr.write(line + "\n")
    if r["attached"]:
        sys.stderr.write(
            "\nUse the --force option to remove attached storage, or use\n"
            '"juju detach-storage" to explicitly detach the storage\nbefore removing.\n'
        )
    if any(line.startswith("failed to ") for line in r["lines"]):
        sys.exit(1)


def cmd_integrate(args: argparse.Namespace) -> None:
    call(model_name(args), "integrate", a=args.a, b=args.b)


def cmd_remove_relation(args: argparse.Namespace) -> None:
    call(model_name(args), "remove-relation", a=args.a, b=args.b, force=args.force)


def cmd_config(args: argparse.Namespace) -> None:
    model = model_name(args)
    sets = [x for x in args.pairs if "=" in x]
    gets = [x for x in args.pairs if "=" not in x]
    resets = [k for r in (args.reset or []) for k in r.split(",") if k]
    if args.file:
        data = yaml.safe_load(Path(args.file).read_text()) or {}
        for v in data.values():
            if isinstance(v, dict):
                sets += [f"{k}={x}" for k, x in v.items()]
    if sets or resets:
        if gets:
            raise CLIError("cannot get and set config in one command", 2)
        call(
            model, "set-config", application=args.application, values=parse_kv(sets), reset=resets
        )
        return
    info = call(model, "get-config", application=args.application)
    if gets:
        key = gets[0]
        if key not in info["options"]:
            raise CLIError(
                f'key "{key}" not found in "{args.application}" application config or charm settings.'
            )
        v = info["values"].get(key, info["options"][key].get("default"))
        out("" if v is None else (str(v).lower() if isinstance(v, bool) else str(v)))
        return
    out(fmt.app_config(info, args.format or "yaml"))


def cmd_model_config(args: argparse.Namespace) -> None:
    model = model_name(args)
    sets = [x for x in args.pairs if "=" in x]
    gets = [x for x in args.pairs if "=" not in x]
    resets = [k for r in (args.reset or []) for k in r.split(",") if k]
    if sets or resets:
        call(model, "model-config", values=parse_kv(sets), reset=resets)
        return
    res = call(model, "model-config")
    if gets:
        v = res["config"].get(gets[0])
        if v is None:
            raise CLIError(f'key "{gets[0]}" not found in {{<nil>}} model.')
        out(str(v).lower() if isinstance(v, bool) else str(v))
        return
    out(fmt.model_config(res["config"], res["defaults"], args.format or "tabular"))


def cmd_store(args: argparse.Namespace) -> None:
    """``localjuju store <op> <snap> [args]``: the model's view of the snap store (its channel
    map overlay; the shared store is never changed). See docs/localjuju-snaps.md."""
    res = call(model_name(args), "store", op=args.op, snap=args.snap, args=args.args)
    rows = [f"{c}\t{v['version']}\t{v['revision']}" for c, v in sorted(res["channels"].items())]
    out(f"{res['snap']}: tracks {', '.join(res['tracks'])}")
    for r in rows:
        out("  " + r)


def _print_tasks(tasks: list[dict[str, Any]], f: str, what: str) -> None:
    failed = [t for t in tasks if t["status"] != "completed"]
    timed_out = [t for t in tasks if t.get("timed_out")]
    if timed_out:
        units = ", ".join(f"unit {t['unit']}" for t in timed_out)
        raise CLIError(f"timed out waiting for results from: {units}")
    if f == "json":
        out(fmt.tasks_json(tasks))
    else:
        out(fmt.tasks_plain(tasks))
    if failed:
        lines = "\n".join(
            f' id "{t["id"]}" with return code {t["results"].get("return-code", 0)}'
            for t in failed
        )
        noun = "task" if len(failed) == 1 else "tasks"
        raise CLIError(
            f"the following {noun} failed:\n{lines}\n\nuse 'juju show-task' to inspect the failure\n"
        )


def cmd_run(args: argparse.Namespace) -> None:
    params: dict[str, Any] = {}
    if args.params:
        params.update(yaml.safe_load(Path(args.params).read_text()) or {})
    for kv in args.args:
        if "=" not in kv:
            raise CLIError(f'argument "{kv}" must be of the form key...=value', 2)
        k, v = kv.split("=", 1)
        try:
            val = yaml.safe_load(v)
        except yaml.YAMLError:
            val = v
        if args.string_args or not isinstance(val, (int, float, bool)) or val is None:
            val = v
        params[k] = val
    wait = parse_wait(args.wait) if args.wait else 60.0
    tasks = call(model_name(args), "run", units=args.units, action=args.action,
                 params=params, wait=wait)  # fmt: skip
    _print_tasks(tasks, args.format or "plain", "action")


def cmd_exec(args: argparse.Namespace) -> None:
    # Like juju exec: the words are joined into one shell command line.
    command = " ".join(args.command_args)
    units = [u for s in (args.unit or []) for u in s.split(",")]
    machines = [m for s in (args.machine or []) for m in s.split(",")]
    if not units and not machines and not args.all:
        raise CLIError(
            "you must specify a target, either through --all, --machine, --application or --unit",
            2,
        )
    wait = parse_wait(args.wait) if args.wait else 300.0
    tasks = call(model_name(args), "exec", units=units, machines=machines,
                 command=command, wait=wait)  # fmt: skip
    _print_tasks(tasks, args.format or "plain", "exec")


def _nsenter(model: str, target: str) -> list[str]:
    info = call(model, "machine-info", target=target)
    if not info["pid"]:
        raise CLIError(f"cannot connect to {target}: machine {info['id']} is not running")
    return ["nsenter", "-t", str(info["pid"]), "-m", "-u", "-n", "-p", "-i", "--"]


LOGIN_ENV = [
    "env", "-i", "HOME=/root", "USER=root", "LOGNAME=root", "LANG=C.UTF-8",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin",
]  # fmt: skip


def cmd_ssh(args: argparse.Namespace) -> NoReturn:
    model = model_name(args)
    target = args.target.split("@")[-1]
    ns = _nsenter(model, target)
    user_home = "/root"
    env = list(LOGIN_ENV)
    if "@" in args.target and args.target.split("@")[0] == "ubuntu":
        user_home = "/home/ubuntu"
    cmd = list(args.command_args)
    if cmd:
        full = ns + env + [f"TERM={os.environ.get('TERM', 'xterm')}", "sh", "-c",
                           f"cd {user_home} && " + " ".join(cmd)]  # fmt: skip
    else:
        full = ns + env + [f"TERM={os.environ.get('TERM', 'xterm')}", "bash", "-l"]
    os.execvp(full[0], full)


#: the users ``juju scp`` can log in as on a machine (uid, gid, home)
SCP_USERS = {"ubuntu": (1000, 1000, "/home/ubuntu"), "root": (0, 0, "/root")}


def cmd_scp(args: argparse.Namespace) -> None:
    """As ``juju scp``: one side is a machine (``[user@]target:path``), logged in as
    ``ubuntu`` unless another user is named; relative paths are in that user's home and the
    copy has that user's permissions (a root-only file cannot be fetched as ubuntu)."""
    model = model_name(args)
    files = [a for a in args.paths if not a.startswith("-")]
    if len(files) < 2:
        raise CLIError("at least two arguments required", 2)
    *srcs, dst = files

    def split(p: str) -> tuple[str | None, str, str]:
        if ":" in p and not p.startswith("/") and not p.startswith("."):
            t, path = p.split(":", 1)
            user, _, target = t.rpartition("@")
            return target, path, user or "ubuntu"
        return None, p, ""

    def login(target: str, user: str) -> tuple[list[str], str]:
        if user not in SCP_USERS:
            raise CLIError(f"the local model's machines have no user {user!r}")
        uid, gid, home = SCP_USERS[user]
        ns = _nsenter(model, target)
        return [*ns[:-1], f"--setuid={uid}", f"--setgid={gid}", "--"], home

    def absolute(path: str, home: str) -> str:
        if path in ("", "."):
            return home
        return path if path.startswith("/") else f"{home}/{path}"

    dt, dpath, duser = split(dst)
    for src in srcs:
        st, spath, suser = split(src)
        if st is not None and dt is None:
            ns, home = login(st, suser)
            path = absolute(spath, home)
            data = subprocess.run([*ns, "cat", path], capture_output=True)
            if data.returncode != 0:
                raise CLIError(data.stderr.decode().strip() or f"cannot copy {src}")
            mode = subprocess.run([*ns, "stat", "-c", "%a", path], capture_output=True, text=True)
            target = Path(dpath)
            if target.is_dir():
                target = target / Path(spath).name
            target.write_bytes(data.stdout)
            if mode.returncode == 0 and mode.stdout.strip().isdigit():
                # as scp: the new file gets the source's permissions (less the umask)
                umask = os.umask(0)
                os.umask(umask)
                target.chmod(int(mode.stdout.strip(), 8) & ~umask & 0o777)
        elif st is None and dt is not None:
            ns, home = login(dt, duser)
            data_b = Path(spath).read_bytes()
            script = (
                f"d={shlex.quote(absolute(dpath, home))}; "
                f'if [ -d "$d" ]; then d="$d/{Path(spath).name}"; fi; cat > "$d"'
            )
            r = subprocess.run([*ns, "sh", "-c", script], input=data_b, capture_output=True)
            if r.returncode != 0:
                raise CLIError(r.stderr.decode().strip())
        else:
            raise CLIError("the local model copies between the host and one machine only", 2)


def cmd_debug_log(args: argparse.Namespace) -> None:
    model = model_name(args)
    path = paths.model_dir(model) / "debug.log"
    lines = path.read_text().splitlines() if path.exists() else []
    recs = [json.loads(x) for x in lines if x.strip()]
    levels = ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    if args.level:
        lvl = args.level.upper()
        recs = [r for r in recs if levels.index(r["level"]) >= levels.index(lvl)]
    if args.include:
        inc = set()
        for i in args.include:
            inc.add(i if i.startswith(("unit-", "machine-")) else "unit-" + i.replace("/", "-"))
        recs = [r for r in recs if r["entity"] in inc or r["entity"].rsplit("-", 1)[0] in inc]
    limit = args.limit or (0 if args.replay else 10)
    if limit:
        recs = recs[-limit:]
    for r in recs:
        out(fmt.debug_log_line(r))


def cmd_show_unit(args: argparse.Namespace) -> None:
    res = call(model_name(args), "show-unit", unit=args.unit)
    if args.format == "json":
        out(json.dumps(res, separators=(",", ":")))
    else:
        out(yaml.safe_dump(res, sort_keys=False))


def cmd_attach_resource(args: argparse.Namespace) -> None:
    res = {k: os.path.abspath(v) for k, v in parse_kv(args.resources).items()}
    call(model_name(args), "attach-resource", application=args.application, resources=res)


def cmd_refresh(args: argparse.Namespace) -> None:
    res = {k: os.path.abspath(v) for k, v in parse_kv(args.resource or []).items()}
    path = os.path.abspath(args.path) if args.path else None
    rev = call(model_name(args), "refresh", application=args.application, path=path, resources=res)
    sys.stderr.write(f'Added local charm "{args.application}", revision {rev}, to the model\n')


# names.IsValidUnit: <application>/<number>, no leading zero ("etcd/leader" is not a unit name).
UNIT_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*/(?:0|[1-9][0-9]*)$")


def cmd_resolved(args: argparse.Namespace) -> None:
    """juju resolved (cmd/juju/application/resolved.go): retry, or skip with --no-retry, the
    failed hook of units in error. Prints nothing; the agents act at once."""
    units: list[str] = list(args.units)
    # Init errors (usage, exit 2), checked before the model is looked up.
    if args.all:
        if units:
            raise CLIError("specifying unit names(s) with --all not supported", 2)
    elif not units:
        raise CLIError("no unit specified", 2)
    for u in units:
        if not UNIT_NAME_RE.match(u):
            raise CLIError(f'unit name "{u}" not valid', 2)
    model = model_name(args)
    if len(set(units)) != len(units):
        raise CLIError("duplicate unit specified")  # api/client/application ResolveUnitErrors
    call(model, "resolved", units=units, all_units=args.all, retry=not args.no_retry)


def cmd_version(args: argparse.Namespace) -> None:
    from .controller.machines import JUJU_VERSION

    v = f"{JUJU_VERSION}-genericlinux-amd64"
    if args.format == "json":
        out(json.dumps({"version": v, "git-commit": "", "git-tree-state": "", "compiler": "gc"}
                       if args.all else v))  # fmt: skip
    else:
        out(v)


def cmd_expose(args: argparse.Namespace) -> None:
    model_name(args)


def cmd_wait_idle(args: argparse.Namespace) -> None:
    ok = call(model_name(args), "wait-idle", timeout=args.timeout)
    if not ok:
        raise CLIError("timed out waiting for the model to be idle")


def _fault(verb: str) -> Any:
    def run(args: argparse.Namespace) -> None:
        mid = call(model_name(args), verb, target=args.target)
        sys.stderr.write(f"{verb}: machine {mid}\n")

    return run


def cmd_kill_process(args: argparse.Namespace) -> None:
    model = model_name(args)
    ns = _nsenter(model, args.target)
    r = subprocess.run(ns + ["pkill", f"-{args.signal}", "-x", args.name], capture_output=True)
    if r.returncode == 1:
        raise CLIError(f'no process named "{args.name}" on {args.target}')
    if r.returncode != 0:
        raise CLIError(r.stderr.decode().strip())


# ---------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="localjuju", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", metavar="<command>")

    def add(
        name: str, fn: Any, help: str, aliases: tuple[str, ...] = (), model: bool = True
    ) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, aliases=list(aliases))
        sp.set_defaults(fn=fn)
        if model:
            sp.add_argument("-m", "--model")
        return sp

    def fmt_opt(sp: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
        sp.add_argument("--format", choices=choices)
        sp.add_argument("-o", "--output")

    sp = add("add-model", cmd_add_model, "Add a model", model=False)
    sp.add_argument("name")
    sp.add_argument("--no-switch", action="store_true")
    sp.add_argument("--config", action="append")
    sp.add_argument("--controller", "-c")
    sp.add_argument("--credential")
    sp.add_argument("cloud_region", nargs="?")

    sp = add("destroy-model", cmd_destroy_model, "Destroy a model", model=False)
    sp.add_argument("name")
    for f in (
        "--no-prompt",
        "--destroy-storage",
        "--release-storage",
        "--force",
        "--no-wait",
        "-y",
    ):
        sp.add_argument(f, action="store_true")
    sp.add_argument("--timeout")

    sp = add("models", cmd_models, "List models", model=False)
    fmt_opt(sp, ("json", "yaml", "tabular"))
    sp.add_argument("--controller", "-c")
    sp = add("switch", cmd_switch, "Select a model", model=False)
    sp.add_argument("name")
    sp = add("show-model", cmd_show_model, "Show a model", model=False)
    sp.add_argument("name", nargs="?")
    sp.add_argument("-m", "--model")
    fmt_opt(sp, ("json", "yaml"))

    sp = add("status", cmd_status, "Show the model's status")
    fmt_opt(sp, ("json", "yaml", "tabular", "short", "line", "oneline", "summary"))
    sp.add_argument("--relations", action="store_true")
    sp.add_argument("--color", action="store_true")
    sp.add_argument("--no-color", action="store_true")
    sp.add_argument("filters", nargs="*")

    sp = add("deploy", cmd_deploy, "Deploy a charm")
    sp.add_argument("charm")
    sp.add_argument("application", nargs="?")
    sp.add_argument("-n", "--num-units", type=int, default=1)
    sp.add_argument("--config", action="append")
    sp.add_argument("--resource", action="append")
    sp.add_argument("--channel")
    for o in ("--base", "--series", "--to", "--constraints", "--storage", "--bind", "--revision",
              "--overlay", "--attach-storage"):  # fmt: skip
        sp.add_argument(o, action="append")
    sp.add_argument("--trust", action="store_true")
    sp.add_argument("--force", action="store_true")

    sp = add("add-unit", cmd_add_unit, "Add units")
    sp.add_argument("application")
    sp.add_argument("-n", "--num-units", type=int, default=1)
    sp.add_argument("--to", action="append")
    sp.add_argument("--attach-storage", action="append")

    sp = add("remove-unit", cmd_remove_unit, "Remove units")
    sp.add_argument("units", nargs="+")
    for f in ("--no-prompt", "--force", "--no-wait", "--destroy-storage", "-y"):
        sp.add_argument(f, action="store_true")
    sp.add_argument("--num-units", type=int)

    sp = add("remove-application", cmd_remove_application, "Remove applications")
    sp.add_argument("applications", nargs="+")
    for f in ("--no-prompt", "--force", "--no-wait", "--destroy-storage", "-y"):
        sp.add_argument(f, action="store_true")

    sp = add("storage", cmd_storage, "Lists storage details", aliases=("list-storage",))
    fmt_opt(sp, ("json", "yaml", "tabular"))
    sp.add_argument("--filesystem", action="store_true")
    sp.add_argument("--volume", action="store_true")
    sp.add_argument("ids", nargs="*")
    sp = add("show-storage", cmd_show_storage, "Shows storage instance information")
    fmt_opt(sp, ("json", "yaml"))
    sp.add_argument("ids", nargs="*")
    sp = add("add-storage", cmd_add_storage, "Adds storage to a unit after it has been deployed")
    sp.add_argument("unit")
    sp.add_argument("directives", nargs="*")
    sp = add("attach-storage", cmd_attach_storage, "Attaches existing storage to a unit")
    sp.add_argument("unit")
    sp.add_argument("ids", nargs="*")
    sp = add("detach-storage", cmd_detach_storage, "Detaches storage from units")
    sp.add_argument("ids", nargs="+")
    sp.add_argument("--force", action="store_true")
    sp.add_argument("--no-wait", action="store_true")
    sp = add("remove-storage", cmd_remove_storage, "Removes storage from the model")
    sp.add_argument("ids", nargs="+")
    sp.add_argument("--force", action="store_true")
    sp.add_argument("--no-destroy", action="store_true")

    sp = add(
        "integrate",
        cmd_integrate,
        "Integrate two applications",
        aliases=("relate", "add-relation"),
    )
    sp.add_argument("a")
    sp.add_argument("b")
    sp.add_argument("--via", action="append")
    sp = add("remove-relation", cmd_remove_relation, "Remove an integration")
    sp.add_argument("a")
    sp.add_argument("b")
    sp.add_argument("--force", action="store_true")

    sp = add("config", cmd_config, "Get or set application config")
    sp.add_argument("application")
    sp.add_argument("pairs", nargs="*")
    sp.add_argument("--reset", action="append")
    sp.add_argument("--file")
    fmt_opt(sp, ("json", "yaml"))
    sp = add("model-config", cmd_model_config, "Get or set model config")
    sp.add_argument("pairs", nargs="*")
    sp.add_argument("--reset", action="append")
    fmt_opt(sp, ("json", "yaml", "tabular"))

    sp = add("store", cmd_store, "[localjuju] release, close or show the model's snap channels")
    sp.add_argument("op", choices=("release", "close", "remove-track", "reset", "show"))
    sp.add_argument("snap")
    sp.add_argument(
        "args",
        nargs="*",
        help="release: <revision> <channel>...; close: " "<channel>...; remove-track: <track>",
    )

    sp = add("run", cmd_run, "Run an action")
    sp.add_argument("units", nargs="+", metavar="unit")
    sp.add_argument("--params")
    sp.add_argument("--wait")
    sp.add_argument("--background", action="store_true")
    sp.add_argument("--string-args", action="store_true")
    fmt_opt(sp, ("json", "yaml", "plain"))

    sp = add("exec", cmd_exec, "Run a command on units or machines")
    sp.add_argument("--unit", "-u", action="append")
    sp.add_argument("--machine", action="append")
    sp.add_argument("--all", action="store_true")
    sp.add_argument("--wait")
    fmt_opt(sp, ("json", "yaml", "plain"))
    sp.add_argument("command_args", nargs=argparse.REMAINDER)

    sp = add("ssh", cmd_ssh, "Run a command on a unit or machine")
    sp.add_argument("--no-host-key-checks", action="store_true")
    sp.add_argument("--container")
    sp.add_argument("target")
    sp.add_argument("command_args", nargs=argparse.REMAINDER)
    sp = add("scp", cmd_scp, "Copy files")
    sp.add_argument("--no-host-key-checks", action="store_true")
    sp.add_argument("--container")
    sp.add_argument("paths", nargs=argparse.REMAINDER)

    sp = add("debug-log", cmd_debug_log, "Show the model's log")
    sp.add_argument("--limit", "-n", "--lines", type=int)
    sp.add_argument("--replay", action="store_true")
    sp.add_argument("--no-tail", action="store_true")
    sp.add_argument("--include", "-i", action="append")
    sp.add_argument("--level", "-l")

    sp = add("show-unit", cmd_show_unit, "Show a unit")
    sp.add_argument("unit")
    fmt_opt(sp, ("json", "yaml"))
    sp = add("attach-resource", cmd_attach_resource, "Attach a resource", aliases=("attach",))
    sp.add_argument("application")
    sp.add_argument("resources", nargs="+")
    sp = add("refresh", cmd_refresh, "Refresh an application's charm", aliases=("upgrade-charm",))
    sp.add_argument("application")
    sp.add_argument("--path")
    sp.add_argument("--resource", action="append")
    for o in ("--channel", "--revision", "--base", "--config", "--storage"):
        sp.add_argument(o)
    for f in ("--force", "--force-base", "--force-units", "--trust"):
        sp.add_argument(f, action="store_true")
    sp = add(
        "resolved",
        cmd_resolved,
        "Marks unit errors resolved and re-executes failed hooks",
        aliases=("resolve",),
    )
    sp.add_argument("units", nargs="*", metavar="unit")
    sp.add_argument(
        "--no-retry", action="store_true", help="Do not re-execute failed hooks on the unit"
    )
    sp.add_argument("--all", action="store_true", help="Marks all units in error as resolved")
    sp.add_argument("-B", "--no-browser-login", action="store_true")
    sp = add("version", cmd_version, "Show the version", model=False)
    sp.add_argument("--all", action="store_true")
    fmt_opt(sp, ("json", "yaml", "smart"))
    sp = add("expose", cmd_expose, "Expose an application")
    sp.add_argument("application")

    # localjuju-only verbs (listed in README.md, "Trying it locally").
    sp = add("wait-idle", cmd_wait_idle, "[localjuju] wait until every unit agent is idle")
    sp.add_argument("--timeout", type=float, default=600)
    for verb, hlp in (
        ("kill-machine", "kill every process of a machine at once (a crashed VM)"),
        ("stop-machine", "stop a machine cleanly"),
        ("start-machine", "start a stopped or killed machine"),
        ("cut-network", "disconnect a machine from the model's network"),
        ("restore-network", "reconnect a machine to the model's network"),
    ):
        sp = add(verb, _fault(verb), f"[localjuju] {hlp}")
        sp.add_argument("target", help="machine id or unit name")
    sp = add("kill-process", cmd_kill_process, "[localjuju] kill a named process on a unit")
    sp.add_argument("target")
    sp.add_argument("name")
    sp.add_argument("--signal", default="KILL")
    return p


def main(argv: list[str] | None = None) -> None:
    if argv is None:
        # the program (not a caller in the same process): die quietly on a closed pipe
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # juju run UNIT ACTION [k=v ...]: split the action and its params from the units.
    if argv and argv[0] == "run":
        argv = _split_run(argv)
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as e:
        sys.exit(2 if e.code else 0)
    if not getattr(args, "fn", None):
        parser.print_help()
        sys.exit(0)
    if args.command == "run":
        if not _RUN_EXTRA.get("action"):
            sys.stderr.write("ERROR no action specified\n")
            sys.exit(2)
        args.action, args.args = _RUN_EXTRA["action"], _RUN_EXTRA["params"]
    elif extra and args.command not in ("ssh", "scp", "exec"):
        sys.stderr.write(f"ERROR unrecognized args: {json.dumps(extra)}\n")
        sys.exit(2)
    if args.command in ("exec", "ssh") and args.command_args[:1] == ["--"]:
        args.command_args = args.command_args[1:]
    try:
        args.fn(args)
    except CLIError as e:
        msg = e.message.rstrip("\n")
        sys.stderr.write(f"ERROR {msg}\n")
        sys.exit(e.code)
    except KeyboardInterrupt:
        sys.exit(130)


def _split_run(argv: list[str]) -> list[str]:
    """``run [opts] unit... action [k=v...]``: the first non-unit positional is the action."""
    opts_with_value = {"--params", "--wait", "--format", "-o", "--output", "-m", "--model"}
    units: list[str] = []
    rest: list[str] = []
    action = None
    params: list[str] = []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in opts_with_value:
            rest += [a, argv[i + 1]]
            i += 2
            continue
        if a.startswith("-"):
            rest.append(a)
        elif action is None and ("/" in a):
            units.append(a)
        elif action is None:
            action = a
        else:
            params.append(a)
        i += 1
    _RUN_EXTRA["action"] = action
    _RUN_EXTRA["params"] = params
    return ["run", *rest, *units]


_RUN_EXTRA: dict[str, Any] = {}


if __name__ == "__main__":
    main()
