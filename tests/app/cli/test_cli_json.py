"""Every ``--json`` output parses and holds the keys ``docs/json.md`` documents (on the synthetic
foreign market of :mod:`tests.foreign_market`, so every command runs on a market of its own)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.app.cli.test_cli_data import run_cli
from tests.foreign_market import write_foreign_market

DOC = Path(__file__).resolve().parents[3] / "docs" / "json.md"


def documented() -> dict[str, list[str]]:
    """``command -> keys`` from the table in docs/json.md."""
    out: dict[str, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| (`allocator [^|]+) \| (.+) \|$", line)
        if not m:
            continue
        names = re.findall(r"`([^`]+)`", m.group(1))
        head = names[0].removeprefix("allocator ")
        commands = [head] + [f"{head.split()[0]} {n}" for n in names[1:]]
        keys = re.findall(r"`([^`]+)`", m.group(2))
        if m.group(2).startswith("the keys of"):
            keys = out[keys[0].removeprefix("allocator ")] + keys[1:]
        for c in commands:
            out[c.removesuffix(" --store")] = keys
    return out


def test_the_document_lists_the_commands() -> None:
    docs = documented()
    assert {"init", "data import", "data status", "signals", "rebalance", "backtest", "paper create",
            "report monthly", "report paper", "sector-index", "universe check"} <= set(docs)
    assert docs["sector-index"][:3] == ["path", "kind", "format"]


@pytest.fixture(scope="module")
def market(tmp_path_factory, db_backend):  # type: ignore[no-untyped-def]
    return write_foreign_market(tmp_path_factory.mktemp("json") / "m"), db_backend.new_url("json")


def _json(args: list[str], capsys) -> object:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(args, capsys)
    assert code == 0, f"{args}: {err}"
    return json.loads(out)


def test_every_json_output_has_its_documented_keys(market, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fm, url = market
    docs = documented()
    u = ["--db", url, "--universe", str(fm.root)]
    runs: dict[str, list[str]] = {
        "init": ["--db", url, "init", "--json"],
        "data import": [*u, "data", "import", str(fm.benchmark), "--kind", "benchmark", "--json"],
    }
    got: dict[str, object] = {c: _json(a, capsys) for c, a in runs.items()}
    run_cli([*u, "data", "import", str(fm.stocks), "--kind", "stock"], capsys)
    run_cli([*u, "data", "import", str(fm.members), "--kind", "classification"], capsys)
    later = {
        "sector-index": [*u, "sector-index", "--store", "--json"],
        "data status": [*u, "data", "status", "--json"],
        "universe check": ["--db", url, "universe", "check", str(fm.root), "--json"],
        "signals": [*u, "signals", "--strategy", "rs_mainline", "--json"],
        "monitor": [*u, "monitor", "--json"],
        "rebalance": [*u, "rebalance", "--strategy", "rs_mainline", "--capital", "1000000", "--json"],
        "backtest": [*u, "backtest", "--strategy", "rs_mainline", "--start", "2024-01-02", "--json"],
        "paper create": [*u, "paper", "create", "j", "--strategy", "rs_mainline", "--capital", "500000",
                         "--start", "2024-10-02", "--json"],
        "paper run": ["--db", url, "paper", "run", "j", "--json"],
        "paper status": ["--db", url, "paper", "status", "j", "--json"],
        "paper list": ["--db", url, "paper", "list", "--json"],
        "report paper": ["--db", url, "report", "paper", "--portfolio", "j", "-o", str(tmp_path / "j.pdf"),
                         "--json"],
        "report monthly": ["--db", url, "report", "monthly", "--portfolio", "j", "--month", "2024-11",
                           "-o", str(tmp_path / "m.html"), "--json"],
    }
    got |= {c: _json(a, capsys) for c, a in later.items()}
    for command, payload in got.items():
        keys = docs[command]
        if command == "backtest":
            objects = list(payload.values())  # type: ignore[union-attr]
        elif isinstance(payload, list):
            objects = payload
        else:
            objects = [payload]
        assert objects, command
        for obj in objects:
            missing = [k for k in keys if k not in obj]
            assert not missing, f"{command}: documented keys missing: {missing}"
    assert got["report paper"]["pages"] >= 2 and got["report paper"]["seconds"] > 0  # type: ignore[index]
    assert got["report monthly"]["format"] == "html" and got["report monthly"]["pages"] is None  # type: ignore[index]
