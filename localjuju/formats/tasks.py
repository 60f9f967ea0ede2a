"""``juju run`` (actions) and ``juju exec``: stdout, stderr and exit code, as Juju 3.6.

Sources: juju ``cmd/juju/action/common.go`` (``processOperationResults``,
``waitForTasks``, ``formatActionResult``, ``convertActionOutput``, ``printPlainOutput``,
``handleTimeout``), ``cmd/juju/action/exec.go`` (``printExecOutput``, progress hidden),
``cmd/juju/action/run.go``, juju/cmd v3 ``cmd.go`` (``Main``: errors print as
``ERROR <message>`` on stderr with exit code 1), and for what the unit agent records,
``internal/worker/uniter/runner/runner.go`` / ``context/context.go``:

* an action always records ``return-code`` (the hook's exit code) and ``stdout``/``stderr``
  when non-empty; a non-zero exit makes the task ``failed`` with message ``exit status N``;
  ``action-fail "msg"`` makes it ``failed`` with that message and return code 0;
* ``juju exec`` records the same keys, but a non-zero exit code leaves the task
  ``completed``: only ``return-code`` shows the failure.

The CLI then prints the results (``--format json`` is one line, a map from unit or machine
id to the task) and, when any task has a return code >= 1, fails with
``ERROR the following task failed: ...`` (exit 1). A task that failed with return code 0
(``action-fail``) does not make the command fail. A timeout prints nothing on stdout and
``ERROR timed out waiting for results from: unit etcd/0`` (exit 1).
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Literal

from ._go import go_json, go_time_string
from ._goyaml import go_yaml
from ._tabwriter import BRIGHT_RED, ERROR, GOOD, RESET, natural_sorted

__all__ = [
    "Task",
    "CLIOutput",
    "task_value",
    "tasks_value",
    "tasks_json",
    "tasks_yaml",
    "run_plain",
    "exec_plain",
    "failed_tasks_error",
    "timeout_error",
    "cli_error",
    "run_progress",
    "run_output",
    "exec_output",
    "schedule_failure",
    "action_not_defined_error",
    "receiver_not_found_error",
    "background_output",
]


@dataclasses.dataclass
class Task:
    """One task (an action or exec on one unit or machine) as the controller reports it.

    ``receiver``: ``"etcd/0"`` (``kind="unit"``) or ``"0"`` (``kind="machine"``).
    ``results``: the task's output map as the agent recorded it (``return-code``, ``stdout``,
    ``stderr``, plus ``action-set`` values, nested for dotted keys), or ``None`` when the
    task has no output yet. ``log``: ``(timestamp, message)`` from ``action-log``.
    ``status``: pending, running, completed, failed, cancelled, aborted, error.
    """

    id: str
    receiver: str
    status: str
    results: dict[str, Any] | None = None
    message: str = ""
    kind: Literal["unit", "machine"] = "unit"
    error: str | None = None
    log: list[tuple[datetime.datetime, str]] = dataclasses.field(default_factory=list)
    enqueued: datetime.datetime | None = None
    started: datetime.datetime | None = None
    completed: datetime.datetime | None = None

    @property
    def receiver_tag(self) -> str:
        """The receiver's tag (``unit-etcd-0``, ``machine-0``)."""
        return f"{self.kind}-{self.receiver.replace('/', '-')}"


@dataclasses.dataclass
class CLIOutput:
    """What a CLI invocation prints and returns."""

    stdout: str
    stderr: str
    exit_code: int


def _convert_output(output: dict[str, Any] | None) -> tuple[dict[str, Any] | None, int]:
    """``convertActionOutput``: drop empty stdout/stderr, make return-code an int."""
    if output is None:
        return None, -1
    values = dict(output)
    for key in ("stdout", "stderr"):
        v = values.get(key)
        if isinstance(v, str) and v:
            values[key] = v.replace("\r\n", "\n")
        else:
            values.pop(key, None)
    code = -1
    rc = values.get("return-code")
    if rc is not None and str(rc) != "":
        text = str(rc)
        if isinstance(rc, float) and rc.is_integer():
            text = str(int(rc))
        try:
            code = int(text)
            values["return-code"] = code
        except ValueError:
            pass
    else:
        values.pop("return-code", None)
    return values, code


