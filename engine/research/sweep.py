"""Parameter sweep: a grid of model parameters through the vectorised engine at once.

Every combination of the grid (full product) is one variant. Each variant's weights are
computed by running the model at every signal date (:func:`strategies.registry.run`, point in
time); the signal and trade dates are those of :func:`engine.backtest.weights_schedule` and
shared by all variants, so the books run in one :func:`engine.backtest.run_vector_batch` call
(SW industry-index books vs the CSI 300 price index 000300.SH, ``cost_bps`` per side).

The table is sorted by the *in-sample* information ratio (signal dates before ``split``,
2020-01-01 by default, with the rest out of sample) and shows the out-of-sample figures beside
it: choosing the best in-sample row is what overfitting looks like, so the result also reports
the Spearman correlation between in-sample and out-of-sample IR across variants and where the
best in-sample variant ranks out of sample.

Speed (``bench/bench_backtest.py`` times a 1,000-variant sweep)
----------------------------------------------------------------
The generic path runs the model once per variant and signal date. Three things keep a large grid
fast without changing a figure:

* **Batch weights.** A model that registers ``batch_weights`` computes every variant's weights at
  once from the inputs the model itself uses (``rs_mainline``: the RS history the model reads
  through :func:`strategies.history.causal_row`, then the threshold / min / max selection
  vectorised over the signal dates). Each builder must equal :func:`variant_weights` exactly
  (``tests/engine/research/test_sweep_fast.py`` checks it on the embedded data); it may decline
  (return ``None``) and the generic path runs. Other models always take the generic path.
* **Distinct schedules.** Variants whose weights are identical (e.g. ``max_holdings`` above the
  number of mainlines on every date) are backtested once.
* **Batch metrics.** The figures of the table are computed for all distinct schedules at once
  (:func:`summaries_batch`) with the arithmetic of :func:`allocator.metrics.summary` and
  :func:`allocator.metrics.split_sample`, row by row in the same order, so they agree with
  :func:`_summaries` (the per-variant reference) to the last bit on the tested data (the test
  allows 1e-12).

``sweep(..., fast=False)`` runs the plain per-variant path (the reference of the tests).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator import metrics as m
from allocator.metrics import kernel
from allocator.panel import MarketPanel
from engine.research._common import SPLIT, finite, label, nested_overrides, pearson, progress, trade_date
from strategies import registry

COLUMNS = ("variant", "annual_return", "excess_return", "information_ratio", "max_drawdown", "turnover",
           "is_annual_return", "is_excess_return", "is_information_ratio",
           "oos_annual_return", "oos_excess_return", "oos_information_ratio", "oos_max_drawdown",
           "is_rank", "oos_rank")


def expand(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Full product of the grid: one flat ``{name: value}`` per variant."""
    names = list(grid)
    for n in names:
        if not isinstance(grid[n], (list, tuple)) or len(grid[n]) == 0:
            raise ValueError(f"grid {n!r}: give a non-empty list of values")
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


