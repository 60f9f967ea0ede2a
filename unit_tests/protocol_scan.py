"""Which protocol keys Python code reads and writes, found in its syntax tree (no import).

What counts as a use (each unresolvable argument is reported, never skipped):

- ``leader_set({...})`` / ``leader_set(name)`` (the dict literal, or the literals assigned to
  ``name`` and its ``name["k"] = ...`` stores in the same function), ``leader_set(k=v)``;
  ``leader_get("k")``, and ``.get("k")`` / ``["k"]`` on a name bound to ``leader_get()``;
- ``relation_set(rid, {...})`` / ``relation_get("k", unit, rid)`` on the relation named by
  the ``relation_ids("<name>")`` of the same function;
- ``<endpoint>.publish({...})`` on a name bound to ``endpoint_from_name("<name>")`` (or
  ``hook.endpoint("<name>")``, ``reactive_endpoint("<name>")``: :data:`ENDPOINT_GETTERS`), or
  on such a call itself (the relation named by a literal or a module constant); the peer
  endpoint's publish writes whatever dict it is given, so its argument must have known keys;
- in an interface endpoint's ``publish`` method: its dict literals, ``to_publish*["k"]``;
- ``kv.get/set/unset(key)`` (``self.kv``, ``ctx.charm.kv``, ``unitdata.kv()``): record.py's
  ``Record`` keeps every unit storage key this way;
- keys given as string literals, module-level string constants (any scanned module's), or a
  loop variable (``for``, a comprehension, ``zip(...)``'s matching item) over a tuple of them
  or over a module-level tuple of them (``MEMBER_KEYS = (KV_MEMBER_ID, ...)`` in record.py);
  a loop variable also bound over anything else resolves to nothing. ``producers`` names
  methods whose result is a dict of known keys (``UnitInfo.to_relation``: the test fills it in
  by calling it).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

#: relation name -> scope (metadata.yaml)
RELATIONS = {"cluster": "peer unit", "db": "db", "proxy": "proxy"}
#: interface endpoint files -> the scope their publish writes
ENDPOINT_FILES = {
    "hooks/relations/etcd/peers.py": "peer unit",
    "hooks/relations/etcd/provides.py": "db",
    "hooks/relations/etcd-proxy/provides.py": "proxy",
}
#: files that pass their callers' keys through to the hook tools unseen (the hook tools'
#: one-call-per-hook cache): their callers are what is scanned
PASS_THROUGH_FILES = {"lib/etcd_charm/hooktools.py"}
KV_METHODS = {"get": "read", "set": "write", "unset": "write"}
#: calls that return the reactive endpoint of the relation they name
ENDPOINT_GETTERS = {"endpoint_from_name", "endpoint", "reactive_endpoint"}
#: scopes whose endpoint publishes the dict it is given (the others' keys are in their
#: interface's ``publish``: ENDPOINT_FILES)
PUBLISH_TAKES_KEYS = {"peer unit"}


@dataclass(frozen=True)
class Use:
    scope: str
    key: str
    access: str  # "read" | "write"
    where: str  # path:line


@dataclass
class Scan:
    uses: list[Use] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # "path:line: what"


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _units(tree: ast.Module) -> Iterator[list[ast.AST]]:
    """Each top-level function and method (nested functions with it), then the rest."""
    rest: list[ast.AST] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield [node]
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield [item]
                else:
                    rest.append(item)
        else:
            rest.append(node)
    yield rest


def module_constants(sources: Mapping[str, str]) -> dict[str, str]:
    """Module-level ``NAME = "text"`` of every source (a name bound to two texts: neither)."""
    seen: dict[str, set[str]] = {}
    for name, value in _module_assigns(sources):
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            seen.setdefault(name, set()).add(value.value)
    return {k: next(iter(v)) for k, v in seen.items() if len(v) == 1}


def module_tuples(
    sources: Mapping[str, str], constants: Mapping[str, str]
) -> dict[str, frozenset[str]]:
    """Module-level ``NAMES = (KEY, "text", ...)`` of every source whose items are all texts
    or :func:`module_constants` (a name bound to anything else as well, in any module: none)."""
    seen: dict[str, set[frozenset[str]]] = {}
    for name, value in _module_assigns(sources):
        items: frozenset[str] = frozenset()  # not a tuple of keys
        if isinstance(value, (ast.Tuple, ast.List)):
            found = [_text(e, constants) for e in value.elts]
            if None not in found:
                items = frozenset(k for k in found if k is not None)
        seen.setdefault(name, set()).add(items)
    return {k: next(iter(v)) for k, v in seen.items() if len(v) == 1 and all(v)}


def _text(node: ast.AST, constants: Mapping[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, (ast.Name, ast.Attribute)) and _name(node) in constants:
        return constants[_name(node)]
    return None


def _module_assigns(sources: Mapping[str, str]) -> Iterator[tuple[str, ast.expr]]:
    """(name, value) of each module-level ``name = value`` and ``name: T = value``."""
    for text in sources.values():
        for node in ast.parse(text).body:
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        yield t.id, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                if isinstance(node.target, ast.Name):
                    yield node.target.id, node.value


class _Unit:
    """One function: what its names are bound to, then its uses."""

    def __init__(
        self,
        path: str,
        nodes: list[ast.AST],
        constants: Mapping[str, str],
        tuples: Mapping[str, frozenset[str]],
        producers: Mapping[str, frozenset[str]],
        scan: Scan,
    ) -> None:
        self.path, self.constants, self.producers, self.scan = path, constants, producers, scan
        self.tuples = tuples
        self.all = [n for node in nodes for n in ast.walk(node)]
        self.parent = {c: p for p in self.all for c in ast.iter_child_nodes(p)}
        self.dicts: dict[str, set[str]] = {}
        self.leader_names: set[str] = set()
        self.loops: dict[str, set[str] | None] = {}  # None: also bound to something else
        self.endpoints: dict[str, str] = {}  # name -> scope ("": of no known relation)
        self.relations = {
            RELATIONS.get(str(n.args[0].value), "?")
            for n in self.all
            if isinstance(n, ast.Call)
            and _name(n.func) == "relation_ids"
            and n.args
            and isinstance(n.args[0], ast.Constant)
        }
        self._bind()

    def _bind(self) -> None:
        for n in self.all:
            if isinstance(n, ast.Assign) and len(n.targets) == 1:
                target, value = n.targets[0], n.value
                if isinstance(target, ast.Name):
                    keys = self.dict_keys(value, follow_names=False)
                    if keys is not None:
                        self.dicts.setdefault(target.id, set()).update(keys)
                    if any(self._is_call(v, "leader_get") for v in ast.walk(value)):
                        self.leader_names.add(target.id)
                    scope = self.endpoint_scope(value)
                    if scope is not None:
                        self.endpoints[target.id] = scope
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    key = self.key(target.slice)
                    if key is not None and target.value.id in self.dicts:
                        self.dicts[target.value.id].update(key)
            if isinstance(n, (ast.For, ast.AsyncFor, ast.comprehension)):
                self._bind_loop(n.target, n.iter)

    def _bind_loop(self, target: ast.expr, over: ast.expr) -> None:
        """A loop variable over keys (a tuple of them, a module tuple of them, or its item of
        ``zip(keys, ...)``); bound over anything else too, it stands for no key."""
        pairs: list[tuple[ast.AST, set[str] | None]]
        if isinstance(target, ast.Name):
            pairs = [(target, self.keys_of(over))]
        elif (
            isinstance(target, ast.Tuple)
            and self._is_call(over, "zip")
            and isinstance(over, ast.Call)
            and len(over.args) == len(target.elts)
        ):
            pairs = [(t, self.keys_of(a)) for t, a in zip(target.elts, over.args, strict=True)]
        else:
            pairs = [(t, None) for t in ast.walk(target)]
        for t, keys in pairs:
            if isinstance(t, ast.Name):
                prior = self.loops.get(t.id, set())
                self.loops[t.id] = None if keys is None or prior is None else prior | keys

    def keys_of(self, node: ast.expr) -> set[str] | None:
        """The keys a loop over ``node`` goes through (None: not only keys)."""
        if isinstance(node, (ast.Tuple, ast.List)):
            found = [self.key(e) for e in node.elts]
            if all(k is not None for k in found):
                return {x for k in found if k for x in k}
            return None
        if isinstance(node, (ast.Name, ast.Attribute)) and _name(node) in self.tuples:
            return set(self.tuples[_name(node)])
        return None

    def endpoint_scope(self, node: ast.expr) -> str | None:
        """The scope of the endpoint ``node`` is ("": of no known relation; None: no
        endpoint): a name bound to one, or the call that returns it."""
        if isinstance(node, ast.Name):
            return self.endpoints.get(node.id)
        if isinstance(node, ast.Call) and _name(node.func) in ENDPOINT_GETTERS:
            rel = _text(node.args[0], self.constants) if len(node.args) == 1 else None
            return "" if rel is None else RELATIONS.get(rel, "?")
        return None

    @staticmethod
    def _is_call(node: ast.AST, name: str) -> bool:
        return isinstance(node, ast.Call) and _name(node.func) == name

    def key(self, node: ast.AST) -> set[str] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.Name) and node.id in self.loops:
            found = self.loops[node.id]
            return None if found is None else set(found)
        if isinstance(node, (ast.Name, ast.Attribute)) and _name(node) in self.constants:
            return {self.constants[_name(node)]}
        return None

    def dict_keys(self, node: ast.AST, follow_names: bool = True) -> set[str] | None:
        if isinstance(node, ast.Dict):
            found = [self.key(k) if k is not None else None for k in node.keys]
            if all(k is not None for k in found):
                return {x for k in found if k for x in k}
            return None
        if isinstance(node, ast.Name) and follow_names:
            return self.dicts.get(node.id)
        if isinstance(node, ast.Call) and _name(node.func) in self.producers:
            return set(self.producers[_name(node.func)])
        return None

    def use(self, scope: str, keys: set[str], access: str, node: ast.AST) -> None:
        where = f"{self.path}:{getattr(node, 'lineno', 0)}"
        self.scan.uses += [Use(scope, k, access, where) for k in sorted(keys)]

    def unresolved(self, node: ast.AST, what: str) -> None:
        self.scan.unresolved.append(f"{self.path}:{getattr(node, 'lineno', 0)}: {what}")

    def relation_scope(self, node: ast.AST) -> str | None:
        if len(self.relations) == 1 and "?" not in self.relations:
            return next(iter(self.relations))
        self.unresolved(node, "relation data of no single known relation (relation_ids)")
        return None

    def _whole_leader_data(self, node: ast.AST) -> bool:
        """leader_get() read whole: fine when bound to a name (tracked) or decoded."""
        up = self.parent.get(node)
        while isinstance(up, ast.BoolOp):
            up = self.parent.get(up)
        return isinstance(up, ast.Assign) or (
            isinstance(up, ast.Call) and _name(up.func) == "from_dict"
        )

    def run(self) -> None:
        for n in self.all:
            if isinstance(n, ast.Call):
                self.call(n)
            elif isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name):
                if n.value.id in self.leader_names and isinstance(n.ctx, ast.Load):
                    self._leader_read(n, n.slice)

    def _leader_read(self, node: ast.AST, arg: ast.AST) -> None:
        key = self.key(arg)
        if key is None:
            self.unresolved(node, "a leader data key that is no literal or constant")
        else:
            self.use("leader", key, "read", node)

    def _writes(self, scope: str, node: ast.Call, args: list[ast.expr]) -> None:
        values = list(args)
        for k in node.keywords:
            if k.arg is None or k.arg in ("settings", "relation_settings"):
                values.append(k.value)  # the mapping, or **mapping
            elif k.arg != "relation_id":
                self.use(scope, {k.arg}, "write", node)
        for arg in values:
            if isinstance(arg, ast.Constant) and arg.value is None:
                continue
            keys = self.dict_keys(arg)
            if keys is None:
                self.unresolved(node, f"{_name(node.func)} of data whose keys are unknown")
            else:
                self.use(scope, keys, "write", node)

    def call(self, n: ast.Call) -> None:
        name = _name(n.func)
        if name == "leader_set":
            self._writes("leader", n, list(n.args))
        elif name == "leader_get":
            if n.args:
                self._leader_read(n, n.args[0])
            elif not self._whole_leader_data(n):
                self.unresolved(n, "leader_get() whose keys are not followed")
        elif name == "relation_set":
            scope = self.relation_scope(n)
            if scope:
                self._writes(scope, n, list(n.args[1:]))
        elif name == "relation_get":
            scope = self.relation_scope(n)
            if scope and n.args:
                key = self.key(n.args[0])
                if key is None:
                    self.unresolved(n, "relation_get of no literal key (or of every key)")
                else:
                    self.use(scope, key, "read", n)
            elif scope:
                self.unresolved(n, "relation_get of every key")
        elif name == "publish" and isinstance(n.func, ast.Attribute):
            self._publish(n, self.endpoint_scope(n.func.value))
        elif name == "get" and isinstance(n.func, ast.Attribute):
            if isinstance(n.func.value, ast.Name) and n.func.value.id in self.leader_names:
                if n.args:
                    self._leader_read(n, n.args[0])
        if name in KV_METHODS and isinstance(n.func, ast.Attribute) and self._is_kv(n.func.value):
            key = self.key(n.args[0]) if n.args else None
            if key is None:
                self.unresolved(n, f"kv.{name} of a key that is no literal or constant")
            else:
                self.use("unit storage", key, KV_METHODS[name], n)

    def _publish(self, n: ast.Call, scope: str | None) -> None:
        args = [*n.args, *(k.value for k in n.keywords)]
        if scope == "" or (scope is None and any(self.dict_keys(a) is not None for a in args)):
            self.unresolved(n, "publish on an endpoint of no known relation")
        elif scope in PUBLISH_TAKES_KEYS or scope == "?":
            for arg in args:
                keys = self.dict_keys(arg)
                if keys is None:
                    self.unresolved(n, "publish of data whose keys are unknown")
                else:
                    self.use(scope, keys, "write", n)
        elif scope is not None:  # its interface's publish names the keys (ENDPOINT_FILES)
            for arg in args:
                keys = self.dict_keys(arg)
                if keys is not None:
                    self.use(scope, keys, "write", n)

    @staticmethod
    def _is_kv(node: ast.expr) -> bool:
        return _name(node) == "kv" or (isinstance(node, ast.Call) and _name(node.func) == "kv")


def _endpoint_publish(path: str, tree: ast.Module, scan: Scan) -> None:
    scope = ENDPOINT_FILES[path]
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef) and fn.name == "publish":
            for n in ast.walk(fn):
                keys: set[str] = set()
                if isinstance(n, ast.Dict):
                    for k in n.keys:
                        if isinstance(k, ast.Constant) and isinstance(k.value, str):
                            keys.add(k.value)
                        else:
                            scan.unresolved.append(f"{path}:{n.lineno}: a key that is no text")
                elif (
                    isinstance(n, ast.Subscript)
                    and _name(n.value).startswith("to_publish")
                    and isinstance(n.slice, ast.Constant)
                ):
                    keys.add(str(n.slice.value))
                where = f"{path}:{getattr(n, 'lineno', 0)}"
                scan.uses += [Use(scope, k, "write", where) for k in sorted(keys)]


def scan_sources(
    sources: Mapping[str, str], producers: Mapping[str, frozenset[str]] | None = None
) -> Scan:
    """Every key use in ``sources`` (path -> Python text)."""
    scan = Scan()
    constants = module_constants(sources)
    tuples = module_tuples(sources, constants)
    for path, text in sorted(sources.items()):
        if path in PASS_THROUGH_FILES:
            continue
        tree = ast.parse(text, path)
        if path in ENDPOINT_FILES:
            _endpoint_publish(path, tree, scan)
        for nodes in _units(tree):
            _Unit(path, nodes, constants, tuples, producers or {}, scan).run()
    return scan
