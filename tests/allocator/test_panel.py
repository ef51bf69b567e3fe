import pandas as pd
import pytest

from allocator.errors import NoDataError


def test_asof_hides_every_later_row(synthetic_panel) -> None:
    t = pd.Timestamp("2019-06-28")
    cut = synthetic_panel.asof(t)
    assert cut.asof_date == t
    for name, frame in cut.bars.items():
        assert frame.index.max() <= t, name
    for name, frame in cut.stocks.items():
        assert frame.index.max() <= t, name
    assert (cut.fundamentals["ann_date"] <= t).all()
    assert (cut.classification["start_date"] <= t).all()
    # ... and hides nothing visible at t
    full = synthetic_panel
    assert len(cut.fundamentals) == int((full.fundamentals["ann_date"] <= t).sum())
    assert len(cut.bars["close"]) == int((full.bars["close"].index <= t).sum())


def test_asof_on_a_holiday_cuts_at_the_previous_trading_day(synthetic_panel) -> None:
    cut = synthetic_panel.asof("2019-10-03")  # National Day holiday
    assert cut.last_date == pd.Timestamp("2019-09-30")


def test_cannot_look_past_a_cut(synthetic_panel) -> None:
    cut = synthetic_panel.asof("2019-06-28")
    with pytest.raises(NoDataError):
        cut.asof("2019-07-31")


def test_returns_use_pre_close_and_skip_first_bar(synthetic_panel) -> None:
    code = synthetic_panel.universe.codes[0]
    r = synthetic_panel.returns([code])[code]
    close = synthetic_panel.bars["close"][code]
    assert pd.isna(r.iloc[0])
    assert r.iloc[5] == pytest.approx(close.iloc[5] / close.iloc[4] - 1)
    tri = synthetic_panel.total_return_index([code])[code]
    assert tri.iloc[-1] == pytest.approx(close.iloc[-1])  # no distributions: TR == price


def test_industry_members(synthetic_panel) -> None:
    members = synthetic_panel.industry_members("2019-06-28")
    assert members.value_counts().min() == 6 and members.nunique() == 31


def test_causal_frames_are_cut_at_the_panel_date(synthetic_panel) -> None:
    calls = []

    def cum_close(root):  # type: ignore[no-untyped-def]
        calls.append(root.asof_date)
        return root.industry("close").cumsum()

    cut = synthetic_panel.asof("2019-06-28")
    seen = cut.causal("test_cumsum", cum_close)
    assert seen.index.max() == pd.Timestamp("2019-06-28")
    later = synthetic_panel.asof("2020-06-30").causal("test_cumsum", cum_close)
    assert later.index.max() == pd.Timestamp("2020-06-30")
    assert calls == [None]  # computed once, on the uncut panel
    pd.testing.assert_frame_equal(seen, cut.industry("close").cumsum())
