"""One call from a model name to a backtest report: schedule, engine, benchmark, metrics.

Benchmarks (docs/design.md, "Like for like"): an industry-index book (``level="index"``) is a
price-index book and is compared with the CSI 300 price index ``000300.SH``; an ETF book
(``level="etf"``) earns total return and is compared with the CSI 300 total-return index
``H00300.CSI``.

ETF level period: the start is clipped to the first date from which every industry the ETF map
covers has a listed ETF (:func:`engine.backtest.schedule.etf_available_from`; 2022-01-07 with
the shipped map, set by 801160.SI), and the end to the last ETF bar in the data; the report's
``notes`` say so. Pass ``clip_start=False`` to run from ``start`` anyway: industries without an
ETF yet are then held through their index (and flagged in the schedule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd

from engine.backtest.result import SPLIT, BacktestMetrics, BacktestResult, _finite
from engine.backtest.schedule import Level, WeightsSchedule, etf_available_from, weights_schedule
from allocator.metrics import YEARLY_COLUMNS, Summary
from allocator.errors import NoDataError
from allocator.panel import MarketPanel

Engine = Literal["vector", "backtrader"]

#: Keys of :meth:`BacktestReport.to_dict` taken from the whole-period summary.
REPORT_KEYS = ("annual_return", "benchmark_annual_return", "excess_return", "tracking_error",
               "information_ratio", "max_drawdown", "monthly_win_rate", "turnover", "sharpe",
               "volatility", "cumulative_return", "benchmark_cumulative_return", "costs")

ETF_CAPITAL = 1e6
INDEX_CAPITAL = 1e9


def benchmark_code(panel: MarketPanel, level: Level) -> str:
    """``000300.SH`` (price) for index books, ``H00300.CSI`` (total return) for ETF books."""
    u = panel.universe
    return u.benchmark_price if level == "index" else u.benchmark_total_return


@dataclass(frozen=True)
class BacktestReport:
    """A model's backtest: the schedule it ran, the simulated book and its metrics.

    ``start``/``end`` are the book's first and last dates; ``requested_start``/``requested_end``
    what was asked for; ``notes`` say why they differ (ETF availability, data end) and what the
    engine dropped.
    """

    strategy: str
    engine: str
    level: str
    schedule: str
    cost_bps: float
    benchmark: str
    requested_start: pd.Timestamp
    requested_end: pd.Timestamp
    result: BacktestResult
    metrics: BacktestMetrics
    weights: WeightsSchedule
    notes: tuple[str, ...] = ()

    @property
    def start(self) -> pd.Timestamp:
        return self.result.start

    @property
    def end(self) -> pd.Timestamp:
        return self.result.end

    def to_dict(self, nav: bool = True) -> dict[str, Any]:
        """Plain JSON-safe data with stable keys (NaN -> None, dates 'YYYY-MM-DD').

        Keys: ``strategy, engine, level, schedule, lag, benchmark, cost_bps, start, end,
        requested_start, requested_end, rebalances``, the :data:`REPORT_KEYS` of the whole
        period (``turnover`` annualised one-side; ``costs`` paid / mean NAV),
        ``average_turnover`` (per rebalance), ``split`` with ``date``, ``in_sample`` and
        ``out_of_sample`` (same keys), ``years`` (one row per calendar year: ``year`` and
        :data:`allocator.metrics.YEARLY_COLUMNS`, plus the year's one-side ``turnover`` and ``costs``
        over its mean NAV), ``per_rebalance`` (``trade_date``, one-side ``turnover``, ``costs`` in NAV
        units), ``fallback`` (ETF level: lines held through the industry index), ``notes`` and
        ``nav`` (date -> NAV, capital 1.0; left out with ``nav=False``).
        """
        s = self.metrics.summary

        def pick(summary: Summary) -> dict[str, Any]:
            return {k: _finite(summary[k]) for k in REPORT_KEYS}

        years = []
        res = self.result
        turn_year = pd.DatetimeIndex(res.turnover.index).year
        nav_year = pd.DatetimeIndex(res.nav.index).year
        for year, row in self.metrics.yearly.iterrows():
            row_out = {c: _finite(row[c]) for c in YEARLY_COLUMNS}
            row_out["days"] = int(row["days"])
            # What the book traded and paid that year: one-side turnover, and costs over the mean NAV.
            in_year = turn_year == year
            mean_nav = float(res.nav[nav_year == year].mean())
            row_out["turnover"] = _finite(float(res.turnover[in_year].sum()))
            row_out["costs"] = _finite(float(res.costs[in_year].sum()) / mean_nav if mean_nav > 0 else float("nan"))
            years.append({"year": int(year), **row_out})
        fb = self.weights.fallback
        out: dict[str, Any] = {
            "strategy": self.strategy,
            "engine": self.engine,
            "level": self.level,
            "schedule": self.schedule,
            "construction": self.weights.construction,
            "lag": self.weights.lag,
            "benchmark": self.benchmark,
            "cost_bps": self.cost_bps,
            "start": _finite(self.start),
            "end": _finite(self.end),
            "requested_start": _finite(self.requested_start),
            "requested_end": _finite(self.requested_end),
            "rebalances": len(self.result.turnover),
            **pick(s),
            "average_turnover": _finite(float(self.result.turnover.mean())),
            "split": {"date": _finite(self.metrics.split.split),
                      "in_sample": pick(self.metrics.split.in_sample),
                      "out_of_sample": pick(self.metrics.split.out_of_sample)},
            "years": years,
            "fallback": [{"signal_date": _finite(r.signal_date), "industry": r.industry, "weight": _finite(r.weight),
                          "reason": r.reason} for r in fb.itertuples()],
            "notes": list(self.notes),
            "per_rebalance": [{"trade_date": _finite(d), "turnover": _finite(float(t)), "costs": _finite(float(c))}
                              for d, t, c in zip(res.turnover.index, res.turnover.to_numpy(), res.costs.to_numpy(),
                                                 strict=True)],
        }
        if nav:
            out["nav"] = {d.strftime("%Y-%m-%d"): float(v) for d, v in self.result.nav.items()}
        return out


def reports_to_dict(reports: Sequence[BacktestReport], nav: bool = True) -> dict[str, dict[str, Any]]:
    """``{strategy: report.to_dict()}`` for several models (the ``--json`` of a comparison)."""
    return {r.strategy: r.to_dict(nav=nav) for r in reports}


def price_base(panel: MarketPanel, codes: list[str], first: pd.Timestamp, level: str) -> dict[str, float]:
    """A realistic price scale per code for the backtrader engine's lot sizing: each code's first
    close from ``first`` on (index points for an index, CNY for an ETF); at ETF level an industry
    held through its index trades as a notional fund priced at 1/1000 of the index level."""
    close = panel.bars["close"].reindex(columns=codes)
    close = close[close.index >= first]
    base = {}
    industries = set(panel.universe.codes)
    for c in codes:
        s = close[c].dropna()
        px = float(s.iloc[0]) if len(s) else 1000.0
        base[c] = px / 1000.0 if (level == "etf" and c in industries) else px
    return base


def _etf_period(panel: MarketPanel, etf_map, start: pd.Timestamp, end: pd.Timestamp,  # type: ignore[no-untyped-def]
                clip_start: bool) -> tuple[pd.Timestamp, pd.Timestamp, list[str]]:
    notes = []
    if clip_start:
        avail, which = etf_available_from(etf_map, panel.universe.codes)
        if avail is not None and avail > start:
            notes.append(f"ETF level: start clipped from {start.date()} to {avail.date()}, the first date on "
                         f"which every industry the ETF map covers has a listed ETF (the last to list: {which})")
            start = avail
    close = panel.bars["close"]
    cols = [c for c in etf_map.etf_codes if c in close.columns]
    last = close[cols].last_valid_index() if cols else None
    if last is not None and last < end:
        notes.append(f"ETF level: end clipped from {end.date()} to {last.date()}, the last ETF bar in the data")
        end = last
    return start, end, notes


def run_schedule(panel: MarketPanel, weights: WeightsSchedule, engine: Engine = "vector",
                 cost_bps: float = 23.0, start: object | None = None, end: object | None = None, *,
                 capital: float | None = None, split: object = SPLIT,
                 notes: Sequence[str] = ()) -> BacktestReport:
    """Backtest a precomputed :class:`WeightsSchedule` (reuse one schedule for both engines, for
    cost and lag sweeps).

    ``start``/``end`` bound the book (default: the schedule's own period and the data's end).
    Nothing is clipped here: :func:`backtest` clips an ETF book's period to the ETF data.
    """
    codes = weights.codes
    w = weights.weights[codes]
    returns = panel.returns(codes)
    bench = benchmark_code(panel, weights.level)  # type: ignore[arg-type]
    bench_ret = panel.returns([bench])[bench]
    if engine == "vector":
        from engine.backtest.vector import run_vector

        result = run_vector(returns, w, weights.trade_dates, cost_bps, start, end)
    elif engine == "backtrader":
        from engine.backtest.bt_engine import run_backtrader

        etf = weights.level == "etf"
        first = weights.trade_dates[0] if len(weights.trade_dates) else panel.last_date
        result = run_backtrader(returns, w, weights.trade_dates, cost_bps, start, end,
                                lot_size=100 if etf else 1,
                                capital=capital or (ETF_CAPITAL if etf else INDEX_CAPITAL),
                                price_base=price_base(panel, codes, first, weights.level))
    else:
        raise ValueError(f"engine must be 'vector' or 'backtrader', got {engine!r}")
    result = result.with_benchmark(bench_ret, bench)
    all_notes = list(notes) + list(result.notes)
    fb = weights.fallback
    if len(fb):
        dates = fb["signal_date"].nunique()
        inds = ", ".join(sorted(fb["industry"].unique()))
        all_notes.append(f"{dates} of {len(weights.signal_dates)} rebalances hold an industry with no tradable "
                         f"ETF through its index (price index, no distributions): {inds}")
    return BacktestReport(
        strategy=weights.strategy, engine=engine, level=weights.level, schedule=weights.schedule,
        cost_bps=float(cost_bps), benchmark=bench,
        requested_start=pd.Timestamp(start) if start is not None else weights.signal_dates[0],  # type: ignore[arg-type]
        requested_end=pd.Timestamp(end) if end is not None else panel.last_date,  # type: ignore[arg-type]
        result=result, metrics=result.metrics(split=split), weights=weights, notes=tuple(all_notes),
    )


def backtest(panel: MarketPanel, strategy: str, start: object, end: object, engine: Engine = "vector",
             level: Level = "index", cost_bps: float = 23.0, schedule: str = "monthly",
             params: Mapping[str, Any] | None = None, *, lag: int = 0, etf_map=None,  # type: ignore[no-untyped-def]
             weights: WeightsSchedule | None = None, clip_start: bool = True,
             no_etf: Literal["index", "map"] = "index", capital: float | None = None,
             split: object = SPLIT, construction: Any | None = None) -> BacktestReport:
    """Backtest model ``strategy`` from ``start`` to ``end``.

    Parameters
    ----------
    panel : MarketPanel
        The full panel.
    strategy : str
        A registered model.
    start, end : date
        The period: signal dates in ``[start, end]``; the book starts at the first trade date
        and ends at ``end`` (or the data's end).
    engine : {"vector", "backtrader"}
    level : {"index", "etf"}
        Industry indices vs 000300, or ETFs vs H00300 (see the module docstring for the ETF
        period).
    cost_bps : float, default 23
        Per side, on traded value.
    schedule : {"monthly", "semimonthly", "weekly"}
    params : mapping, optional
        Model parameter overrides.
    lag : int, default 0
        Extra trading days between signal and trade (robustness).
    etf_map : EtfMap, optional
        Default: ``config/etf_map.toml``.
    weights : WeightsSchedule, optional
        A precomputed schedule of this model and level (skips running the model); cut to the
        period and re-lagged if ``lag`` differs.
    clip_start : bool, default True
        ETF level: clip the start to the ETFs' availability.
    no_etf : {"index", "map"}
        ETF level: hold an industry without a tradable ETF through its index (default) or follow
        the map's rule.
    capital : float, optional
        Backtrader engine's starting cash (default 1e6 at ETF level, 1e9 at index level).
    split : date, default 2020-01-01
        First out-of-sample date.
    construction : Construction, optional
        How the model's weights become the book (default: the model's own;
        :func:`~engine.backtest.schedule.weights_schedule`).
    """
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)  # type: ignore[arg-type]
    s, e = start_ts, min(end_ts, panel.last_date)
    notes: list[str] = []
    if level == "etf":
        if etf_map is None:
            from allocator.etf_map import etf_map_for

            etf_map = etf_map_for(panel.universe)
        if etf_map.level == "index":
            raise NoDataError(f"universe {panel.universe.name!r} has no ETF map, so there is no ETF level: "
                              "backtest at --level index (its industries held through their indices), or "
                              "give the universe an etf_map")
        s, e, notes = _etf_period(panel, etf_map, s, e, clip_start)
    # Past the benchmark's last bar nothing can be measured against it: the book ends there too,
    # and the early-end note below says so.
    bench_close = panel.bars["close"].get(benchmark_code(panel, level))
    bench_last = bench_close.loc[:e].last_valid_index() if bench_close is not None else None
    if bench_last is not None and bench_last < e:
        e = pd.Timestamp(bench_last)
    if weights is None:
        weights = weights_schedule(panel, strategy, s, e, schedule, params, level, etf_map, lag=lag, no_etf=no_etf,
                                   construction=construction)
    else:
        if weights.strategy != strategy or weights.level != level:
            raise ValueError(f"the schedule is {weights.strategy!r} at {weights.level} level, "
                             f"not {strategy!r} at {level} level")
        weights = weights.between(s, e)
        if weights.lag != lag:
            weights = weights.with_lag(lag, panel.calendar)
    if len(weights.signal_dates) == 0:
        raise ValueError(f"no signal date of {strategy} between {s.date()} and {e.date()}")
    report = run_schedule(panel, weights, engine, cost_bps, s, e, capital=capital, split=split, notes=notes)
    end_note = _early_end_note(panel, report, end_ts)
    if end_note and not any(n.startswith("ETF level: end clipped") for n in report.notes):
        notes_out = (*report.notes, end_note)
        report = replace(report, notes=notes_out)
    return replace(report, requested_start=start_ts, requested_end=end_ts)


def _early_end_note(panel: MarketPanel, report: BacktestReport, requested_end: pd.Timestamp) -> str | None:
    """Why the book ends before the requested end (on a trading day with data), or None."""
    cal = panel.calendar
    due = cal.previous(requested_end, inclusive=True) if len(cal) and requested_end >= cal.first else None
    if due is None or report.end >= due:
        return None
    close = panel.bars["close"]

    def last(code: str) -> pd.Timestamp | None:
        if code not in close.columns:
            return None
        idx = close[code].loc[:requested_end].last_valid_index()
        return None if idx is None else pd.Timestamp(idx)

    ends = {"the benchmark " + report.benchmark: last(report.benchmark)}
    ind = [d for d in (last(c) for c in panel.universe.codes) if d is not None]
    if ind:
        ends["the industry indices"] = min(ind)
    if report.level == "etf":
        etf = [d for d in (last(c) for c in report.weights.weights.columns) if d is not None]
        if etf:
            ends["the ETFs held"] = min(etf)
    short = [f"{k} {'ends' if k.startswith('the benchmark') else 'end'} {v.date()}"
             for k, v in ends.items() if v is not None and v < due]
    behind = int(cal.days.searchsorted(due, side="right") - cal.days.searchsorted(report.end, side="right"))
    why = "; ".join(short) if short else "no trade date or data after it"
    return (f"the book ends {report.end.date()}, {behind} trading days before the requested end "
            f"{requested_end.date()}: {why}; every figure stops there")
