"""The hook entry point's stand-in for ``pkg_resources`` (``etcd_charm.entry``): the entry
points charms.reactive asks for, read from ``entry_points.txt``, and the real module for
anything else. Each case runs in its own interpreter, so that ``sys.modules`` and
``sys.path`` start clean."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(code: str, *paths: Path) -> str:
    prelude = f"""
import sys
sys.path[:0] = {[str(p) for p in paths] + [str(REPO / "lib")]!r}
from etcd_charm.entry import provide_entry_points
provide_entry_points()
"""
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def dist(root: Path, name: str, entry_points: str, module: str = "") -> None:
    info = root / f"{name}.dist-info"
    info.mkdir(parents=True)
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    if module:
        (root / f"{module}.py").write_text("class Factory:\n    class Inner:\n        pass\n")


def test_the_group_s_entry_points_load_what_they_name(tmp_path: Path) -> None:
    dist(tmp_path, "plug-1.0", """
        # a comment
        [charms.reactive.relation_factory]
        mine = plugmod:Factory.Inner [extra]
        other = plugmod:Factory

        [console_scripts]
        plug = plugmod:main
    """, module="plugmod")  # fmt: skip
    out = run(
        """
        import pkg_resources
        eps = list(pkg_resources.iter_entry_points("charms.reactive.relation_factory"))
        print([ep.name for ep in eps])
        print(eps[0].load().__qualname__, eps[1].load().__qualname__)
        print([ep.name for ep in pkg_resources.iter_entry_points(
            "charms.reactive.relation_factory", "other")])
        print(list(pkg_resources.iter_entry_points("nothing.here")))
        print(type(sys.modules["pkg_resources"]).__name__)
    """,
        tmp_path,
    )
    assert out.splitlines() == [
        "['mine', 'other']",
        "Factory.Inner Factory",
        "['other']",
        "[]",
        "EntryPointsOnly",
    ]


def test_the_first_distribution_of_a_name_on_the_path_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    dist(first, "plug-2.0", "[g]\na = one:x\n")
    dist(second, "plug-1.0", "[g]\na = two:x\n")
    out = run(
        """
        import pkg_resources
        print([ep.module_name for ep in pkg_resources.iter_entry_points("g")])
    """,
        first,
        second,
    )
    assert out.strip() == "['one']"


def test_any_other_name_loads_the_real_module_in_its_place() -> None:
    out = run("""
        import warnings
        warnings.simplefilter("ignore")
        from pkg_resources import get_provider
        import pkg_resources
        print(type(sys.modules["pkg_resources"]).__name__, callable(get_provider))
        print(hasattr(pkg_resources, "working_set"))
    """)
    assert out.splitlines() == ["module True", "True"]


def test_charms_reactive_discovers_relation_factories_through_it() -> None:
    out = run("""
        import charmhelpers.osplatform  # charmhelpers refuses any platform but Ubuntu
        charmhelpers.osplatform.get_platform = lambda: "ubuntu"
        import charms.reactive.relations as relations
        relations.RelationFactory.discover()
        print(type(sys.modules["pkg_resources"]).__name__)
    """)
    assert out.strip() == "EntryPointsOnly"
