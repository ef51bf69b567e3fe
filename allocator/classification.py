"""Stock -> industry of a universe, point in time.

A universe names where its memberships come from (``[classification]``, see
:class:`allocator.config.ClassificationSpec`): its own ``members`` (stock -> sector rows with
effective dates, stored under the universe's scheme), the SW classification mapped by prefix
(``sw_prefix``), or nothing -- then the history is empty and the models that need members say so.
There is no fallback from one to another.

SW by prefix:

The published history (``StockClassifyUse_stock``) mixes classification versions: rows in force
from 2021-07-30 carry SW 2021 codes, older rows carry SW 2014 (or earlier) codes whose two-digit
prefixes do not map one to one onto the 2021 industries (e.g. 21 采掘 split into coal and oil).
SW back-filled the 2021 level-1 indices with the 2021 classification, so a stock's level-1
industry before 2021-07-30 is the one its 2021 code gives (akshare-sources.md section 8). A stock
that left the market before 2021-07-30 has no 2021 code; its old prefix is used where the old
level-1 industry has the same prefix and meaning in 2021, and it is left unmapped otherwise.
"""

from __future__ import annotations

import pandas as pd

from allocator.config import Universe

SW2021_EFFECTIVE = pd.Timestamp("2021-07-30")

# SW 2014 level-1 prefixes whose industry kept its prefix in 2021 (renames only). 21 采掘 was split
# between coal, oil and metals, so it is deliberately absent.
_STABLE_OLD_PREFIXES = frozenset(
    "11 22 23 24 27 28 33 34 35 36 37 41 42 43 45 46 48 49 51 61 62 63 64 65 71 72 73".split()
)


def l1_history(classification: pd.DataFrame, universe: Universe) -> pd.DataFrame:
    """Level-1 industry of every stock from each effective date.

    Parameters
    ----------
    classification
        Rows ``code, start_date, industry_code`` as published.
    universe
        Gives the two-digit class prefix of each industry index.

    Returns
    -------
    DataFrame
        ``code, start_date, industry`` (SW index code, or NA where unknown), sorted by
        ``start_date`` then ``code``.
    """
    by_prefix = {i.class_prefix: i.index_code for i in universe.industries}
    frame = classification[["code", "start_date", "industry_code"]].copy()
    frame["start_date"] = pd.to_datetime(frame["start_date"])
    frame["industry_code"] = frame["industry_code"].astype(str)
    frame = frame.sort_values(["code", "start_date"], kind="stable").reset_index(drop=True)
    prefix = frame["industry_code"].str[:2]
    direct = prefix.map(by_prefix)

    # Codes seen in force from the switch on are 2021-version codes. A row in force on the switch
    # date carries a 2021 code when its code is one of them (unchanged by the migration), or when
    # its prefix kept its meaning.
    codes_2021 = set(frame.loc[frame["start_date"] >= SW2021_EFFECTIVE, "industry_code"])
    valid = frame["industry_code"].isin(codes_2021) | prefix.isin(_STABLE_OLD_PREFIXES)
    before = frame["start_date"] <= SW2021_EFFECTIVE
    in_force_at_switch = frame[before].groupby("code").tail(1)
    industry_2021 = pd.Series(
        direct[in_force_at_switch.index].where(valid[in_force_at_switch.index]).to_numpy(),
        index=in_force_at_switch["code"].to_numpy(),
    )
    industry = direct.where(~before)
    industry[before] = frame.loc[before, "code"].map(industry_2021)
    frame["industry"] = industry.astype("string")
    return (
        frame[["code", "start_date", "industry"]]
        .sort_values(["start_date", "code"], kind="stable")
        .reset_index(drop=True)
    )


HISTORY_COLUMNS = ["code", "start_date", "industry"]


def empty_history() -> pd.DataFrame:
    return pd.DataFrame({"code": pd.Series(dtype=object), "start_date": pd.Series(dtype="datetime64[ns]"),
                         "industry": pd.Series(dtype="string")})


def sector_history(memberships: pd.DataFrame, universe: Universe) -> pd.DataFrame:
    """The universe's own memberships (rows ``code, start_date, sector`` of its scheme) as a
    history; a sector that is not an industry of the universe counts as none (NA)."""
    spec = universe.classification
    frame = memberships
    if "scheme" in frame and spec is not None:
        frame = frame[frame["scheme"] == spec.scheme]
    if frame.empty:
        return empty_history()
    out = pd.DataFrame({"code": frame["code"].astype(object).to_numpy(),
                        "start_date": pd.to_datetime(frame["start_date"]).to_numpy(),
                        "industry": frame["sector"].astype("string").to_numpy()})
    out["industry"] = out["industry"].where(out["industry"].isin(universe.codes))
    return out.sort_values(["start_date", "code"], kind="stable").reset_index(drop=True)


def universe_history(universe: Universe, classification: pd.DataFrame | None,
                     memberships: pd.DataFrame | None) -> pd.DataFrame:
    """The membership history the universe declares (``code, start_date, industry``)."""
    spec = universe.classification
    if spec is None:
        return empty_history()
    if spec.kind == "members":
        return sector_history(memberships if memberships is not None else empty_history(), universe)
    if classification is None or classification.empty:
        return empty_history()
    return l1_history(classification, universe)


def members_on(history: pd.DataFrame, date: object) -> pd.Series:
    """Industry (SW index code) of each stock on ``date``; stocks without a mapping are dropped."""
    t = pd.Timestamp(date)  # type: ignore[arg-type]
    visible = history[history["start_date"] <= t]
    current = visible.groupby("code", sort=False)["industry"].last()
    return current.dropna().astype(str)
