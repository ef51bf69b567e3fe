"""What is wrong with a universe file, and what data the store holds for it.

:func:`file_problems` lists every problem of a universe file, one line each (TOML syntax, each
invalid key, an unknown trading calendar, an ETF map that does not load or names industries the
universe does not have). :func:`data_inputs` says, per input a model may read (see
``strategies.registry.NEEDS``, plus the industry and benchmark bars every model reads), whether the
store holds it for this universe and, if not, why and what to do. ``allocator universe check``
turns the two into a verdict per model (:mod:`strategies.coverage`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from allocator.config import (
    A_SHARE_CALENDAR,
    Universe,
    universe_data,
    universe_path,
    validation_problems,
)
from allocator.errors import ConfigError, NoDataError


@dataclass(frozen=True)
class Input:
    """One input of the models for a universe: held or not, and what was found or is missing."""

    name: str
    available: bool
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "available": self.available, "detail": self.detail}


def file_problems(name_or_path: str | Path) -> tuple[Universe | None, list[str]]:
    """The universe (None when it does not load) and every problem of its file, one line each."""
    try:
        path = universe_path(name_or_path)
        data = universe_data(path)
    except ConfigError as exc:
        return None, [str(exc)]
    problems = [f"{path}: {p}" for p in validation_problems(Universe, data)]
    calendar = data.get("calendar", A_SHARE_CALENDAR)
    if isinstance(calendar, str) and calendar != A_SHARE_CALENDAR:
        from allocator.calendar import exchange_calendar_days

        try:
            exchange_calendar_days(calendar)
        except NoDataError as exc:
            problems.append(f"{path}: calendar: {exc}")
    if isinstance(data.get("etf_map"), str) and not Path(data["etf_map"]).exists():
        problems.append(f"{path}: etf_map: {data['etf_map']} not found (give a path relative to the universe "
                        "file, or leave etf_map out for index level)")
    if problems:
        return None, problems
    universe = Universe.model_validate(data)
    if universe.etf_map:
        problems += _etf_map_problems(path, universe)
    elif universe.core_etf:
        problems.append(f"{path}: core_etf: {universe.core_etf} is given but there is no etf_map; at index "
                        "level the core holds the benchmark index itself (remove core_etf or add the map)")
    return (universe if not problems else None), problems


def _etf_map_problems(path: Path, universe: Universe) -> list[str]:
    from allocator.etf_map import load_etf_map

    try:
        etf_map = load_etf_map(universe.etf_map)
    except ConfigError as exc:
        return [f"{path}: etf_map: {exc}"]
    codes = set(universe.codes)
    return [f"{path}: etf_map: industry {i.code} is not an industry of the universe" for i in etf_map.industry
            if i.code not in codes]


def data_inputs(store, universe: Universe) -> list[Input]:  # type: ignore[no-untyped-def]
    """What the store holds of each model input for ``universe`` (a few COUNT queries)."""
    codes = universe.codes
    marks = ", ".join(f":c{i}" for i in range(len(codes)))
    params = {f"c{i}": c for i, c in enumerate(codes)}

    def one(sql: str, p: dict[str, object] | None = None) -> int:
        frame = store.read(sql, p)
        return int(frame.iloc[0, 0] or 0) if len(frame) else 0

    with_bars = one(f"SELECT COUNT(DISTINCT code) FROM daily_bar WHERE code IN ({marks})", params)
    with_amount = one(f"SELECT COUNT(DISTINCT code) FROM daily_bar WHERE code IN ({marks}) "
                      "AND amount IS NOT NULL", params)
    bench = one("SELECT COUNT(*) FROM daily_bar WHERE code = :b", {"b": universe.benchmark_price})
    out = [
        Input("industries", with_bars > 0,
              f"{with_bars} of {len(codes)} industries have bars" if with_bars else
              "no industry bars: import them (data import --kind industry) or build them from member "
              "stocks (sector-index --store)"),
        Input("benchmark", bench > 0, f"{universe.benchmark_price}: {bench:,} bars" if bench else
              f"no bars for the benchmark {universe.benchmark_price}: import them (data import --kind benchmark)"),
        Input("amount", with_amount > 0, f"{with_amount} of {len(codes)} industries carry turnover (amount)"
              if with_amount else "the industry bars carry no turnover (amount column)"),
    ]
    spec = universe.classification
    if spec is None:
        out.append(Input("classification", False, "the universe declares no [classification]"))
        members = 0
    elif spec.kind == "members":
        members = one("SELECT COUNT(DISTINCT code) FROM sector_membership WHERE scheme = :s", {"s": spec.scheme})
        out.append(Input("classification", members > 0, f"{members:,} stocks in scheme {spec.scheme!r}" if members
                         else f"no memberships under scheme {spec.scheme!r}: import them "
                              "(data import --kind classification, code,start_date,sector)"))
    else:
        members = one("SELECT COUNT(DISTINCT code) FROM classification")
        out.append(Input("classification", members > 0, f"{members:,} stocks with SW codes" if members
                         else "no SW classification stored: load it (data load-bundled or data import "
                              "--kind classification)"))
    # Member stocks: those the universe's own memberships, else the SW classification, name.
    if spec is not None and spec.kind == "members":
        member_rows, member_params = "SELECT DISTINCT code FROM sector_membership WHERE scheme = :s", {"s": spec.scheme}
    else:
        member_rows, member_params = "SELECT DISTINCT code FROM classification", None

    def of_members(table: str) -> int:
        return one(f"SELECT COUNT(DISTINCT t.code) FROM {table} t JOIN ({member_rows}) m ON m.code = t.code",
                   member_params)

    stocks = of_members("stock_bar")
    out.append(Input("stocks", stocks > 0, f"{stocks:,} member stocks have bars" if stocks
                     else "no member stock bars: import them (data import --kind stock)"))
    funds = of_members("fundamental")
    out.append(Input("fundamentals", funds > 0, f"{funds:,} member stocks have reported financials" if funds
                     else "no reported financials of member stocks: import them (data import --kind fundamentals)"))
    return out