@dataclass(frozen=True)
class SweepResult:
    strategy: str
    schedule: str
    cost_bps: float
    start: pd.Timestamp
    end: pd.Timestamp
    split: pd.Timestamp
    benchmark: str
    grid: Mapping[str, tuple[Any, ...]]
    params: tuple[Mapping[str, Any], ...]   # flat overrides per variant, in table order
    table: pd.DataFrame                     # COLUMNS, sorted by in-sample IR (best first)
    distinct_schedules: int | None = None   # distinct weight schedules among the variants
    overfitting: Mapping[str, Any] | None = None  # PBO and deflated Sharpe (SweepBooks.overfitting)

    def __post_init__(self) -> None:
        from types import MappingProxyType

        object.__setattr__(self, "grid", MappingProxyType({k: tuple(v) for k, v in self.grid.items()}))
        object.__setattr__(self, "params", tuple(MappingProxyType(dict(p)) for p in self.params))

    @property
    def is_oos_rank_correlation(self) -> float:
        """Spearman correlation of in-sample and out-of-sample IR across variants."""
        t = self.table[["is_information_ratio", "oos_information_ratio"]].dropna()
        if len(t) < 3:
            return float("nan")
        return pearson(t.iloc[:, 0].rank().to_numpy(), t.iloc[:, 1].rank().to_numpy())

    def to_dict(self) -> dict[str, Any]:
        best = self.table.iloc[0] if len(self.table) else None
        return {
            "study": "sweep", "strategy": self.strategy, "schedule": self.schedule, "cost_bps": self.cost_bps,
            "level": "index", "benchmark": self.benchmark, "engine": "vector (batch)",
            "start": finite(self.start), "end": finite(self.end), "split": finite(self.split),
            "grid": {k: [finite(x) if not isinstance(x, (list, tuple)) else list(x) for x in v]
                     for k, v in self.grid.items()},
            "variants": len(self.table), "distinct_schedules": self.distinct_schedules,
            "sorted_by": "is_information_ratio",
            "is_oos_rank_correlation": finite(self.is_oos_rank_correlation),
            "overfitting": None if self.overfitting is None else {k: finite(v) for k, v in self.overfitting.items()},
            "best_in_sample": None if best is None else {
                "variant": best["variant"], "is_information_ratio": finite(best["is_information_ratio"]),
                "oos_information_ratio": finite(best["oos_information_ratio"]),
                "oos_rank": finite(best["oos_rank"])},
            "rows": [{"params": {k: (list(v) if isinstance(v, (list, tuple)) else finite(v)) for k, v in p.items()},
                      **{k: finite(v) for k, v in row.items()}}
                     for p, (_, row) in zip(self.params, self.table.iterrows())],
        }


#: Grid names under this prefix set the construction (``construction.core=0,0.5``,
#: ``construction.top_n=5,10``): a core-satellite from these fields (:mod:`allocator.construction`).
CONSTRUCTION = "construction."


def split_variant(flat: Mapping[str, Any]) -> tuple[dict[str, Any], Any | None]:
    """(the model's parameters, the :class:`~allocator.construction.Construction` or None) of a
    variant whose grid may hold ``construction.*`` names."""
    from allocator.construction import Construction

    model = {k: v for k, v in flat.items() if not k.startswith(CONSTRUCTION)}
    fields = {k[len(CONSTRUCTION):]: v for k, v in flat.items() if k.startswith(CONSTRUCTION)}
    if not fields:
        return model, None
    return model, Construction.from_mapping({"kind": "core_satellite", **fields})


def variant_weights(panel: MarketPanel, strategy: str, flat: Mapping[str, Any], signals: pd.DatetimeIndex,
                    codes: list[str]) -> np.ndarray:
    """Signal dates x codes weights of one parameter variant (the model run at each date, then
    its construction when the variant names one: the core in the benchmark's price index, which
    ``codes`` must then hold)."""
    from allocator.construction import construct

    model, built = split_variant(flat)
    params = nested_overrides(model) if model else None
    col = {c: j for j, c in enumerate(codes)}
    core = col.get(panel.universe.benchmark_price)
    W = np.zeros((len(signals), len(codes)))
    previous: tuple[str, ...] = ()
    for k, t in enumerate(signals):
        res = registry.run(strategy, panel, t, params)
        weights: Mapping[str, float] = res.weights
        if built is not None:
            book = construct(built, res.weights, res.composites, previous)
            previous, weights = book.picks, book.industry_weights
            if book.core > 0:
                if core is None:
                    raise ValueError("a construction with a core needs the benchmark among the codes")
                W[k, core] = book.core
        for c, w in weights.items():
            j = col.get(c)
            if j is not None and w > 0:
                W[k, j] = float(w)
    return W


def _summaries(nav: pd.Series, turnover: pd.Series, costs: pd.Series, rate: float, bench: pd.Series,
               split: pd.Timestamp) -> dict[str, float]:
    from engine.backtest.result import align_benchmark

    r = nav.pct_change()
    r.iloc[0] = nav.iloc[0] - 1.0
    b = align_benchmark(bench, pd.DatetimeIndex(nav.index))
    at = nav.reindex(turnover.index)
    traded = costs / rate if rate > 0 else 2.0 * turnover * at
    kw = {"traded_value": traded, "costs": costs, "nav": nav}
    s = m.summary(r, b, **kw)
    sp = m.split_sample(r, b, split, **kw)
    i, o = sp.in_sample, sp.out_of_sample
    return {"annual_return": s.annual_return, "excess_return": s.excess_return,
            "information_ratio": s.information_ratio, "max_drawdown": s.max_drawdown, "turnover": s.turnover,
            "is_annual_return": i.annual_return, "is_excess_return": i.excess_return,
            "is_information_ratio": i.information_ratio,
            "oos_annual_return": o.annual_return, "oos_excess_return": o.excess_return,
            "oos_information_ratio": o.information_ratio, "oos_max_drawdown": o.max_drawdown}


