"""The guarded akshare caller against a fake akshare module (tests/fixtures/akshare): no network, ever.

Retries, back-off, timeout, throttle, "no data" answers, network-failure classification, the
circuit breaker of one source and its time limit (what the updater does with them is in
``test_updater.py``).
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from typing import Any

import pytest

from allocator.config import AkshareSettings
from allocator.errors import SourceError
from allocator.sources.akshare_client import AkshareSource, failed_host, network_failure
from allocator.sources.base import SourceUnreachable, TimeLimitReached
from tests.sources.akshare_fakes import ROOT, FakeAkshare, refuse_everything


def test_network_guard_is_active() -> None:
    with pytest.raises(AssertionError, match="network"):
        socket.create_connection(("example.com", 80))
    with pytest.raises(AssertionError, match="network"):
        socket.socket().connect(("127.0.0.1", 9))


def test_importing_the_adapter_does_not_import_akshare() -> None:
    code = ("import sys, allocator.sources.akshare_client as m, allocator.sources.akshare_normalise; "
            "m.AkshareSource(); "  # constructing the caller must stay lazy too
            "sys.exit(1 if 'akshare' in sys.modules else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr or "akshare was imported"


# ==================================================================================================
# The caller: retries, back-off, timeout, throttle
# ==================================================================================================


def test_retry_then_success_with_exponential_backoff(fake: FakeAkshare) -> None:
    slept: list[float] = []
    src = AkshareSource(AkshareSettings(timeout_s=5, retries=3, backoff_s=1.0, throttle_s=0.0), fake,
                        sleep=slept.append, rng=random.Random(7))
    fake.fail("index_hist_sw", ConnectionError("('Connection aborted.', RemoteDisconnected())"), times=2)
    bars = src.sw_bars("801010.SI")
    assert len(bars) == 39 and len(fake.calls_of("index_hist_sw")) == 3
    assert len(slept) == 2
    assert 0.5 <= slept[0] <= 1.5 and 1.0 <= slept[1] <= 3.0  # backoff * 2**k * jitter in [0.5, 1.5)


def test_exhausted_retries_give_one_line_source_error(fake: FakeAkshare, source: AkshareSource) -> None:
    fake.fail("index_hist_sw", ConnectionError("('Connection aborted.',\n RemoteDisconnected('x'))"), times=9)
    with pytest.raises(SourceError) as err:
        source.sw_bars("801010.SI")
    msg = str(err.value)
    assert msg.startswith("akshare.index_hist_sw(symbol='801010', period='day') failed after 3 tries: "
                          "ConnectionError: ('Connection aborted.', RemoteDisconnected('x'))")
    assert "\n" not in msg and len(fake.calls_of("index_hist_sw")) == 3


def test_timeout_gives_source_error_quickly(fake: FakeAkshare) -> None:
    fake.hang("index_hist_sw", 10.0)
    src = AkshareSource(AkshareSettings(timeout_s=0.2, retries=1, backoff_s=0.0, throttle_s=0.0), fake)
    start = time.monotonic()
    with pytest.raises(SourceError, match=r"failed after 2 tries: TimeoutError: no answer within 0.2 s"):
        src.sw_bars("801010.SI")
    assert time.monotonic() - start < 2.0


def test_throttle_spaces_calls(fake: FakeAkshare) -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    src = AkshareSource(AkshareSettings(throttle_s=1.5, retries=0), fake, sleep=sleep, clock=lambda: now[0])
    src.call("tool_trade_date_hist_sina")
    now[0] += 0.5
    src.call("tool_trade_date_hist_sina")
    assert slept == [pytest.approx(1.0)]


def test_interrupt_is_not_retried(fake: FakeAkshare, source: AkshareSource) -> None:
    fake.fail("index_hist_sw", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        source.sw_bars("801010.SI")
    assert len(fake.calls_of("index_hist_sw")) == 1


def test_unknown_function_and_non_frame_answers(fake: FakeAkshare, source: AkshareSource) -> None:
    with pytest.raises(SourceError, match="akshare has no function no_such_function"):
        source.call("no_such_function")
    fake.edit("tool_trade_date_hist_sina", lambda _f, _kw: None)  # type: ignore[arg-type, return-value]
    with pytest.raises(SourceError, match="returned NoneType, not a DataFrame"):
        source.call("tool_trade_date_hist_sina")


def test_documented_no_data_errors_are_empty_not_retried(fake: FakeAkshare, source: AkshareSource) -> None:
    frame = source.call("stock_zh_index_hist_csindex", symbol="000300", start_date="20150101", end_date="20151231")
    assert frame.empty and len(fake.calls_of("stock_zh_index_hist_csindex")) == 1


# ==================================================================================================
# An unreachable source: classification, circuit breaker, time limit, nothing written
# ==================================================================================================


def requests_error(monkeypatch: pytest.MonkeyPatch, connect_error: BaseException | None,
                   proxy: str | None = None) -> BaseException:
    """The exception real requests/urllib3 raise for a GET of www.swsresearch.com when the name does
    not resolve (``connect_error`` None) or connecting raises ``connect_error``; no packet is sent."""
    import requests

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy",
                "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)

    def getaddrinfo(host: str, port: int, *_a: Any, **_k: Any) -> list[Any]:
        if connect_error is None and host != "127.0.0.1":
            raise socket.gaierror(-2, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    def connect(_sock: socket.socket, _address: Any) -> None:
        raise connect_error  # type: ignore[misc]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    if proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy)
    with pytest.raises(requests.RequestException) as err:
        requests.get("https://www.swsresearch.com/institute-sw/api/index_publish/trend/", timeout=3)
    return err.value


def test_network_failures_are_classified_by_type(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests
    import urllib3

    dns = requests_error(monkeypatch, None)
    assert network_failure(dns) == "DNS lookup failed"
    assert failed_host(dns, "index_hist_sw") == "www.swsresearch.com"
    refused = requests_error(monkeypatch, ConnectionRefusedError(111, "Connection refused"))
    assert network_failure(refused) == "connection refused"
    proxied = requests_error(monkeypatch, ConnectionRefusedError(111, "Connection refused"),
                             proxy="http://user:secret@127.0.0.1:9")
    assert isinstance(proxied, requests.exceptions.ProxyError)
    assert network_failure(proxied) == "cannot connect to the proxy http://127.0.0.1:9 (connection refused)"
    slow = requests_error(monkeypatch, TimeoutError("timed out"))
    assert network_failure(slow) == "connection timed out"
    reset = requests_error(monkeypatch, ConnectionResetError(104, "Connection reset by peer"))
    assert network_failure(reset) == "connection reset or closed by the server"

    assert network_failure(requests.exceptions.ReadTimeout("read timed out")) == "no answer in time"
    assert network_failure(TimeoutError("no answer within 30 s")) == "no answer within 30 s"
    assert network_failure(OSError(101, "Network is unreachable")) == "network is unreachable"
    assert network_failure(socket.gaierror(-3, "Temporary failure in name resolution")) == "DNS lookup failed"
    assert network_failure(urllib3.exceptions.ProtocolError("Connection aborted.")) == \
        "connection reset or closed by the server"
    assert failed_host(TimeoutError("no answer"), "fund_etf_hist_em") == "push2his.eastmoney.com"
    # The host answered (badly): not a network failure.
    for answered in (ValueError("Expecting value: line 1 column 1 (char 0)"), KeyError("data"),
                     TypeError("'NoneType' object is not subscriptable"),
                     requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0),
                     requests.exceptions.HTTPError("502 Server Error"), OSError(2, "No such file"),
                     RuntimeError("Connection refused")):
        assert network_failure(answered) is None, answered


def test_unreachable_call_is_retried_then_the_next_call_tried_once(fake: FakeAkshare) -> None:
    slept: list[float] = []
    src = AkshareSource(AkshareSettings(timeout_s=5, retries=3, backoff_s=1.0, throttle_s=0.0), fake,
                        sleep=slept.append, rng=random.Random(7))
    refuse_everything(fake, ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(SourceUnreachable) as first:
        src.trade_dates()
    assert not first.value.tripped and len(fake.calls) == 4 and len(slept) == 3  # retried with back-off
    assert first.value.host == "finance.sina.com.cn" and first.value.cause == "connection refused"
    assert str(first.value).startswith("akshare.tool_trade_date_hist_sina() failed after 4 tries: ")
    with pytest.raises(SourceUnreachable) as second:
        src.sw_bars("801010.SI")
    assert second.value.tripped and len(fake.calls) == 5 and len(slept) == 3  # once, no back-off
    assert second.value.previous == (first.value,)
    assert "failed after 1 try" in str(second.value)
    # A call that gets an answer closes the breaker again: full retries from then on.
    fake._raise_when.clear()
    src.start_run()
    fake.fail("index_hist_sw", ConnectionRefusedError(111, "Connection refused"), times=2)
    assert len(src.sw_bars("801010.SI")) == 39


def test_time_limit_cuts_back_off_short(fake: FakeAkshare) -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    src = AkshareSource(AkshareSettings(retries=5, backoff_s=10.0, throttle_s=0.0), fake, sleep=sleep,
                        clock=lambda: now[0], rng=random.Random(1))
    fake.fail("index_hist_sw", ValueError("Expecting value"), times=9)
    src.start_run(12.0)
    with pytest.raises(TimeLimitReached,
                       match=r"time limit ran out \(last try: ValueError: Expecting value\)"):
        src.sw_bars("801010.SI")
    assert sum(slept) == pytest.approx(12.0) and len(fake.calls_of("index_hist_sw")) <= 2
