from pathlib import Path

import pandas as pd
import pytest

from allocator.data.importer import import_file
from allocator.errors import DataError
from allocator.store import Store


@pytest.fixture
def cal_store(store: Store) -> Store:
    days = pd.bdate_range("2024-01-01", "2024-01-31")
    store.upsert("calendar", pd.DataFrame({"date": days}))
    return store


def _write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_import_industry_csv(cal_store: Store, tmp_path: Path) -> None:
    p = _write(tmp_path, "code,date,close,amount,name\nX1.HK,2024-01-02,100,5e8,Tech\nX1.HK,2024-01-03,101.5,,Tech\n")
    written = import_file(cal_store, p, "industry")
    assert written["bars"] == 2 and written["instruments"] == 1
    bars = cal_store.read_table("bars")
    assert bars["close"].tolist() == [100.0, 101.5]
    assert cal_store.read_table("instruments").iloc[0].to_dict()["name"] == "Tech"


def test_import_parquet_fundamentals_fills_statutory_dates(cal_store: Store, tmp_path: Path) -> None:
    p = tmp_path / "f.parquet"
    pd.DataFrame({"code": ["600000.SH", "600000.SH"], "period_end": ["2023-12-31", "2024-03-31"],
                  "ann_date": [None, "2024-04-20"], "revenue": [1e9, 2e8]}).to_parquet(p)
    import_file(cal_store, p, "fundamentals")
    f = cal_store.read_table("fundamentals").sort_values("period_end")
    assert f["ann_date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-04-30", "2024-04-20"]
    assert f["ann_date_source"].tolist() == ["statutory", "reported"]


@pytest.mark.parametrize(
    ("text", "kind", "needle"),
    [
        ("code,day,close\nA,2024-01-02,1\n", "industry", "missing required column(s) date"),
        ("code,date,close,colour\nA,2024-01-02,1,red\n", "industry", "unknown column(s) colour"),
        ("code,date,close\nA,2024-01-02,1\nA,2024-13-45,2\n", "industry", "line 3, column 'date'"),
        ("code,date,close\nA,2024-01-02,abc\n", "benchmark", "line 2, column 'close'"),
        ("code,date,close\nA,2024-01-02,-1\n", "etf", "must be > 0"),
        ("code,date,close\nA,2024-01-02,1\nA,2024-01-02,2\n", "industry", "duplicate key"),
        ("code,date,close\nA,2024-01-06,1\n", "industry", "not a trading day"),
        ("code,period_end\nA,2024-05-31\n", "fundamentals", "not a quarter end"),
        ("code,date,close\n", "industry", "no rows"),
    ],
)
def test_bad_files_name_the_problem_and_write_nothing(cal_store: Store, tmp_path: Path, text: str,
                                                       kind: str, needle: str) -> None:
    before = {t: cal_store.count(t) for t in ("bars", "instruments", "fundamentals")}
    with pytest.raises(DataError) as err:
        import_file(cal_store, _write(tmp_path, text), kind)
    assert needle in str(err.value)
    assert {t: cal_store.count(t) for t in before} == before


def test_missing_file_and_unknown_kind(cal_store: Store, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        import_file(cal_store, tmp_path / "nope.csv", "industry")
    with pytest.raises(DataError, match="unknown kind"):
        import_file(cal_store, _write(tmp_path, "code,date,close\nA,2024-01-02,1\n"), "crypto")
    with pytest.raises(DataError, match="unsupported file type"):
        import_file(cal_store, _write(tmp_path, "x", "a.xlsx"), "industry")


def test_code_kind_clash_is_refused(cal_store: Store, tmp_path: Path) -> None:
    import_file(cal_store, _write(tmp_path, "code,date,close\nA,2024-01-02,1\n"), "industry")
    with pytest.raises(DataError, match="already stored as a industry"):
        import_file(cal_store, _write(tmp_path, "code,date,close\nA,2024-01-03,1\n", "b.csv"), "etf")
