"""Remote data sources. Each adapter normalises to the canonical tables of :mod:`allocator.schema`.

* :mod:`~allocator.sources.base`: the ``Source`` protocol (what the updater needs from a source)
  and the errors a source stops an update with;
* :mod:`~allocator.sources.updater`: the incremental, resumable ``update`` shared by all sources;
* :mod:`~allocator.sources.akshare_client` and :mod:`~allocator.sources.akshare_normalise`: the
  akshare source (guarded caller; one normaliser per akshare function).

Adapters import their client library lazily (inside functions), so importing this package is
cheap and works without the library installed.
"""
