"""engine: what turns a model's weights into a decision or a record.

* :mod:`engine.pipeline`  the one rebalance pipeline: run -> allocate -> price -> plan.
* :mod:`engine.backtest`  the vectorised and the backtrader engines, schedules, results.
* :mod:`engine.research`  IC, Fama-MacBeth, event study, attribution, sweeps and robustness.

It imports the core (``allocator``) and ``strategies``; never ``paper``, ``reports`` or ``app``.
"""
