"""Juju 3 hook tools for localjuju: the tools, their wire, and the context they run against.

* :mod:`.context` - the :class:`ToolContext` protocol the unit agent implements, its data
  types and :class:`ToolError`.
* :mod:`.tools` - :func:`run_tool` and every tool (Juju's flags, messages, exit codes).
* :mod:`.server` - :func:`handle_connection` / :func:`start_server` (asyncio, unix socket)
  and :func:`install_tools` (the ``jujuc`` client and one symlink per tool).
* :mod:`.fake` - :class:`FakeContext`, an in-memory context with commit/discard semantics.

See ``docs/localjuju-hooktools.md``.
"""

from .context import (
    ApplicationStatusInfo,
    GoalState,
    GoalStateEntry,
    InterfaceAddress,
    NetworkInfo,
    NetworkInterface,
    PortRange,
    RelationInfo,
    StatusInfo,
    StorageInfo,
    ToolContext,
    ToolError,
)
from .fake import FakeContext, FakeRelation
from .server import handle_connection, install_tools, start_server
from .tools import TOOL_NAMES, NeedInput, ToolResult, run_tool

__all__ = [
    "ApplicationStatusInfo",
    "FakeContext",
    "FakeRelation",
    "GoalState",
    "GoalStateEntry",
    "InterfaceAddress",
    "NeedInput",
    "NetworkInfo",
    "NetworkInterface",
    "PortRange",
    "RelationInfo",
    "StatusInfo",
    "StorageInfo",
    "TOOL_NAMES",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "handle_connection",
    "install_tools",
    "run_tool",
    "start_server",
]
