"""Issue 17, "Secrets stay secret": a database URL is never shown with its password.

Unit tests of :func:`allocator.store.urls.redact_url`, then every command that shows the URL,
run on a real PostgreSQL cluster whose password is random: the password must appear in no output,
error message, JSON document or log line, and ``***`` must appear where the URL is shown.
"""

from __future__ import annotations

import json
import logging
import traceback
from urllib.parse import quote

import pytest
from click.testing import CliRunner, Result

from app.cli import cli, main
from allocator.store import Store, redact_url
from allocator.store.urls import redact_text

# -- redact_url -----------------------------------------------------------------------------------


def test_password_is_masked() -> None:
    assert (redact_url("postgresql+psycopg://user:s3cret@host:5432/db")
            == "postgresql+psycopg://user:***@host:5432/db")


def test_special_characters_in_an_encoded_password_are_masked() -> None:
    password = "p@ss:w/rd"
    url = f"postgresql+psycopg://user:{quote(password, safe='')}@host:5432/db"
    shown = redact_url(url)
    assert shown == "postgresql+psycopg://user:***@host:5432/db"
    assert quote(password, safe="") not in shown and "ss" not in shown.split("@", 1)[0]


def test_an_unencoded_at_sign_in_the_password_leaks_no_part_of_it() -> None:
    # SQLAlchemy splits at the first '@' and would show "ss" as part of the host.
    shown = redact_url("postgresql://user:p@ss@host/db")
    assert shown == "postgresql://user:***@host/db"
    assert "ss@" not in shown


def test_url_without_password_is_unchanged() -> None:
    for url in ("postgresql+psycopg://user@host:5432/db", "postgresql://host/db",
                "postgresql+psycopg:///db?host=/run/postgresql"):
        assert redact_url(url) == url


def test_sqlite_urls_are_untouched() -> None:
    for url in ("sqlite:///allocator.db", "sqlite:////tmp/a b/c@d.db", "sqlite:///:memory:", "sqlite://",
                "sqlite:////tmp/x%20y.db?mode=ro&uri=true", "sqlite:///C:\\data\\allocator.db"):
        assert redact_url(url) == url


def test_password_query_parameter_is_masked() -> None:
    assert (redact_url("postgresql://host/db?sslmode=require&password=s3cret")
            == "postgresql://host/db?sslmode=require&password=***")


def test_malformed_urls_never_leak() -> None:
    # make_url rejects these (a non-numeric port, no scheme): the fallback still masks.
    assert redact_url("postgresql://user:s3cret@host:port/db") == "postgresql://user:***@host:port/db"
    assert redact_url("//user:s3cret@host/db") == "//user:***@host/db"
    assert redact_url("postgresql://user:p@ss:5432@host/db") == "postgresql://user:***@host/db"
    for junk in ("", "not a url", "postgresql://"):
        assert redact_url(junk) == junk


def test_redact_text_masks_urls_inside_messages() -> None:
    msg = "cannot reach postgresql+psycopg://u:s3cret@h:5432/db (or mysql://a:b@c); see sqlite:///x.db"
    assert redact_text(msg) == "cannot reach postgresql+psycopg://u:***@h:5432/db (or mysql://a:***@c); see sqlite:///x.db"


def test_store_display_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lite = f"sqlite:///{tmp_path / 'a.db'}"
    assert Store(lite).display_url == lite
    store = Store("postgresql+psycopg://user:s3cret@127.0.0.1:1/db")  # the engine connects lazily
    assert store.display_url == "postgresql+psycopg://user:***@127.0.0.1:1/db"
    assert store.url.endswith(":s3cret@127.0.0.1:1/db")  # the real URL is still what connects
    with pytest.raises(AttributeError):
        store.display_url = "x"  # type: ignore[misc]


# -- every command on PostgreSQL ------------------------------------------------------------------


class Pg:
    """The cluster and its databases for this module."""

    def __init__(self, server) -> None:  # type: ignore[no-untyped-def]
        self.server = server
        self.password: str = server.password
        self.url = server.create_database("redact")  # gets the bundled data and a paper book
        self.empty_url = server.create_database("redact_empty")  # no tables at all
        self.market_url = server.create_database("redact_market")  # market tables, no ledger
        self.shown: list[str] = []  # every output, message and log line the tests saw


@pytest.fixture(scope="module")
def pg():  # type: ignore[no-untyped-def]
    from tests.pgserver import PgServer, PgUnavailable

    try:
        server = PgServer.start()
    except PgUnavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        env = Pg(server)
        assert env.password and env.password in env.url
        yield env
        text = "\n".join(env.shown)
        assert env.password not in text
    finally:
        server.stop()


def invoke(pg: Pg, *args: str, db: str | None = None) -> Result:
    """Run ``allocator --db URL ARGS`` through CliRunner; the password must be in nothing it shows."""
    result = CliRunner().invoke(cli, ["--db", db or pg.url, *args], catch_exceptions=True)
    parts = {"stdout": result.stdout, "stderr": result.stderr}
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        parts["exception"] = str(result.exception)
        parts["traceback"] = "".join(traceback.format_exception(*result.exc_info))  # type: ignore[misc]
    for where, text in parts.items():
        pg.shown.append(text)
        assert pg.password not in text, f"`allocator {' '.join(args)}` shows the password in its {where}"
    return result


def failure(result: Result) -> str:
    """What went wrong, for an assertion message (the traceback's last lines)."""
    if result.exception is None:
        return result.output
    return "".join(traceback.format_exception(*result.exc_info)[-3:])  # type: ignore[misc]


def masked(pg: Pg, url: str) -> str:
    shown = url.replace(f":{pg.password}@", ":***@")
    assert shown != url and redact_url(url) == shown
    return shown