def task_value(
    task: Task, *, utc: bool = False, tz: datetime.tzinfo | None = None
) -> tuple[dict[str, Any], int]:
    """``formatActionResult``: the map printed for one task, and its return code
    (-1 when the task recorded none)."""
    response: dict[str, Any] = {"id": task.id, "status": task.status}
    if task.error is not None:
        response["error"] = task.error
    response[task.kind] = task.receiver
    if task.message:
        response["message"] = task.message
    output, code = _convert_output(task.results)
    if task.results:
        response["results"] = output
    if task.log:
        response["log"] = [f"{go_time_string(ts, utc=utc, tz=tz)} {msg}" for ts, msg in task.log]
    if task.enqueued or task.started or task.completed:
        timing = {}
        for key, ts in (
            ("enqueued", task.enqueued),
            ("started", task.started),
            ("completed", task.completed),
        ):
            if ts is not None:
                timing[key] = go_time_string(ts, utc=utc, tz=tz)
        response["timing"] = timing
    return response, code


def tasks_value(
    tasks: list[Task], *, utc: bool = False, tz: datetime.tzinfo | None = None
) -> dict[str, Any]:
    """The map ``juju run``/``juju exec`` print: receiver id -> task map."""
    return {t.receiver: task_value(t, utc=utc, tz=tz)[0] for t in tasks}


def tasks_json(tasks: list[Task], *, utc: bool = False, tz: datetime.tzinfo | None = None) -> str:
    """``juju run/exec --format json`` stdout (one line)."""
    return go_json(tasks_value(tasks, utc=utc, tz=tz))


def tasks_yaml(tasks: list[Task], *, utc: bool = False, tz: datetime.tzinfo | None = None) -> str:
    """``juju run/exec --format yaml`` stdout."""
    return go_yaml(tasks_value(tasks, utc=utc, tz=tz))


_FILTERED = {"return-code", "stdout", "stderr", "stdout-encoding", "stderr-encoding"}


def _color(text: str, ctx: str, color: bool) -> str:
    return f"{ctx}{text}{RESET}" if color else text


def run_plain(tasks: list[Task], *, color: bool = False) -> str:
    """``juju run`` stdout without ``--format`` (``printPlainOutput``).

    One task: ``Action id N failed: <message>`` when failed, the action-set results as
    YAML followed by an empty line, then stdout and stderr (each trimmed of newlines).
    Several tasks: a YAML map of ``{id, output, status[, message]}`` per receiver.
    """
    info: dict[str, dict[str, Any]] = {}
    stdout = stderr = ""
    for t in tasks:
        value, _code = task_value(t)
        results = value.get("results")
        if isinstance(results, dict):
            copy = {}
            for k, v in results.items():
                k = k.lower()
                if k == "stdout" and v != "":
                    stdout = str(v)
                if k == "stderr" and v != "":
                    stderr = str(v)
                if k not in _FILTERED:
                    copy[k] = v
            output = go_yaml(copy) if copy else ""
        else:
            output = f"Task {t.id} {t.status}\n"
        entry: dict[str, Any] = {"id": t.id, "output": output, "status": t.status}
        if "message" in value:
            entry["message"] = value["message"]
        info[t.receiver] = entry
    if len(info) > 1:
        return go_yaml(info)
    out: list[str] = []
    for entry in info.values():
        if entry["status"] == "failed":
            msg = entry.get("message", "<nil>")
            out.append(_color(f"Action id {entry['id']} failed: {msg}\n", ERROR, color))
            out.append(_color(entry["output"], ERROR, color) + "\n")
        else:
            out.append(_color(entry["output"], GOOD, color) + "\n")
    if stdout:
        out.append(stdout.strip("\n") + "\n")
    if stderr:
        out.append(stderr.strip("\n") + "\n")
    return "".join(out)


