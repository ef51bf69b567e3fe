"""Hand-computed small books: fills, costs, lots, carries, distributions, splits, idempotence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paper.check import check_portfolio
from paper.engine import StaticRunner, run_portfolio, step_day
from paper.ledger import BookRules, LedgerError, StaleLedger, load_state, post_correction, write_day
from paper.market import market_view
from tests.paper._paper_kit import dump_ledger, etf_frame, etf_panel, make_book, new_store, table, trading_days

NAN = float("nan")
# 2020-01-20 .. : Jan 20-23, then the Spring Festival closure, Feb 3 (first trading day of Feb), ...
DAYS = trading_days("2020-01-20", 8)
D0, D1, D2, D3 = DAYS[0], DAYS[1], DAYS[2], DAYS[3]
FEB3 = pd.Timestamp("2020-02-03")
FREE = BookRules(cash_buffer=0.0, min_trade_value=0.0)  # 23 bp, 5 CNY minimum, lots of 100


def snapshots(store, name: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return table(store, "paper_snapshot", "WHERE portfolio = :p ORDER BY date", {"p": name})


def fills(store, name: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return table(store, "paper_fill", "WHERE portfolio = :p ORDER BY date, side DESC, code", {"p": name})


def events(store, name: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return table(store, "paper_order_event", "WHERE portfolio = :p ORDER BY date, kind", {"p": name})


def test_buy_at_the_close_with_costs_and_lots(tmp_path) -> None:  # type: ignore[no-untyped-def]
    panel = etf_panel([etf_frame("510300.SH", DAYS[:2], [1.000, 1.100])], DAYS[:2])
    store = new_store(tmp_path / "a.db", panel)
    make_book(store, "a", D0, 100_000, FREE)
    report = run_portfolio(store, panel, "a", runner=StaticRunner({"510300.SH": 1.0}))
    assert report.stepped == 2 and report.rebalances == 1
    # 100,000 shares would cost 100,230 with 23 bp: lots come off until it fits -> 99,700 shares
    # (99,700 + 229.31 = 99,929.31 <= 100,000 < 99,800 + 229.54).
    f = fills(store, "a")
    assert f[["side", "shares", "price", "value_fen", "fee_fen"]].values.tolist() == [["buy", 99_700, 1.0, 9_970_000, 22_931]]
    s = snapshots(store, "a")
    assert s["cash_fen"].tolist() == [7_069, 7_069]
    assert s["nav"].tolist() == pytest.approx([70.69 + 99_700 * 1.0, 70.69 + 99_700 * 1.1], abs=1e-9)
    assert s["benchmark_level"].iloc[0] == pytest.approx(4000.0)
    # The entry is balanced: position at cost, fees, cash.
    p = table(store, "paper_posting", "WHERE kind = 'fill'")
    assert dict(zip(p["account"], p["amount_fen"], strict=True)) == {
        "position:510300.SH": 9_970_000, "fees": 22_931, "cash": -9_992_931}
    assert check_portfolio(store, "a").ok


def test_minimum_commission(tmp_path) -> None:  # type: ignore[no-untyped-def]
    panel = etf_panel([etf_frame("510300.SH", DAYS[:1], [1.000])], DAYS[:1])
    store = new_store(tmp_path / "b.db", panel)
    make_book(store, "b", D0, 2_000, FREE)
    run_portfolio(store, panel, "b", runner=StaticRunner({"510300.SH": 1.0}))
    # 2,000 shares + max(5, 4.60) > 2,000 -> 1,900 shares, fee max(5, 4.37) = 5.
    f = fills(store, "b")
    assert f[["shares", "value_fen", "fee_fen"]].values.tolist() == [[1_900, 190_000, 500]]
    assert snapshots(store, "b")["cash_fen"].tolist() == [9_500]


def test_order_in_an_etf_that_does_not_trade_carries_to_the_next_day(tmp_path) -> None:  # type: ignore[no-untyped-def]
    days = DAYS[:4]
    a = etf_frame("512880.SH", days, [2.0, NAN, 2.0, 2.1])  # no bar on D1, the trade date
    b = etf_frame("512800.SH", days, [1.0, 1.0, 1.0, 1.0])
    panel = etf_panel([a, b], days)
    store = new_store(tmp_path / "c.db", panel)
    make_book(store, "c", D1, 100_000, FREE)
    run_portfolio(store, panel, "c", runner=StaticRunner({"512880.SH": 0.5, "512800.SH": 0.5}))
    # The plan (A at its last close 2.0, B at 1.0): A 24,900 and B 49,900 shares (lots scaled off
    # the fullest position until 99,929.31 fits in 100,000).
    orders = table(store, "paper_order").sort_values("code")
    assert orders[["code", "side", "shares"]].values.tolist() == [["512800.SH", "buy", 49_900],
                                                                   ["512880.SH", "buy", 24_900]]
    ev = events(store, "c")
    assert ev[["kind", "shares"]].values.tolist() == [["carried", 24_900]]
    assert pd.Timestamp(ev["date"].iloc[0]) == D1
    assert "512880.SH has no bar on 2020-01-21" in ev["reason"].iloc[0] and "carried" in ev["reason"].iloc[0]
    f = fills(store, "c")
    assert [(pd.Timestamp(d), c, n) for d, c, n in f[["date", "code", "shares"]].values] == [
        (D1, "512800.SH", 49_900), (D2, "512880.SH", 24_900)]
    s = snapshots(store, "c")
    # D1: B bought (49,900 + 114.77); A not held yet. D2: A bought at 2.0 (49,800 + 114.54).
    assert s["cash_fen"].tolist() == [4_998_523, 7_069, 7_069]
    assert s["nav"].tolist() == pytest.approx([49_985.23 + 49_900, 70.69 + 49_900 + 49_800,
                                               70.69 + 49_900 + 24_900 * 2.1], abs=1e-9)
    # A held ETF that does not trade is marked at its last close, and the holding says so.
    assert check_portfolio(store, "c").ok


def test_sell_that_cannot_fill_holds_back_the_buys_it_pays_for(tmp_path) -> None:  # type: ignore[no-untyped-def]
    days = trading_days("2020-01-20", 7)  # Jan 20..23, Feb 3, 4, 5
    a = etf_frame("512880.SH", days, [1.0, 1.0, 1.0, 1.0, NAN, 1.0, 1.0])  # not trading on Feb 3
    b = etf_frame("512800.SH", days, [1.0] * 7)
    panel = etf_panel([a, b], days)
    store = new_store(tmp_path / "d.db", panel)
    make_book(store, "d", days[0], 100_000, FREE)
    # Signal 2020-01-17 (the start): all in A; signal 2020-01-23 (trade Feb 3): all in B.
    runner = StaticRunner(lambda signal: {"512880.SH": 1.0} if signal < days[0] else {"512800.SH": 1.0})
    run_portfolio(store, panel, "d", runner=runner)
    ev = events(store, "d")
    assert set(zip(ev["kind"], ev["date"].map(pd.Timestamp))) == {("carried", FEB3)}
    reasons = " | ".join(ev["reason"])
    assert "512880.SH has no bar on 2020-02-03" in reasons
    assert "waiting for the sale of 512880.SH" in reasons
    f = fills(store, "d")
    assert [(pd.Timestamp(d), c, s) for d, c, s in f[["date", "code", "side"]].values] == [
        (days[0], "512880.SH", "buy"), (days[5], "512880.SH", "sell"), (days[5], "512800.SH", "buy")]
    s = snapshots(store, "d")
    assert (s["cash_fen"] >= 0).all()
    assert check_portfolio(store, "d").ok
    assert load_state(store, "d").open_orders == {}


def test_buy_cut_when_the_price_rose_and_no_sale_is_pending(tmp_path) -> None:  # type: ignore[no-untyped-def]
    days = DAYS[:3]
    a = etf_frame("512880.SH", days, [1.0, NAN, 1.2])
    panel = etf_panel([a, etf_frame("512800.SH", days, [1.0, 1.0, 1.0])], days)
    store = new_store(tmp_path / "e.db", panel)
    make_book(store, "e", D1, 10_000, FREE)
    run_portfolio(store, panel, "e", runner=StaticRunner({"512880.SH": 1.0}))
    # Planned at 1.0 on D1: 9,900 shares. At 1.2 on D2 the cash (10,000) pays for 8,300 shares
    # (9,960 + 22.91 <= 10,000 < 10,080 + 23.18); the other 1,600 are cut.
    ev = events(store, "e")
    assert ev[["kind", "shares"]].values.tolist() == [["carried", 9_900], ["reduced", 1_600]]
    assert "cash short at the fill price 1.2" in ev["reason"].iloc[1]
    assert fills(store, "e")[["shares", "value_fen", "fee_fen"]].values.tolist() == [[8_300, 996_000, 2_291]]
    assert snapshots(store, "e")["cash_fen"].iloc[-1] == 1_000_000 - 996_000 - 2_291


def test_cash_distribution_is_credited_on_the_ex_date(tmp_path) -> None:  # type: ignore[no-untyped-def]
    days = DAYS[:3]
    a = etf_frame("510300.SH", days, [1.000, 1.000, 0.980], pre_close=[NAN, 1.000, 0.950])
    panel = etf_panel([a], days)
    store = new_store(tmp_path / "f.db", panel)
    make_book(store, "f", D0, 10_000, FREE)
    run_portfolio(store, panel, "f", runner=StaticRunner({"510300.SH": 1.0}))
    # 9,900 shares (9,900 + 22.77); on D2 0.05 per unit: 495.00 CNY to cash.
    s = snapshots(store, "f")
    assert s["cash_fen"].tolist() == [7_723, 7_723, 7_723 + 49_500]
    assert s["nav"].iloc[-1] == pytest.approx(572.23 + 9_900 * 0.98, abs=1e-9)
    d = table(store, "paper_posting", "WHERE kind = 'distribution'")
    assert dict(zip(d["account"], d["amount_fen"], strict=True)) == {"cash": 49_500, "income:distribution": -49_500}
    assert "0.0500 CNY per unit on 9900 units" in d["memo"].iloc[0]
    assert check_portfolio(store, "f").ok


def test_unit_split_multiplies_the_shares_at_unchanged_cost(tmp_path) -> None:  # type: ignore[no-untyped-def]
    days = DAYS[:3]
    a = etf_frame("512010.SH", days, [4.000, 4.000, 1.050], pre_close=[NAN, 4.000, 1.000])
    panel = etf_panel([a], days)
    store = new_store(tmp_path / "g.db", panel)
    make_book(store, "g", D0, 100_000, FREE)
    run_portfolio(store, panel, "g", runner=StaticRunner({"512010.SH": 1.0}))
    # 24,900 shares at 4.0 (99,600 + 229.08); the 1:4 split makes 99,600 units.
    h = table(store, "paper_holding", "ORDER BY date")
    assert h["shares"].tolist() == [24_900, 24_900, 99_600]
    assert h["cost_fen"].tolist() == [9_960_000] * 3
    s = snapshots(store, "g")
    assert s["nav"].tolist() == pytest.approx([170.92 + 99_600, 170.92 + 99_600, 170.92 + 99_600 * 1.05], abs=1e-9)
    assert check_portfolio(store, "g").ok


def test_unit_consolidation_pays_the_fraction_in_cash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    days = DAYS[:3]
    a = etf_frame("512200.SH", days, [1.000, 1.000, 3.000], pre_close=[NAN, 1.000, 3.000])
    panel = etf_panel([a], days)
    store = new_store(tmp_path / "h.db", panel)
    make_book(store, "h", D0, 10_200, FREE)
    run_portfolio(store, panel, "h", runner=StaticRunner({"512200.SH": 1.0}))
    # 10,100 shares (10,100 + 23.23); 1 new per 3 old: 3,366 units and 2/3 unit paid at 3.0 = 2.00.
    h = table(store, "paper_holding", "ORDER BY date")
    assert h["shares"].tolist() == [10_100, 10_100, 3_366]
    s = snapshots(store, "h")
    assert s["cash_fen"].tolist() == [7_677, 7_677, 7_877]
    assert s["nav"].iloc[-1] == pytest.approx(s["nav"].iloc[-2], abs=0.005)  # value conserved
    assert check_portfolio(store, "h").ok


def test_fill_at_the_open_marks_at_the_close(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = etf_frame("510300.SH", DAYS[:1], [1.000], open_=[0.900])
    panel = etf_panel([a], DAYS[:1])
    store = new_store(tmp_path / "i.db", panel)
    make_book(store, "i", D0, 9_000, BookRules(cash_buffer=0.0, min_trade_value=0.0, fill="open"))
    run_portfolio(store, panel, "i", runner=StaticRunner({"510300.SH": 1.0}))
    # 9,900 at 0.9 = 8,910 + 20.49.
    assert fills(store, "i")[["shares", "price", "value_fen", "fee_fen"]].values.tolist() == [[9_900, 0.9, 891_000, 2_049]]
    assert snapshots(store, "i")["nav"].iloc[0] == pytest.approx(69.51 + 9_900 * 1.0, abs=1e-9)


def test_monthly_rebalance_runs_on_the_first_trading_day_with_the_previous_close(tmp_path) -> None:  # type: ignore[no-untyped-def]
    days = trading_days("2020-01-20", 8)
    panel = etf_panel([etf_frame("510300.SH", days, np.linspace(1, 1.2, 8).round(3))], days)
    store = new_store(tmp_path / "j.db", panel)
    make_book(store, "j", days[0], 100_000, FREE)
    seen = []
    runner = StaticRunner(lambda signal: seen.append(signal) or {"510300.SH": 1.0})
    run_portfolio(store, panel, "j", runner=runner)
    runs = table(store, "paper_run", "ORDER BY trade_date")
    assert [pd.Timestamp(d) for d in runs["trade_date"]] == [days[0], FEB3]
    assert [pd.Timestamp(d) for d in runs["signal_date"]] == [pd.Timestamp("2020-01-17"), pd.Timestamp("2020-01-23")]
    assert seen == [pd.Timestamp("2020-01-17"), pd.Timestamp("2020-01-23")]


def test_repeating_a_day_changes_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    panel = etf_panel([etf_frame("510300.SH", DAYS[:3], [1.0, 1.1, 1.2])], DAYS[:3])
    store = new_store(tmp_path / "k.db", panel)
    spec = make_book(store, "k", D0, 100_000, FREE)
    runner = StaticRunner({"510300.SH": 1.0})
    run_portfolio(store, panel, "k", runner=runner, until=D1)
    before = dump_ledger(store)
    again = run_portfolio(store, panel, "k", runner=runner, until=D1)
    assert again.stepped == 0 and dump_ledger(store) == before
    # Writing D1 again from the state before it: the head has moved, nothing is written.
    state = load_state(store, "k")
    market = market_view(panel, spec.benchmark)
    with pytest.raises(LedgerError):
        step_day(spec, state, market, runner, D1)
    stale = state.copy()
    stale.last_date, stale.postings = D0, state.postings
    rows, _ = step_day(spec, stale, market, runner, D1)
    with pytest.raises(StaleLedger):
        write_day(store, "k", stale, rows)
    assert dump_ledger(store) == before
    # Even past the head check, rows that exist are refused as a whole.
    import paper.ledger as ledger

    with ledger.locked(store, "k") as conn:
        assert ledger.insert_rows(conn, ledger.m.PaperSnapshot, [rows.snapshot]) == 0  # type: ignore[list-item]
    assert dump_ledger(store) == before


def test_a_day_is_written_whole_or_not_at_all(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import paper.ledger as ledger

    panel = etf_panel([etf_frame("510300.SH", DAYS[:2], [1.0, 1.1])], DAYS[:2])
    store = new_store(tmp_path / "l.db", panel)
    make_book(store, "l", D0, 100_000, FREE)
    original = ledger.insert_rows

    def failing(conn, model, rows):  # type: ignore[no-untyped-def]
        if model is ledger.m.PaperSnapshot:
            raise RuntimeError("disk full")
        return original(conn, model, rows)

    monkeypatch.setattr(ledger, "insert_rows", failing)
    with pytest.raises(RuntimeError):
        run_portfolio(store, panel, "l", runner=StaticRunner({"510300.SH": 1.0}))
    for t in ("paper_run", "paper_order", "paper_fill", "paper_snapshot", "paper_holding"):
        assert table(store, t).empty, t
    assert len(table(store, "paper_posting")) == 2  # the opening capital only
    monkeypatch.setattr(ledger, "insert_rows", original)
    assert run_portfolio(store, panel, "l", runner=StaticRunner({"510300.SH": 1.0})).stepped == 2
    assert check_portfolio(store, "l").ok


def test_a_day_without_market_data_stops_the_run_cleanly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    days = DAYS[:3]
    panel = etf_panel([etf_frame("510300.SH", days, [1.0, 1.1, 1.2])], days, calendar_to="2020-02-28")
    store = new_store(tmp_path / "m.db", panel)
    make_book(store, "m", D0, 100_000, FREE)
    report = run_portfolio(store, panel, "m", until="2020-02-28", runner=StaticRunner({"510300.SH": 1.0}))
    assert report.stepped == 3 and report.up_to_date == days[-1]
    assert f"no market data for {DAYS[3].date()} yet" in report.stopped
    assert pd.Timestamp(snapshots(store, "m")["date"].iloc[-1]) == days[-1]


def test_correction_is_a_new_balanced_entry(tmp_path) -> None:  # type: ignore[no-untyped-def]
    days = DAYS[:3]
    panel = etf_panel([etf_frame("510300.SH", days, [1.0, 1.1, 1.2])], days)
    store = new_store(tmp_path / "n.db", panel)
    make_book(store, "n", D0, 100_000, FREE)
    runner = StaticRunner({"510300.SH": 1.0})
    run_portfolio(store, panel, "n", runner=runner, until=D1)
    with pytest.raises(LedgerError, match="does not balance"):
        post_correction(store, "n", {"cash": (10.0, 0)}, "bad")
    post_correction(store, "n", {"cash": (10.0, 0), "equity:correction": (-10.0, 0)}, "broker refund")
    run_portfolio(store, panel, "n", runner=runner)
    s = snapshots(store, "n")
    assert s["cash_fen"].iloc[-1] - s["cash_fen"].iloc[-2] == 1_000
    assert check_portfolio(store, "n").ok


def test_check_finds_a_tampered_snapshot(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    panel = etf_panel([etf_frame("510300.SH", DAYS[:3], [1.0, 1.1, 1.2])], DAYS[:3])
    store = new_store(tmp_path / "o.db", panel)
    make_book(store, "o", D0, 100_000, FREE)
    run_portfolio(store, panel, "o", runner=StaticRunner({"510300.SH": 1.0}))
    assert check_portfolio(store, "o").ok
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE paper_snapshot SET cash_fen = cash_fen + 1 WHERE date = :d"), {"d": str(D1.date())})
        conn.execute(text("UPDATE paper_holding SET shares = shares - 100 WHERE date = :d"), {"d": str(D2.date())})
        conn.execute(text("UPDATE paper_holding SET price = 1.05, value = shares * 1.05 WHERE date = :d"),
                     {"d": str(D0.date())})
    report = check_portfolio(store, "o")
    whats = [d.what for d in report.differences]
    assert "cash (fen)" in whats and "position 510300.SH (shares, cost fen)" in whats
    assert any("NAV" in w or "value of" in w for w in whats)
    assert f"mark of 510300.SH vs the stored close of {D0.date()}" in whats


@pytest.mark.parametrize("tamper", ["unbalanced", "other_day", "other_book", "no_snapshot"])
def test_the_write_gate_refuses_a_bad_day_whole(tmp_path, tamper: str) -> None:  # type: ignore[no-untyped-def]
    """Every write passes DayRows.invariants: an unbalanced entry, a row of another day or book, or
    a day without its snapshot is refused and nothing of the day is written."""
    panel = etf_panel([etf_frame("510300.SH", DAYS[:3], [1.0, 1.1, 1.2])], DAYS[:3])
    store = new_store(tmp_path / "g.db", panel)
    spec = make_book(store, "g", D0, 100_000, FREE)
    runner = StaticRunner({"510300.SH": 1.0})
    before = dump_ledger(store)
    state = load_state(store, "g")
    rows, _ = step_day(spec, state, market_view(panel, spec.benchmark), runner, D0)
    assert rows.postings and rows.fills, "the first day invests, so it fills and posts"
    if tamper == "unbalanced":
        rows.postings[0] = {**rows.postings[0], "amount_fen": rows.postings[0]["amount_fen"] + 1}
        match = "does not balance"
    elif tamper == "other_day":
        rows.postings[0] = {**rows.postings[0], "date": D1.date()}
        match = "dated"
    elif tamper == "other_book":
        rows.fills[0] = {**rows.fills[0], "portfolio": "x"}
        match = "of book 'x'"
    else:
        rows.snapshot = None
        match = "without its snapshot"
    with pytest.raises(LedgerError, match=match):
        write_day(store, "g", state, rows)
    assert dump_ledger(store) == before
