"""The three PDF reports rendered from a small database: their text holds the key figures and
the Chinese industry names, their fonts are embedded subsets, and bad requests fail clearly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from allocator.config import load_universe
from allocator.panel import load_panel
from allocator.store import Store
from reports.build import backtest_report, monthly_report, paper_report
from reports.render import ReportError
from tests.paper._paper_kit import write_synthetic_db

BOOK = "rs-book"


@pytest.fixture(scope="module")
def book_db(db_backend) -> str:  # type: ignore[no-untyped-def]
    """The synthetic market with an RS-mainline paper book replayed 2021-06-01 .. 2021-10-29."""
    from app.cli import main

    url = write_synthetic_db(db_backend.new_url("reports"))
    for args in (["paper", "create", BOOK, "--strategy", "rs_mainline", "--capital", "1000000",
                  "--start", "2021-06-01"], ["paper", "run", BOOK]):
        main(["--db", url, *args])  # exits (SystemExit) only on an error
    return url


@pytest.fixture(scope="module")
def store_and_panel(book_db: str):  # type: ignore[no-untyped-def]
    store = Store(book_db)
    return store, load_panel(store, load_universe("cn_sw_l1"), stocks=True)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def pdf_fonts(path: Path) -> list[tuple[str, bool]]:
    """(base font, embedded?) of every font of every page."""
    out = []
    for page in PdfReader(str(path)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            desc = descendant.get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            embedded = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            out.append((str(font["/BaseFont"]), embedded))
    return out


def squash(text: str) -> str:
    """Text without whitespace (PDF extraction breaks lines inside table cells)."""
    return re.sub(r"\s+", "", text)


def test_monthly_report_shows_the_recommendation_and_record(store_and_panel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from paper.tracking import status

    store, panel = store_and_panel
    out = tmp_path / "monthly.pdf"
    rendered = monthly_report(store, panel, BOOK, "2021-09", out, "zh")
    assert rendered.pages and rendered.pages >= 4 and out.stat().st_size == rendered.bytes
    text = squash(pdf_text(out))
    run = store.read("SELECT output, signal_date, trade_date FROM paper_run WHERE portfolio = :p "
                     "AND trade_date >= :a AND trade_date < :b", {"p": BOOK, "a": "2021-09-01", "b": "2021-10-01"}).iloc[0]
    output = json.loads(run["output"])
    names = {i.index_code: i.name for i in load_universe("cn_sw_l1").industries}
    assert output["industry_weights"]
    for code, weight in output["industry_weights"].items():
        assert names[code] in text  # the Chinese industry name
        assert f"{weight:.1%}" in text
    for line in output["plan"]["lines"]:
        if line["planned_shares"]:
            assert f"{line['planned_shares']:,}" in text  # lot-sized shares of the book
            assert line["code"] in text
    assert str(run["signal_date"])[:10] in text and str(run["trade_date"])[:10] in text
    # The record since inception through the month's end: NAV of 2021-09-30.
    nav = store.read("SELECT nav FROM paper_snapshot WHERE portfolio = :p AND date = '2021-09-30'",
                     {"p": BOOK})["nav"].iloc[0]
    assert f"{nav:,.0f}" in text
    assert "行业轮动图" in text and "风险提示" in text and "数据覆盖与缺口" in text
    assert status(store, BOOK)["benchmark"] in text
    fonts = pdf_fonts(out)
    assert fonts and all(embedded for _, embedded in fonts)
    assert any("Allocator-Sans-SC" in name for name, _ in fonts)
    assert all("+" in name for name, _ in fonts)  # subset fonts (a 6-letter tag before the name)
    assert rendered.bytes < 2 * 1024 * 1024


def test_monthly_report_in_english_and_html(store_and_panel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store, panel = store_and_panel
    out = tmp_path / "monthly.html"
    rendered = monthly_report(store, panel, BOOK, "2021-09", out, "en", "html")
    html = out.read_text(encoding="utf-8")
    assert rendered.format == "html" and rendered.pages is None
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "file://" not in html
    assert "This month&#39;s recommendation" in html or "This month's recommendation" in html
    pdf = tmp_path / "monthly-en.pdf"
    monthly_report(store, panel, BOOK, "2021-09", pdf, "en")
    text = pdf_text(pdf)
    assert "Record since inception" in text and "Risk note" in text


def test_monthly_report_refuses_a_month_without_a_rebalance(store_and_panel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store, panel = store_and_panel
    out = tmp_path / "monthly.pdf"
    with pytest.raises(ReportError, match=r"no rebalance in 2020-01; months with a rebalance: 2021-06 \.\. 2021-10"):
        monthly_report(store, panel, BOOK, "2020-01", out, "zh")
    with pytest.raises(ReportError, match="bad month"):
        monthly_report(store, panel, BOOK, "2021-13", out, "zh")
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_paper_review_lists_every_rebalance(store_and_panel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from paper.tracking import status

    store, _ = store_and_panel
    out = tmp_path / "paper.pdf"
    paper_report(store, BOOK, out, "zh")
    text = squash(pdf_text(out))
    s = status(store, BOOK)
    assert f"{s['nav']:,.0f}" in text
    assert f"{s['cumulative_return']:+.2%}" in text and f"{s['benchmark_return']:+.2%}" in text
    trade_dates = store.read("SELECT trade_date FROM paper_run WHERE portfolio = :p", {"p": BOOK})["trade_date"]
    assert len(trade_dates) == 5
    for d in trade_dates:
        assert str(d)[:10] in text
    assert "每日快照全部一致" in text  # the ledger check passed
    assert all(embedded for _, embedded in pdf_fonts(out))


def test_backtest_report_has_metrics_per_model(store_and_panel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from engine.backtest import backtest

    _, panel = store_and_panel
    out = tmp_path / "backtest.pdf"
    backtest_report(panel, ["rs_mainline", "momentum_monitor"], "2021-03-01", "2021-10-29", out, "en")
    text = pdf_text(out)
    for name in ("rs_mainline", "momentum_monitor"):
        d = backtest(panel, name, "2021-03-01", "2021-10-29").to_dict(nav=False)
        assert name in text
        assert f"{d['annual_return']:.1%}" in text and f"{d['excess_return']:+.1%}" in text
    assert "Year by year" in text and "Information coefficient" in text and "Brinson-Fachler" in text


def test_unknown_portfolio_is_one_clear_line(book_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from app.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--db", book_db, "report", "paper", "--portfolio", "nope", "-o", str(tmp_path / "x.pdf")])
    err = capsys.readouterr().err
    assert exit_info.value.code != 0 and "nope" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.pdf").exists()
