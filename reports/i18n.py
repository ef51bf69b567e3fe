"""The words of the reports in Chinese and English.

``translate(key, lang, **values)`` formats the entry with ``values``. An unknown key is an error
(a typo in a template should fail a test, not print the key), except for the dynamic families in
:data:`OPEN_PREFIXES`, whose unknown members fall back to the part after the prefix.

Words that depend on the market -- its currency, its benchmark, its lot -- are placeholders
(``{currency}``, ``{benchmark}``, ``{lot}``) filled from :func:`market_words` of the report's
universe; without them the shipped SW L1 universe's words stand.
"""

from __future__ import annotations

from typing import Any

OPEN_PREFIXES = ("model_", "bench_", "window_", "treatment_", "event_", "side_", "quadrant_")

WORDS: dict[str, tuple[str, str]] = {
    # report names and frame
    "monthly_report": ("月度配置报告", "Monthly allocation report"),
    "monthly_title": ("{month} 行业 ETF 配置建议", "ETF allocation for {month}"),
    "backtest_report": ("回测报告", "Backtest report"),
    "backtest_title": ("行业轮动模型回测 {start} 至 {end}", "Industry rotation backtest, {start} to {end}"),
    "paper_report": ("模拟盘跟踪报告", "Paper portfolio review"),
    "paper_title": ("模拟组合 {name} 跟踪回顾", "Paper book {name}: tracking review"),
    "footer": ("ETF 行业轮动配置系统", "ETF allocator"),
    "disclaimer": ("本报告基于公开历史数据与模型计算，仅供研究参考，不构成投资建议。过往表现不代表未来收益；"
                   "模拟盘按收盘价成交并计入交易成本，实际成交可能不同。",
                   "This report is computed from public historical data by the models described; it is research, "
                   "not investment advice. Past performance does not predict future returns. Paper trades fill at "
                   "the close with costs included; real fills may differ."),
    # cover
    "nav": ("净值（{currency}）", "NAV ({currency})"),
    "as_of": ("截至", "as of"),
    "since_inception": ("成立以来收益", "Return since inception"),
    "active": ("超额收益", "Active return"),
    "industries_held": ("持有行业数", "Industries held"),
    "invested": ("投资比例", "invested"),
    "portfolio": ("组合", "Portfolio"),
    "model": ("模型", "Model"),
    "models": ("模型", "Models"),
    "benchmark": ("基准", "Benchmark"),
    "signal_date": ("信号日", "Signal date"),
    "trade_date": ("交易日", "Trade date"),
    "inception": ("成立", "Inception"),
    "period": ("区间", "Period"),
    "costs": ("交易成本", "Costs"),
    "engine": ("回测引擎", "Engine"),
    "level": ("层级", "Level"),
    "schedule": ("调仓频率", "Schedule"),
    # model names
    "bench_H00300.CSI": ("沪深300全收益", "CSI 300 total return"),
    "bench_000300.SH": ("沪深300价格指数", "CSI 300 price index"),
    # tracking table
    "window": ("区间", "Window"),
    "from": ("起", "From"),
    "to": ("止", "To"),
    "days": ("天数", "Days"),
    "book": ("组合", "Book"),
    "te": ("跟踪误差", "TE"),
    "corr": ("相关性", "Corr."),
    "book_dd": ("组合最大回撤", "Book max DD"),
    "bench_dd": ("基准最大回撤", "Bench. max DD"),
    "win_rate": ("月胜率", "Monthly win"),
    "window_life": ("成立以来", "Since inception"),
    "window_1M": ("近1月", "1 month"),
    "window_3M": ("近3月", "3 months"),
    "window_6M": ("近6月", "6 months"),
    "window_YTD": ("今年以来", "Year to date"),
    "window_1Y": ("近1年", "1 year"),
    # recommendation
    "recommendation": ("本月配置建议", "This month's recommendation"),
    "rec_lead": ("模型 {model} 使用截至 {signal} 收盘的数据，于 {trade} 收盘调仓。下表为行业权重、对应 ETF 及按 {lot} 份整手"
                 "计算的目标份额（组合市值 {capital} {currency}）。",
                 "Model {model} used data through the close of {signal}; the book rebalances at the close of "
                 "{trade}. Industry weights, the ETF for each and the shares in lots of {lot} for a book of "
                 "{capital} {currency}:"),
    "industry": ("行业", "Industry"),
    "industries": ("行业数", "Industries"),
    "model_weight": ("模型权重", "Model weight"),
    "weight": ("权重", "Weight"),
    "etf": ("ETF 代码", "ETF"),
    "etf_name": ("ETF 名称", "ETF name"),
    "price": ("价格", "Price"),
    "target_shares": ("目标份额", "Target shares"),
    "planned_shares": ("计划份额", "Planned shares"),
    "value": ("金额（{currency}）", "Value ({currency})"),
    "total": ("合计", "Total"),
    "plan_line": ("调仓前市值 {book} {currency}，调仓前现金 {cash_before} {currency}，调仓后现金 {cash_after} {currency}，"
                  "预计交易成本 {cost} {currency}。",
                  "Book {book} {currency}; cash {cash_before} before and {cash_after} after the trades; expected "
                  "costs {cost} {currency}."),
    "treatment_etf": ("ETF", "ETF"),
    "treatment_proxy": ("代理 ETF", "proxy ETF"),
    "treatment_redistributed": ("无可交易 ETF，权重按比例分配", "no tradable ETF; weight redistributed"),
    "treatment_cash": ("无可交易 ETF，保留现金", "no tradable ETF; held in cash"),
    "treatment_core": ("核心仓位", "core"),
    "treatment_index": ("指数本身", "the index itself"),
    "index_level_note": ("指数层面：本市场没有 ETF 映射，各行业直接以其行业指数持有（名义份额，每手 1 份），"
                         "不是交易所委托。",
                         "Index level: this market has no ETF map, so each industry is held through its own index "
                         "(notional units, lots of 1); these are not exchange orders."),
    "risk_ex_ante": ("按过去 {window} 个交易日的波动估计，本月组合相对 {benchmark} 的预期跟踪误差约为每年 {te}；"
                     "共 {n} 个持仓，最大权重 {top}。",
                     "From the last {window} trading days, this month's book has an expected tracking error of "
                     "about {te} a year against {benchmark}; {n} holdings, the largest {top}."),
    "core_name": ("核心仓位：{benchmark}", "Core: {benchmark}"),
    "construction": ("组合构建", "Construction"),
    "csi300": ("{benchmark}", "the {benchmark}"),
    # why
    "why": ("选择理由", "Why these industries"),
    "why_lead": ("入选行业的因子值、排名与一句话理由（按信号日的时点数据重新计算）。",
                 "Factor values, ranks and the one-line reason of each chosen industry (recomputed from the "
                 "point-in-time data of the signal date)."),
    "inputs_changed": ("注意：数据库中的数据在调仓后有更新，以下因子按当前数据重算，可能与调仓时略有不同。",
                       "Note: the stored data changed after the rebalance; the factors below are recomputed on "
                       "the current data and may differ slightly from those the rebalance used."),
    "factors": ("因子值", "Factor values"),
    "ranks": ("截面排名（0-1）", "Ranks (0-1)"),
    "quadrant_UNKNOWN": ("未知", "Unknown"),
    "composite": ("综合得分", "Composite"),
    "reason": ("理由", "Reason"),
    "crowding_dropped": ("因拥挤度剔除的行业", "Dropped for crowding"),
    "no_crowding_drop": ("本月没有行业因拥挤度被剔除。", "No industry was dropped for crowding this month."),
    # rotation
    "rotation_map": ("行业轮动图", "Relative rotation of the 31 industries"),
    "rrg_lead": ("相对{benchmark}的相对强弱（横轴）与其动量（纵轴），截至 {date}，每条轨迹为最近若干交易日。",
                 "Relative strength against the {benchmark} (x) and its momentum (y) as of {date}; each trail "
                 "covers the last trading days."),
    "rrg_caption": ("加深显示的为本月持有行业。", "Industries held this month are drawn darker."),
    "quadrant_LEADING": ("领先", "Leading"),
    "quadrant_WEAKENING": ("转弱", "Weakening"),
    "quadrant_LAGGING": ("落后", "Lagging"),
    "quadrant_IMPROVING": ("改善", "Improving"),
    # record
    "record": ("成立以来表现", "Record since inception"),
    "record_lead": ("组合自 {start} 至 {end} 的表现，基准为 {benchmark}（同口径全收益）。",
                    "The book from {start} to {end} against {benchmark} (like for like, total return)."),
    "nav_caption": ("组合与 {benchmark} 净值（起点归一）", "Book and {benchmark}, rebased to 1"),
    "dd_caption": ("回撤（相对前高）", "Drawdown from the running peak"),
    "holdings_at": ("{date} 持仓", "Holdings on {date}"),
    "shares": ("份额", "Shares"),
    "unrealised": ("浮动盈亏", "Unrealised P&L"),
    # trades
    "trades": ("本月成交", "Trades this month"),
    "date": ("日期", "Date"),
    "side": ("方向", "Side"),
    "fee": ("费用", "Fee"),
    "side_buy": ("买入", "buy"),
    "side_sell": ("卖出", "sell"),
    "no_trades": ("本月无成交。", "No trades this month."),
    "order_events": ("未成交及调整的订单", "Orders carried, reduced or cancelled"),
    "event": ("事件", "Event"),
    "event_carried": ("顺延", "carried"),
    "event_reduced": ("减量", "reduced"),
    "event_cancelled": ("撤销", "cancelled"),
    # coverage
    "coverage": ("数据覆盖与缺口", "Data coverage and gaps"),
    "data_as_of": ("数据库中行情数据截至 {date}。", "Market data in the database run to {date}."),
    "missing_inputs": ("模型缺失的输入", "Inputs the model lacked"),
    "input": ("输入", "Input"),
    "treatment": ("处理方式", "Treatment"),
    "known_gaps": ("已知数据缺口", "Known data gaps"),
    "freshness": ("信号日输入数据时效", "Freshness of the inputs at the signal date"),
    "backtest_ends_early": ("注意：数据截至 {end}，早于所选的结束日 {requested}；所有指标均截至 {end}。",
                            "Note: the data end {end}, before the requested end {requested}; every figure "
                            "stops at {end}."),
    "indicative_rebalances": ("仅供参考：{n} 次调仓（{dates}）在输入数据不是最新时进行，其结果不构成交易建议。",
                              "Indicative: {n} rebalance(s) ({dates}) were made on inputs that were not "
                              "current; their outcome is not a recommendation to trade on."),
    "freshness_current": ("信号日 {date} 各项输入（{inputs}）均为最新数据。",
                          "Every input ({inputs}) was current at the signal date {date}."),
    "model_notes": ("模型说明", "Model notes"),
    # risk
    "risk_note": ("风险提示", "Risk note"),
    "risk_concentration": ("集中度：组合持有 {n} 个行业，最大权重为{top}（{weight}）；行业集中会放大单一行业的波动。",
                           "Concentration: {n} industries held, the largest {top} at {weight}; sector "
                           "concentration amplifies single-industry moves."),
    "risk_cash": ("现金：约 {cash} 的资金未投资（模型未给出足够行业或权重上限所致），会在上涨时拖累收益。",
                  "Cash: about {cash} of the book is uninvested (too few industries or capped weights); it "
                  "lags a rising market."),
    "risk_record": ("历史：成立以来年化跟踪误差 {te}，最大回撤 {dd}（基准 {bdd}）。",
                    "Record: annualised tracking error {te} since inception, maximum drawdown {dd} "
                    "(benchmark {bdd})."),
    "risk_proxy": ("部分行业通过代理 ETF 持有或重新分配权重，与行业指数存在跟踪偏差。",
                   "Some industries are held through proxy ETFs or had their weight redistributed; they "
                   "track the industry index imperfectly."),
    "risk_missing": ("部分模型输入缺失（见数据覆盖一节），相关因子未参与计算。",
                     "Some model inputs were missing (see data coverage); those factors did not count."),
    "risk_model": ("模型风险：行业轮动信号基于历史规律，市场风格切换时可能失效。",
                   "Model risk: rotation signals rest on historical regularities and can fail when market "
                   "regimes change."),
    "risk_liquidity": ("流动性：ETF 按日均成交额筛选，但大额申赎或极端行情下仍可能出现冲击成本与折溢价。",
                       "Liquidity: ETFs are screened on average daily turnover, but large orders or stressed "
                       "markets can still meet impact costs and premiums or discounts to NAV."),
    "risk_past": ("过往表现不代表未来收益。", "Past performance does not predict future returns."),
    # backtest report
    "metrics": ("绩效指标", "Metrics"),
    "metrics_lead": ("全区间、样本内（{split} 之前）与样本外（{split} 起）的指标；年化按 252 个交易日，基准为 {benchmark}。",
                     "The whole period, in sample (before {split}) and out of sample (from {split}); annualised "
                     "over 252 trading days, against {benchmark}."),
    "sample": ("样本", "Sample"),
    "whole": ("全区间", "Whole period"),
    "in_sample": ("样本内", "In sample"),
    "out_of_sample": ("样本外", "Out of sample"),
    "annual_return": ("年化收益", "Ann. return"),
    "bench_return": ("基准年化", "Bench. ann."),
    "excess": ("年化超额", "Excess"),
    "ir": ("信息比率", "IR"),
    "sharpe": ("夏普比率", "Sharpe"),
    "max_dd": ("最大回撤", "Max DD"),
    "turnover": ("年换手", "Turnover/yr"),
    "costs_paid": ("累计成本（占平均净值）", "Costs paid (% of mean NAV)"),
    "per_year": ("分年度表现", "Year by year"),
    "year": ("年份", "Year"),
    "return": ("收益", "Return"),
    "bench_short": ("基准", "Bench."),
    "nav_models_caption": ("各模型与基准净值（起点归一）", "Models and benchmark, rebased to 1"),
    "monthly_excess": ("月度超额收益", "Monthly excess return"),
    "heatmap_caption": ("{model}：月度收益减基准月度收益（红为正，绿为负）",
                        "{model}: monthly return minus the benchmark's (red positive, green negative)"),
    "turnover_costs": ("换手与成本", "Turnover and costs"),
    "turnover_lead": ("单边换手按每次调仓的交易额 / 组合市值计；成本为每边 {bps} 个基点。",
                      "One-side turnover is traded value over book value per rebalance; costs are {bps} bp "
                      "per side."),
    "rebalances": ("调仓次数", "Rebalances"),
    "avg_turnover": ("平均单次换手", "Avg. turnover per rebalance"),
    "ic_summary": ("信息系数（IC）", "Information coefficient (IC)"),
    "ic_lead": ("模型综合得分与下一期行业收益的 Spearman 秩相关。", "Spearman rank correlation of the model's "
                "composite score with the next period's industry returns."),
    "ic_mean": ("IC 均值", "Mean IC"),
    "t_stat": ("t 值", "t-stat"),
    "hit_rate": ("IC>0 比例", "Hit rate"),
    "periods": ("期数", "Periods"),
    "attribution": ("Brinson-Fachler 归因", "Brinson-Fachler attribution"),
    "attribution_lead": ("相对沪深300行业权重（由成分股权重与时点行业分类汇总）的配置、选择与交互效应，全区间累计，Carino 方法跨期链接。",
                         "Allocation, selection and interaction against the CSI 300's industry weights (from its "
                         "constituent weights and the point-in-time classification), cumulative over the whole period, "
                         "linked by Carino's method."),
    "allocation_effect": ("配置效应", "Allocation"),
    "selection_effect": ("选择效应", "Selection"),
    "interaction_effect": ("交互效应", "Interaction"),
    "total_effect": ("合计", "Total"),
    "not_available": ("不可用：{reason}", "Not available: {reason}"),
    "backtest_notes": ("回测说明", "Notes"),
    "drawdowns_caption": ("各模型回撤", "Drawdowns of each model"),
    # paper review
    "tracking_review": ("跟踪表现", "Tracking"),
    "active_path": ("累计超额收益路径", "Cumulative active return"),
    "holdings_history": ("持仓历史", "Holdings history"),
    "holdings_history_lead": ("每月末持仓权重（占净值）。", "Weights at each month's end (share of NAV)."),
    "rebalances_all": ("全部调仓记录", "All rebalances"),
    "orders": ("订单", "Orders"),
    "filled": ("已成交", "Filled"),
    "check_ok": ("按记账分录重放的现金、持仓与每日快照全部一致（{snapshots} 个快照，{postings} 条分录）。",
                 "Replaying the postings reproduces cash, positions and every daily snapshot ({snapshots} "
                 "snapshots, {postings} postings)."),
    "check_bad": ("账本核对发现 {n} 处差异，请运行 allocator paper check 查看。",
                  "The ledger check found {n} difference(s); run `allocator paper check` for details."),
    "cash": ("现金", "Cash"),
    "none": ("无", "none"),
}


