"""A paper book keeps the construction it was created with; a book of the model's own is stored
as books were before constructions existed."""

from __future__ import annotations

import json

from allocator.store import Store
from paper.ledger import BookRules, load_portfolio
from tests.app.cli.test_cli_data import run_cli


def test_a_new_book_holds_the_client_construction_and_its_core(bundled_copy: str, capsys) -> None:  # type: ignore[no-untyped-def]
    db = ["--db", bundled_copy]
    assert run_cli([*db, "init"], capsys)[0] == 0
    code, out, err = run_cli([*db, "paper", "create", "cs", "--strategy", "rs_mainline", "--capital", "1000000",
                              "--start", "2025-03-03"], capsys)
    assert code == 0, err
    assert "construction core_satellite:core=0.5,top_n=10,buffer=5,weighting=equal" in out
    assert run_cli([*db, "paper", "create", "own", "--strategy", "rs_mainline", "--capital", "1000000",
                    "--start", "2025-03-03", "--construction", "active"], capsys)[0] == 0
    assert run_cli([*db, "paper", "run", "cs", "--until", "2025-04-30"], capsys)[0] == 0
    code, out, _ = run_cli([*db, "paper", "status", "cs", "--json"], capsys)
    status = json.loads(out)
    held = {h["code"]: h["weight"] for h in status["holdings"]}
    assert status["construction"].startswith("core_satellite:core=0.5")
    assert 0.45 < held["510300.SH"] < 0.55 and len(held) >= 6
    store = Store(bundled_copy)
    try:
        run = store.read("SELECT output FROM paper_run WHERE portfolio = 'cs' ORDER BY trade_date")["output"]
        first = json.loads(run.iloc[0])
        assert first["construction"].startswith("core_satellite") and first["model_weights"]
        assert any(a["treatment"] == "core" and a["etf"] == "510300.SH" for a in first["allocation"])
        own = load_portfolio(store, "own")
    finally:
        store.engine.dispose()
    # The model's own book is stored without a construction key: the rules (and their hash) of
    # books created before constructions existed read back unchanged.
    assert own.rules.construction == "active" and "construction" not in own.params_json
    assert BookRules(**json.loads(own.params_json)["rules"]) == own.rules
    code, _, err = run_cli([*db, "paper", "create", "bad", "--strategy", "rs_mainline", "--capital", "1000000",
                            "--start", "2025-03-03", "--construction", "core_satellite:core=2"], capsys)
    assert code != 0 and "core must be between 0 and 1" in err
