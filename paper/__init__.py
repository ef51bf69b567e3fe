"""paper package: live paper books of the models, judged against their benchmark.

Importing ``paper`` imports nothing else; import the module you need:

* :mod:`paper.models`    the ledger tables (sqlmodel, shared metadata: import it before
                         ``Store.init_schema()`` so they are created).
* :mod:`paper.ledger`    portfolio definitions, content ids, the book state folded from postings,
                         locked transactional writes of whole days, corrections.
* :mod:`paper.market`    ETF prices and the benchmark as arrays (traded? fill price, mark, ex-dates).
* :mod:`paper.broker`    the simulated broker: corporate actions, fills with costs and lots, marks.
* :mod:`paper.engine`    the daily step and the replay of a range of days (:func:`run_portfolio`).
* :mod:`paper.tracking`  NAV history, the tracking table against the benchmark, ``status``.
* :mod:`paper.check`     ``paper check``: replay the postings and compare with every snapshot.
* :mod:`app.scheduler` ``allocator serve``: APScheduler, job store in the same database.
"""
