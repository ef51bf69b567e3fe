"""Momentum monitor (strategies.md section 5): the daily strength board and its text digest.

r5, r20, r60 are cumulative returns by geometric compounding of daily returns; score =
0.5 r5 + 0.3 r20 + 0.2 r60. Labels by rank: top 5 strong, 6-15 moderate, bottom 5 weak / avoid,
others neutral. Action: BUY for a top-5 industry whose 20-day average turnover exceeds 10 bn CNY
(price and volume agree), SELL / AVOID for the bottom 5, otherwise HOLD / WATCH. Where turnover is
unknown (SW industries before 2020) the action says so and is never BUY.

Registered as allocating: its book is the weekly variant of the doc, the top ``weekly_holdings``
(3) by score held equally (rebalanced every Friday when run on the weekly schedule).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.base import IndustryScore, MissingInput, StrategyResult, clean_numbers
from strategies.factors import order_best_first, rank_array
from strategies.history import causal_values, column_mean, industry_values, trailing
from strategies.registry import register, run

NAME = "momentum_monitor"
DEFAULTS: dict[str, Any] = {
    "windows": [5, 20, 60],
    "score_weights": [0.5, 0.3, 0.2],
    "strong": 5,
    "moderate_to": 15,
    "weak": 5,
    "buy_turnover_cny": 1.0e10,
    "turnover_window": 20,
    "weekly_holdings": 3,
}

BUY, HOLD, HOLD_UNKNOWN, SELL, NO_DATA = "BUY", "HOLD/WATCH", "HOLD/WATCH (turnover unknown)", "SELL/AVOID", "N/A"
ACTION_ZH = {BUY: "买入", HOLD: "持有/观望", HOLD_UNKNOWN: "持有/观望（成交额未知）", SELL: "卖出/回避",
             NO_DATA: "无数据"}
LABEL_ZH = {"strong": "强势", "moderate": "温和", "neutral": "中性", "weak/avoid": "弱势/回避",
            "unranked": "未排名"}


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    out = dict(DEFAULTS)
    out.update(params or {})
    out["windows"] = [int(w) for w in out["windows"]]
    out["score_weights"] = [float(w) for w in out["score_weights"]]
    if len(out["windows"]) != len(out["score_weights"]):
        raise ValueError("momentum_monitor: windows and score_weights differ in length")
    return out


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None or np.isnan(x) else f"{x * 100:+.{digits}f}%"


def _label(pos: int, n: int, p: Mapping[str, Any]) -> str:
    """Label of the ``pos``-th best (1-based) of ``n``: strong > weak/avoid > moderate > neutral."""
    if pos <= int(p["strong"]):
        return "strong"
    if pos > n - int(p["weak"]):
        return "weak/avoid"
    if pos <= int(p["moderate_to"]):
        return "moderate"
    return "neutral"


def _daily_returns(root: MarketPanel) -> np.ndarray:
    """Dates x industries daily returns as :meth:`MarketPanel.returns` computes them (causal: a
    row uses its own and earlier closes)."""
    return root.returns(root.universe.codes).to_numpy(dtype=float)


def compound_last(returns: np.ndarray, window: int) -> np.ndarray:
    """:func:`strategies.factors.compound` on a dates x codes array: the geometric compounding of
    the last ``window`` rows per column (in date order, as pandas multiplies), NaN if any is
    missing or fewer rows exist."""
    tail = returns[-window:]
    if len(tail) < window:
        return np.full(returns.shape[1], np.nan)
    out = np.prod(1.0 + tail, axis=0) - 1.0
    out[np.isnan(tail).any(axis=0)] = np.nan
    return out


def average_turnover(panel: MarketPanel, window: int) -> np.ndarray:
    """Mean daily amount over the last ``window`` days per industry; NaN unless all are known."""
    amount = trailing(industry_values(panel, "amount"), window)
    mean, count = column_mean(amount)  # as amount.mean() on the frame
    return np.where((count >= window) & (len(amount) >= window), mean, np.nan)


@register(NAME, "Momentum monitor: score 0.5 r5 + 0.3 r20 + 0.2 r60; BUY top 5 with 20-day turnover "
                "> 10 bn CNY; book = weekly top 3 equal weight", allocates=True,
          label=("动量监控", "Momentum monitor"), needs=("amount",),
          sweep_grid={"weekly_holdings": [3, 5, 8]}, robustness_grid={"weekly_holdings": [3, 5]})
def momentum_monitor(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    p = _params(params)
    windows, sw = p["windows"], p["score_weights"]
    asof = panel.last_date
    universe = panel.universe
    codes = universe.codes
    rets = causal_values(panel, "industry_returns", _daily_returns)
    r_arr = {w: compound_last(rets, w) for w in windows}
    score_arr = sum(wt * r_arr[w] for w, wt in zip(windows, sw))
    rank_arr = {f"r{w}": rank_array(r_arr[w]) for w in windows}
    rank_arr["score"] = rank_array(score_arr)
    tw = int(p["turnover_window"])
    amt = clean_numbers(average_turnover(panel, tw))
    thr = float(p["buy_turnover_cny"])
    # Plain Python floats (None: missing) for the per-industry loop.
    r = {w: clean_numbers(v) for w, v in r_arr.items()}
    score = clean_numbers(score_arr)
    ranks = {k: clean_numbers(v) for k, v in rank_arr.items()}

    valid = [j for j in order_best_first(score_arr).tolist() if score[j] is not None]
    invalid = [j for j in range(len(codes)) if score[j] is None]
    n = len(valid)
    held = set(valid[: int(p["weekly_holdings"])])
    weight = 1.0 / len(held) if held else 0.0

    bn = thr / 1e9
    industries = []
    for i, j in enumerate(valid + invalid):
        ind = universe.industries[j]
        a = amt[j]
        known = a is not None
        if i >= n:
            label, action = "unranked", NO_DATA
        else:
            label = _label(i + 1, n, p)
            if label == "strong":
                action = (BUY if a > thr else HOLD) if known else HOLD_UNKNOWN
            elif label == "weak/avoid":
                action = SELL
            else:
                action = HOLD
        pcts = [_pct(r[w][j]) for w in windows]
        rt = ", ".join(f"{w}d {x}" for w, x in zip(windows, pcts))
        rt_zh = "，".join(f"{w}日 {x}" for w, x in zip(windows, pcts))
        if known:
            t_en = f"{tw}-day avg turnover {a / 1e9:.1f} bn CNY"
            t_zh = f"{tw}日日均成交额 {a / 1e8:.0f} 亿元"
        else:
            t_en, t_zh = f"{tw}-day turnover unknown", f"{tw}日成交额未知"
        if label == "unranked":
            en = f"{rt}: not enough daily returns for a score; not ranked"
            zh = f"{rt_zh}：日收益不足，无法计分，未排名"
        else:
            sc = _pct(score[j], 2)
            head_en = f"{rt}; score {sc} (rank {i + 1}/{n}): {label}"
            head_zh = f"{rt_zh}；得分 {sc}（第{i + 1}/{n}名）：{LABEL_ZH[label]}"
            if action == BUY:
                tail_en = f"{t_en} > {bn:.0f} bn, price and volume agree: BUY"
                tail_zh = f"{t_zh} > {thr / 1e8:.0f} 亿元，量价配合：买入"
            elif action == HOLD_UNKNOWN:
                tail_en = f"{t_en}, so no BUY on a guess: HOLD/WATCH (turnover unknown)"
                tail_zh = f"{t_zh}，不凭猜测给出买入：持有/观望（成交额未知）"
            elif label == "strong":
                tail_en = f"{t_en} <= {bn:.0f} bn, volume does not confirm: HOLD/WATCH"
                tail_zh = f"{t_zh} ≤ {thr / 1e8:.0f} 亿元，成交未确认：持有/观望"
            else:
                tail_en = f"{t_en}: {action}"
                tail_zh = f"{t_zh}：{ACTION_ZH[action]}"
            en, zh = f"{head_en}; {tail_en}", f"{head_zh}；{tail_zh}"
        if j in held:
            en += f"; in the weekly top {len(held)}"
            zh += f"；入选周度前{len(held)}"
        factors = {f"r{w}": r[w][j] for w in windows}
        factors.update({"score": score[j], "amount_avg": a})
        industries.append(IndustryScore.from_clean(
            code=ind.index_code, name=ind.name, name_en=ind.name_en, factors=factors,
            ranks={k: v[j] for k, v in ranks.items()},
            composite=score[j], selected=j in held, weight=weight if j in held else 0.0,
            reason_zh=zh, reason_en=en,
            labels={"label": label, "action": action, "turnover": "known" if known else "unknown"},
        ))

    missing = []
    no_amt = tuple(c for c, a in zip(codes, amt) if a is None)
    if no_amt:
        missing.append(MissingInput(
            "amount", no_amt,
            f"{tw}-day average turnover unknown (the industry series carry no amount for the window): "
            "no BUY is "
            "given; a top-5 industry shows HOLD/WATCH (turnover unknown)"))
    for w in windows:
        gone = tuple(c for c, x in zip(codes, r[w]) if x is None)
        if gone:
            missing.append(MissingInput(f"r{w}", gone, f"fewer than {w} daily returns: no score, not ranked"))
    notes = [
        f"Date {asof.date()}: score = " + " + ".join(f"{wt:g} x r{w}" for w, wt in zip(windows, sw))
        + f", returns compounded from daily returns; ranked among {n} industries.",
        f"The book is the weekly variant: the top {int(p['weekly_holdings'])} by score, equal weight "
        "(rebalanced every Friday on the weekly schedule).",
    ]
    if no_amt and len(no_amt) == len(codes):
        notes.append("Turnover is unknown for every industry on this date: the BUY test cannot be run.")
    return StrategyResult(strategy=NAME, asof=asof, industries=tuple(industries),
                          missing_inputs=tuple(missing), params=p, notes=tuple(notes))


# -- digest --------------------------------------------------------------------------------------

def _advice(result: StrategyResult, p: Mapping[str, Any]) -> tuple[str, str, str]:
    acts = [i.labels["action"] for i in result.industries]
    buys = acts.count(BUY)
    unknown = acts.count(HOLD_UNKNOWN)
    if buys >= 3:
        return ("broad_strength", f"{buys} industries flash BUY: broad strength, follow the leaders.",
                f"{buys}个行业出现买入信号：普涨格局，顺势跟随强势行业。")
    if buys == 0:
        if unknown:
            return ("wait_or_defend",
                    f"No BUY: turnover is unknown for {unknown} of the strong industries, so the BUY test "
                    "cannot be run; wait or stay defensive.",
                    f"无买入信号：{unknown}个强势行业成交额未知，无法检验量价；观望或防守。")
        return ("wait_or_defend", "No BUY: strength lacks volume; wait or stay defensive.",
                "无买入信号：强势缺乏成交配合；观望或防守。")
    return ("selective", f"{buys} BUY signal(s): be selective, only the confirmed leaders.",
            f"{buys}个买入信号：精选操作，只跟随量价确认的行业。")


def digest_data(panel: MarketPanel, date: object, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The digest as a JSON-ready dict: top and bottom five, counts, advice in both languages.

    ``params`` overrides ``config/strategies.toml`` ``[momentum_monitor]``.
    """
    result = run(NAME, panel, date, params)
    p = result.params
    ranked = [i for i in result.industries if i.labels["label"] != "unranked"]
    k_top, k_bot = int(p["strong"]), int(p["weak"])
    windows = list(p["windows"])

    def row(pos: int, i: IndustryScore) -> dict[str, Any]:
        d: dict[str, Any] = {"rank": pos, "code": i.code, "name": i.name, "name_en": i.name_en}
        d.update({f"r{w}": i.factors[f"r{w}"] for w in windows})
        d.update({"score": i.factors["score"], "amount_avg": i.factors["amount_avg"],
                  "label": i.labels["label"], "action": i.labels["action"],
                  "action_zh": ACTION_ZH[i.labels["action"]]})
        return d

    top = [row(k + 1, i) for k, i in enumerate(ranked[:k_top])]
    start = max(k_top, len(ranked) - k_bot)
    bottom = [row(k + 1, i) for k, i in enumerate(ranked) if k >= start]
    code, en, zh = _advice(result, p)
    acts = [i.labels["action"] for i in result.industries]
    return {
        "date": result.asof.strftime("%Y-%m-%d"),
        "universe_label": panel.universe.label,
        "universe_label_en": panel.universe.label_en,
        "ranked": len(ranked),
        "top": top,
        "bottom": bottom,
        "buy_count": acts.count(BUY),
        "sell_count": acts.count(SELL),
        "turnover_unknown": [i.code for i in result.industries if i.labels["turnover"] == "unknown"],
        "advice": code,
        "advice_en": en,
        "advice_zh": zh,
        "notes": list(result.notes),
        "params": dict(p),
    }


