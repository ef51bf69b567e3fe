"""The rotation detector's parameters and rule table (docs/strategies.md section 6).

:data:`DEFAULTS` are the section 6 defaults, overridden by ``[rotation_detector]`` in
config/strategies.toml or by a caller; :func:`rotation_params` merges them (breadth windows as
ints). Momentum, alpha and confidence thresholds are fractions.

:data:`RULES` lists each rule's conditions as (condition name, series of
:func:`strategies.rotation.detector.rotation_series` -- or ``rank``, the row-wise RS ratio rank --,
test, threshold parameter); an empty parameter means the threshold 0. The rules, with the
default thresholds:

==================  ==========  ====================================================================
rule                direction   conditions
==================  ==========  ====================================================================
strong_rotation     bullish     ratio > 1.2; flow intensity > 2; RS momentum > 15%
confirmation        bullish     ratio > 1.1; flow persistence >= 3 (inflow days); alpha > 2%
reversal            bearish     ratio < 0.8; flow intensity < -1.5; RS momentum < -10%
early               bullish     flow intensity > 1.5; RS momentum > 10%; RS ratio rank <= 3
divergence          warning     ratio > 1.1; net flow < 0 (outflow)
==================  ==========  ====================================================================

How the conditions become a confidence and a status: :mod:`strategies.rotation.readout`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    "lookback": 20,
    "momentum_period": 5,
    "zscore_window": 252,
    "trail": 10,
    "overweight": 5,
    "neutral": 7,
    "weight_rs": 0.4,
    "weight_flow": 0.3,
    "weight_breadth": 0.3,
    "entry_confidence": 0.65,
    "exit_days": 2,
    "breadth_windows": [20, 50],
    "breadth_min_members": 3,
    "breadth_min_obs": 0.75,
    "flow_window": 5,
    "strong_ratio": 1.2,
    "strong_intensity": 2.0,
    "strong_momentum": 0.15,
    "confirm_ratio": 1.1,
    "confirm_persistence": 3,
    "confirm_alpha": 0.02,
    "reversal_ratio": 0.8,
    "reversal_intensity": -1.5,
    "reversal_momentum": -0.10,
    "early_intensity": 1.5,
    "early_momentum": 0.10,
    "early_rank": 3,
    "divergence_ratio": 1.1,
}


def rotation_params(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The defaults of strategies.md section 6 updated by ``params``."""
    out = dict(DEFAULTS)
    out.update(params or {})
    out["breadth_windows"] = [int(w) for w in out["breadth_windows"]]
    return out


RULES: dict[str, list[tuple[str, str, str, str]]] = {
    # rule: [(condition name, series, test, threshold parameter)]
    "strong_rotation": [("rs_ratio", "ratio", ">", "strong_ratio"),
                        ("flow_intensity", "intensity", ">", "strong_intensity"),
                        ("rs_momentum", "mom", ">", "strong_momentum")],
    "confirmation": [("rs_ratio", "ratio", ">", "confirm_ratio"),
                     ("flow_persistence", "persistence", ">=", "confirm_persistence"),
                     ("alpha", "alpha", ">", "confirm_alpha")],
    "reversal": [("rs_ratio", "ratio", "<", "reversal_ratio"),
                 ("flow_intensity", "intensity", "<", "reversal_intensity"),
                 ("rs_momentum", "mom", "<", "reversal_momentum")],
    "early": [("flow_intensity", "intensity", ">", "early_intensity"),
              ("rs_momentum", "mom", ">", "early_momentum"),
              ("rs_rank", "rank", "<=", "early_rank")],
    "divergence": [("rs_ratio", "ratio", ">", "divergence_ratio"),
                   ("net_flow", "net", "<", "")],  # net flow < 0 (outflow)
}
