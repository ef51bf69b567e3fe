"""Push a text digest through Telegram, a Feishu custom bot or e-mail (standard library only).

Settings come from the ``[push]`` tables of the config (``allocator.config.PushSettings``) and are
overridden by the environment (``ALLOCATOR_TELEGRAM_BOT_TOKEN`` and friends, see ``ENV``).
A send is tried at most ``1 + retries`` times, with a doubling back-off, on connection errors,
timeouts, HTTP 5xx and 429 (SMTP: 4xx replies); a rejection (bad token, HTTP 4xx, API error,
SMTP 5xx) is a configuration error and is not retried. Failures raise :class:`PushError` (or
:class:`PushConfigError`) with one line naming the channel, what failed, the attempts made and
what to check. Secrets (bot token, webhook URL, signing secret, SMTP password) never appear in a
message: URLs are shown redacted and every message is scrubbed of the secrets before it is raised.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal
from urllib.parse import urlsplit

from allocator.config import PushSettings
from allocator.errors import AllocatorError, ConfigError

Channel = Literal["telegram", "feishu", "email"]
CHANNELS: tuple[Channel, ...] = ("telegram", "feishu", "email")

TELEGRAM_LIMIT = 4096  # characters (UTF-16 code units) per message
FEISHU_LIMIT = 18_000  # UTF-8 bytes of text per message (the request body is capped at 20 KB)

#: Environment variable -> (channel table, key) it overrides.
ENV: dict[str, tuple[str, str]] = {
    "ALLOCATOR_TELEGRAM_BOT_TOKEN": ("telegram", "bot_token"),
    "ALLOCATOR_TELEGRAM_CHAT_ID": ("telegram", "chat_id"),
    "ALLOCATOR_TELEGRAM_API_BASE": ("telegram", "api_base"),
    "ALLOCATOR_FEISHU_WEBHOOK": ("feishu", "webhook_url"),
    "ALLOCATOR_FEISHU_SECRET": ("feishu", "secret"),
    "ALLOCATOR_SMTP_HOST": ("email", "host"),
    "ALLOCATOR_SMTP_PORT": ("email", "port"),
    "ALLOCATOR_SMTP_USER": ("email", "username"),
    "ALLOCATOR_SMTP_PASSWORD": ("email", "password"),
    "ALLOCATOR_SMTP_FROM": ("email", "sender"),
    "ALLOCATOR_SMTP_TO": ("email", "recipients"),
}
_ENV_OF = {v: k for k, v in ENV.items()}


class PushError(AllocatorError):
    """A push failed: the channel was unreachable, kept failing, or rejected the message."""

    exit_code = 5


class PushConfigError(ConfigError):
    """A push channel is not configured, or configured with an unusable value."""


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``1 + retries`` attempts; the wait before re-try k is ``backoff_s * 2**(k-1)``."""

    retries: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 10.0

    @property
    def attempts(self) -> int:
        return 1 + self.retries

    def wait(self, failed_attempt: int, sleep: Callable[[float], None] = time.sleep) -> None:
        if self.backoff_s > 0:
            sleep(self.backoff_s * 2 ** (failed_attempt - 1))


@dataclass(frozen=True)
class TelegramConfig:
    bot_token: str = field(default="", repr=False)
    chat_id: str = ""
    api_base: str = "https://api.telegram.org"


@dataclass(frozen=True)
class FeishuConfig:
    webhook_url: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class EmailConfig:
    host: str = ""
    port: int = 0
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    recipients: tuple[str, ...] = ()
    starttls: bool = True
    ssl: bool = False

    @property
    def effective_port(self) -> int:
        return self.port or (465 if self.ssl else 587 if self.starttls else 25)


