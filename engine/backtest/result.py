"""The result of a backtest run and its metrics against a named benchmark.

Both engines (:mod:`engine.backtest.vector`, :mod:`engine.backtest.bt_engine`) return a
:class:`BacktestResult` with the same layout, so the parity of the two can be checked column by
column and every report reads one object.

Conventions
-----------
* ``nav`` starts on the first trade date, at the close, *after* the initial build of the book and
  its cost; the capital before it is 1.0 (the backtrader engine's NAV is divided by its capital).
  ``returns`` are the daily changes of ``nav``; the first one is ``nav[0] / 1 - 1`` (minus the
  cost of building the book: the book holds cash during the first trade date).
* ``benchmark_returns`` are the benchmark's daily returns on the book's dates, with the first one
  set to 0: the benchmark is "bought" at the same close as the book, so both earn from the next
  day. Dates without a benchmark value are NaN and drop out of every metric (inner join).
* Per rebalance (indexed by trade date): ``turnover`` is one-side, ``0.5 * sum(|w_target -
  w_drifted|)`` (building a fully invested book from cash counts 0.5); ``traded_value`` is the
  gross value traded (buys plus sells) and ``costs`` what was paid, both in NAV units (capital
  1.0); ``weights_before`` are the drifted weights at the trade-date close before trading,
  ``weights_after`` the weights after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from allocator import metrics as m

IN_SAMPLE_START = pd.Timestamp("2014-01-01")
SPLIT = pd.Timestamp("2020-01-01")  # first out-of-sample date (docs/strategies.md)


def align_benchmark(benchmark_returns: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """Benchmark daily returns on ``dates``, the first set to 0 (invested from the same close)."""
    b = pd.Series(benchmark_returns, dtype="float64").reindex(dates)
    if len(b):
        b.iloc[0] = 0.0
    return b


@dataclass(frozen=True)
class BacktestMetrics:
    """Metrics of one book against one named benchmark.

    Attributes
    ----------
    benchmark : str
        The benchmark's code (``000300.SH`` for industry-index books, ``H00300.CSI`` for ETF
        books: like for like, docs/design.md).
    summary : allocator.metrics.Summary
        The whole period; ``turnover`` is annualised one-side turnover, ``costs`` the costs paid
        relative to the mean NAV.
    yearly : pandas.DataFrame
        :func:`allocator.metrics.yearly_table` (a partial first/last year is its partial return).
    split : allocator.metrics.SampleSplit
        In sample (before 2020) and out of sample (2020 on).
    """

    benchmark: str
    summary: m.Summary
    yearly: pd.DataFrame
    split: m.SampleSplit


@dataclass(frozen=True)
class BacktestResult:
    """A simulated book (see the module docstring for the conventions)."""

    engine: str
    nav: pd.Series
    returns: pd.Series
    turnover: pd.Series
    traded_value: pd.Series
    costs: pd.Series
    weights_before: pd.DataFrame
    weights_after: pd.DataFrame
    cost_bps: float
    benchmark: str | None = None
    benchmark_returns: pd.Series | None = None
    notes: tuple[str, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)

    # -- views ---------------------------------------------------------------------------------
    @property
    def start(self) -> pd.Timestamp:
        return self.nav.index[0]

    @property
    def end(self) -> pd.Timestamp:
        return self.nav.index[-1]

    @property
    def trade_dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.turnover.index)

    def yearly_returns(self) -> pd.Series:
        """Compounded return per calendar year (a partial year is its partial return)."""
        r = self.returns
        return (1.0 + r).groupby(r.index.year).prod() - 1.0

    def with_benchmark(self, benchmark_returns: pd.Series, name: str) -> BacktestResult:
        """A copy with ``benchmark_returns`` aligned to the book's dates (first day 0)."""
        return replace(self, benchmark=name,
                       benchmark_returns=align_benchmark(benchmark_returns, pd.DatetimeIndex(self.nav.index)))

    # -- metrics -------------------------------------------------------------------------------
    def metrics(self, benchmark_returns: pd.Series | None = None, benchmark: str | None = None,
                split: object = SPLIT) -> BacktestMetrics:
        """Summary, yearly table and in/out-of-sample split against the benchmark.

        Parameters
        ----------
        benchmark_returns : pandas.Series, optional
            Daily benchmark returns; aligned as :meth:`with_benchmark` does. Default: the
            benchmark the result carries.
        benchmark : str, optional
            Its name (required when ``benchmark_returns`` is given).
        split : date, default 2020-01-01
            First out-of-sample date.
        """
        if benchmark_returns is not None:
            if benchmark is None:
                raise ValueError("name the benchmark: metrics(benchmark_returns, benchmark='000300.SH')")
            b = align_benchmark(benchmark_returns, pd.DatetimeIndex(self.nav.index))
        else:
            if self.benchmark_returns is None or self.benchmark is None:
                raise ValueError("this result has no benchmark; pass benchmark_returns and benchmark")
            b, benchmark = self.benchmark_returns, self.benchmark
        r = self.returns
        kw = {"traded_value": self.traded_value, "costs": self.costs, "nav": self.nav}
        return BacktestMetrics(
            benchmark=benchmark,
            summary=m.summary(r, b, **kw),
            yearly=m.yearly_table(r, b),
            split=m.split_sample(r, b, pd.Timestamp(split), **kw),  # type: ignore[arg-type]
        )


def _finite(x: Any) -> Any:
    """JSON-safe scalar: NaN/inf -> None, numpy -> Python, Timestamp -> 'YYYY-MM-DD'."""
    if x is None:
        return None
    if isinstance(x, pd.Timestamp):
        return x.strftime("%Y-%m-%d")
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return f if np.isfinite(f) else None
    return x
