"""Remote data sources. Each adapter normalises to the canonical tables of :mod:`allocator.schema`.

Adapters import their client library lazily (inside functions), so importing this package is
cheap and works without the library installed.
"""
