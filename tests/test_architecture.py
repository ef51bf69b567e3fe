"""What the floors promise beyond their imports (those are import-linter's, see .importlinter):
reports read the ledger through ``paper.queries`` only, and no model is special-cased by name
outside its own module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from strategies import registry

ROOT = Path(__file__).resolve().parents[1]
SQL = re.compile(r"""["'][^"']*\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b""")
DB_CALLS = re.compile(r"\b(read_frame|\.execute|store\.read)\(")


def _sources(*packages: str) -> list[Path]:
    return [p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize("path", _sources("reports"), ids=lambda p: str(p.relative_to(ROOT)))
def test_reports_hold_no_sql(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not SQL.search(text), f"{path}: SQL in reports/; add a query to paper/queries.py"
    assert not DB_CALLS.search(text), f"{path}: database call in reports/; use paper.queries"


def test_no_model_is_special_cased_by_name_outside_its_module() -> None:
    names = "|".join(map(re.escape, registry.names()))
    compare = re.compile(rf"""(==|!=)\s*["']({names})["']|["']({names})["']\s*(==|!=|in\b)""")
    offenders = []
    for path in _sources("allocator", "strategies", "engine", "paper", "reports", "app"):
        if path.parent.name == "models":
            continue  # a model's own module may name itself
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if compare.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "decide by the model's declarations (strategies.registry), not its name:\n" + \
        "\n".join(offenders)


def test_the_market_agnostic_rotation_detector_runs_without_the_panel() -> None:
    import subprocess
    import sys

    code = ("import sys, strategies.rotation.detector, strategies.rotation.readout; "
            "sys.exit('allocator.panel' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0, \
        "strategies.rotation imports the MarketPanel: keep it on plain frames and arrays"
