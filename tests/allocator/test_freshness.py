"""The freshness contract: hand-built small cases, then the embedded data's real gap (its ETF
prices end 11 trading days before its indices) through rebalance and paper run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from allocator.calendar import TradingCalendar
from allocator.config import FreshnessSettings
from allocator.freshness import (
    Freshness,
    StaleInputs,
    bars_freshness,
    etf_freshness,
    fundamentals_freshness,
    last_dates,
    newest_due_quarter,
)
from tests.app.cli.test_cli_data import run_cli

DAYS = pd.bdate_range("2025-06-02", periods=10)  # Mon 2 .. Fri 13 June
CAL = TradingCalendar(DAYS)


def _close(**series: list[float]) -> pd.DataFrame:
    return pd.DataFrame({k: v for k, v in series.items()}, index=DAYS, dtype=float)


def test_last_dates_per_code_on_or_before_the_date() -> None:
    nan = np.nan
    close = _close(A=[1] * 10, B=[1] * 6 + [nan] * 4, C=[nan] * 10)
    ends = last_dates(close, ["A", "B", "C", "Z"], DAYS[7])
    assert ends == {"A": DAYS[7], "B": DAYS[5], "C": None, "Z": None}


def test_bars_are_current_within_the_tolerance_and_name_the_stale_series() -> None:
    nan = np.nan
    close = _close(A=[1] * 10, B=[1] * 6 + [nan] * 4)
    t = DAYS[9]
    strict = bars_freshness("etfs", CAL, close, ["A", "B"], t, tolerance=3)
    assert not strict.current and strict.behind == 4 and strict.stale_codes == {"B": "2025-06-09"}
    assert strict.last == DAYS[5]
    assert "1 series end 2025-06-09 (B), 4 trading days behind 2025-06-13 (tolerance 3)" in strict.line()
    assert bars_freshness("etfs", CAL, close, ["A", "B"], t, tolerance=4).current
    missing = bars_freshness("etfs", CAL, close, ["A", "Q"], t, tolerance=10)
    assert not missing.current and missing.behind is None and missing.stale_codes == {"Q": None}


def test_an_industry_is_covered_by_any_current_etf_and_a_holding_must_be_current() -> None:
    nan = np.nan
    close = _close(A=[1] * 10, B=[1] * 5 + [nan] * 5, C=[1] * 5 + [nan] * 5)
    t = DAYS[9]
    covered = etf_freshness(CAL, close, {"ind1": ["A", "B"]}, (), t, 3)
    assert covered.current and covered.behind == 0
    uncovered = etf_freshness(CAL, close, {"ind1": ["A"], "ind2": ["B", "C"]}, (), t, 3)
    assert not uncovered.current and uncovered.behind == 5 and set(uncovered.stale_codes) == {"B", "C"}
    held = etf_freshness(CAL, close, {"ind1": ["A"]}, ["C"], t, 3)
    assert not held.current and held.stale_codes == {"C": "2025-06-06"}
    assert etf_freshness(CAL, close, {}, (), t, 3).current  # nothing to trade: nothing stale


@pytest.mark.parametrize(("day", "quarter"), [
    ("2025-06-30", "2025-03-31"),  # Q1 due 30 Apr; H1 not due until 31 Aug
    ("2025-04-29", "2024-09-30"),  # the annual and Q1 reports both fall due on 30 Apr
    ("2025-04-30", "2025-03-31"),
    ("2025-09-01", "2025-06-30"),
    ("2025-12-31", "2025-09-30"),
])
def test_the_newest_quarter_past_its_statutory_deadline(day: str, quarter: str) -> None:
    assert newest_due_quarter(pd.Timestamp(day)) == pd.Timestamp(quarter)


def test_fundamentals_are_current_when_the_due_quarter_is_known_by_the_signal_date() -> None:
    f = pd.DataFrame({"code": ["x", "x"], "period_end": pd.to_datetime(["2024-12-31", "2025-03-31"]),
                      "ann_date": pd.to_datetime(["2025-03-20", "2025-04-25"])})
    assert fundamentals_freshness(f, pd.Timestamp("2025-06-30")).current
    # A year on, with nothing newer stored: four quarters past their deadlines are missing.
    late = fundamentals_freshness(f, pd.Timestamp("2026-06-30"))
    assert not late.current and late.behind == 4 and late.required == pd.Timestamp("2026-03-31")
    assert "statutory deadline" in late.line()
    # Announced after the signal date does not count (point in time); ahead of the due quarter is current.
    early = fundamentals_freshness(f, pd.Timestamp("2025-04-24"))
    assert early.last == pd.Timestamp("2024-12-31") and early.required == pd.Timestamp("2024-09-30")
    assert early.current


def test_require_raises_or_marks_indicative_and_round_trips() -> None:
    nan = np.nan
    stale = bars_freshness("etfs", CAL, _close(B=[1] * 5 + [nan] * 5), ["B"], DAYS[9], 3)
    f = Freshness(DAYS[9], (stale,))
    with pytest.raises(StaleInputs, match="needs current inputs: ETF prices stale.*--allow-stale"):
        f.require(["etfs"], False, "the rebalance")
    assert f.require(["industries"], False, "x") is f  # only the named inputs must be current
    marked = f.require(["etfs"], True, "the rebalance")
    assert marked.indicative and marked.banner().startswith("INDICATIVE: ETF prices not current at 2025-06-13")
    back = Freshness.from_dict(json.loads(json.dumps(marked.to_dict())))
    assert back.to_dict() == marked.to_dict()


def test_the_settings_have_stated_defaults() -> None:
    s = FreshnessSettings()
    assert (s.industries, s.benchmark, s.etfs, s.stocks) == (0, 0, 3, 3)


# -- the embedded data: ETF prices end 2025-06-13, indices 2025-06-30 ---------------------------


def test_rebalance_on_stale_etf_prices_fails_naming_them(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(["--db", bundled_db, "rebalance", "--strategy", "rs_mainline", "--capital", "1000000"],
                             capsys)
    assert code == 5 and out == ""
    assert "ETF prices stale" in err and "end 2025-06-13" in err and "11 trading days behind 2025-06-30" in err
    assert "allocator data update --only etfs" in err and "--allow-stale" in err


def test_rebalance_with_allow_stale_is_marked_indicative_everywhere(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["--db", bundled_db, "rebalance", "--strategy", "rs_mainline", "--capital", "1000000", "--allow-stale"]
    code, out, _ = run_cli([*args, "--json"], capsys)
    assert code == 0
    d = json.loads(out)
    assert d["indicative"] is True and d["freshness"]["indicative"] is True
    etfs = next(i for i in d["freshness"]["inputs"] if i["input"] == "etfs")
    assert etfs["current"] is False and etfs["behind"] == 11 and etfs["last"] == "2025-06-13"
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and out.startswith("INDICATIVE: ETF prices not current at 2025-06-30")
    assert out.rstrip().splitlines()[-1].startswith("INDICATIVE")


def test_rebalance_at_a_current_date_is_not_indicative(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli(["--db", bundled_db, "rebalance", "--strategy", "rs_mainline", "--asof", "2025-05-30",
                            "--capital", "1000000", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["indicative"] is False and d["freshness"]["current"] is True


def test_paper_run_behind_the_data_fails_unless_allowed(bundled_copy: str, capsys) -> None:  # type: ignore[no-untyped-def]
    db = ["--db", bundled_copy]
    assert run_cli([*db, "init"], capsys)[0] == 0
    assert run_cli([*db, "paper", "create", "b", "--strategy", "rs_mainline", "--capital", "1000000", "--start",
                    "2025-05-05"], capsys)[0] == 0
    code, out, err = run_cli([*db, "paper", "run", "b"], capsys)
    assert code == 5
    assert ".. 2025-06-13" in out  # what could be stepped was stepped, and said
    assert "its last day is 2025-06-13, 11 trading days before the data (2025-06-30)" in err
    # Nothing left that can be stepped while days are due: a failure even with --allow-stale.
    code, _, err = run_cli([*db, "paper", "run", "b", "--allow-stale"], capsys)
    assert code == 3 and "nothing stepped" in err and "2025-06-30" in err


def test_paper_run_with_allow_stale_steps_what_it_can_and_says_indicative(bundled_copy: str, capsys) -> None:  # type: ignore[no-untyped-def]
    db = ["--db", bundled_copy]
    assert run_cli([*db, "init"], capsys)[0] == 0
    assert run_cli([*db, "paper", "create", "c", "--strategy", "rs_mainline", "--capital", "1000000", "--start",
                    "2025-05-05"], capsys)[0] == 0
    code, out, _ = run_cli([*db, "paper", "run", "c", "--allow-stale", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["indicative"] is True and d["stepped"] > 0 and "2025-06-13" in d["stale"]
    assert str(d["up_to_date"])[:10] == "2025-06-13"


def test_signals_state_the_freshness_of_the_model_inputs(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli(["--db", bundled_db, "signals", "--strategy", "ptc", "--json"], capsys)
    inputs = {i["input"]: i for i in json.loads(out)["freshness"]["inputs"]}
    assert code == 0 and set(inputs) == {"industries", "benchmark", "fundamentals"}
    assert inputs["fundamentals"]["last"] == "2025-03-31" and inputs["fundamentals"]["current"] is True


def test_data_status_opens_with_one_line_per_input_and_groups_repeated_gaps(bundled_db: str) -> None:
    from allocator.data.status import data_status
    from allocator.store import Store
    from app.cli.data_cmds import render_status

    report = data_status(Store(bundled_db), today=pd.Timestamp("2025-07-02"))
    fresh = Freshness.from_dict(report["freshness"])  # the contract of every other output
    assert fresh.signal_date == pd.Timestamp("2025-07-02")
    by = {i["input"]: i for i in report["freshness"]["inputs"]}
    assert list(by) == ["industries", "benchmark", "etfs", "stocks", "fundamentals"]
    assert by["industries"]["behind"] == 2 and by["industries"]["last"] == "2025-06-30"
    assert by["industries"]["series"] == 31 and by["industries"]["behind_unit"] == "trading_days"
    assert by["benchmark"]["series"] == 2  # the price index and the total-return index
    # Every mapped industry's freshest ETF ends 2025-06-13: the input is complete through then.
    assert by["etfs"]["last"] == "2025-06-13" and by["etfs"]["behind"] == 13
    assert by["fundamentals"]["behind"] == 0 and by["fundamentals"]["behind_unit"] == "quarters"
    assert by["industries"]["fix"] == "run `allocator data update --only industries` or import the missing bars"
    text = render_status(report)
    assert text.splitlines()[0] == ("industry bars stale: all 31 series end 2025-06-30, 2 trading days behind "
                                    "2025-07-02 (tolerance 0); run `allocator data update --only industries` or "
                                    "import the missing bars")
    assert "63 etf series: 11 trading days behind the newest series" in text
    assert text.count("11 trading days behind the newest series") == 1


def test_data_status_judges_an_input_by_its_oldest_needed_series() -> None:
    """One industry stopping early makes the industry input stale even when the others are
    current; an ETF that ends early does not, while a sibling tracks the same industry."""
    from allocator.data.status import SeriesStatus, store_freshness
    from allocator.config import load_universe
    from allocator.etf_map import load_etf_map

    universe = load_universe("cn_sw_l1")
    etf_map = load_etf_map()
    two = next(i for i in etf_map.industry if len(i.etfs) >= 2 and i.status == "etf")

    def s(code: str, kind: str, last: str) -> SeriesStatus:
        return SeriesStatus(code, kind, code, "2020-01-02", last, 1, 0, False, None, None, [])

    series = [s(c, "industry", "2025-06-13") for c in universe.codes]
    series[1] = s(universe.codes[1], "industry", "2025-06-06")
    series += [s(universe.benchmark_price, "benchmark", "2025-06-13"),
               s(universe.benchmark_total_return, "benchmark", "2025-06-13")]
    series += [s(e.code, "etf", "2025-06-13") for i in etf_map.industry for e in i.etfs]
    series = [x for x in series if x.code != two.etfs[0].code] + [s(two.etfs[0].code, "etf", "2025-01-02")]
    fresh = store_freshness(series, CAL, {}, None, pd.Timestamp("2025-06-13"), universe, FreshnessSettings(), etf_map)
    assert fresh is not None
    ind, etfs = fresh.get("industries"), fresh.get("etfs")
    assert ind is not None and not ind.current and list(ind.stale_codes) == [universe.codes[1]]
    assert ind.last == pd.Timestamp("2025-06-06") and ind.behind == 5
    assert etfs is not None and etfs.current and etfs.last == pd.Timestamp("2025-06-13")


def test_lines_and_banner_in_chinese_carry_the_same_facts() -> None:
    nan = np.nan
    stale = bars_freshness("etfs", CAL, _close(B=[1] * 5 + [nan] * 5), ["B"], DAYS[9], 3)
    line = stale.line("zh")
    assert line.startswith("ETF价格不是最新：1 个序列截至 2025-06-06（B），落后 2025-06-13 5 个交易日（容忍 3 个）")
    assert "allocator data update --only etfs" in line
    banner = Freshness(DAYS[9], (stale,), indicative=True).banner("zh")
    assert banner.startswith("仅供参考：信号日 2025-06-13 的ETF价格不是最新数据")


def test_the_daily_job_says_when_a_book_is_behind_the_data(bundled_copy: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from app.scheduler import daily_job

    db = ["--db", bundled_copy]
    assert run_cli([*db, "init"], capsys)[0] == 0
    assert run_cli([*db, "paper", "create", "s", "--strategy", "rs_mainline", "--capital", "1000000", "--start",
                    "2025-06-02"], capsys)[0] == 0
    summary = daily_job(bundled_copy, today="2025-06-30")
    (book,) = summary["books"]
    assert book["up_to_date"] is not None and str(book["up_to_date"])[:10] == "2025-06-13"
    assert "11 trading days behind the data (2025-06-30)" in book["stale"]


def test_data_status_says_when_today_is_past_the_calendar(bundled_db: str) -> None:
    from allocator.data.status import data_status, summary_lines
    from allocator.store import Store

    report = data_status(Store(bundled_db), today=pd.Timestamp("2027-03-01"))
    assert report["calendar"]["covers_today"] is False
    assert summary_lines(report)[0] == ("calendar: ends 2026-12-31, before today 2027-03-01: lags cannot be counted "
                                        "past it; run `allocator data update --only calendar`")


def test_an_etf_chosen_with_an_old_close_is_stale_even_when_a_sibling_is_current() -> None:
    nan = np.nan
    close = _close(A=[1] * 10, B=[1] * 5 + [nan] * 5)
    f = etf_freshness(CAL, close, {"ind": ["A", "B"]}, ["B"], DAYS[9], 3)  # B chosen (or held)
    assert not f.current and f.stale_codes == {"B": "2025-06-06"}


def _held_after(url: str, name: str) -> list[str]:
    from allocator.store import Store

    store = Store(url)
    try:
        last = store.read("SELECT MAX(date) AS d FROM paper_snapshot WHERE portfolio = :p", {"p": name})["d"].iloc[0]
        held = store.read("SELECT code FROM paper_holding WHERE portfolio = :p AND date = :d AND shares > 0",
                          {"p": name, "d": last})
        return sorted(held["code"])
    finally:
        store.engine.dispose()


def _stop_bars(url: str, codes: list[str], after: str) -> None:
    from sqlalchemy import bindparam, text

    from allocator.store import Store

    store = Store(url)
    try:
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM daily_bar WHERE date > :d AND code IN :codes").bindparams(
                bindparam("codes", expanding=True)), {"d": after, "codes": codes})
    finally:
        store.engine.dispose()


def _run_output(url: str, name: str, trade_date: str) -> dict | None:  # type: ignore[type-arg]
    from allocator.store import Store

    store = Store(url)
    try:
        rows = store.read("SELECT output FROM paper_run WHERE portfolio = :p AND trade_date = :d",
                          {"p": name, "d": trade_date})
        return json.loads(rows["output"].iloc[0]) if len(rows) else None
    finally:
        store.engine.dispose()


def test_a_paper_rebalance_on_stale_etf_prices_stops_the_run_unless_allowed(bundled_copy: str, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The held ETFs' prices stop mid-April: the days before the May rebalance are stepped, the
    rebalance is not (exit 5, naming them); --allow-stale writes it marked indicative with the
    freshness in its record, and the ledger still checks."""
    db = ["--db", bundled_copy]
    assert run_cli([*db, "init"], capsys)[0] == 0
    assert run_cli([*db, "paper", "create", "d", "--strategy", "rs_mainline", "--capital", "1000000", "--start",
                    "2025-04-01"], capsys)[0] == 0
    assert run_cli([*db, "paper", "run", "d", "--until", "2025-04-15"], capsys)[0] == 0
    held = _held_after(bundled_copy, "d")
    assert held
    # A current run's record carries its freshness too (what the data said at its signal date).
    first = _run_output(bundled_copy, "d", "2025-04-01")
    assert first is not None and first["freshness"]["current"] is True and first["freshness"]["indicative"] is False
    _stop_bars(bundled_copy, held, "2025-04-15")

    code, out, err = run_cli([*db, "paper", "run", "d", "--json"], capsys)
    d = json.loads(out)
    assert code == 5 and d["stale_inputs"] is True
    assert "d: stopped after 2025-04-30: d: the rebalance of 2025-05-06 at 2025-04-30 needs current inputs" in err
    assert "ETF prices stale" in err and all(c in err for c in held[:4]) and "--allow-stale" in err
    assert str(d["up_to_date"])[:10] == "2025-04-30"
    assert _run_output(bundled_copy, "d", "2025-05-06") is None  # nothing of that day written

    code, out, err = run_cli([*db, "paper", "run", "d", "--allow-stale"], capsys)
    assert code == 0, err
    assert "INDICATIVE: d 2025-05-06: indicative rebalance (--allow-stale): ETF prices stale" in out
    may = _run_output(bundled_copy, "d", "2025-05-06")
    assert may is not None and may["freshness"]["indicative"] is True
    etfs = next(i for i in may["freshness"]["inputs"] if i["input"] == "etfs")
    assert etfs["current"] is False and set(held) <= set(etfs["stale_codes"])
    assert all(etfs["stale_codes"][c] == "2025-04-15" for c in held)
    assert run_cli([*db, "paper", "check", "d"], capsys)[0] == 0

    # The monthly report reads the run's own record: marked indicative, naming the stale input.
    from allocator.config import load_universe
    from allocator.panel import load_panel
    from allocator.store import Store
    from reports.monthly import monthly_context

    store = Store(bundled_copy)
    try:
        ctx = monthly_context(store, load_panel(store, load_universe("cn_sw_l1")), "d", "2025-05", "zh")
    finally:
        store.engine.dispose()
    assert ctx["freshness"]["banner"].startswith("仅供参考：信号日 2025-04-30 的ETF价格不是最新数据")
    assert any(held[0] in line for line in ctx["freshness"]["lines"])

    # And the paper review's PDF says so on its first page and at the rebalance itself.
    from pypdf import PdfReader

    pdf = tmp_path / "review.pdf"
    code, _, err = run_cli([*db, "report", "paper", "--portfolio", "d", "-o", str(pdf)], capsys)
    assert code == 0, err
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(pdf).pages]
    assert "仅供参考：2 次调仓（2025-05-06、2025-06-03）在输入数据不是最新时进行" in pages[0]
    assert any("仅供参考：信号日 2025-04-30 的ETF价格不是最新数据" in p for p in pages[1:])


