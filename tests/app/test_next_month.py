"""The next month, for real: the embedded data cut at the end of May 2025, June brought in as
files (the documented CSV layout, then Tushare exports), and the month's outputs -- every model's
signals, a rebalance, a paper step and the monthly report -- equal those on the uncut data.

The index weights stay uncut: they are reference data with no import kind, and no output here
reads them after the cut.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from allocator.store import Store
from strategies import registry
from tests.app.cli.test_cli_data import run_cli

CUT = "2025-05-30"
SIGNAL = "2025-06-30"
BAR_COLUMNS = ["code", "date", "open", "high", "low", "close", "pre_close", "volume", "amount"]
FUNDAMENTAL_COLUMNS = ["code", "period_end", "ann_date", "revenue", "operate_profit", "net_profit",
                       "net_profit_parent", "inventories", "total_assets", "total_liab"]


def _june(store: Store) -> dict[str, pd.DataFrame]:
    """What the cut removes, per import kind, read from the uncut store."""
    bars = store.read_table("bars", "WHERE date > :d", {"d": CUT})
    kinds = store.read_table("instruments").set_index("code")["kind"]
    out = {kind: bars[bars["code"].map(kinds) == kind][BAR_COLUMNS] for kind in ("industry", "benchmark", "etf")}
    out["stock"] = store.read_table("stock_bars", "WHERE date > :d", {"d": CUT})[
        ["code", "date", "close", "adj_factor", "mkt_cap"]]
    out["fundamentals"] = store.read_table("fundamentals", "WHERE ann_date > :d", {"d": CUT})[FUNDAMENTAL_COLUMNS]
    out["classification"] = store.read_table("classification", "WHERE start_date > :d", {"d": CUT})
    return {k: v.sort_values(list(v.columns[:2])).reset_index(drop=True) for k, v in out.items()}


def _read(url: str, fn):  # type: ignore[no-untyped-def]
    """``fn(store)`` on a store whose connections are closed afterwards (databases get copied)."""
    store = Store(url)
    try:
        return fn(store)
    finally:
        store.engine.dispose()


def _cut(store: Store) -> str:
    from sqlalchemy import text

    with store.engine.begin() as conn:
        for table, column in (("daily_bar", "date"), ("stock_bar", "date"), ("fundamental", "ann_date"),
                              ("classification", "start_date")):
            conn.execute(text(f"DELETE FROM {table} WHERE {column} > :d"), {"d": CUT})
    return str(store.read("SELECT MAX(date) AS d FROM daily_bar")["d"].iloc[0])[:10]


def _day(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    frame = frame.copy()
    for c in columns:
        frame[c] = pd.to_datetime(frame[c]).dt.strftime("%Y-%m-%d")
    return frame


def canonical_files(june: dict[str, pd.DataFrame], folder: Path) -> list[tuple[Path, list[str]]]:
    files = []
    for kind, frame in june.items():
        dates = {"fundamentals": ("period_end", "ann_date"), "classification": ("start_date",)}.get(kind, ("date",))
        path = folder / f"{kind}.csv"
        _day(frame, *dates).to_csv(path, index=False)
        files.append((path, ["--kind", kind]))
    return files


def _ymd(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y%m%d")


def tushare_files(june: dict[str, pd.DataFrame], folder: Path) -> list[tuple[Path, list[str]]]:
    """The same rows as Tushare exports: index_daily / fund_daily (vol in lots, amount in thousand
    CNY), daily with adj_factor and total_mv (10 thousand CNY), income and balancesheet."""
    files = []
    for kind in ("industry", "benchmark", "etf"):
        b = june[kind]
        frame = pd.DataFrame({"ts_code": b["code"], "trade_date": _ymd(b["date"]), "open": b["open"],
                              "high": b["high"], "low": b["low"], "close": b["close"],
                              "pre_close": b["pre_close"], "change": b["close"] - b["pre_close"],
                              "vol": b["volume"] / 100.0, "amount": b["amount"] / 1000.0})
        path = folder / f"{kind}_daily.csv"
        frame.to_csv(path, index=False)
        files.append((path, ["--kind", kind, "--format", "tushare"]))
    s = june["stock"]
    daily = pd.DataFrame({"ts_code": s["code"], "trade_date": _ymd(s["date"]), "close": s["close"],
                          "adj_factor": s["adj_factor"], "total_mv": s["mkt_cap"] / 1e4})
    daily.to_csv(folder / "daily.csv", index=False)
    files.append((folder / "daily.csv", ["--kind", "stock", "--format", "tushare"]))
    f = june["fundamentals"]
    key = {"ts_code": f["code"], "ann_date": _ymd(f["ann_date"]), "end_date": _ymd(f["period_end"]), "report_type": 1}
    income = pd.DataFrame({**key, "total_revenue": f["revenue"], "operate_profit": f["operate_profit"],
                           "n_income": f["net_profit"], "n_income_attr_p": f["net_profit_parent"]})
    balance = pd.DataFrame({**key, "inventories": f["inventories"], "total_assets": f["total_assets"],
                            "total_liab": f["total_liab"]})
    income.to_csv(folder / "income.csv", index=False)
    balance.to_csv(folder / "balancesheet.csv", index=False)
    files += [(folder / "income.csv", ["--kind", "fundamentals", "--format", "tushare"]),
              (folder / "balancesheet.csv", ["--kind", "fundamentals", "--format", "tushare"])]
    c = june["classification"]
    _day(c, "start_date").to_csv(folder / "classification.csv", index=False)
    files.append((folder / "classification.csv", ["--kind", "classification"]))
    return files


def month_outputs(url: str, capsys, tmp: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Every model's signals, a rebalance, a paper step and the monthly report for June 2025."""
    db = ["--db", url]
    out: dict[str, object] = {}
    for name in registry.names():
        code, text, err = run_cli([*db, "signals", "--strategy", name, "--asof", SIGNAL, "--json"], capsys)
        assert code == 0, err
        out[f"signals {name}"] = json.loads(text)
    code, text, err = run_cli([*db, "rebalance", "--strategy", "ptc", "--asof", SIGNAL, "--capital", "1000000",
                               "--allow-stale", "--json"], capsys)
    assert code == 0, err
    out["rebalance"] = json.loads(text)
    assert run_cli([*db, "init"], capsys)[0] == 0
    assert run_cli([*db, "paper", "create", "june", "--strategy", "rs_mainline", "--capital", "1000000",
                    "--start", "2025-06-03"], capsys)[0] == 0
    code, text, err = run_cli([*db, "paper", "run", "june", "--allow-stale", "--json"], capsys)
    assert code == 0, err
    out["paper run"] = json.loads(text)
    code, text, err = run_cli([*db, "paper", "status", "june", "--json"], capsys)
    assert code == 0, err
    out["paper status"] = json.loads(text)
    html = tmp / f"monthly-{abs(hash(url))}.html"
    code, _, err = run_cli([*db, "report", "monthly", "--portfolio", "june", "--month", "2025-06", "-o", str(html),
                            "--format", "html"], capsys)
    assert code == 0, err
    page = html.read_text(encoding="utf-8")
    # The generation time and the database's name are the only things that may differ.
    out["monthly report"] = re.sub(r"20\d\d-\d\d-\d\d \d\d:\d\d", "TS", page)
    return out


