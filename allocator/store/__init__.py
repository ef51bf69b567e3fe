"""The market-data store: sqlmodel tables over SQLite (default) or PostgreSQL."""

from allocator.store.db import Store
from allocator.store.urls import redact_url

__all__ = ["Store", "redact_url"]