def test_init_shows_the_url_masked(pg: Pg) -> None:
    result = invoke(pg, "init")
    assert result.exit_code == 0, failure(result)
    assert f"schema ready in {masked(pg, pg.url)}" in result.stdout


def test_load_bundled_shows_the_url_masked(pg: Pg) -> None:
    result = invoke(pg, "data", "load-bundled")
    assert result.exit_code == 0, failure(result)
    assert f"loaded the bundled dataset into {masked(pg, pg.url)}" in result.stdout


def test_data_status_shows_the_url_masked(pg: Pg) -> None:
    result = invoke(pg, "data", "status")
    assert result.exit_code == 0, failure(result)
    assert f"database: {masked(pg, pg.url)}" in result.stdout


def test_data_status_json_carries_the_url_masked(pg: Pg) -> None:
    result = invoke(pg, "data", "status", "--json")
    assert result.exit_code == 0, failure(result)
    assert json.loads(result.stdout)["database"] == masked(pg, pg.url)


def test_paper_create_and_list(pg: Pg) -> None:
    result = invoke(pg, "paper", "create", "redacted", "--strategy", "rs_mainline", "--capital", "1000000",
                    "--start", "2025-05-06")
    assert result.exit_code == 0, failure(result)
    assert "created paper book redacted" in result.stdout
    for args in (("paper", "list"), ("paper", "list", "--json")):
        result = invoke(pg, *args)
        assert result.exit_code == 0, failure(result)
        assert "redacted" in result.stdout


def test_paper_create_with_an_unknown_benchmark_names_the_database_masked(pg: Pg) -> None:
    result = invoke(pg, "paper", "create", "nobench", "--strategy", "rs_mainline", "--capital", "1000000",
                    "--start", "2025-05-06", "--benchmark", "NOSUCH.CSI")
    assert result.exit_code != 0
    assert str(result.exception) == (f"benchmark NOSUCH.CSI has no bars in {masked(pg, pg.url)}; "
                                     "load data first")


@pytest.mark.parametrize("args", [("data", "status"), ("data", "status", "--json"), ("paper", "list"),
                                  ("paper", "create", "x", "--strategy", "rs_mainline", "--capital", "1",
                                   "--start", "2025-05-06"), ("serve", "--once")])
def test_no_schema_error_shows_the_url_masked(pg: Pg, args: tuple[str, ...]) -> None:
    result = invoke(pg, *args, db=pg.empty_url)
    assert result.exit_code != 0
    message = str(result.exception)
    assert message.startswith(f"database {masked(pg, pg.empty_url)} has no schema (missing "), message


def test_no_ledger_error_shows_the_url_masked(pg: Pg) -> None:
    from sqlmodel import SQLModel

    from allocator.store.models import MARKET_TABLES

    store = Store(pg.market_url)
    SQLModel.metadata.create_all(store.engine, tables=[m.__table__ for m in MARKET_TABLES.values()])
    store.engine.dispose()
    for args in (("paper", "list"), ("paper", "status", "x")):
        result = invoke(pg, *args, db=pg.market_url)
        assert result.exit_code != 0
        assert str(result.exception) == (f"database {masked(pg, pg.market_url)} has no paper-ledger tables; "
                                         "run `allocator init` first")


def test_error_lines_of_the_entry_point_are_masked(pg: Pg, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        main(["--db", pg.empty_url, "data", "status"])
    out, err = capsys.readouterr()
    pg.shown += [out, err]
    assert exit_.value.code != 0 and pg.password not in out + err
    assert err.startswith(f"error: database {masked(pg, pg.empty_url)} has no schema")


def test_scheduler_logs_the_url_masked(pg: Pg, caplog) -> None:  # type: ignore[no-untyped-def]
    from app.scheduler import daily_job

    with caplog.at_level(logging.DEBUG):
        summary = daily_job(pg.market_url, today="2025-06-30")
    pg.shown += [caplog.text, json.dumps(summary, default=str)]
    assert pg.password not in caplog.text
    assert f"no paper-ledger tables in {masked(pg, pg.market_url)}; nothing to step" in caplog.messages


def test_serve_once(pg: Pg, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.DEBUG):
        result = invoke(pg, "serve", "--once")
    pg.shown.append(caplog.text)
    assert pg.password not in caplog.text
    assert result.exit_code == 0, failure(result)
    summary = json.loads(result.stdout)
    assert [b["name"] for b in summary["books"]] == ["redacted"]
    assert "error" not in summary["books"][0], summary["books"][0]["error"]


def test_serve_banner_shows_the_url_masked(pg: Pg, caplog, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import app.scheduler as scheduler

    ran = []

    def serve_once(db_url, config_path=None, *, update_data=False, every_seconds=None, standby_poll=5.0):  # type: ignore[no-untyped-def]
        # The real scheduler (job store in the database), its jobs run once in place of start().
        sched = scheduler.build_scheduler(db_url, config_path, update_data=update_data,
                                          every_seconds=every_seconds, catch_up=False)
        try:
            ran.append(scheduler.scheduled_job(config_path, update_data))
        finally:
            scheduler._SERVICE_DB_URL = None
            sched.remove_all_jobs()

    monkeypatch.setattr(scheduler, "serve", serve_once)
    with caplog.at_level(logging.DEBUG):
        result = invoke(pg, "serve", "--every", "60")
    pg.shown.append(caplog.text)
    assert pg.password not in caplog.text
    assert result.exit_code == 0, failure(result)
    assert f"serving {masked(pg, pg.url)}: daily job" in result.stderr
    assert len(ran) == 1
