"""Backtest engines: a model's weights schedule run as a book, with costs, against a benchmark.

* :func:`weights_schedule` (:mod:`.schedule`): run a model at every signal date -> target
  weights and trade dates (industry or ETF level).
* :func:`run_vector` (:mod:`.vector`): the vectorised engine; :func:`run_vector_batch` for sweeps.
* :func:`run_backtrader` (:mod:`.bt_engine`): the same book event-driven through backtrader, as an
  independent check (backtrader is imported only when it runs).
* :class:`BacktestResult` (:mod:`.result`): NAV, returns, turnover, costs, weights; ``metrics()``.
* :func:`backtest` (:mod:`.run`): model name -> :class:`BacktestReport` (result, metrics, named
  benchmark, ``to_dict()``).

Timing follows docs/design.md: signal at the close of the last trading day of the period, trade
at the close of the next trading day; the trade date's own return accrues to the old weights.
"""

from engine.backtest.result import BacktestMetrics, BacktestResult
from engine.backtest.run import BacktestReport, backtest, reports_to_dict, run_schedule
from engine.backtest.schedule import WeightsSchedule, etf_available_from, weights_schedule
from engine.backtest.vector import VectorBatch, run_vector, run_vector_batch


def run_backtrader(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`engine.backtest.bt_engine.run_backtrader` (imported lazily)."""
    from engine.backtest.bt_engine import run_backtrader as run

    return run(*args, **kwargs)


__all__ = [
    "BacktestMetrics", "BacktestReport", "BacktestResult", "VectorBatch", "WeightsSchedule",
    "backtest", "etf_available_from", "reports_to_dict", "run_backtrader", "run_schedule",
    "run_vector", "run_vector_batch", "weights_schedule",
]