def exec_plain(tasks: list[Task]) -> str:
    """``juju exec`` stdout without ``--format`` (``printExecOutput``): the command's
    stdout then stderr; with several targets each block is headed ``<name>:`` and
    followed by an empty line."""

    def nl(s: str) -> str:
        return s if not s or s.endswith("\n") else s + "\n"

    outputs: dict[str, str] = {}
    names = []
    for t in tasks:
        names.append(t.receiver)
        results = task_value(t)[0].get("results")
        if isinstance(results, dict):
            text = ""
            if "stdout" in results:
                text += nl(str(results["stdout"]))
            if "stderr" in results:
                text += nl(str(results["stderr"]))
            outputs[t.receiver] = text
    out = []
    for name in natural_sorted(names):
        if len(outputs) > 1:
            out.append(f"{name}:\n")
        out.append(outputs.get(name, ""))
        if len(outputs) > 1:
            out.append("\n")
    return "".join(out)


def failed_tasks_error(failed: dict[str, int]) -> str:
    """The error for tasks with a return code >= 1 (task id -> code), without ``ERROR``.

    Contains "task failed" or "tasks failed", which is what jubilant looks for.
    """
    plural = "s" if len(failed) > 1 else ""
    lines = sorted(f' - id "{k}" with return code {v}' for k, v in failed.items())
    return (
        f"the following task{plural} failed:\n"
        + "\n".join(lines)
        + f"\n\nuse 'juju show-task' to inspect the failure{plural}\n"
    )


def timeout_error(receivers: list[tuple[str, str]]) -> str:
    """``handleTimeout``: receivers are ``(kind, id)`` pairs, e.g. ``("unit", "etcd/0")``.

    Juju sorts them by tag string and prints ``unit etcd/0, machine 1``.
    """
    tags = sorted((f"{k}-{r.replace('/', '-')}", k, r) for k, r in receivers)
    return "timed out waiting for results from: " + ", ".join(f"{k} {r}" for _t, k, r in tags)


def cli_error(message: str, *, color: bool = False) -> str:
    """``cmd.WriteError``: ``ERROR <message>\\n`` (ERROR in bright red on a terminal)."""
    return f"{_color('ERROR', BRIGHT_RED, color)} {message}\n"


def run_progress(
    operation_id: str,
    tasks: list[Task],
    *,
    log: bool = True,
    utc: bool = False,
    tz: datetime.tzinfo | None = None,
) -> str:
    """The progress ``juju run`` writes on stderr while it waits (``exec`` hides it).

    ``Running operation 1 with 1 task``, one ``  - task 2 on unit-etcd-0`` per task, an empty
    line, ``Waiting for task 2...`` per task; for a single task its ``action-log`` lines as
    ``15:04:05 message`` (local time, UTC with ``utc``) then an empty line.
    """
    n = len(tasks)
    out = [f"Running operation {operation_id} with {n} task{'s' if n > 1 else ''}\n"]
    out += [f"  - task {t.id} on {t.receiver_tag}\n" for t in tasks]
    out.append("\n")
    for i, t in enumerate(tasks):
        out.append(f"Waiting for task {t.id}...\n")
        if i == 0 and n == 1 and log and t.log:
            for ts, msg in t.log:
                if ts.tzinfo is None:
                    ts = ts.replace(tzinfo=datetime.timezone.utc)
                local = ts.astimezone(datetime.timezone.utc if utc else tz)
                out.append(f"{local:%H:%M:%S} {msg}\n")
            out.append("\n")
    return "".join(out)


def _finish(
    tasks: list[Task],
    fmt: str,
    plain: str,
    stderr: str,
    utc: bool,
    tz: datetime.tzinfo | None,
    color: bool,
) -> CLIOutput:
    failed = {}
    for t in tasks:
        code = task_value(t)[1]
        if code >= 1:
            failed[t.id] = code
    if fmt == "json":
        stdout = tasks_json(tasks, utc=utc, tz=tz)
    elif fmt == "yaml":
        stdout = tasks_yaml(tasks, utc=utc, tz=tz)
    else:
        stdout = plain
    if failed:
        return CLIOutput(stdout, stderr + cli_error(failed_tasks_error(failed), color=color), 1)
    return CLIOutput(stdout, stderr, 0)


