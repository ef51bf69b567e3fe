"""Event study: planted events line up with their day 0, paths by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.research import event_study, find_events, in_signal, model_scores

N_DAYS = 170


def _planted(kit):  # type: ignore[no-untyped-def]
    """A enters at day 50 (jumps +10 % on day 55), C enters at day 100 (jumps +20 % on day 101)."""
    days = pd.bdate_range("2021-01-04", periods=N_DAYS)
    a, b, c, d = kit.CODES
    closes = {k: np.full(N_DAYS, 100.0) for k in kit.CODES}
    closes[a][55:] = 110.0
    closes[c][101:] = 120.0
    closes[kit.BENCH] = np.full(N_DAYS, 3000.0)
    panel = kit.tiny_panel(closes, days)
    score = np.tile([0.0, 0.5, 0.4, 0.3], (N_DAYS, 1))
    score[50:, 0] = 1.0
    score[100:, 2] = 2.0
    return panel, days, kit.scores_of(panel, days, score, schedule="daily")


@pytest.mark.parametrize("rule", [{"top": 1}, {"threshold": 0.9}])
def test_planted_events_align_on_day_zero(kit, rule) -> None:  # type: ignore[no-untyped-def]
    panel, days, sc = _planted(kit)
    res = event_study(panel, sc, **rule, out_days=20, pre=20, post=60)
    ev = res.events
    assert list(zip(ev["date"], ev["code"])) == [(days[50], kit.CODES[0]), (days[100], kit.CODES[2])]
    csi = res.paths["csi300"]
    # A: 0 up to +4, +10 % from +5; C: 0 at 0, +20 % from +1
    assert csi.loc[-20:0, "mean"].abs().max() == 0.0
    assert csi.loc[1, "mean"] == pytest.approx(0.10)
    assert csi.loc[4, "mean"] == pytest.approx(0.10)
    assert csi.loc[5, "mean"] == pytest.approx(0.15)
    assert csi.loc[60, "mean"] == pytest.approx(0.15)
    assert csi.loc[5, "se"] == pytest.approx(np.std([0.1, 0.2], ddof=1) / np.sqrt(2))
    assert csi.loc[5, "se_date"] == pytest.approx(csi.loc[5, "se"])
    assert csi.loc[60, "n"] == 2
    ew = res.paths["equal_weight"]
    # vs the equal-weighted basket: A +5: 1.10 - 1.025; C +5: 1.20 - 1.05
    assert ew.loc[5, "mean"] == pytest.approx(((1.10 - 1.025) + (1.20 - 1.05)) / 2)
    d = res.to_dict()
    assert d["n_events"] == 2 and d["horizons"]["csi300"]["+20"]["mean"] == pytest.approx(0.15)
    assert d["horizons"]["csi300"]["+20"]["n"] == 2 and isinstance(d["horizons"]["csi300"]["+20"]["n"], int)
    assert len(d["paths"]["csi300"]) == 81 and d["events"][0]["code"] == kit.CODES[0]


def test_event_near_the_end_has_no_late_offsets(kit) -> None:  # type: ignore[no-untyped-def]
    panel, days, sc = _planted(kit)
    res = event_study(panel, sc, top=1, out_days=20, pre=20, post=80)
    csi = res.paths["csi300"]
    assert csi.loc[69, "n"] == 2 and csi.loc[70, "n"] == 1  # C's day 100 + 70 = 170 is past the data


def test_find_events_needs_the_full_time_out() -> None:
    state = pd.DataFrame({"x": [False, False, False, True, False, True, True]},
                         index=pd.bdate_range("2021-01-04", periods=7))
    assert find_events(state, 2)["date"].tolist() == [state.index[3]]
    assert find_events(state, 1)["date"].tolist() == [state.index[3], state.index[5]]
    assert find_events(state, 3)["date"].tolist() == [state.index[3]]
    assert find_events(state, 4)["date"].tolist() == []  # not enough history before day 3


def test_in_signal_rules() -> None:
    s = pd.DataFrame([[0.1, 0.9, 0.95, np.nan]], columns=list("abcd"))
    assert in_signal(s, threshold=0.9).iloc[0].tolist() == [False, False, True, False]
    assert in_signal(s, top=2).iloc[0].tolist() == [False, True, True, False]
    with pytest.raises(ValueError):
        in_signal(s, top=2, threshold=0.9)


def test_event_study_runs_on_a_model(synthetic_panel) -> None:  # type: ignore[no-untyped-def]
    sc = model_scores(synthetic_panel, "rs_mainline", "2020-06-01", "2020-12-31", schedule="daily",
                      show_progress=False)
    res = event_study(synthetic_panel, sc, threshold=0.9, out_days=10)
    assert res.n_events > 0
    assert set(res.paths) == {"equal_weight", "csi300"}
    assert res.paths["csi300"].loc[0, "mean"] == 0.0