def daily_digest(panel: MarketPanel, date: object, params: Mapping[str, Any] | None = None,
                 lang: str = "zh") -> str:
    """The daily momentum digest as plain text (``lang``: ``"zh"`` or ``"en"``)."""
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    d = digest_data(panel, date, params)
    windows = list(d["params"]["windows"])
    zh = lang == "zh"

    def line(x: dict[str, Any]) -> str:
        name = x["name"] if zh else x["name_en"]
        rets = "  ".join((f"{w}日" if zh else f"{w}d ") + _pct(x[f"r{w}"]) for w in windows)
        score = ("得分 " if zh else "score ") + _pct(x["score"], 2)
        act = x["action_zh"] if zh else x["action"]
        return f"{x['rank']:>2}. {name}  {rets}  {score}  {act}"

    out = []
    if zh:
        out.append(f"{d['universe_label']}动量日报 {d['date']}")
        out.append(f"强势前{len(d['top'])}：")
    else:
        out.append(f"{d['universe_label_en']} momentum digest {d['date']}")
        out.append(f"Strongest {len(d['top'])}:")
    out += ["  " + line(x) for x in d["top"]]
    out.append(f"弱势后{len(d['bottom'])}：" if zh else f"Weakest {len(d['bottom'])}:")
    out += ["  " + line(x) for x in d["bottom"]]
    out.append(("建议：" + d["advice_zh"]) if zh else ("Advice: " + d["advice_en"]))
    if d["turnover_unknown"]:
        n, tw = len(d["turnover_unknown"]), int(d["params"]["turnover_window"])
        out.append(f"注：{n}个行业{tw}日成交额未知，不据此给出买入。" if zh
                   else f"Note: {tw}-day turnover unknown for {n} industries; no BUY is given on a guess.")
    return "\n".join(out)
