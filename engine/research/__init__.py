"""Research studies of the rotation models (docs/strategies.md, "Validation every model gets").

* :func:`model_scores` (:mod:`.scores`): run a model once per signal date and keep its scores and
  weights (:class:`ModelScores`), shared by the studies below.
* :func:`information_coefficient` (:mod:`.ic`): Spearman IC of the score with next-period
  industry returns; mean, std, t-stat, hit rate, in/out of sample, per year.
* :func:`fama_macbeth` (:mod:`.fama_macbeth`): cross-sectional OLS per date on the standardised
  score with plain momentum and beta x market return as controls; plain and Newey-West t-stats.
* :func:`event_study` (:mod:`.event_study`): excess returns from -20 to +60 days around a score
  entering the top N (or crossing a threshold) after K days out.
* :func:`robustness` (:mod:`.robustness`): schedules x lag x costs x parameter variants through
  the vectorised engine, with the in/out-of-sample split.
* :func:`attribution` (:mod:`.attribution`): Brinson-Fachler vs the CSI 300's industry weights,
  per period, per industry, summed and Carino-linked.
* :func:`sweep` (:mod:`.sweep`): a parameter grid through :func:`run_vector_batch`, ranked by
  in-sample IR with the out-of-sample figures beside.

Every result is a frozen dataclass with ``to_dict()`` (JSON-safe, stable keys). Models are
imported lazily (``allocator`` must not import ``strategies`` at import time).
"""

from engine.research._common import newey_west_se
from engine.research.attribution import (
    AttributionResult,
    BrinsonFachler,
    attribution,
    benchmark_industry_weights,
    brinson_fachler,
    carino_factors,
)
from engine.research.event_study import EventStudyResult, event_study, find_events, in_signal
from engine.research.fama_macbeth import FamaMacBethResult, fama_macbeth, trailing_beta, trailing_return
from engine.research.ic import ICResult, ICStats, ic_stats, information_coefficient, spearman_ic
from engine.research.robustness import RobustnessResult, robustness
from engine.research.scores import ModelScores, model_scores
from engine.research.sweep import SweepResult, sweep

__all__ = [
    "AttributionResult", "BrinsonFachler", "EventStudyResult",
    "FamaMacBethResult", "ICResult", "ICStats", "ModelScores", "RobustnessResult", "SweepResult",
    "attribution", "benchmark_industry_weights", "brinson_fachler", "carino_factors", "event_study",
    "fama_macbeth", "find_events", "ic_stats", "in_signal", "information_coefficient", "model_scores",
    "newey_west_se", "robustness", "spearman_ic", "sweep", "trailing_beta", "trailing_return",
]