def test_the_daily_job_leaves_a_book_before_a_rebalance_on_stale_prices(bundled_copy: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from app.scheduler import daily_job

    db = ["--db", bundled_copy]
    assert run_cli([*db, "init"], capsys)[0] == 0
    assert run_cli([*db, "paper", "create", "s", "--strategy", "rs_mainline", "--capital", "1000000", "--start",
                    "2025-04-01"], capsys)[0] == 0
    assert run_cli([*db, "paper", "run", "s", "--until", "2025-04-15"], capsys)[0] == 0
    _stop_bars(bundled_copy, _held_after(bundled_copy, "s"), "2025-04-15")
    (book,) = daily_job(bundled_copy, today="2025-05-30")["books"]
    assert str(book["up_to_date"])[:10] == "2025-04-30" and book["stale_inputs"] is True
    assert "the rebalance of 2025-05-06" in book["stale"] and "once the data are current" in book["stale"]


def test_a_backtest_whose_data_end_early_says_where_in_json_terminal_and_pdf(bundled_copy: str, capsys,
                                                                             tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pypdf import PdfReader

    db = ["--db", bundled_copy]
    _stop_bars(bundled_copy, ["H00300.CSI", "000300.SH"], "2025-06-06")
    args = ["backtest", "--strategy", "rs_mainline", "--start", "2024-06-01", "--end", "2025-06-30"]
    code, out, err = run_cli([*db, *args, "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)["rs_mainline"]
    assert d["end"] == "2025-06-06" and d["requested_end"] == "2025-06-30"
    note = ("the book ends 2025-06-06, 16 trading days before the requested end 2025-06-30: the benchmark "
            "000300.SH ends 2025-06-06; every figure stops there")
    assert note in d["notes"]
    code, out, _ = run_cli([*db, *args], capsys)
    assert code == 0 and f"note: {note}" in out
    pdf = tmp_path / "bt.pdf"
    code, _, err = run_cli([*db, "report", "backtest", "--strategy", "rs_mainline", "--start", "2024-06-01",
                            "--end", "2025-06-30", "-o", str(pdf)], capsys)
    assert code == 0, err
    cover = " ".join(PdfReader(pdf).pages[0].extract_text().split())
    assert "注意：数据截至 2025-06-06，早于所选的结束日 2025-06-30；所有指标均截至 2025-06-06。" in cover