@pytest.fixture(scope="module")
def uncut(bundled_db: str, db_backend) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The pristine embedded data (never written to: each test works on copies) and its June rows."""
    return {"url": bundled_db, "june": _read(bundled_db, _june)}


def _close(a: object, b: object, path: str = "") -> None:
    """Equal, numbers within 1e-9 relative (unit conversions of the Tushare layout round)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), path
    else:
        assert a == b, path


@pytest.mark.parametrize("layout", ["canonical", "tushare"])
def test_the_next_month_imported_as_files_gives_the_outputs_of_the_uncut_data(
        layout: str, uncut: dict, db_backend, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = db_backend.copy(uncut["url"], "cut")
    assert _read(url, _cut) == CUT
    files = (canonical_files if layout == "canonical" else tushare_files)(uncut["june"], tmp_path)
    for path, args in files:
        code, text, err = run_cli(["--db", url, "data", "import", str(path), *args, "--json"], capsys)
        assert code == 0, f"{path.name}: {err}"
    reimported = _read(url, _june)
    for kind, frame in uncut["june"].items():
        got = reimported[kind]
        assert len(got) == len(frame), kind
        pd.testing.assert_frame_equal(got, frame, check_exact=layout == "canonical", rtol=1e-12, obj=kind)
    want = month_outputs(db_backend.copy(uncut["url"], "uncut"), capsys, tmp_path)
    got_out = month_outputs(url, capsys, tmp_path)
    # After the import the month's inputs are current again (the ETFs end 2025-06-13 in both).
    fresh = got_out["signals ptc"]["freshness"]  # type: ignore[index]
    assert fresh["current"] is True and {i["input"] for i in fresh["inputs"]} == {"industries", "benchmark",
                                                                                   "fundamentals"}
    for key in want:
        if layout == "canonical" or key == "monthly report":
            assert got_out[key] == want[key], key
        else:
            _close(got_out[key], want[key], key)