# -- batch metrics -------------------------------------------------------------------------------


def summaries_batch(nav: np.ndarray, dates: pd.DatetimeIndex, turnover: np.ndarray, costs: np.ndarray,
                    trade_dates: pd.DatetimeIndex, rate: float, bench: pd.Series,
                    split: pd.Timestamp) -> list[dict[str, float]]:
    """:func:`_summaries` of many books at once: ``nav`` (V, T) on ``dates``, ``turnover`` and
    ``costs`` (V, K) on ``trade_dates`` (as :func:`engine.backtest.run_vector_batch` gives
    them).

    Each figure is computed with the operations of :mod:`allocator.metrics` on the same values,
    reduced row by row along contiguous rows (numpy reduces each row as it reduces a 1-D array),
    so the results equal :func:`_summaries`'. A book with a non-finite return, turnover or cost
    goes through :func:`_summaries` itself.
    """
    from engine.backtest.result import align_benchmark

    nav = np.ascontiguousarray(nav, dtype=float)
    V, T = nav.shape
    r = np.empty_like(nav)
    if T:
        r[:, 0] = nav[:, 0] - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            r[:, 1:] = nav[:, 1:] / nav[:, :-1] - 1.0
    b_all = align_benchmark(bench, dates).to_numpy(dtype=float)
    pos = dates.get_indexer(trade_dates)
    with np.errstate(divide="ignore", invalid="ignore"):
        traded = costs / rate if rate > 0 else 2.0 * turnover * nav[:, pos]
    ok = (np.isfinite(r).all(axis=1) & np.isfinite(traded).all(axis=1) & np.isfinite(costs).all(axis=1)
          & (pos >= 0).all())
    out: list[dict[str, float] | None] = [None] * V
    for v in np.flatnonzero(~ok):
        out[v] = _summaries(pd.Series(nav[v], index=dates), pd.Series(turnover[v], index=trade_dates),
                            pd.Series(costs[v], index=trade_dates), rate, bench, split)
    good = np.flatnonzero(ok)
    if len(good):
        common = ~np.isnan(b_all)                            # metrics._align: both have a value
        x, b = np.ascontiguousarray(r[good][:, common]), b_all[common]
        before = dates[common] < split
        xi, bi = np.ascontiguousarray(x[:, before]), b[before]
        xo, bo = np.ascontiguousarray(x[:, ~before]), b[~before]
        ann, (bann,) = kernel.annual_return(x).tolist(), kernel.annual_return(b).tolist()
        ann_i, (bann_i,) = kernel.annual_return(xi).tolist(), kernel.annual_return(bi).tolist()
        ann_o, (bann_o,) = kernel.annual_return(xo).tolist(), kernel.annual_return(bo).tolist()
        ir, ir_i, ir_o = (kernel.information_ratio(x, b).tolist(), kernel.information_ratio(xi, bi).tolist(),
                          kernel.information_ratio(xo, bo).tolist())
        dd, dd_o = kernel.max_drawdown(x).tolist(), kernel.max_drawdown(xo).tolist()
        # metrics.annual_turnover: sum(|traded| / 2 / NAV on the trade date) * 252 / NAV days
        one_side = (np.abs(traded[good]) / 2.0 / nav[good][:, pos]).sum(axis=1).tolist() if len(pos) else [0.0] * len(good)
        for i, v in enumerate(good):
            out[v] = {"annual_return": ann[i], "excess_return": ann[i] - bann,
                      "information_ratio": ir[i], "max_drawdown": dd[i],
                      "turnover": one_side[i] * m.TRADING_DAYS / T if T else float("nan"),
                      "is_annual_return": ann_i[i], "is_excess_return": ann_i[i] - bann_i,
                      "is_information_ratio": ir_i[i],
                      "oos_annual_return": ann_o[i], "oos_excess_return": ann_o[i] - bann_o,
                      "oos_information_ratio": ir_o[i], "oos_max_drawdown": dd_o[i]}
    return out  # type: ignore[return-value]