def model_label(name: str, lang: str) -> str:
    """A model's display name in ``lang``, as the model registered it."""
    from strategies import registry

    return registry.spec(name).label_for(lang)


_CURRENCY_ZH = {"CNY": "元", "HKD": "港元", "USD": "美元", "EUR": "欧元", "JPY": "日元", "GBP": "英镑",
                "VND": "越南盾", "SGD": "新加坡元", "TWD": "新台币", "KRW": "韩元"}
#: The SW L1 universe's market words (reports without a universe, and the shipped default).
_DEFAULT_MARKET = {"zh": {"currency": "元", "benchmark": "沪深300", "lot": 100},
                   "en": {"currency": "CNY", "benchmark": "CSI 300", "lot": 100}}


def market_words(universe: Any, lang: str, lot: int | None = None) -> dict[str, Any]:
    """The placeholders a report of ``universe`` fills: its currency, its price benchmark's name
    and the lot of its orders (``lot``; default one unit at index level, else 100)."""
    cur = universe.currency
    lot = lot if lot is not None else (1 if universe.index_level else (universe.lot_size or 100))
    return {"currency": _CURRENCY_ZH.get(cur, cur) if lang == "zh" else cur,
            "benchmark": universe.benchmark_label(lang), "lot": lot}


def benchmark_name(code: str, lang: str, universe: Any | None = None) -> str:
    """A benchmark's name: the shipped names of the CSI 300 indices, else the universe's name of
    its price benchmark, else the code."""
    if f"bench_{code}" in WORDS:
        return translate(f"bench_{code}", lang)
    if universe is not None and code == universe.benchmark_price:
        return universe.benchmark_label(lang)
    return code


class _Values(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(key: str, lang: str, **values: Any) -> str:
    """The words for ``key`` in ``lang`` ("zh" or "en"), formatted with ``values`` (the market's
    words default to the SW L1 universe's)."""
    entry = WORDS.get(key)
    if entry is None:
        for prefix in OPEN_PREFIXES:
            if key.startswith(prefix):
                return key[len(prefix):]
        raise KeyError(f"no report text for {key!r}")
    text = entry[0] if lang == "zh" else entry[1]
    if "{" not in text:
        return text
    return text.format_map(_Values({**_DEFAULT_MARKET["zh" if lang == "zh" else "en"], **values}))
