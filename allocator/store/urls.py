"""Database URLs fit to print: the password masked as ``***`` (issue 17, "Secrets stay secret").

Every message, log line and JSON document that shows a database URL shows :func:`redact_url` of
it, never the URL itself: ``postgresql+psycopg://user:secret@host:5432/db`` is shown as
``postgresql+psycopg://user:***@host:5432/db``. A URL without a password (SQLite paths, peer
authentication) is returned unchanged, character for character.
"""

from __future__ import annotations

import re

MASK = "***"

#: ``//user:password@``: the password runs to the *last* ``@`` (greedy), so an unencoded ``@`` in
#: it is masked too; at worst the host is masked with it, never is part of the password shown.
_USERINFO = re.compile(r"(//[^:/?#\s]*):(.*)@", re.DOTALL)
#: ``?password=...`` / ``&password=...`` query parameters (libpq accepts them in the URL).
_QUERY_PASSWORD = re.compile(r"([?&;](?:password|passwd|pwd|pass)=)[^&;#]*", re.IGNORECASE)
#: A URL with credentials inside free text (error messages): ``scheme://user:password@``, the
#: password running to the last ``@`` before whitespace.
_URL_IN_TEXT = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#]*):\S*@")


def _mask_query(url: str) -> str:
    return _QUERY_PASSWORD.sub(lambda m: m.group(1) + MASK, url)


def _fallback(url: str) -> str:
    return _mask_query(_USERINFO.sub(lambda m: f"{m.group(1)}:{MASK}@", url, count=1))


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``; safe on malformed URLs (never raises)."""
    text = str(url)
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(text)
        if parsed.password is None:
            return _mask_query(text)
        if "@" in (parsed.host or ""):
            # An unencoded '@' in the password: SQLAlchemy splits at the first one and would show
            # the rest of the password as part of the host.
            return _fallback(text)
        return _mask_query(parsed.render_as_string(hide_password=True))
    except Exception:  # noqa: BLE001 - a URL that does not parse must still not leak
        return _fallback(text)


def redact_text(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` URL in it masked."""
    return _URL_IN_TEXT.sub(lambda m: f"{m.group(1)}:{MASK}@", str(text))