@dataclass(frozen=True)
class PushConfig:
    """Resolved push settings: config file values overridden by the environment."""

    telegram: TelegramConfig = TelegramConfig()
    feishu: FeishuConfig = FeishuConfig()
    email: EmailConfig = EmailConfig()
    retry: RetryPolicy = RetryPolicy()

    @classmethod
    def from_settings(cls, settings: PushSettings | None = None,
                      environ: Mapping[str, str] | None = None) -> PushConfig:
        """Build from ``settings`` (``Settings.push``; defaults when None) and ``environ``.

        Parameters
        ----------
        settings
            The ``[push]`` tables of the loaded config.
        environ
            Environment to read overrides from (default ``os.environ``); an empty value is unset.
        """
        s = settings if settings is not None else PushSettings()
        env = os.environ if environ is None else environ

        def get(var: str, value: Any) -> Any:
            return env.get(var) or value

        def secret(value: Any) -> str:
            return str(value.get_secret_value())

        port_text = get("ALLOCATOR_SMTP_PORT", s.email.port)
        try:
            port = int(port_text)
            if not 0 <= port <= 65535:
                raise ValueError
        except ValueError:
            raise PushConfigError(f"ALLOCATOR_SMTP_PORT: expected a port number 0-65535, "
                                  f"got {port_text!r}") from None
        to = env.get("ALLOCATOR_SMTP_TO")
        recipients = (tuple(a.strip() for a in to.split(",") if a.strip()) if to
                      else tuple(s.email.recipients))
        return cls(
            telegram=TelegramConfig(
                bot_token=get("ALLOCATOR_TELEGRAM_BOT_TOKEN", secret(s.telegram.bot_token)),
                chat_id=str(get("ALLOCATOR_TELEGRAM_CHAT_ID", s.telegram.chat_id)),
                api_base=get("ALLOCATOR_TELEGRAM_API_BASE", s.telegram.api_base).rstrip("/"),
            ),
            feishu=FeishuConfig(
                webhook_url=get("ALLOCATOR_FEISHU_WEBHOOK", secret(s.feishu.webhook_url)),
                secret=get("ALLOCATOR_FEISHU_SECRET", secret(s.feishu.secret)),
            ),
            email=EmailConfig(
                host=get("ALLOCATOR_SMTP_HOST", s.email.host), port=port,
                username=get("ALLOCATOR_SMTP_USER", s.email.username),
                password=get("ALLOCATOR_SMTP_PASSWORD", secret(s.email.password)),
                sender=get("ALLOCATOR_SMTP_FROM", s.email.sender), recipients=recipients,
                starttls=s.email.starttls, ssl=s.email.ssl,
            ),
            retry=RetryPolicy(s.retries, s.backoff_s, s.timeout_s),
        )


@dataclass(frozen=True)
class PushResult:
    channel: Channel
    messages: int


# ------------------------------------------------------------------ helpers


class _Retryable(Exception):
    """Internal: an attempt failed in a way worth re-trying; ``args[0]`` says how."""


class _Permanent(Exception):
    """Internal: a rejection that re-trying cannot fix; ``args`` are (what failed, what to do)."""