def run_output(
    operation_id: str,
    tasks: list[Task],
    *,
    format: Literal["plain", "json", "yaml"] = "plain",
    timed_out: list[Task] | None = None,
    quiet: bool = False,
    utc: bool = False,
    tz: datetime.tzinfo | None = None,
    color: bool = False,
) -> CLIOutput:
    """Everything ``juju run <unit> <action>`` prints, once its tasks have finished.

    ``tasks``: every task, finished or not. ``timed_out``: the tasks still pending or
    running when ``--wait`` expired (then stdout is empty and the exit code 1).
    ``quiet``: ``--quiet`` (progress goes to the log instead of stderr).
    """
    stderr = "" if quiet else run_progress(operation_id, tasks, utc=utc, tz=tz)
    if timed_out:
        msg = timeout_error([(t.kind, t.receiver) for t in timed_out])
        return CLIOutput("", stderr + cli_error(msg, color=color), 1)
    plain = run_plain(tasks, color=color) if format == "plain" else ""
    return _finish(tasks, format, plain, stderr, utc, tz, color)


def exec_output(
    tasks: list[Task],
    *,
    format: Literal["plain", "json", "yaml"] = "plain",
    timed_out: list[Task] | None = None,
    utc: bool = False,
    tz: datetime.tzinfo | None = None,
    color: bool = False,
) -> CLIOutput:
    """Everything ``juju exec`` prints (its progress lines only appear with --verbose)."""
    if timed_out:
        msg = timeout_error([(t.kind, t.receiver) for t in timed_out])
        return CLIOutput("", cli_error(msg, color=color), 1)
    plain = exec_plain(tasks) if format == "plain" else ""
    return _finish(tasks, format, plain, "", utc, tz, color)


def schedule_failure(operation_id: str, errors: list[str], *, exec_: bool = False) -> CLIOutput:
    """No task could be enqueued: Juju 3.6 prints the errors on stderr and exits 0 with
    empty stdout. ``juju run`` first writes an empty progress line (``exec`` hides it).

    Errors as the controller words them: see :func:`action_not_defined_error`,
    :func:`receiver_not_found_error`, ``could not determine leader for "etcd"``.
    """
    head = "" if exec_ else "\n"
    body = f"Operation {operation_id} failed to schedule any tasks:\n" + "\n".join(errors)
    if not body.endswith("\n"):
        body += "\n"
    return CLIOutput("", head + body, 0)


def action_not_defined_error(action: str, unit: str) -> str:
    """state/unit.go: the enqueue error for an action the charm does not define."""
    return f'action "{action}" not defined on unit "{unit}"'


def receiver_not_found_error(kind: str, receiver: str) -> str:
    """apiserver/common/action.go: the enqueue error for an unknown unit or machine."""
    return f'"{kind}-{receiver.replace("/", "-")}" not found'


def background_output(operation_id: str, tasks: list[Task]) -> CLIOutput:
    """``juju run --background`` / ``juju exec --background`` (stderr, exit 0)."""
    if len(tasks) == 1:
        t = tasks[0]
        err = (
            f"Scheduled operation {operation_id} with task {t.id}\n"
            f"Check operation status with 'juju show-operation {operation_id}'\n"
            f"Check task status with 'juju show-task {t.id}'\n"
        )
        return CLIOutput("", err, 0)
    info = {t.receiver: {"id": t.id} for t in tasks}
    err1 = f"Scheduled operation {operation_id} with {len(tasks)} tasks\n"
    err2 = (
        f"Check operation status with 'juju show-operation {operation_id}'\n"
        "Check task status with 'juju show-task <id>'\n"
    )
    # stdout carries the YAML; stderr the two Infof blocks around it
    return CLIOutput(go_yaml(info), err1 + err2, 0)
