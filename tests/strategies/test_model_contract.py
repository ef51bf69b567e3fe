"""The contract every registered model keeps, checked on each one (a new model is covered the day
it is registered):

* **point in time**: the result at ``t`` on the full panel equals the result on a panel built
  from scratch from the data cut at ``t`` (prefix invariance), extras included;
* **weights**: non-negative, summing to at most 1, ``selected`` exactly when weighted, one row per
  industry of the universe, composites best first;
* **reasons**: every industry has a reason in both languages;
* **JSON contract** of ``signals --json``: the documented keys, and it serialises;
* **declarations**: a label in both languages, known needs, grids over the model's own
  parameters, and a model that does not declare ``stocks`` gives the same answer without them.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from strategies import registry
from strategies.registry import NEEDS
from tests.strategies import _kit as kit
from tests.synthetic import diff, rebuilt_at, same

MODELS = registry.names()
#: Dates across the synthetic market: before turnover exists (2019), around year ends, the end.
DATES = ["2017-03-31", "2018-12-28", "2019-01-31", "2020-06-30", "2021-06-30"]


@pytest.mark.parametrize("t", DATES)
@pytest.mark.parametrize("name", MODELS)
def test_prefix_invariance(name: str, t: str, synthetic_panel, synthetic_frames) -> None:  # type: ignore[no-untyped-def]
    ts = pd.Timestamp(t)
    full = registry.run(name, synthetic_panel, ts)
    cut = registry.run(name, rebuilt_at(synthetic_panel.universe, synthetic_frames, synthetic_panel, ts), ts)
    assert same(full.to_dict(), cut.to_dict()), diff(full.to_dict(), cut.to_dict())
    assert same(dict(full.extras), dict(cut.extras)), diff(dict(full.extras), dict(cut.extras))


@pytest.mark.parametrize("name", MODELS)
def test_weights_reasons_and_json(name: str, synthetic_panel) -> None:  # type: ignore[no-untyped-def]
    for t in ("2019-06-28", "2021-06-30"):
        result = registry.run(name, synthetic_panel, t)
        kit.check_result(result, synthetic_panel.universe.codes)
        assert result.cash_weight == pytest.approx(1.0 - sum(result.weights.values()), abs=1e-12)
        d = result.to_dict()
        assert {"strategy", "asof", "industries", "weights", "missing_inputs"} <= set(d)
        assert d["strategy"] == name and d["asof"] == str(pd.Timestamp(result.asof).date())
        for row in d["industries"]:
            assert {"code", "name", "composite", "selected", "weight", "reason"} <= set(row)
        assert json.loads(json.dumps(d, allow_nan=False, default=str))["strategy"] == name


@pytest.mark.parametrize("name", MODELS)
def test_declarations(name: str) -> None:
    spec = registry.spec(name)
    zh, en = spec.label
    assert zh and en and zh != en
    assert spec.needs <= NEEDS
    assert spec.description
    params = registry.params_for(name)
    for grid in (spec.sweep_grid, spec.robustness_grid):
        for key, values in grid.items():
            assert values, f"{name}: empty grid for {key}"
            section, _, sub = key.rpartition(".")
            known = registry.params_for(section) if section else params
            assert sub in known or not known, f"{name}: grid key {key!r} is not a parameter"


@pytest.mark.parametrize("name", [n for n in MODELS if "stocks" not in registry.spec(n).needs])
def test_a_model_that_does_not_declare_stocks_does_not_read_them(name: str, synthetic_panel) -> None:  # type: ignore[no-untyped-def]
    without = replace(synthetic_panel, stocks={}).without_memos()
    for t in ("2019-06-28", "2021-06-30"):
        a = registry.run(name, synthetic_panel, t).to_dict()
        b = registry.run(name, without, t).to_dict()
        assert same(a, b), diff(a, b)
