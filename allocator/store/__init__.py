"""The market-data store: sqlmodel tables over SQLite (default) or PostgreSQL."""

from allocator.store.db import Store

__all__ = ["Store"]