# -- the sweep -----------------------------------------------------------------------------------


def distinct_rows(W: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The first variant of each distinct weight schedule (byte-identical ``W[v]``) and, per
    variant, the index of its schedule in that list."""
    seen: dict[bytes, int] = {}
    first: list[int] = []
    inverse = np.empty(len(W), dtype=np.int64)
    for v in range(len(W)):
        key = W[v].tobytes()
        j = seen.get(key)
        if j is None:
            j = seen[key] = len(first)
            first.append(v)
        inverse[v] = j
    return first, inverse


@dataclass(frozen=True)
class SweepBooks:
    """Every variant of a grid backtested once (distinct weight schedules only)."""

    variants: list[dict[str, Any]]
    first: list[int]            # the first variant of each distinct schedule
    inverse: np.ndarray         # per variant, its schedule's index in ``first``
    batch: Any                  # engine.backtest.VectorBatch of the distinct schedules
    benchmark: pd.Series        # the benchmark's daily returns
    benchmark_code: str
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def labels(self) -> list[str]:
        """A label per distinct schedule (its first variant's)."""
        return [label(self.variants[i]) for i in self.first]

    def daily_returns(self) -> pd.DataFrame:
        """Dates x distinct schedules daily returns (the first day from a NAV of 1)."""
        nav = self.batch.nav
        r = nav.pct_change()
        r.iloc[0] = nav.iloc[0] - 1.0
        r.columns = self.labels
        return r

    def overfitting(self, blocks: int = 16) -> dict[str, Any] | None:
        """PBO (CSCV) and the deflated Sharpe ratio of the best distinct schedule, both on monthly
        active returns against the benchmark (:mod:`allocator.metrics.overfitting`); None with
        fewer than two distinct schedules or eight months."""
        from allocator.metrics.overfitting import deflated_sharpe_of, pbo

        if len(self.first) < 2:
            return None
        r = self.daily_returns()
        b = self.benchmark.reindex(r.index).fillna(0.0)
        book = (1.0 + r).resample("ME").prod() - 1.0
        bench = (1.0 + b).resample("ME").prod() - 1.0
        active = book.sub(bench, axis=0).dropna()
        s = min(blocks, (len(active) // 2) // 2 * 2)
        if s < 4:
            return None
        p = pbo(active.to_numpy(), blocks=s)
        d = deflated_sharpe_of(active.to_numpy())
        return {"basis": f"monthly active returns vs {self.benchmark_code}", **p.to_dict(),
                "months": len(active), "best_variant": self.labels[d["best"]] if "best" in d else None,
                "best_monthly_ir": d["sharpe"], "expected_max_monthly_ir": d["expected_max_sharpe"],
                "deflated_sharpe": d["deflated_sharpe"], "trials": d["trials"]}


def sweep_books(panel: MarketPanel, strategy: str, start: object, end: object,
                grid: Mapping[str, Sequence[Any]] | None = None, *, schedule: str = "monthly",
                cost_bps: float = 23.0, show_progress: bool | None = None, fast: bool = True) -> SweepBooks:
    """Every variant of ``grid`` (default: the model's registered ``sweep_grid``) backtested once:
    the weights, the distinct schedules and one batch run of them. Grid names under
    ``construction.`` (:data:`CONSTRUCTION`) vary the construction as well."""
    from engine.backtest import run_vector_batch

    if grid is None:
        grid = registry.spec(strategy).sweep_grid
        if not grid:
            raise ValueError(f"no default grid for {strategy}; pass one (e.g. holdings=3,5,8)")
    variants = expand(grid)
    s_ts = pd.Timestamp(start)  # type: ignore[arg-type]
    e_ts = min(pd.Timestamp(end), panel.last_date)  # type: ignore[arg-type]
    sig = panel.calendar.signal_dates(s_ts, e_ts, schedule)
    sig = sig[sig <= panel.last_date]
    trades = pd.DatetimeIndex([trade_date(panel, t) for t in sig])
    keep = trades.notna()
    sig, trades = pd.DatetimeIndex(sig[keep]), pd.DatetimeIndex(trades[keep])
    if len(sig) == 0:
        raise ValueError(f"no {schedule} signal date between {s_ts.date()} and {e_ts.date()}")
    constructed = any(k.startswith(CONSTRUCTION) for k in grid)
    codes = list(panel.universe.codes) + ([panel.universe.benchmark_price] if constructed else [])
    bar = progress(total=len(variants), desc=f"{strategy} sweep", enabled=show_progress)
    try:
        # A model's batch builder knows its own weights, not constructions.
        builder = registry.spec(strategy).batch_weights if fast and not constructed else None
        W = builder(panel, variants, sig, codes) if builder is not None else None
        if W is not None:
            bar.update(len(variants))
        else:
            W = np.zeros((len(variants), len(sig), len(codes)))
            for v, flat in enumerate(variants):
                W[v] = variant_weights(panel, strategy, flat, sig, codes)
                bar.update(1)
    finally:
        bar.close()
    if fast:
        first, inverse = distinct_rows(W)
    else:
        first, inverse = list(range(len(variants))), np.arange(len(variants))
    batch = run_vector_batch(panel.returns(codes), W[first], codes, trades, cost_bps, s_ts, e_ts)
    bench_code = panel.universe.benchmark_price
    return SweepBooks(variants, first, inverse, batch, panel.returns([bench_code])[bench_code], bench_code,
                      s_ts, e_ts)


def sweep(panel: MarketPanel, strategy: str, start: object, end: object,
          grid: Mapping[str, Sequence[Any]] | None = None, *, schedule: str = "monthly", cost_bps: float = 23.0,
          split: object = SPLIT, show_progress: bool | None = None, fast: bool = True) -> SweepResult:
    """Backtest every combination of ``grid`` (default: the model's registered ``sweep_grid``) and rank by
    in-sample IR (module docstring). A dotted name (``ptc_aggressive.max_crowding``) overrides a
    nested parameter section. ``fast=False`` runs the model per variant and date, backtests every
    variant and computes its metrics one by one (the reference the fast path is tested against).
    The result carries the PBO and deflated Sharpe ratio of the grid (:meth:`SweepBooks.overfitting`)."""
    if grid is None:
        grid = registry.spec(strategy).sweep_grid
        if not grid:
            raise ValueError(f"no default grid for {strategy}; pass one (e.g. holdings=3,5,8)")
    cut = pd.Timestamp(split)  # type: ignore[arg-type]
    books = sweep_books(panel, strategy, start, end, grid, schedule=schedule, cost_bps=cost_bps,
                        show_progress=show_progress, fast=fast)
    variants, first, inverse, batch, bench = books.variants, books.first, books.inverse, books.batch, books.benchmark
    rate = cost_bps / 1e4
    if fast:
        stats = summaries_batch(batch.nav.to_numpy().T, pd.DatetimeIndex(batch.nav.index),
                                batch.turnover.to_numpy().T, batch.costs.to_numpy().T,
                                pd.DatetimeIndex(batch.turnover.index), rate, bench, cut)
    else:
        stats = [_summaries(batch.nav[v], batch.turnover[v], batch.costs[v], rate, bench, cut)
                 for v in range(len(first))]
    rows = [{"variant": label(flat), **stats[inverse[v]]} for v, flat in enumerate(variants)]
    table = pd.DataFrame(rows)
    table["is_rank"] = table["is_information_ratio"].rank(ascending=False, method="min")
    table["oos_rank"] = table["oos_information_ratio"].rank(ascending=False, method="min")
    order = table.sort_values(["is_information_ratio", "oos_information_ratio"], ascending=False,
                              na_position="last").index
    table = table.loc[order].reset_index(drop=True)[list(COLUMNS)]
    return SweepResult(strategy=strategy, schedule=schedule, cost_bps=float(cost_bps), start=books.start,
                       end=books.end, split=cut, benchmark=books.benchmark_code,
                       grid={k: list(v) for k, v in grid.items()},
                       params=tuple(variants[i] for i in order), table=table, distinct_schedules=len(first),
                       overfitting=books.overfitting())
