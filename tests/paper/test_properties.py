"""Property tests over random price paths, corporate actions, gaps, costs and schedules, with
random weights or the real models' weights (their books on the embedded data, month by month:
one to eight holdings, concentrated or spread, some months partly or wholly in cash), and capital
from a few thousand CNY to 1e10.

For every generated book: cash is never negative; positions, orders and fills are whole lots of
100; on every day NAV = cash + sum(shares x close) with the close recomputed from the generated
prices (last close on or before the day); fills happen at the day's close (or open); replaying the
postings reproduces every snapshot (``paper check``); and a replay stopped at any day and resumed,
writing any number of whole days per transaction, gives exactly the ledger of an uninterrupted
replay.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paper.check import check_portfolio
from paper.engine import StaticRunner, run_portfolio
from paper.ledger import BookRules
from tests.dbkit import discard
from tests.paper._paper_kit import dump_ledger, etf_frame, etf_panel, make_book, new_store, table, trading_days

CODES = ["510300.SH", "512880.SH", "512800.SH", "512690.SH", "512010.SH", "515790.SH", "512660.SH",
         "159928.SZ"]
ALL_DAYS = trading_days("2020-03-02", 120)
#: Industry weights of every allocating model at each month-end to 2025-06 on the embedded data
#: (tests/fixtures/make_model_weights.py writes them).
MODEL_WEIGHTS: dict[str, list[dict[str, float]]] = {
    name: [r["weights"] for r in rows]
    for name, rows in json.loads((Path(__file__).parents[1] / "fixtures" / "model_weights.json").read_text()).items()
}
EXAMPLES = 500


def market(seed: int, n_etf: int, days: pd.DatetimeIndex) -> tuple[list[pd.DataFrame], dict[str, pd.DataFrame]]:
    """Random ETF bars: 3-decimal prices, missing bars (some ETFs list late), no-trade days
    (volume 0 at the previous close), cash distributions and 1:2 unit splits, with ``pre_close``
    as the exchange publishes it; returns the long frames and the wide close/open frames."""
    rng = np.random.default_rng(seed)
    frames, closes, opens = [], {}, {}
    n = len(days)
    for code in CODES[:n_etf]:
        level = rng.uniform(0.3, 5.0) * np.exp(np.cumsum(rng.normal(0.0, 0.03, n)))
        present = rng.random(n) >= 0.08
        if rng.random() < 0.3:
            present[: int(rng.integers(1, max(2, n // 3)))] = False
        idle = (rng.random(n) < 0.06) & present
        idle[0] = False
        idle[1:] &= present[:-1]
        close = np.full(n, np.nan)
        pre = np.full(n, np.nan)
        scale, last = 1.0, np.nan
        for i in range(n):
            u = rng.random()
            act = present[i] and i > 0 and present[i - 1] and not idle[i]
            dist = 0.0
            if act and u < 0.04:
                dist = round(last * rng.uniform(0.005, 0.05), 3)
            elif act and u < 0.06:
                scale /= 2.0
            price = last if idle[i] else max(0.01, round(float(level[i]) * scale, 3))
            if not present[i]:
                continue
            if not math.isnan(last):
                pre[i] = last - dist if act and u < 0.04 else (last / 2.0 if act and u < 0.06 else last)
            close[i] = price
            last = price
        volume = np.where(idle, 0.0, rng.uniform(1e5, 1e6, n))
        open_ = np.round(np.where(np.isnan(close), np.nan, close * np.exp(rng.normal(0, 0.01, n))), 3)
        frames.append(etf_frame(code, days, close, pre_close=pre, open_=open_, volume=volume))
        closes[code] = pd.Series(close, index=days)
        opens[code] = pd.Series(open_, index=days)
    # An ETF that always trades and is never bought: the market has data every day.
    frames.append(etf_frame("159915.SZ", days, np.linspace(2.0, 2.2, n).round(3)))
    return frames, {"close": pd.DataFrame(closes), "open": pd.DataFrame(opens)}


@st.composite
def books(draw):  # type: ignore[no-untyped-def]
    n_days = draw(st.integers(15, 45))
    offset = draw(st.integers(0, len(ALL_DAYS) - n_days))
    model = draw(st.sampled_from(["random", *sorted(MODEL_WEIGHTS)]))
    return {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "model": model,
        "n_etf": len(CODES) if model != "random" else draw(st.integers(1, 3)),
        "days": ALL_DAYS[offset:offset + n_days],
        "schedule": draw(st.sampled_from(["monthly", "semimonthly", "weekly"])),
        "fill": draw(st.sampled_from(["close", "open"])),
        "cost_bps": draw(st.sampled_from([0.0, 2.5, 23.0, 50.0])),
        "min_commission": draw(st.sampled_from([0.0, 5.0, 30.0])),
        "cash_buffer": draw(st.sampled_from([0.0, 0.005, 0.05])),
        "min_trade_value": draw(st.sampled_from([0.0, 1000.0, 20_000.0])),
        "capital": draw(st.one_of(st.sampled_from([3_000.0, 50_000.0, 1_000_000.0, 12_345_678.9, 1e10]),
                                  st.floats(1e3, 1e10).map(lambda x: round(x, 2)))),
        "resume_at": draw(st.integers(1, n_days - 1)),
        "days_per_commit": draw(st.sampled_from([1, 2, 5, 16])),
    }


def model_weights_for(model: str, seed: int):  # type: ignore[no-untyped-def]
    """One of the model's real monthly books per signal date (which one: the signal date and the
    seed); the book's industries, in code order, are traded through the market's ETFs."""
    books = MODEL_WEIGHTS[model]
    start = seed % len(books)

    def weights(signal: pd.Timestamp) -> dict[str, float]:
        book = books[(start + signal.toordinal()) % len(books)]
        return {CODES[i]: w for i, (_, w) in enumerate(sorted(book.items()))}

    return weights


def weights_for(seed: int, n_etf: int):  # type: ignore[no-untyped-def]
    def weights(signal: pd.Timestamp) -> dict[str, float]:
        rng = np.random.default_rng([seed, signal.toordinal()])
        raw = rng.dirichlet(np.ones(n_etf + 1)) * (rng.random(n_etf + 1) < 0.8)
        total = raw.sum()
        w = raw / total if total > 0 else raw
        return {CODES[i]: float(w[i]) for i in range(n_etf) if w[i] > 0}

    return weights


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
def test_ledger_invariants_over_random_books(b) -> None:  # type: ignore[no-untyped-def]
    days = b["days"]
    frames, wide = market(b["seed"], b["n_etf"], days)
    panel = etf_panel(frames, days)
    rules = BookRules(cost_bps=b["cost_bps"], min_commission=b["min_commission"], cash_buffer=b["cash_buffer"],
                      min_trade_value=b["min_trade_value"], fill=b["fill"], schedule=b["schedule"])
    runner = StaticRunner(weights_for(b["seed"], b["n_etf"]) if b["model"] == "random"
                          else model_weights_for(b["model"], b["seed"]))
    stores = []
    try:
        store = new_store(Path("full"), panel)
        stores.append(store)
        make_book(store, "p", days[0], b["capital"], rules)
        report = run_portfolio(store, panel, "p", runner=runner)
        assert report.stepped == len(days)

        snaps = table(store, "paper_snapshot", "ORDER BY date")
        snaps["date"] = pd.to_datetime(snaps["date"])
        holds = table(store, "paper_holding")
        holds["date"] = pd.to_datetime(holds["date"])
        fills = table(store, "paper_fill")
        orders = table(store, "paper_order")

        # Cash never negative.
        assert (snaps["cash_fen"] >= 0).all()
        # Lots of 100: positions, orders and fills (no consolidations are generated).
        assert (holds["shares"] % 100 == 0).all() and (holds["shares"] > 0).all()
        assert (orders["shares"] % 100 == 0).all() and (fills["shares"] % 100 == 0).all()
        # NAV = cash + sum(shares x close) every day, closes recomputed from the generated data.
        marks = wide["close"].ffill()
        mark = {(d, c): float(v) for (d, c), v in marks.stack().items()}
        by_day: dict = {}
        for r in holds.itertuples():
            by_day.setdefault(r.date, []).append(float(r.shares) * mark[(r.date, r.code)])
        for s in snaps.itertuples():
            mv = math.fsum(by_day.get(s.date, []))
            assert abs(s.cash_fen / 100.0 + mv - s.nav) < 1e-6 * max(1.0, s.nav)
        # Fills at the day's close (or open), only on days the ETF traded.
        field = wide["open" if b["fill"] == "open" else "close"]
        for f in fills.itertuples():
            d = pd.Timestamp(f.date)
            assert not math.isnan(wide["close"].loc[d, f.code])
            assert f.price == field.loc[d, f.code]
        # Replaying the postings reproduces every snapshot and holding.
        checked = check_portfolio(store, "p")
        assert checked.ok, checked.differences[:5]

        # Stopped after any day and resumed, written in groups of any size: the same ledger.
        other = new_store(Path("resumed"), panel)
        stores.append(other)
        make_book(other, "p", days[0], b["capital"], rules)
        group = b["days_per_commit"]
        first = run_portfolio(other, panel, "p", runner=runner, until=days[b["resume_at"] - 1], days_per_commit=group)
        assert first.stepped == b["resume_at"]
        run_portfolio(other, panel, "p", runner=runner, days_per_commit=group)
        assert dump_ledger(other, skip_columns=("created_at",)) == dump_ledger(store, skip_columns=("created_at",))
    finally:
        for s in stores:
            discard(s)
