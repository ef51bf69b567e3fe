"""Ex-ante risk of a recommended book: known before the trade, not only after.

The expected tracking error of weights ``w`` (cash earns 0) against a benchmark is
``sqrt(a' S a * 252)`` with ``a = (w, -1)`` over the book's codes and the benchmark, and ``S`` the
covariance of their daily returns over the trailing ``window`` trading days (pairwise complete:
an ETF listed inside the window counts over the days it traded; a code with fewer than
``min_days`` returns makes the figure unavailable, said in ``note``). Alongside: the number of
holdings and the largest weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

WINDOW = 250
MIN_DAYS = 60


@dataclass(frozen=True)
class ExAnte:
    """The ex-ante figures of one book (see the module docstring)."""

    tracking_error: float | None
    benchmark: str
    window: int
    holdings: int
    largest: tuple[tuple[str, float], ...] = ()
    note: str | None = None
    volatility: float | None = None
    benchmark_volatility: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"tracking_error": self.tracking_error, "volatility": self.volatility,
                "benchmark_volatility": self.benchmark_volatility, "benchmark": self.benchmark,
                "window": self.window, "holdings": self.holdings,
                "largest": [{"code": c, "weight": w} for c, w in self.largest], "note": self.note}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExAnte:
        return cls(d.get("tracking_error"), str(d.get("benchmark", "")), int(d.get("window", WINDOW)),
                   int(d.get("holdings", 0)), tuple((x["code"], float(x["weight"])) for x in d.get("largest", [])),
                   d.get("note"), d.get("volatility"), d.get("benchmark_volatility"))

    def line(self) -> str:
        top = ", ".join(f"{c} {w:.0%}" for c, w in self.largest[:3])
        te = "n/a" if self.tracking_error is None else f"{self.tracking_error:.1%}"
        out = (f"ex ante: tracking error {te} a year against {self.benchmark} (trailing {self.window} days), "
               f"{self.holdings} holdings, largest {top or '-'}")
        return out + (f"; {self.note}" if self.note else "")


def ex_ante(returns: pd.DataFrame, weights: Mapping[str, float], benchmark: str, window: int = WINDOW,
            min_days: int = MIN_DAYS, top: int = 3) -> ExAnte:
    """The ex-ante figures of ``weights`` against ``benchmark`` from daily ``returns`` (its columns
    hold the codes and the benchmark; the last ``window`` rows are used)."""
    w = {c: float(v) for c, v in weights.items() if v > 0}
    largest = tuple(sorted(w.items(), key=lambda x: (-x[1], x[0]))[:top])
    codes = sorted(w)
    missing = [c for c in [*codes, benchmark] if c not in returns.columns]
    if missing:
        return ExAnte(None, benchmark, window, len(w), largest, f"no returns for {', '.join(missing)}")
    # A book may hold the benchmark itself (an index-level core): it is one column, not two.
    columns = list(dict.fromkeys([*codes, benchmark]))
    frame = returns[columns].iloc[-window:]
    counts = frame.notna().sum()
    short = [c for c in frame.columns if counts[c] < min_days]
    if short:
        return ExAnte(None, benchmark, window, len(w), largest,
                      f"fewer than {min_days} daily returns in the window for {', '.join(short)}")
    cov = frame.cov(min_periods=min_days).to_numpy()
    book = np.array([w.get(c, 0.0) for c in columns])
    a = book - (np.array(columns) == benchmark)
    var = float(a @ cov @ a)
    vol = float(book @ cov @ book)
    return ExAnte(float(np.sqrt(max(var, 0.0) * 252)), benchmark, window, len(w), largest, None,
                  float(np.sqrt(max(vol, 0.0) * 252)), float(np.sqrt(max(cov[columns.index(benchmark)] @ (np.array(columns) == benchmark), 0.0) * 252)))


__all__ = ["ExAnte", "MIN_DAYS", "WINDOW", "ex_ante"]
