"""Portfolio construction: hand-computed cases, the buffer's edge, caps, parsing and invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.construction import Construction, cap_weights, choose, construct, ranked
from allocator.errors import ConfigError

#: Ten industries scored 10 (A) down to 1 (J).
SCORES = {c: float(10 - i) for i, c in enumerate("ABCDEFGHIJ")}
MODEL = {"A": 0.52, "B": 0.48}


def test_active_is_the_models_own_book() -> None:
    book = construct(Construction(), {"A": 0.5, "C": 0.3, "Z": 0.0}, SCORES)
    assert dict(book.industry_weights) == {"A": 0.5, "C": 0.3} and book.core == 0.0


def test_core_satellite_on_the_models_picks_rescales_its_weights() -> None:
    book = construct(Construction("core_satellite", core=0.5), MODEL, SCORES)
    assert book.core == 0.5
    assert book.industry_weights == pytest.approx({"A": 0.26, "B": 0.24})


def test_top_n_equal_weight() -> None:
    book = construct(Construction("core_satellite", core=0.4, top_n=4, weighting="equal"), MODEL, SCORES)
    assert book.industry_weights == pytest.approx({c: 0.15 for c in "ABCD"})


def test_score_weighting_uses_rank_points() -> None:
    # Of 10 scored industries A gets 10 points, B 9, C 8: weights 10/27, 9/27, 8/27 of the satellite.
    book = construct(Construction("core_satellite", core=0.0, top_n=3, weighting="score"), MODEL, SCORES)
    assert book.industry_weights == pytest.approx({"A": 10 / 27, "B": 9 / 27, "C": 8 / 27})


def test_the_buffer_keeps_a_holding_at_rank_n_plus_k_and_drops_it_at_n_plus_k_plus_1() -> None:
    n, k = 3, 2
    order = ranked(SCORES)  # A..J
    picks, kept = choose(order, n, k, previous=["E"])  # E ranks 5 = n + k
    assert picks == ["A", "B", "E"] and kept == ["E"]
    picks, kept = choose(order, n, k, previous=["F"])  # F ranks 6 = n + k + 1
    assert picks == ["A", "B", "C"] and kept == []
    book = construct(Construction("core_satellite", core=0.5, top_n=n, buffer=k, weighting="equal"),
                     MODEL, SCORES, previous=["E", "J"])
    assert set(book.picks) == {"A", "B", "E"} and book.kept == ("E",)


def test_the_buffer_never_holds_more_than_n() -> None:
    picks, kept = choose(ranked(SCORES), 2, 5, previous=["C", "D", "E"])
    assert picks == ["C", "D"] and kept == ["C", "D"]


def test_max_weight_caps_and_hands_the_excess_on_or_leaves_it_in_cash() -> None:
    # A's 0.2 excess goes to B and C pro rata (0.45, 0.15); B is then over by 0.05, which goes to C.
    assert cap_weights({"A": 0.6, "B": 0.3, "C": 0.1}, 0.4) == pytest.approx({"A": 0.4, "B": 0.4, "C": 0.2})
    book = construct(Construction("core_satellite", core=0.0, max_weight=0.3), MODEL, SCORES)
    assert book.industry_weights == pytest.approx({"A": 0.3, "B": 0.3})
    assert book.notes and "40.0% stays in cash" in book.notes[0]


def test_an_unscored_model_gives_a_cash_satellite() -> None:
    book = construct(Construction("core_satellite", core=0.5, top_n=5), MODEL, {"A": None})
    assert dict(book.industry_weights) == {} and book.core == 0.5 and "no industry" in book.notes[0]


def test_parse_and_label_round_trip() -> None:
    c = Construction.parse("core_satellite:core=50%,top_n=10,buffer=5,weighting=equal,max_weight=0.1")
    assert c == Construction("core_satellite", 0.5, 10, 5, "equal", 0.1)
    assert c.label() == "core_satellite:core=0.5,top_n=10,buffer=5,weighting=equal,max_weight=0.1"
    assert Construction.parse(c.label()) == c
    assert Construction.parse("core_satellite:core=0.3", base=c).top_n == 10  # the rest from the base
    assert Construction.parse("active") == Construction()


@pytest.mark.parametrize("text, message", [
    ("core_satellite:core=1.5", "core must be between 0 and 1"),
    ("core_satellite:buffer=2", "buffer needs top_n"),
    ("core_satellite:top_n=0", "top_n must be at least 1"),
    ("core_satellite:weighting=cap", "weighting must be one of"),
    ("core_satellite:core=abc", "is not a number"),
    ("core_satellite:size=3", "is not key=value with a key among"),
    ("active:core=0.5", "active takes no parameters"),
    ("satellite", "kind must be one of"),
])
def test_bad_constructions_are_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Construction.parse(text)


@settings(max_examples=200, deadline=None)
@given(core=st.floats(0, 1), top_n=st.integers(1, 12), buffer=st.integers(0, 5),
       weighting=st.sampled_from(["model", "equal", "score"]),
       cap=st.one_of(st.none(), st.floats(0.02, 1.0)),
       previous=st.lists(st.sampled_from(list("ABCDEFGHIJ")), max_size=6))
def test_a_constructed_book_never_exceeds_its_money_or_its_cap(core, top_n, buffer, weighting, cap, previous) -> None:  # type: ignore[no-untyped-def]
    c = Construction("core_satellite", core=core, top_n=top_n, buffer=buffer, weighting=weighting, max_weight=cap)
    scores = dict(SCORES)
    before = dict(scores)
    book = construct(c, MODEL, scores, previous)
    w = dict(book.industry_weights)
    assert scores == before  # inputs not mutated
    assert all(v > 0 for v in w.values())
    assert book.core + sum(w.values()) <= 1.0 + 1e-9
    assert len(w) <= top_n
    if cap is not None:
        assert max(w.values(), default=0.0) <= cap + 1e-9
    if cap is None and weighting != "model":
        assert sum(w.values()) == pytest.approx(1.0 - core)
