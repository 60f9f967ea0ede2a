"""The etcd dashboard drawn without Grafana: every time-series panel of the dashboard the charm
registered, plotted from a live Prometheus over a time range (its range-query API, the same
PromQL and legends Grafana would run). Grafana itself is not installable here; this shows what
an operator's Grafana shows, from the same queries (docs/images/dashboard.png in the README is
one such picture from a test run)."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BACKGROUND = "#181b1f"
PANEL = "#111217"
TEXT = "#ccccdc"


def query_range(
    url: str, expr: str, start: float, end: float, step: float
) -> list[dict[str, Any]]:
    """A range query's result matrix (raises on a PromQL error)."""
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{url}/api/v1/query_range?{q}", timeout=30) as r:
        body = json.loads(r.read())
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legendFormat: ``{{label}}`` replaced by the series' label value."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)


def scale(unit: str) -> tuple[float, str]:
    return {"bytes": (1 / 2**20, "MiB"), "s": (1000.0, "ms"), "Bps": (1 / 1024, "KiB/s")}.get(
        unit, (1.0, {"ops": "ops/s", "reqps": "req/s"}.get(unit, ""))
    )


def plot(
    board: dict[str, Any], url: str, start: float, end: float, out: Path, step: float = 2.0
) -> dict[str, int]:
    """Draw the board's time-series panels over [start, end] into ``out`` (PNG). Returns the
    number of series drawn per panel title (a panel without data shows "no data")."""
    panels = [p for p in board["panels"] if p.get("type") == "timeseries"]
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(14, 3.2 * rows), facecolor=BACKGROUND)
    drawn: dict[str, int] = {}
    for ax, panel in zip(axes.flat, panels, strict=False):
        ax.set_facecolor(PANEL)
        factor, unit = scale(panel.get("fieldConfig", {}).get("defaults", {}).get("unit", ""))
        count = 0
        for target in panel["targets"]:
            for series in query_range(url, target["expr"], start, end, step):
                xs = [float(t) - start for t, _ in series["values"]]
                ys = [float(v) * factor for _, v in series["values"]]
                ax.plot(xs, ys, linewidth=1.2,
                        label=legend(target.get("legendFormat", ""), series["metric"]))  # fmt: skip
                count += 1
        drawn[panel["title"]] = count
        ax.set_title(panel["title"], color=TEXT, fontsize=10, loc="left")
        ax.tick_params(colors=TEXT, labelsize=7)
        ax.set_ylabel(unit, color=TEXT, fontsize=8)
        ax.set_xlabel("seconds", color=TEXT, fontsize=7)
        for spine in ax.spines.values():
            spine.set_color("#2c3235")
        ax.grid(color="#2c3235", linewidth=0.5)
        if count:
            ax.legend(fontsize=6, loc="upper left", facecolor=PANEL, labelcolor=TEXT,
                      framealpha=0.6, ncol=2)  # fmt: skip
        else:
            ax.text(0.5, 0.5, "no data", color=TEXT, ha="center", transform=ax.transAxes)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(f"{board.get('title', 'etcd')} (drawn from Prometheus, no Grafana)",
                 color=TEXT, fontsize=12)  # fmt: skip
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, facecolor=BACKGROUND)
    plt.close(fig)
    return drawn