def _require(channel: str, values: Mapping[str, Any]) -> None:
    missing = [k for k, v in values.items() if not v]
    if missing:
        keys = ", ".join(f"push.{channel}.{k}" for k in missing)
        envs = ", ".join(_ENV_OF[(channel, k)] for k in missing)
        raise PushConfigError(f"push to {channel}: not configured: missing {keys}; set {envs} "
                              "or the keys in a --config file")


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every non-empty secret (and the path of a secret URL) replaced by ``***``."""
    parts: set[str] = set()
    for s in secrets:
        if s:
            parts.add(s)
            if "://" in s:
                try:
                    path = urlsplit(s).path
                except ValueError:
                    path = ""
                if len(path) >= 6:
                    parts.add(path)
    for s in sorted(parts, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def _shown_url(url: str) -> str:
    """A URL reduced to scheme, host and port; the path (where webhook keys live) is hidden."""
    try:
        u = urlsplit(url)
        port = f":{u.port}" if u.port else ""
    except ValueError:
        return "***"
    return f"{u.scheme}://{u.hostname or '?'}{port}/***"


def _check_http_url(url: str, what: str) -> None:
    """A usable http(s) URL, else a PushConfigError that names ``what`` (never the value)."""
    try:
        u = urlsplit(url)
        u.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise PushConfigError(f"{what} is not a valid URL") from None
    if u.scheme not in ("http", "https") or not u.hostname:
        raise PushConfigError(f"{what} is not an http(s) URL")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise PushConfigError(f"{what} contains spaces or control characters")


def _reason(exc: BaseException) -> str:
    """A short description of a low-level failure (the caller redacts it)."""
    inner = getattr(exc, "reason", None)
    if isinstance(exc, urllib.error.URLError) and isinstance(inner, BaseException):
        exc = inner
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


def _api_text(body: bytes) -> str:
    """The error description a JSON API reply carries, if any (cut short)."""
    try:
        d = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(d, dict):
        return ""
    for key in ("description", "msg", "StatusMessage", "message"):
        if isinstance(d.get(key), str) and d[key]:
            return str(d[key])[:200]
    return ""


def _json_dict(body: bytes) -> dict[str, Any]:
    try:
        d = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    return d if isinstance(d, dict) else {}


def split_text(text: str, limit: int, size: Callable[[str], int] = len) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` on line boundaries.

    Parameters
    ----------
    text
        The text to split.
    limit
        The largest part, in the units of ``size`` (which must be additive over characters).
    size
        How a string is measured (``len`` by default).

    Returns
    -------
    list of str
        The parts in order. The line break at a boundary is dropped, so ``"\\n".join(parts)``
        gives ``text`` back, except that a line longer than ``limit`` is cut into consecutive
        pieces and parts holding only whitespace are left out.
    """
    parts: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        if size(line) > limit:
            if current is not None:
                parts.append(current)
            piece, used = "", 0
            for ch in line:
                w = size(ch)
                if piece and used + w > limit:
                    parts.append(piece)
                    piece, used = "", 0
                piece, used = piece + ch, used + w
            current = piece
            continue
        candidate = line if current is None else f"{current}\n{line}"
        if size(candidate) <= limit:
            current = candidate
        else:
            parts.append(current or "")
            current = line
    if current is not None:
        parts.append(current)
    return [p for p in parts if p.strip()]


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8"))


