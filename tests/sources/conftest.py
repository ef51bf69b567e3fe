"""Fixtures of the source tests: no network, ever; a fake akshare, a source on it, a store.

Helpers and the fake module itself are in :mod:`tests.sources.akshare_fakes`.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from allocator.config import Industry, Universe
from allocator.sources.akshare_client import AkshareSource
from allocator.store import Store
from tests.sources.akshare_fakes import FAST, FakeAkshare, make_store


@pytest.fixture(autouse=True)
def _refuse_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection or resolve a name fails the test loudly."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a test tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def fake() -> Any:
    module = FakeAkshare()
    yield module
    module.release.set()  # let any deliberately hung worker thread finish


@pytest.fixture
def source(fake: FakeAkshare) -> AkshareSource:
    return AkshareSource(FAST, fake)


@pytest.fixture
def universe() -> Universe:
    return Universe(
        name="test", benchmark_price="000300.SH", benchmark_total_return="H00300.CSI",
        industries=(Industry(index_code="801010.SI", name="农林牧渔", name_en="Agriculture", class_prefix="11"),
                    Industry(index_code="801780.SI", name="银行", name_en="Banks", class_prefix="48")),
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return make_store(tmp_path)
