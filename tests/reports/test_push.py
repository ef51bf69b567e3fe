"""Pushing the digest: Telegram and Feishu against a loopback HTTP server, e-mail against a
loopback aiosmtpd server. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from allocator.config import PushSettings, load_settings
from allocator.errors import AllocatorError, ConfigError
from reports.push import (ENV, TELEGRAM_LIMIT, EmailConfig, FeishuConfig, PushConfig, PushConfigError,
                          PushError, RetryPolicy, TelegramConfig, digest_subject, push_digest,
                          send_email, send_feishu, send_telegram, split_text)

TOKEN = "123456789:AAH-super-secret-bot-token"
HOOK_KEY = "5f0c9e7a-hook-secret-key"
SIGN_SECRET = "feishu-signing-secret-xyz"
SMTP_PASSWORD = "smtp-pa55w0rd-secret"
SECRETS = (TOKEN, HOOK_KEY, SIGN_SECRET, SMTP_PASSWORD)

TEXT = ("申万一级行业动量日报 2020-06-30\n强势前5：\n   1. 电子  5日+3.2%  得分 +2.15%  买入 🚀\n"
        "建议：维持配置 — keep the allocation")
FAST = RetryPolicy(retries=2, backoff_s=0.0, timeout_s=5.0)

_REAL_CONNECT = socket.socket.connect


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replaces the suite-wide guard: loopback connections only, and no ALLOCATOR_* settings from
    the developer's environment."""

    def loopback_only(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"tests must not touch the network (tried {host!r})")
        return _REAL_CONNECT(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("ALLOCATOR_CONFIG", raising=False)


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# ------------------------------------------------------------------ loopback HTTP API


class FakeApi:
    """What the loopback server does: fail with the ``fail`` statuses, then answer the ``queue``
    replies in turn, then always ``reply``."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.requests: list[dict[str, Any]] = []
        self.fail: list[int] = []
        self.queue: list[tuple[int, dict[str, Any]]] = []
        self.reply: tuple[int, dict[str, Any]] = (200, {"ok": True})
        self.delay = 0.0

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r["json"] for r in self.requests]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        api: FakeApi = self.server.api  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        api.requests.append({"path": self.path, "content_type": self.headers["Content-Type"],
                             "json": json.loads(raw.decode("utf-8"))})
        if api.delay:
            time.sleep(api.delay)
        if api.fail:
            status, payload = api.fail.pop(0), {"ok": False, "error_code": 0, "description": "busy"}
        elif api.queue:
            status, payload = api.queue.pop(0)
        else:
            status, payload = api.reply
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout test)
            pass

    def log_message(self, *args: Any) -> None:  # keep the request line (with the token) quiet
        pass


@pytest.fixture
def api() -> Iterator[FakeApi]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    fake = FakeApi(f"http://127.0.0.1:{server.server_address[1]}")
    server.api = fake  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(5)


def telegram(api: FakeApi) -> TelegramConfig:
    return TelegramConfig(bot_token=TOKEN, chat_id="-1001234", api_base=api.base)


def feishu(api: FakeApi, secret: str = "") -> FeishuConfig:
    return FeishuConfig(webhook_url=f"{api.base}/open-apis/bot/v2/hook/{HOOK_KEY}", secret=secret)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ Telegram


def test_telegram_delivers_the_text_intact(api: FakeApi) -> None:
    assert send_telegram(TEXT, telegram(api), FAST) == 1
    (req,) = api.requests
    assert req["path"] == f"/bot{TOKEN}/sendMessage"
    assert req["content_type"].startswith("application/json")
    assert req["json"] == {"chat_id": "-1001234", "text": TEXT}


def test_telegram_splits_a_long_digest_on_lines_in_order(api: FakeApi) -> None:
    lines = [f"{n:04d} 行业动量 industry momentum line {'数据' * (n % 13)}" for n in range(400)]
    text = "\n".join(lines)
    assert len(text) > 3 * TELEGRAM_LIMIT
    n = send_telegram(text, telegram(api), FAST)
    parts = [b["text"] for b in api.bodies]
    assert n == len(parts) >= 4
    assert all(len(p) <= TELEGRAM_LIMIT for p in parts)
    assert "\n".join(parts) == text  # every line, in order, none cut


def test_split_text_cuts_an_overlong_line_and_keeps_everything() -> None:
    line = "动" * 10_000
    parts = split_text(f"head\n{line}\ntail", 4096)
    assert all(len(p) <= 4096 for p in parts)
    assert parts[0] == "head" and "".join(parts[1:]) == f"{line}\ntail"
    assert split_text("a\nb", 10) == ["a\nb"]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_transient_failures_are_retried_then_succeed(api: FakeApi, status: int) -> None:
    api.fail = [status, status]
    assert send_telegram(TEXT, telegram(api), FAST) == 1
    assert len(api.requests) == 3
    assert all(b["text"] == TEXT for b in api.bodies)


def test_retries_stop_at_the_bound_with_one_clear_error(api: FakeApi, capsys) -> None:  # type: ignore[no-untyped-def]
    api.fail = [500] * 10
    with pytest.raises(PushError) as err:
        send_telegram(TEXT, telegram(api), FAST)
    assert len(api.requests) == 3  # 1 + retries
    msg = str(err.value)
    assert "telegram" in msg and "HTTP 500" in msg and "3 attempts" in msg
    assert f"{api.base}/bot***/sendMessage" in msg and "\n" not in msg
    assert isinstance(err.value, AllocatorError) and err.value.__cause__ is None
    assert_no_secrets(msg, repr(err.value), *capsys.readouterr())


def test_backoff_doubles_between_attempts() -> None:
    slept: list[float] = []
    cfg = TelegramConfig(bot_token=TOKEN, chat_id="1", api_base=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(PushError) as err:
        send_telegram(TEXT, cfg, RetryPolicy(retries=3, backoff_s=0.5, timeout_s=2), sleep=slept.append)
    assert slept == [0.5, 1.0, 2.0]  # no wait after the last attempt
    assert "4 attempts" in str(err.value) and "ConnectionRefusedError" in str(err.value)
    assert_no_secrets(str(err.value))


def test_a_timeout_is_retried(api: FakeApi) -> None:
    api.delay = 0.5
    with pytest.raises(PushError, match="timed out.*2 attempts"):
        send_telegram(TEXT, telegram(api), RetryPolicy(retries=1, backoff_s=0, timeout_s=0.1))
    assert len(api.requests) == 2


def test_a_bad_token_is_not_retried(api: FakeApi, capsys) -> None:  # type: ignore[no-untyped-def]
    api.reply = (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    with pytest.raises(PushError) as err:
        send_telegram(TEXT, telegram(api), FAST)
    assert len(api.requests) == 1
    msg = str(err.value)
    assert "HTTP 401 Unauthorized" in msg and "not retried" in msg
    assert "check ALLOCATOR_TELEGRAM_BOT_TOKEN" in msg
    assert_no_secrets(msg, *capsys.readouterr())


def test_an_api_rejection_in_a_200_reply_is_not_retried(api: FakeApi) -> None:
    api.reply = (200, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    with pytest.raises(PushError, match="chat not found.*not retried") as err:
        send_telegram(TEXT, telegram(api), FAST)
    assert len(api.requests) == 1
    assert_no_secrets(str(err.value))


def test_a_failure_midway_says_how_many_messages_went(api: FakeApi) -> None:
    text = "\n".join("x" * 100 for _ in range(100))  # three messages
    api.queue = [(200, {"ok": True}), (400, {"ok": False, "description": "Bad Request: message is too long"})]
    with pytest.raises(PushError, match=r"message 2 of 3; 1 sent before it\): HTTP 400 Bad Request"):
        send_telegram(text, telegram(api), FAST)
    assert len(api.requests) == 2


# ------------------------------------------------------------------ Feishu


def test_feishu_posts_a_text_message(api: FakeApi) -> None:
    api.reply = (200, {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"})
    assert send_feishu(TEXT, feishu(api), FAST) == 1
    (req,) = api.requests
    assert req["path"] == f"/open-apis/bot/v2/hook/{HOOK_KEY}"
    assert req["json"] == {"msg_type": "text", "content": {"text": TEXT}}


def test_feishu_signs_when_a_secret_is_set(api: FakeApi) -> None:
    api.reply = (200, {"code": 0, "msg": "success", "data": {}})
    before = int(time.time())
    send_feishu(TEXT, feishu(api, SIGN_SECRET), FAST)
    body = api.bodies[0]
    ts = int(body["timestamp"])
    assert before <= ts <= int(time.time()) + 1
    key = f"{body['timestamp']}\n{SIGN_SECRET}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == expected
    assert body["msg_type"] == "text" and body["content"] == {"text": TEXT}
    assert SIGN_SECRET not in json.dumps(body)


def test_feishu_rejection_is_clear_and_redacted(api: FakeApi, capsys) -> None:  # type: ignore[no-untyped-def]
    api.reply = (200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour "
                                             "from current time", "data": {}})
    with pytest.raises(PushError) as err:
        send_feishu(TEXT, feishu(api, SIGN_SECRET), FAST)
    assert len(api.requests) == 1
    msg = str(err.value)
    assert "feishu" in msg and "code 19021" in msg and "ALLOCATOR_FEISHU_SECRET" in msg
    assert f"{api.base}/***" in msg
    assert_no_secrets(msg, *capsys.readouterr())


def test_feishu_5xx_is_retried_up_to_the_bound(api: FakeApi) -> None:
    api.fail = [502] * 5
    with pytest.raises(PushError, match=r"HTTP 502.*\(3 attempts\)") as err:
        send_feishu(TEXT, feishu(api), FAST)
    assert len(api.requests) == 3
    assert_no_secrets(str(err.value))


# ------------------------------------------------------------------ e-mail


class SmtpCapture:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.data_replies: list[str] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self.sessions: set[int] = set()  # SMTP connections that tried to log in

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        self.sessions.add(id(session))
        ok = auth_data.login == b"robot" and auth_data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpCapture, int]]:
    capture = SmtpCapture()
    port = free_port()
    controller = Controller(capture, hostname="127.0.0.1", port=port, authenticator=capture.authenticate,
                            auth_require_tls=False)
    controller.start()
    yield capture, port
    controller.stop()


def email_config(port: int, password: str = SMTP_PASSWORD) -> EmailConfig:
    return EmailConfig(host="127.0.0.1", port=port, username="robot", password=password,
                       sender="allocator@example.test", recipients=("a@example.test", "b@example.test"),
                       starttls=False)


def test_email_arrives_as_utf8_plain_text(smtp) -> None:  # type: ignore[no-untyped-def]
    capture, port = smtp
    assert send_email(TEXT, digest_subject("2020-06-30"), email_config(port), FAST) == 1
    (sender, rcpts, raw), = capture.messages
    assert sender == "allocator@example.test" and rcpts == ["a@example.test", "b@example.test"]
    msg = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"] == "动量监控 / Momentum monitor 2020-06-30"
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
    assert msg.get_content().rstrip("\n") == TEXT
    assert capture.logins == [(b"robot", SMTP_PASSWORD.encode())]
    assert SMTP_PASSWORD.encode() not in raw


def test_email_bad_password_is_not_retried_and_not_shown(smtp, capsys) -> None:  # type: ignore[no-untyped-def]
    capture, port = smtp
    with pytest.raises(PushError) as err:
        send_email(TEXT, "s", email_config(port, password=SMTP_PASSWORD + "-wrong"), FAST)
    assert len(capture.sessions) == 1 and not capture.messages  # one connection: no retry
    msg = str(err.value)
    assert "login refused" in msg and "535" in msg and "ALLOCATOR_SMTP_PASSWORD" in msg
    assert SMTP_PASSWORD not in msg
    assert_no_secrets(msg, *capsys.readouterr())


def test_email_transient_4xx_is_retried(smtp) -> None:  # type: ignore[no-untyped-def]
    capture, port = smtp
    capture.data_replies = ["451 4.3.0 try again later", "451 4.3.0 try again later"]
    assert send_email(TEXT, "s", email_config(port), FAST) == 1
    assert len(capture.sessions) == 3 and len(capture.messages) == 1


def test_email_permanent_5xx_is_not_retried(smtp) -> None:  # type: ignore[no-untyped-def]
    capture, port = smtp
    capture.data_replies = ["554 5.7.1 message refused"] * 3
    with pytest.raises(PushError, match=r"554 5\.7\.1 message refused \(not retried\)"):
        send_email(TEXT, "s", email_config(port), FAST)
    assert len(capture.sessions) == 1


def test_email_unreachable_server_retries_to_the_bound() -> None:
    with pytest.raises(PushError, match=r"smtp://127\.0\.0\.1:\d+: ConnectionRefusedError.*3 attempts.*"
                                        "ALLOCATOR_SMTP_HOST") as err:
        send_email(TEXT, "s", email_config(free_port()), FAST)
    assert_no_secrets(str(err.value))


# ------------------------------------------------------------------ configuration


@pytest.mark.parametrize(("channel", "needles"), [
    ("telegram", ["push.telegram.bot_token", "push.telegram.chat_id", "ALLOCATOR_TELEGRAM_BOT_TOKEN",
                  "ALLOCATOR_TELEGRAM_CHAT_ID"]),
    ("feishu", ["push.feishu.webhook_url", "ALLOCATOR_FEISHU_WEBHOOK"]),
    ("email", ["push.email.host", "push.email.sender", "push.email.recipients", "ALLOCATOR_SMTP_HOST",
               "ALLOCATOR_SMTP_FROM", "ALLOCATOR_SMTP_TO"]),
])
def test_missing_configuration_names_keys_and_env_vars(channel: str, needles: list[str]) -> None:
    config = PushConfig.from_settings(load_settings().push, environ={})
    with pytest.raises(PushConfigError) as err:
        push_digest(channel, TEXT, "2020-06-30", config)
    assert isinstance(err.value, ConfigError)
    for needle in needles:
        assert needle in str(err.value)


def test_environment_overrides_the_config_file(tmp_path: Path) -> None:
    f = tmp_path / "push.toml"
    f.write_text('[push]\nretries = 1\nbackoff_s = 0\n[push.telegram]\nbot_token = "from-file"\n'
                 'chat_id = 42\n[push.email]\nhost = "mail.example.test"\nrecipients = ["x@example.test"]\n')
    settings = load_settings(f).push
    env = {"ALLOCATOR_TELEGRAM_BOT_TOKEN": TOKEN, "ALLOCATOR_SMTP_PORT": "2525",
           "ALLOCATOR_SMTP_TO": "a@example.test, b@example.test", "ALLOCATOR_SMTP_PASSWORD": SMTP_PASSWORD,
           "ALLOCATOR_FEISHU_WEBHOOK": ""}
    config = PushConfig.from_settings(settings, environ=env)
    assert config.telegram.bot_token == TOKEN and config.telegram.chat_id == "42"
    assert config.email.host == "mail.example.test" and config.email.port == 2525
    assert config.email.recipients == ("a@example.test", "b@example.test")
    assert config.retry == RetryPolicy(retries=1, backoff_s=0.0, timeout_s=10.0)
    assert config.feishu.webhook_url == ""  # an empty variable does not override
    assert_no_secrets(repr(config), repr(settings), str(load_settings(f)))
    with pytest.raises(PushConfigError, match="ALLOCATOR_SMTP_PORT"):
        PushConfig.from_settings(settings, environ={"ALLOCATOR_SMTP_PORT": "smtp"})


@pytest.mark.parametrize(("text", "needle"), [
    ("[push.telegram]\nbot_tokn = 'x'\n", "push.telegram.bot_tokn"),
    ("[push]\nretries = -1\n", "push.retries"),
    ("[push.email]\nssl = true\n", "push.email"),  # starttls is on by default: exclusive
])
def test_bad_push_tables_name_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(f)
    assert str(f) in str(err.value) and needle in str(err.value)


def test_defaults_hold_no_secrets() -> None:
    p = load_settings().push
    assert p == PushSettings() and p.retries == 3 and p.backoff_s == 1.0 and p.timeout_s == 10.0
    assert p.telegram.api_base == "https://api.telegram.org"
    assert not p.telegram.bot_token.get_secret_value() and not p.feishu.webhook_url.get_secret_value()


def test_a_malformed_webhook_url_is_a_config_error_without_its_value() -> None:
    cfg = FeishuConfig(webhook_url=f"ftp://example.test/hook/{HOOK_KEY}")
    with pytest.raises(PushConfigError, match="ALLOCATOR_FEISHU_WEBHOOK") as err:
        send_feishu(TEXT, cfg, FAST)
    assert_no_secrets(str(err.value))


# ------------------------------------------------------------------ the CLI


@pytest.fixture(scope="module")
def digest_db(tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    """31 synthetic industries and the CSI 300 for the first half of 2020."""
    from allocator.calendar import akshare_calendar_days
    from allocator.config import load_universe
    from allocator.store import Store
    from tests.synthetic import synthetic_bars

    u = load_universe("cn_sw_l1")
    cal = akshare_calendar_days()
    days = cal[(cal >= pd.Timestamp("2019-10-08")) & (cal <= pd.Timestamp("2020-06-30"))]
    from tests.dbkit import current_backend

    url = current_backend().new_url("digest")
    store = Store(url)
    store.init_schema()
    store.upsert("calendar", pd.DataFrame({"date": cal[cal.year <= 2020]}))
    store.upsert("instruments", pd.concat([
        pd.DataFrame({"code": u.codes, "kind": "industry", "name": [i.name for i in u.industries],
                      "name_en": [i.name_en for i in u.industries]}),
        pd.DataFrame({"code": [u.benchmark_price, u.benchmark_total_return], "kind": "benchmark",
                      "name": ["沪深300", "沪深300全收益"]}),
    ], ignore_index=True))
    store.upsert("bars", synthetic_bars(u.codes + [u.benchmark_price, u.benchmark_total_return], days))
    return url


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    from app.cli import main

    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_monitor_pushes_to_feishu(api: FakeApi, digest_db: str, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    api.reply = (200, {"code": 0, "msg": "success", "data": {}})
    monkeypatch.setenv("ALLOCATOR_FEISHU_WEBHOOK", f"{api.base}/open-apis/bot/v2/hook/{HOOK_KEY}")
    code, out, err = run_cli(["--db", digest_db, "monitor", "--date", "2020-06-30", "--push", "feishu"], capsys)
    assert code == 0, err
    (body,) = api.bodies
    sent = body["content"]["text"]
    assert sent.startswith("申万一级行业动量日报 2020-06-30") and "建议：" in sent
    assert out == f"{sent}\npushed the digest for 2020-06-30 to feishu (1 message(s))\n"
    assert_no_secrets(out, err)


def test_cli_push_failure_is_one_line_and_nonzero(api: FakeApi, digest_db: str, tmp_path: Path,
                                                  monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    api.fail = [500] * 10
    cfg = tmp_path / "fast.toml"
    cfg.write_text("[push]\nretries = 1\nbackoff_s = 0\n")
    monkeypatch.setenv("ALLOCATOR_FEISHU_WEBHOOK", f"{api.base}/open-apis/bot/v2/hook/{HOOK_KEY}")
    monkeypatch.setenv("ALLOCATOR_FEISHU_SECRET", SIGN_SECRET)
    code, out, err = run_cli(["--db", digest_db, "--config", str(cfg), "monitor", "--date", "2020-06-30",
                              "--push", "feishu"], capsys)
    assert code == PushError.exit_code and len(api.requests) == 2
    assert err.count("\n") == 1 and err.startswith("error: push to feishu failed")
    assert "HTTP 500" in err and "2 attempts" in err
    assert "pushed" not in out
    assert_no_secrets(out, err)


def test_cli_push_without_configuration(digest_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(["--db", digest_db, "monitor", "--date", "2020-06-30", "--push", "telegram"], capsys)
    assert code == ConfigError.exit_code
    assert "ALLOCATOR_TELEGRAM_BOT_TOKEN" in err and "ALLOCATOR_TELEGRAM_CHAT_ID" in err
