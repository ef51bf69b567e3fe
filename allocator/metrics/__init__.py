"""Performance metrics: pure functions of daily simple-return series, in the style of empyrical.

Layout
------
* :mod:`allocator.metrics.kernel`: the arithmetic, on arrays of many books at once (the sweep,
  the backtest engines and the charts call it directly).
* :mod:`allocator.metrics.series`: the public functions of one series (or each column of a
  frame) and of a book against its benchmark; they clean and align, then call the kernel.
* :mod:`allocator.metrics.tables`: yearly table, summary, sample split, paper tracking table.

Conventions (``docs/design.md``, "Conventions")
------------------------------------------------
* **Input.** Daily *simple* returns (``0.01`` is +1 %), one value per trading day, indexed by date
  (a ``DatetimeIndex``; functions that group by month or year require one). A ``Series`` gives a
  ``float``. A ``DataFrame`` is taken column by column and gives a ``Series`` indexed by its
  columns (functions that return a path give a ``DataFrame``). Numpy-backed and pandas nullable
  dtypes (``Float64`` with ``pd.NA``) are both accepted; everything is computed in ``float64``.
* **NaN.** Missing values are dropped before computing. The usual case is the leading NaN that
  ``pct_change`` leaves on the first date; a NaN inside the series is dropped the same way (the
  day does not count, neither as a zero return nor towards the number of days). In a DataFrame
  each column is cleaned on its own, so books of different lengths can share a frame.
* **Benchmark alignment.** Every metric of two series first aligns them by an inner join on dates
  (:func:`_align`): a date counts only where both have a value after dropping NaN. Every
  annualised figure of a pair is therefore computed over the same days for book and benchmark.
* **Annualisation.** 252 trading days (:data:`TRADING_DAYS`); standard deviations are sample
  standard deviations (``ddof=1``). Annual return is geometric: ``(1 + cum) ** (252 / n) - 1``.
* **Undefined results.** An empty input (or nothing left after dropping NaN and aligning) gives
  ``NaN``, not an exception; so does a statistic that is undefined for the data (a standard
  deviation of one value, a ratio whose denominator is zero). Sums of flows (traded value, costs)
  over no flows are ``0.0``.
* **Purity.** Inputs are never mutated; every result is a new object. Result objects
  (:class:`Drawdown`, :class:`Summary`, :class:`SampleSplit`) are frozen dataclasses.
"""

from allocator.metrics.kernel import TRADING_DAYS
from allocator.metrics.series import (
    SUMMARY_KEYS, Drawdown, SampleSplit, Summary, active_return, annual_return,
    annual_turnover, annual_volatility, correlation, costs_paid, cumulative_return,
    drawdown_details, drawdown_series, excess_return_arithmetic, excess_return_geometric,
    information_ratio, max_drawdown, monthly_win_rate, sharpe_ratio, tracking_error,
    weights_turnover,
)
from allocator.metrics.tables import (
    TRACKING_COLUMNS, YEARLY_COLUMNS, split_sample, summary, tracking_table, yearly_table,
)

__all__ = [
    "TRADING_DAYS", "SUMMARY_KEYS", "TRACKING_COLUMNS", "YEARLY_COLUMNS",
    "Drawdown", "Summary", "SampleSplit",
    "cumulative_return", "annual_return", "annual_volatility", "sharpe_ratio",
    "drawdown_series", "max_drawdown", "drawdown_details", "tracking_error",
    "information_ratio", "excess_return_arithmetic", "excess_return_geometric",
    "monthly_win_rate", "correlation", "active_return", "annual_turnover", "weights_turnover",
    "costs_paid", "yearly_table", "summary", "split_sample", "tracking_table",
]
