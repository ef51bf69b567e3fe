"""How fresh the inputs of an output are: one contract every command uses.

For a signal date, :func:`assess` states per input a model or step uses -- the universe's
industry bars, the benchmark bars, the ETFs it would trade, stock bars, fundamentals -- the last
date present on or before the signal date and whether the input is *current*:

* **bars** are current when every series of the input reaches the signal date, give or take a
  tolerance in trading days (:class:`~allocator.config.FreshnessSettings`; by default 0 for
  indices and 3 for ETFs and stocks). The tolerance is judged against the signal date because a
  live run happens after the signal date's close and before the trade date's close exists.
* **ETFs** are judged per industry the model weights: an industry is covered when at least one of
  its listed ETFs (those the map would choose among) is current; the input is stale when some
  weighted industry has listed ETFs but none current, or a held ETF is not current. An industry
  with no ETF at all is the ETF map's business, not staleness.
* **fundamentals** are current when the newest quarter whose statutory deadline has passed by the
  signal date (:func:`allocator.calendar.statutory_deadline`) has reports announced by then.

A stale input is a fact to state, not always an error: :class:`StaleInputs` is raised only where
an output cannot be trusted without current inputs (a rebalance or paper step needs ETF prices),
and ``--allow-stale`` turns that into an *indicative* output that says so everywhere.

Edge cases: a series with no bar on or before the signal date counts as infinitely behind (its
``last`` is ``None``); codes the store does not hold at all are reported as missing; an input
with no series to check (no ETF needed) is current.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from allocator.calendar import TradingCalendar, statutory_deadline
from allocator.errors import NoDataError

#: The inputs, in the order outputs list them.
INPUTS = ("industries", "benchmark", "etfs", "stocks", "fundamentals")

_FIX = {
    "industries": "run `allocator data update --only industries` or import the missing bars",
    "benchmark": "run `allocator data update --only benchmarks` or import the missing bars",
    "etfs": "run `allocator data update --only etfs` or import the ETF bars",
    "stocks": "import the stock bars (`allocator data import --kind stock`)",
    "fundamentals": "run `allocator data update --only fundamentals` or import the quarter's reports",
}
_LABEL = {"industries": "industry bars", "benchmark": "benchmark bars", "etfs": "ETF prices",
          "stocks": "stock bars", "fundamentals": "fundamentals"}
_LABEL_ZH = {"industries": "行业指数行情", "benchmark": "基准指数行情", "etfs": "ETF价格", "stocks": "个股行情",
             "fundamentals": "财务数据"}
_FIX_ZH = {
    "industries": "请运行 `allocator data update --only industries` 或导入缺失的行情",
    "benchmark": "请运行 `allocator data update --only benchmarks` 或导入缺失的行情",
    "etfs": "请运行 `allocator data update --only etfs` 或导入ETF行情",
    "stocks": "请导入个股行情（`allocator data import --kind stock`）",
    "fundamentals": "请运行 `allocator data update --only fundamentals` 或导入该季度的财报",
}


class StaleInputs(NoDataError):
    """An output needs inputs that are not current (and ``--allow-stale`` was not given)."""

    exit_code = 5

    def __init__(self, message: str, freshness: Freshness | None = None) -> None:
        super().__init__(message)
        self.freshness = freshness


def _day(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None or pd.isna(ts) else ts.strftime("%Y-%m-%d")


@dataclass(frozen=True)
class InputFreshness:
    """One input's freshness at a signal date.

    Attributes
    ----------
    input
        One of :data:`INPUTS`.
    last
        The date the input is complete through: the oldest last date among its series (bars;
        for ETFs an industry counts by its freshest listed ETF and a holding by itself), the
        newest stock bar (stocks: single stocks suspend and delist, so no stock holds the others
        back), or the newest quarter end with reports known by the signal date (fundamentals);
        ``None`` when nothing is present.
    required
        The date it must reach: the signal date (bars) or the newest quarter end past its
        statutory deadline (fundamentals).
    behind
        How far ``last`` is from ``required``, in :attr:`unit`; ``None`` when nothing is present.
    tolerance
        How far behind still counts as current.
    stale_codes
        The series that are behind beyond the tolerance (bars), each with its last date.
    series
        How many series the input was judged on (bars), when known.
    """

    input: str
    last: pd.Timestamp | None
    required: pd.Timestamp | None
    behind: int | None
    tolerance: int
    stale_codes: Mapping[str, str | None] = field(default_factory=dict)
    series: int | None = None

    @property
    def current(self) -> bool:
        return self.behind is not None and self.behind <= self.tolerance and not self.stale_codes

    @property
    def unit(self) -> str:
        """What ``behind`` and ``tolerance`` count: ``trading_days`` or ``quarters``."""
        return "quarters" if self.input == "fundamentals" else "trading_days"

    @property
    def fix(self) -> str | None:
        """The command (or step) that brings the input up to date; None when it is current."""
        return None if self.current else _FIX[self.input]

    def line(self, lang: str = "en") -> str:
        """One line for a terminal or a report: what is stale, how far, and what to run."""
        if lang == "zh":
            return self._line_zh()
        label = _LABEL[self.input]
        if self.current:
            return f"{label}: current (last {_day(self.last)})"
        unit = "quarters" if self.input == "fundamentals" else "trading days"
        if self.input == "fundamentals":
            what = (f"newest quarter in the store {_day(self.last)}, {self.behind} quarter(s) behind "
                    f"{_day(self.required)}, which is past its statutory deadline" if self.last is not None
                    else "none stored")
        else:
            codes = list(self.stale_codes)
            ends = sorted({d for d in self.stale_codes.values() if d}) or ["none"]
            span = ends[0] if len(ends) == 1 else f"{ends[0]} .. {ends[-1]}"
            shown = ", ".join(codes[:4]) + (f" and {len(codes) - 4} more" if len(codes) > 4 else "")
            if codes and len(codes) == self.series and len(codes) > 4:
                what = f"all {len(codes)} series end {span}"
            else:
                what = f"{len(codes)} series end {span} ({shown})" if codes else f"last {_day(self.last)}"
            if self.behind is not None:
                what += f", {self.behind} {unit} behind {_day(self.required)} (tolerance {self.tolerance})"
        return f"{label} stale: {what}; {_FIX[self.input]}"

    def _line_zh(self) -> str:
        label = _LABEL_ZH[self.input]
        if self.current:
            return f"{label}：最新（截至 {_day(self.last)}）"
        if self.input == "fundamentals":
            what = (f"库中最新报告期为 {_day(self.last)}，落后 {self.behind} 个季度，而 {_day(self.required)} "
                    "已过法定披露截止日" if self.last is not None else "库中没有财务数据")
        else:
            codes = list(self.stale_codes)
            ends = sorted({d for d in self.stale_codes.values() if d}) or ["无"]
            span = ends[0] if len(ends) == 1 else f"{ends[0]} 至 {ends[-1]}"
            shown = "、".join(codes[:4]) + (f" 等 {len(codes)} 个" if len(codes) > 4 else "")
            if codes and len(codes) == self.series and len(codes) > 4:
                what = f"全部 {len(codes)} 个序列截至 {span}"
            else:
                what = f"{len(codes)} 个序列截至 {span}（{shown}）" if codes else f"截至 {_day(self.last)}"
            if self.behind is not None:
                what += f"，落后 {_day(self.required)} {self.behind} 个交易日（容忍 {self.tolerance} 个）"
        return f"{label}不是最新：{what}；{_FIX_ZH[self.input]}"

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "last": _day(self.last), "required": _day(self.required),
                "behind": self.behind, "behind_unit": self.unit, "tolerance": self.tolerance,
                "current": self.current, "series": self.series, "stale_codes": dict(self.stale_codes),
                "fix": self.fix}


@dataclass(frozen=True)
class Freshness:
    """Every input's freshness at one signal date; ``indicative`` when a run went on regardless."""

    signal_date: pd.Timestamp
    inputs: tuple[InputFreshness, ...]
    indicative: bool = False

    @property
    def stale(self) -> tuple[InputFreshness, ...]:
        return tuple(i for i in self.inputs if not i.current)

    @property
    def current(self) -> bool:
        return not self.stale

    def get(self, name: str) -> InputFreshness | None:
        return next((i for i in self.inputs if i.input == name), None)

    def marked_indicative(self) -> Freshness:
        return Freshness(self.signal_date, self.inputs, indicative=True)

    def lines(self, lang: str = "en") -> list[str]:
        """The stale inputs, one line each (nothing when all are current)."""
        return [i.line(lang) for i in self.stale]

    def banner(self, lang: str = "en") -> str | None:
        """The one-line mark of an indicative output, or None."""
        if not self.indicative:
            return None
        if lang == "zh":
            names_zh = "、".join(_LABEL_ZH[i.input] for i in self.stale) or "输入数据"
            return (f"仅供参考：信号日 {self.signal_date.date()} 的{names_zh}不是最新数据，"
                    "不构成交易建议（请以最新数据重新运行确认）")
        names = ", ".join(_LABEL[i.input] for i in self.stale) or "inputs"
        return (f"INDICATIVE: {names} not current at {self.signal_date.date()}; "
                "not a recommendation to trade on (run with current data to confirm)")

    def require(self, names: Iterable[str], allow_stale: bool, what: str) -> Freshness:
        """``self`` when the inputs ``names`` are current; marked indicative when they are not and
        ``allow_stale``; else raise :class:`StaleInputs` naming them."""
        bad = [i for i in self.stale if i.input in set(names)]
        if not bad:
            return self
        if allow_stale:
            return self.marked_indicative()
        raise StaleInputs(f"{what} at {self.signal_date.date()} needs current inputs: "
                          + "; ".join(i.line() for i in bad)
                          + "; or pass --allow-stale for an indicative run", self)

    def to_dict(self) -> dict[str, Any]:
        return {"signal_date": _day(self.signal_date), "current": self.current, "indicative": self.indicative,
                "inputs": [i.to_dict() for i in self.inputs]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Freshness:
        """The freshness :meth:`to_dict` wrote (a stored record read back)."""
        def ts(x: Any) -> pd.Timestamp | None:
            return None if x is None else pd.Timestamp(x)

        inputs = tuple(InputFreshness(i["input"], ts(i.get("last")), ts(i.get("required")), i.get("behind"),
                                      int(i.get("tolerance", 0)), dict(i.get("stale_codes") or {}),
                                      i.get("series"))
                       for i in d.get("inputs", []))
        return cls(pd.Timestamp(d["signal_date"]), inputs, bool(d.get("indicative", False)))


# --------------------------------------------------------------------------------------------
# Assessment
# --------------------------------------------------------------------------------------------


def last_dates(close: pd.DataFrame, codes: Iterable[str], upto: pd.Timestamp) -> dict[str, pd.Timestamp | None]:
    """The last date with a close on or before ``upto`` per code (None: no bar, or not stored)."""
    codes = list(codes)
    present = [c for c in codes if c in close.columns]
    out: dict[str, pd.Timestamp | None] = {c: None for c in codes}
    if not present:
        return out
    window = close.loc[:upto, present]
    mask = window.notna().to_numpy()
    if len(mask):
        has = mask.any(axis=0)
        pos = len(mask) - 1 - np.argmax(mask[::-1], axis=0)
        for c, ok, p in zip(present, has, pos, strict=True):
            out[c] = window.index[p] if ok else None
    return out


def _behind(calendar: TradingCalendar, last: pd.Timestamp | None, t: pd.Timestamp) -> int | None:
    if last is None:
        return None
    days = calendar.days
    return int(days.searchsorted(t, side="right") - days.searchsorted(last, side="right"))


def bars_freshness(name: str, calendar: TradingCalendar, close: pd.DataFrame, codes: Iterable[str],
                   t: pd.Timestamp, tolerance: int) -> InputFreshness:
    """Freshness of the bars of ``codes``: current when every one is within ``tolerance``."""
    return freshness_of_ends(name, calendar, last_dates(close, codes, t), t, tolerance)


def freshness_of_ends(name: str, calendar: TradingCalendar, ends: Mapping[str, pd.Timestamp | None],
                      t: pd.Timestamp, tolerance: int) -> InputFreshness:
    """:func:`bars_freshness` from each series' last date on or before ``t`` (None: no bar)."""
    if not ends:
        return InputFreshness(name, t, t, 0, tolerance, series=0)
    lags = {c: _behind(calendar, d, t) for c, d in ends.items()}
    stale = {c: _day(ends[c]) for c, lag in lags.items() if lag is None or lag > tolerance}
    known = [d for d in ends.values() if d is not None]
    oldest = min(known) if known else None
    behind = None if len(known) < len(ends) else max(v for v in lags.values() if v is not None)
    return InputFreshness(name, oldest, t, behind, tolerance, stale, series=len(ends))


def newest_due_quarter(t: pd.Timestamp) -> pd.Timestamp:
    """The newest quarter end whose statutory deadline is on or before ``t``."""
    q = (t - pd.offsets.QuarterEnd(1)) if t != t + pd.offsets.QuarterEnd(0) else t
    q = pd.Timestamp(q).normalize()
    while statutory_deadline(q) > t:
        q = (q - pd.offsets.QuarterEnd(1)).normalize()
    return q


def fundamentals_freshness(fundamentals: pd.DataFrame, t: pd.Timestamp) -> InputFreshness:
    """Current when reports of the newest quarter past its statutory deadline are known by ``t``."""
    known = fundamentals.loc[fundamentals["ann_date"] <= t, "period_end"] if len(fundamentals) else pd.Series([])
    return fundamentals_freshness_of(pd.Timestamp(known.max()) if len(known) else None, t)


def fundamentals_freshness_of(newest: pd.Timestamp | None, t: pd.Timestamp) -> InputFreshness:
    """:func:`fundamentals_freshness` from the newest quarter end with reports known by ``t``."""
    due = newest_due_quarter(t)
    if newest is None:
        return InputFreshness("fundamentals", None, due, None, 0)
    quarters = max(0, (due.year - newest.year) * 4 + (due.month - newest.month) // 3)
    return InputFreshness("fundamentals", newest, due, quarters, 0)


def etf_candidates(etf_map: Any, industry_weights: Mapping[str, float], t: pd.Timestamp) -> dict[str, list[str]]:
    """Per weighted industry, the ETFs of the map listed by ``t`` (those allocation chooses among)."""
    by_code = etf_map.by_code()
    use_proxies = etf_map.selection.use_proxies
    out: dict[str, list[str]] = {}
    for code, w in industry_weights.items():
        entry = by_code.get(code)
        if w <= 0 or entry is None or entry.status == "none" or (entry.status == "proxy" and not use_proxies):
            continue
        listed = [e.code for e in entry.etfs if pd.Timestamp(e.list_date) <= t]
        if listed:
            out[code] = listed
    return out


def etf_freshness(calendar: TradingCalendar, close: pd.DataFrame, candidates: Mapping[str, list[str]],
                  held: Iterable[str], t: pd.Timestamp, tolerance: int) -> InputFreshness:
    """Freshness of the ETFs a rebalance would trade (see the module docstring)."""
    held = sorted(set(held))
    codes = sorted({c for cs in candidates.values() for c in cs} | set(held))
    return etf_freshness_of_ends(calendar, last_dates(close, codes, t), candidates, held, t, tolerance)


def etf_freshness_of_ends(calendar: TradingCalendar, ends: Mapping[str, pd.Timestamp | None],
                          candidates: Mapping[str, list[str]], held: Iterable[str], t: pd.Timestamp,
                          tolerance: int) -> InputFreshness:
    """:func:`etf_freshness` from each ETF's last date on or before ``t`` (None: no bar)."""
    held = sorted(set(held))
    codes = sorted({c for cs in candidates.values() for c in cs} | set(held))
    if not codes:
        return InputFreshness("etfs", t, t, 0, tolerance, series=0)
    lags = {c: _behind(calendar, ends.get(c), t) for c in codes}

    def ok(c: str) -> bool:
        return lags[c] is not None and lags[c] <= tolerance  # type: ignore[operator]

    stale: dict[str, str | None] = {}
    for cs in candidates.values():
        if not any(ok(c) for c in cs):
            stale.update({c: _day(ends.get(c)) for c in cs})
    stale.update({c: _day(ends.get(c)) for c in held if not ok(c)})
    # An industry counts by its freshest listed ETF, a holding by itself.
    needed: list[tuple[int | None, pd.Timestamp | None]] = []
    for cs in candidates.values():
        known = [c for c in cs if ends.get(c) is not None]
        best = max(known, key=lambda c: ends[c]) if known else None  # type: ignore[arg-type,return-value]
        needed.append((lags[best], ends[best]) if best else (None, None))
    needed += [(lags[c], ends.get(c)) for c in held]
    behind = None if any(lag is None for lag, _ in needed) else max((lag for lag, _ in needed), default=0)
    dates = [d for _, d in needed if d is not None]
    return InputFreshness("etfs", min(dates) if dates else None, t, behind, tolerance, dict(sorted(stale.items())),
                          series=len(codes))


def assess(panel: Any, signal_date: object, settings: Any, *, inputs: Iterable[str] = ("industries", "benchmark"),
           etf_map: Any | None = None, industry_weights: Mapping[str, float] | None = None,
           held: Iterable[str] = (), chosen: Iterable[str] = ()) -> Freshness:
    """Freshness of ``inputs`` (names of :data:`INPUTS`) at ``signal_date`` on ``panel``.

    ``settings`` is a :class:`~allocator.config.FreshnessSettings`. The ETF input needs
    ``etf_map`` and the model's ``industry_weights``; the book's ``held`` codes and the ETFs the
    allocation ``chosen`` must each be current themselves (allocation may pick an ETF whose last
    close is older than the tolerance while a sibling is current).
    """
    t = pd.Timestamp(signal_date).normalize()  # type: ignore[arg-type]
    wanted = set(inputs)
    close = panel.bars["close"]
    cal = panel.calendar
    u = panel.universe
    out: list[InputFreshness] = []
    for name in INPUTS:
        if name not in wanted:
            continue
        if name == "industries":
            out.append(bars_freshness(name, cal, close, u.codes, t, settings.industries))
        elif name == "benchmark":
            # The price index: what models read (a paper book's total-return benchmark is the
            # paper step's business).
            out.append(bars_freshness(name, cal, close, [u.benchmark_price], t, settings.benchmark))
        elif name == "etfs":
            cands = etf_candidates(etf_map, industry_weights or {}, t) if etf_map is not None else {}
            out.append(etf_freshness(cal, close, cands, [*held, *chosen], t, settings.etfs))
        elif name == "stocks":
            stock_close = panel.stocks.get("close") if panel.stocks else None
            if stock_close is None or stock_close.empty:
                out.append(stocks_freshness(cal, None, t, settings.stocks, 0))
            else:
                last = stock_close.loc[:t].dropna(how="all").index
                out.append(stocks_freshness(cal, last[-1] if len(last) else None, t, settings.stocks,
                                            int(stock_close.shape[1])))
        elif name == "fundamentals":
            out.append(fundamentals_freshness(panel.fundamentals, t))
    return Freshness(t, tuple(out))


def stocks_freshness(calendar: TradingCalendar, newest: pd.Timestamp | None, t: pd.Timestamp, tolerance: int,
                     series: int) -> InputFreshness:
    """Stock bars are current when the newest stock bar is within ``tolerance`` of ``t``."""
    return InputFreshness("stocks", newest, t, _behind(calendar, newest, t), tolerance, series=series)


def input_label(name: str, lang: str = "en") -> str:
    """The name of an input in ``lang`` (``"ETF prices"``, ``"ETF价格"``)."""
    return (_LABEL_ZH if lang == "zh" else _LABEL)[name]


def model_inputs(needs: Iterable[str]) -> tuple[str, ...]:
    """The freshness inputs of a model that declares ``needs`` (registry ``needs``)."""
    needs = set(needs)
    extra = [n for n in ("stocks", "fundamentals") if n in needs]
    return ("industries", "benchmark", *extra)


__all__ = ["INPUTS", "Freshness", "InputFreshness", "StaleInputs", "assess", "bars_freshness", "etf_candidates",
           "etf_freshness", "etf_freshness_of_ends", "freshness_of_ends", "fundamentals_freshness",
           "fundamentals_freshness_of", "input_label", "last_dates", "model_inputs", "newest_due_quarter",
           "stocks_freshness"]
