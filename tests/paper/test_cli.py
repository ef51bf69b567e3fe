"""``allocator paper ...`` through the real entry point (``app.cli.main``)."""

from __future__ import annotations

import json

import pytest

from app.cli import cli, main
from app.cli.paper_cmds import paper as paper_group
from app.cli.paper_cmds import serve as serve_cmd

STATUS_KEYS = {"nav", "cumulative_return", "benchmark_return", "active_return", "tracking_error", "correlation",
               "max_drawdown", "benchmark_max_drawdown", "holdings"}


@pytest.fixture(autouse=True)
def _wired(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the commands as app.cli will (a no-op once it does)."""
    monkeypatch.setitem(cli.commands, "paper", paper_group)
    monkeypatch.setitem(cli.commands, "serve", serve_cmd)


def run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_create_run_status_check_list(synthetic_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    db = ["--db", synthetic_db]
    code, out, err = run(capsys, *db, "paper", "create", "rs", "--strategy", "rs_mainline", "--capital", "1000000",
                         "--start", "2021-06-01")
    assert code == 0, err
    assert "created paper book rs" in out and "H00300.CSI" in out

    code, out, err = run(capsys, *db, "paper", "run", "rs", "--until", "2021-08-31", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["first"] == "2021-06-01" and first["last"] == "2021-08-31" and first["rebalances"] == 3

    code, out, err = run(capsys, *db, "paper", "run", "rs")
    assert code == 0, err
    assert "rs: stepped" in out and ".. 2021-10-29" in out

    code, out, err = run(capsys, *db, "paper", "run", "rs")
    assert code == 0 and "nothing to step (up to date: 2021-10-29)" in out

    code, out, err = run(capsys, *db, "paper", "status", "rs", "--json")
    assert code == 0, err
    status = json.loads(out)
    assert STATUS_KEYS <= set(status)
    assert status["date"] == "2021-10-29" and status["benchmark"] == "H00300.CSI"
    assert status["nav"] == pytest.approx(status["cash"] + sum(h["value"] for h in status["holdings"]))
    assert status["nav"] == pytest.approx(1_000_000 * (1 + status["cumulative_return"]))
    assert status["active_return"] == pytest.approx(status["cumulative_return"] - status["benchmark_return"])
    assert {"life", "1M", "3M"} <= set(status["windows"])
    assert status["last_rebalance"]["trade_date"] == "2021-10-08"  # after the National Day holiday
    assert status["holdings"] and all(h["shares"] % 100 == 0 for h in status["holdings"])

    code, out, err = run(capsys, *db, "paper", "status", "rs")
    assert code == 0, err
    assert "window" in out and "life" in out and "H00300.CSI" in out and "last rebalance" in out

    code, out, err = run(capsys, *db, "paper", "check", "rs")
    assert code == 0, err
    assert "ledger consistent" in out

    code, out, err = run(capsys, *db, "paper", "list", "--json")
    assert code == 0, err
    (book,) = json.loads(out)
    assert book["name"] == "rs" and book["date"] == "2021-10-29"
    assert book["nav"] == pytest.approx(status["nav"])


def test_errors_are_one_line_with_a_nonzero_exit(synthetic_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    db = ["--db", synthetic_db]
    args = ["paper", "create", "a", "--strategy", "rs_mainline", "--capital", "1000000", "--start", "2021-06-01"]
    assert run(capsys, *db, *args)[0] == 0
    code, _, err = run(capsys, *db, *args)
    assert code == 5 and err.strip() == "error: portfolio 'a' already exists; choose another name"
    code, _, err = run(capsys, *db, "paper", "create", "b", "--strategy", "nope", "--capital", "1", "--start",
                       "2021-06-01")
    assert code == 2 and "unknown strategy 'nope'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, *db, "paper", "create", "b", "--strategy", "rs_mainline", "--capital", "-5",
                       "--start", "2021-06-01")
    assert code == 2 and "--capital must be > 0" in err
    code, _, err = run(capsys, *db, "paper", "create", "b", "--strategy", "rs_mainline", "--capital", "100",
                       "--start", "2021-06-01", "--benchmark", "XXX")
    assert code == 3 and "benchmark XXX has no bars" in err
    code, _, err = run(capsys, *db, "paper", "create", "b", "--strategy", "rs_mainline", "--capital", "100",
                       "--start", "2020-06-01")  # the synthetic market starts 2021-01-04
    assert code == 3 and "the benchmark H00300.CSI starts on 2021-01-04; choose a start after it" in err
    code, _, err = run(capsys, *db, "paper", "create", "b", "--strategy")
    assert code == 2 and err.startswith("error: Option '--strategy' requires an argument.")
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, *db, "paper", "status", "missing")
    assert code == 3 and "no paper portfolio named 'missing'" in err and "known: a" in err


def test_run_stops_cleanly_where_the_data_ends(synthetic_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    db = ["--db", synthetic_db]
    run(capsys, *db, "paper", "create", "a", "--strategy", "rs_mainline", "--capital", "500000", "--start",
        "2021-09-01")
    code, out, err = run(capsys, *db, "paper", "run", "a", "--until", "2022-03-31")
    assert code == 0
    assert "stopped after 2021-10-29: no market data for 2021-11-01 yet" in err
    assert ".. 2021-10-29" in out


def test_check_exits_nonzero_on_a_difference(synthetic_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from allocator.store import Store

    db = ["--db", synthetic_db]
    run(capsys, *db, "paper", "create", "a", "--strategy", "rs_mainline", "--capital", "500000", "--start",
        "2021-09-01")
    run(capsys, *db, "paper", "run", "a")
    assert run(capsys, *db, "paper", "check", "a")[0] == 0
    with Store(synthetic_db).engine.begin() as conn:
        conn.execute(text("UPDATE paper_snapshot SET nav = nav + 1 WHERE date = '2021-10-15'"))
    code, out, err = run(capsys, *db, "paper", "check", "a")
    assert code == 5
    assert "NAV = cash + market value" in out and "2021-10-15" in out
    assert "1 difference(s)" in err
    code, out, _ = run(capsys, *db, "paper", "check", "a", "--json")
    assert code == 5 and json.loads(out)["ok"] is False


def test_open_fill_and_weekly_schedule_are_recorded(synthetic_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    db = ["--db", synthetic_db]
    code, out, err = run(capsys, *db, "paper", "create", "w", "--strategy", "rs_mainline", "--capital", "800000",
                         "--start", "2021-09-06", "--schedule", "weekly", "--fill", "open")
    assert code == 0, err
    assert "weekly rebalance filled at the open" in out
    code, out, err = run(capsys, *db, "paper", "run", "w", "--json")
    assert code == 0, err
    assert json.loads(out)["rebalances"] >= 7  # every week (National Day week included)
    assert run(capsys, *db, "paper", "check", "w")[0] == 0


def test_demo_books_replay_every_model_and_print_tracking(bundled_copy: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from strategies import registry

    code, out, err = run(capsys, "--db", bundled_copy, "paper", "demo", "--months", "1")
    assert code == 0, err
    models = registry.names(allocating_only=True)
    for model in models:
        assert f"demo-{model}: model {model}, 1,000,000 CNY from 2025-05-06 to 2025-06-13" in out
    assert out.count("life ") == len(models) and out.count("H00300.CSI") >= len(models)
    code, out, err = run(capsys, "--db", bundled_copy, "paper", "list", "--json")
    books = json.loads(out)
    assert sorted(b["name"] for b in books) == sorted(f"demo-{m}" for m in models)
    assert all(b["date"] == "2025-06-13" for b in books)
    for b in books:
        assert run(capsys, "--db", bundled_copy, "paper", "check", b["name"])[0] == 0