def _post_json(url: str, payload: Mapping[str, Any], timeout: float) -> tuple[int, bytes]:
    """POST ``payload`` as UTF-8 JSON; (status, body) of a 2xx-4xx reply, else ``_Retryable``."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) checked
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read()
        except (OSError, http.client.HTTPException):
            body = b""
        finally:
            exc.close()
        if exc.code == 429 or exc.code >= 500:
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from None
        return exc.code, body
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _Retryable(_reason(exc)) from None


def _with_retries(send: Callable[[], Any], channel: str, target: str, retry: RetryPolicy,
                  hint: str, secrets: tuple[str, ...], sleep: Callable[[float], None]) -> Any:
    """``send()`` tried up to ``retry.attempts`` times; every failure becomes one PushError."""
    last = ""
    for attempt in range(1, retry.attempts + 1):
        try:
            return send()
        except _Retryable as exc:
            last = str(exc.args[0])
        except _Permanent as exc:
            raise PushError(_redact(f"push to {channel} rejected: {target}: {exc.args[0]} "
                                    f"(not retried); {exc.args[1]}", secrets)) from None
        except PushConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever it is, its text must be scrubbed
            raise PushError(_redact(f"push to {channel} failed: {target}: unexpected "
                                    f"{type(exc).__name__}: {exc}", secrets)) from None
        if attempt < retry.attempts:
            retry.wait(attempt, sleep)
    n = retry.attempts
    raise PushError(_redact(f"push to {channel} failed: {target}: {last} "
                            f"({n} attempt{'s' if n != 1 else ''}); {hint}", secrets))


def _parts_label(shown: str, k: int, n: int) -> str:
    return shown if n == 1 else f"{shown} (message {k} of {n}; {k - 1} sent before it)"


# ------------------------------------------------------------------ channels


def send_telegram(text: str, cfg: TelegramConfig, retry: RetryPolicy = RetryPolicy(),
                  sleep: Callable[[float], None] = time.sleep) -> int:
    """Send ``text`` to a Telegram chat, split on lines into messages of <= 4096 characters.

    Returns
    -------
    int
        The number of messages sent.
    """
    _require("telegram", {"bot_token": cfg.bot_token, "chat_id": cfg.chat_id})
    _check_http_url(cfg.api_base, "push.telegram.api_base (ALLOCATOR_TELEGRAM_API_BASE)")
    _check_http_url(f"{cfg.api_base}/bot{cfg.bot_token}/sendMessage",
                    "ALLOCATOR_TELEGRAM_BOT_TOKEN (push.telegram.bot_token)")
    url = f"{cfg.api_base}/bot{cfg.bot_token}/sendMessage"
    shown = f"{cfg.api_base}/bot***/sendMessage"
    parts = split_text(text, TELEGRAM_LIMIT, _utf16_len)

    def attempt(part: str) -> None:
        status, body = _post_json(url, {"chat_id": cfg.chat_id, "text": part}, retry.timeout_s)
        if status < 300 and _json_dict(body).get("ok") is True:
            return
        detail = _api_text(body) or ("not a Bot API reply" if status < 300 else "")
        hint = ("check ALLOCATOR_TELEGRAM_BOT_TOKEN" if status in (401, 404) else
                "check ALLOCATOR_TELEGRAM_CHAT_ID and that the bot may post in the chat"
                if status in (400, 403) else
                "check ALLOCATOR_TELEGRAM_BOT_TOKEN, ALLOCATOR_TELEGRAM_CHAT_ID and "
                "ALLOCATOR_TELEGRAM_API_BASE")
        raise _Permanent(f"HTTP {status}" + (f" {detail}" if detail else ""), hint)

    hint = "check that the Bot API (ALLOCATOR_TELEGRAM_API_BASE) is reachable, or try later"
    for k, part in enumerate(parts, 1):
        _with_retries(lambda part=part: attempt(part), "telegram",
                      _parts_label(shown, k, len(parts)),
                      retry, hint, (cfg.bot_token,), sleep)
    return len(parts)


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu's webhook signature: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def send_feishu(text: str, cfg: FeishuConfig, retry: RetryPolicy = RetryPolicy(),
                sleep: Callable[[float], None] = time.sleep,
                clock: Callable[[], float] = time.time) -> int:
    """Send ``text`` to a Feishu custom-bot webhook (signed when ``cfg.secret`` is set).

    Returns
    -------
    int
        The number of messages sent.
    """
    _require("feishu", {"webhook_url": cfg.webhook_url})
    _check_http_url(cfg.webhook_url, "ALLOCATOR_FEISHU_WEBHOOK (push.feishu.webhook_url)")
    shown = _shown_url(cfg.webhook_url)
    parts = split_text(text, FEISHU_LIMIT, _utf8_len)

    def attempt(part: str) -> None:
        payload: dict[str, Any] = {"msg_type": "text", "content": {"text": part}}
        if cfg.secret:
            ts = int(clock())
            payload = {"timestamp": str(ts), "sign": feishu_sign(cfg.secret, ts), **payload}
        status, body = _post_json(cfg.webhook_url, payload, retry.timeout_s)
        reply = _json_dict(body)
        code = reply.get("code", reply.get("StatusCode"))
        if status < 300 and code == 0:
            return
        detail = _api_text(body)
        what = f"HTTP {status}"
        if code is not None:
            what += f" code {code}"
        what += f" {detail}" if detail else "" if reply else " (not a webhook reply)"
        hint = ("check ALLOCATOR_FEISHU_SECRET (the bot's signing secret) and the system clock"
                if "sign" in detail.lower() else "check ALLOCATOR_FEISHU_WEBHOOK")
        raise _Permanent(what, hint)

    hint = "check ALLOCATOR_FEISHU_WEBHOOK and that its host is reachable, or try later"
    for k, part in enumerate(parts, 1):
        _with_retries(lambda part=part: attempt(part), "feishu", _parts_label(shown, k, len(parts)),
                      retry, hint, (cfg.webhook_url, cfg.secret), sleep)
    return len(parts)


def digest_subject(date: str) -> str:
    """The e-mail subject of the digest for ``date``."""
    return f"动量监控 / Momentum monitor {date}"


def _smtp_reply(exc: BaseException) -> str:
    code = getattr(exc, "smtp_code", None)
    reply = getattr(exc, "smtp_error", None)
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    if code is None or code == -1:
        return str(reply or exc or type(exc).__name__)[:200]
    return f"{code} {reply or ''}".strip()[:200]


def send_email(text: str, subject: str, cfg: EmailConfig, retry: RetryPolicy = RetryPolicy(),
               sleep: Callable[[float], None] = time.sleep) -> int:
    """Send ``text`` as one plain-text UTF-8 e-mail to ``cfg.recipients``.

    Returns
    -------
    int
        The number of messages sent (1).
    """
    _require("email", {"host": cfg.host, "sender": cfg.sender, "recipients": cfg.recipients})
    if cfg.username and not cfg.password:
        _require("email", {"password": ""})
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="allocator.local")
    msg.set_content(text, charset="utf-8")
    port = cfg.effective_port
    context = ssl.create_default_context()

    def attempt() -> None:
        try:
            if cfg.ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, port, timeout=retry.timeout_s,
                                                      context=context)
            else:
                smtp = smtplib.SMTP(cfg.host, port, timeout=retry.timeout_s)
            with smtp:
                if cfg.starttls:
                    smtp.starttls(context=context)
                if cfg.username:
                    smtp.login(cfg.username, cfg.password)
                refused = smtp.send_message(msg)
        # smtplib's exceptions are OSErrors: the specific ones first.
        except smtplib.SMTPAuthenticationError as exc:
            raise _Permanent(f"login refused: {_smtp_reply(exc)}",
                             "check ALLOCATOR_SMTP_USER and ALLOCATOR_SMTP_PASSWORD") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise _Permanent(f"not supported by the server: {exc}",
                             "check push.email.starttls / push.email.ssl and the port") from None
        except smtplib.SMTPRecipientsRefused as exc:
            detail = "; ".join(f"{a}: {c}" for a, (c, _) in exc.recipients.items())
            if all(400 <= c < 500 for c, _ in exc.recipients.values()):
                raise _Retryable(f"recipients deferred ({detail})") from None
            raise _Permanent(f"recipients refused ({detail})", "check ALLOCATOR_SMTP_TO") from None
        except smtplib.SMTPSenderRefused as exc:
            if 400 <= exc.smtp_code < 500:
                raise _Retryable(f"sender deferred: {_smtp_reply(exc)}") from None
            raise _Permanent(f"sender refused: {_smtp_reply(exc)}",
                             "check ALLOCATOR_SMTP_FROM") from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
            raise _Retryable(f"{type(exc).__name__}: {_smtp_reply(exc)}") from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise _Retryable(_smtp_reply(exc)) from None
            raise _Permanent(_smtp_reply(exc), "check the push.email settings") from None
        except smtplib.SMTPException as exc:
            raise _Permanent(f"{type(exc).__name__}: {exc}",
                             "check the push.email settings") from None
        except ssl.SSLCertVerificationError as exc:
            raise _Permanent(f"TLS certificate not trusted ({exc.verify_message})",
                             "check ALLOCATOR_SMTP_HOST") from None
        except OSError as exc:
            raise _Retryable(_reason(exc)) from None
        if refused:
            raise _Permanent(f"refused for {', '.join(sorted(refused))} (the others received it)",
                             "check ALLOCATOR_SMTP_TO")

    hint = "check ALLOCATOR_SMTP_HOST and ALLOCATOR_SMTP_PORT and that the server is reachable"
    _with_retries(attempt, "email", f"smtp://{cfg.host}:{port}", retry, hint, (cfg.password,),
                  sleep)
    return 1


# ------------------------------------------------------------------ entry point


def push_digest(channel: str, text: str, date: str, config: PushConfig,
                sleep: Callable[[float], None] = time.sleep) -> PushResult:
    """Send the digest ``text`` for ``date`` (``YYYY-MM-DD``) through ``channel``.

    Raises
    ------
    PushConfigError
        The channel is unknown or not configured.
    PushError
        The channel could not be reached in the allowed attempts, or rejected the message.
    """
    if channel not in CHANNELS:
        raise PushConfigError(f"unknown push channel {channel!r}; known: {', '.join(CHANNELS)}")
    if not text.strip():
        raise PushError(f"push to {channel}: the digest for {date} is empty; nothing sent")
    if channel == "telegram":
        n = send_telegram(text, config.telegram, config.retry, sleep)
    elif channel == "feishu":
        n = send_feishu(text, config.feishu, config.retry, sleep)
    else:
        n = send_email(text, digest_subject(date), config.email, config.retry, sleep)
    return PushResult(channel, n)  # type: ignore[arg-type]
