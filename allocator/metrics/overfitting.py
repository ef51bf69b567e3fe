"""How much a sweep's best variant can be trusted: the probability of backtest overfitting and the
deflated Sharpe ratio.

``pbo``
    Combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado and Zhu, "The
    Probability of Backtest Overfitting", 2015). The ``T x N`` matrix of the ``N`` variants'
    period returns is cut into ``S`` (even) blocks of consecutive rows. For each of the
    ``C(S, S/2)`` ways of choosing half the blocks as the in-sample set (the rest out of sample),
    the variant with the best in-sample Sharpe is found and its out-of-sample Sharpe ranked among
    all variants': ``w = rank / (N + 1)`` (rank 1 the worst), ``logit = ln(w / (1 - w))``. The
    PBO is the share of splits in which the in-sample best ranks in the bottom half out of
    sample (``logit <= 0``). Sharpe ratios come from per-block sums of returns and squared
    returns, so every split costs two matrix products, not a pass over the data.
``deflated_sharpe``
    Bailey and López de Prado, "The Deflated Sharpe Ratio", 2014: the probability that the true
    Sharpe ratio of the best of ``n_trials`` variants exceeds the Sharpe ratio the best of that
    many *skill-less* trials would show, given the variance of the trials' Sharpe ratios and the
    best variant's skewness and kurtosis. Per-period (not annualised) Sharpe ratios throughout;
    the worked example of the paper (annualised SR 2.5 over 1,250 days, skew -3, kurtosis 10,
    100 trials with annualised Sharpe variance 0.5) gives 0.9004.

Edge cases: a variant with zero variance in a block set has no Sharpe ratio (``-inf`` in
sample, so it is never picked; ``nan`` out of sample ranks lowest); ``S`` must divide into
blocks of at least two rows; one variant gives no PBO (nothing to overfit among).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb, e, erf, sqrt
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
_N = NormalDist()


@dataclass(frozen=True)
class PBOResult:
    """The outcome of :func:`pbo`.

    Attributes
    ----------
    pbo
        Share of the splits in which the in-sample best ranks in the bottom half out of sample.
    logits
        ``ln(w / (1 - w))`` per split (``w``: the out-of-sample relative rank of the in-sample best).
    splits, blocks, variants
        ``C(S, S/2)``, ``S`` and ``N``.
    """

    pbo: float
    logits: np.ndarray
    splits: int
    blocks: int
    variants: int

    def to_dict(self) -> dict[str, float | int]:
        return {"pbo": self.pbo, "splits": self.splits, "blocks": self.blocks, "variants": self.variants,
                "median_logit": float(np.median(self.logits)) if len(self.logits) else float("nan")}


def _sharpe(total: np.ndarray, total_sq: np.ndarray, n: int) -> np.ndarray:
    mean = total / n
    var = (total_sq - n * mean * mean) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = mean / np.sqrt(var)
    return np.where(var > 1e-300, sr, np.nan)


def pbo(returns: np.ndarray, blocks: int = 16, chunk: int = 2048) -> PBOResult:
    """The probability of backtest overfitting of the ``N`` columns of ``returns`` (``T x N``
    period returns) by CSCV with ``blocks`` blocks (see the module docstring)."""
    m = np.asarray(returns, dtype="float64")
    if m.ndim != 2:
        raise ValueError("returns must be a T x N matrix (periods x variants)")
    t, n = m.shape
    if n < 2:
        raise ValueError("PBO needs at least two variants")
    if blocks < 2 or blocks % 2:
        raise ValueError(f"blocks must be an even number >= 2, not {blocks}")
    size = t // blocks
    if size < 2:
        raise ValueError(f"{t} periods cannot make {blocks} blocks of at least two periods")
    m = m[t - size * blocks:]  # drop the oldest rows that do not fill a block
    if not np.isfinite(m).all():
        raise ValueError("returns must be finite (fill or drop missing periods first)")
    cut = m.reshape(blocks, size, n)
    sums, sq = cut.sum(axis=1), (cut * cut).sum(axis=1)  # (blocks, N)
    all_sum, all_sq = sums.sum(axis=0), sq.sum(axis=0)
    half = blocks // 2
    rows = size * half
    logits = np.empty(comb(blocks, half))
    picks = combinations(range(blocks), half)
    done = 0
    while done < len(logits):
        ids = [next(picks) for _ in range(min(chunk, len(logits) - done))]
        mask = np.zeros((len(ids), blocks))
        for i, c in enumerate(ids):
            mask[i, list(c)] = 1.0
        train_sum, train_sq = mask @ sums, mask @ sq
        train = _sharpe(train_sum, train_sq, rows)
        test = _sharpe(all_sum - train_sum, all_sq - train_sq, rows)
        best = np.nanargmax(np.where(np.isnan(train), -np.inf, train), axis=1)
        chosen = test[np.arange(len(ids)), best]
        filled = np.where(np.isnan(test), -np.inf, test)
        below = (filled < np.where(np.isnan(chosen), -np.inf, chosen)[:, None]).sum(axis=1)
        w = (below + 1) / (n + 1)
        logits[done:done + len(ids)] = np.log(w / (1 - w))
        done += len(ids)
    return PBOResult(float((logits <= 0).mean()), logits, len(logits), blocks, n)


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """The expected maximum of ``n_trials`` skill-less Sharpe ratios whose variance across trials
    is ``sharpe_variance`` (the false-strategy theorem's approximation)."""
    if n_trials < 2:
        return 0.0
    z1 = _N.inv_cdf(1.0 - 1.0 / n_trials)
    z2 = _N.inv_cdf(1.0 - 1.0 / (n_trials * e))
    return sqrt(sharpe_variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def deflated_sharpe(sharpe: float, periods: int, n_trials: int, sharpe_variance: float,
                    skew: float = 0.0, kurtosis: float = 3.0) -> float:
    """The deflated Sharpe ratio: ``P(true SR > expected max SR of n_trials skill-less trials)``.

    Parameters
    ----------
    sharpe
        The best variant's per-period Sharpe ratio.
    periods
        Its number of returns ``T``.
    n_trials
        Variants tried (independent trials, or their effective number).
    sharpe_variance
        Variance of the per-period Sharpe ratios across the trials.
    skew, kurtosis
        Of the best variant's returns (kurtosis not in excess: 3 for normal returns).
    """
    if periods < 2:
        raise ValueError("the deflated Sharpe ratio needs at least two returns")
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    if denom <= 0:
        return float("nan")
    z = (sharpe - sr0) * sqrt(periods - 1) / sqrt(denom)
    return 0.5 * (1.0 + erf(z / sqrt(2.0)))


def deflated_sharpe_of(returns: np.ndarray) -> dict[str, float]:
    """The deflated Sharpe ratio of the best (highest Sharpe) column of ``returns`` (``T x N``),
    with the trials' Sharpe variance, skewness and kurtosis measured on the same matrix."""
    m = np.asarray(returns, dtype="float64")
    t, n = m.shape
    mean, sd = m.mean(axis=0), m.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = np.where(sd > 0, mean / sd, np.nan)
    if not np.isfinite(sr).any():
        return {"sharpe": float("nan"), "deflated_sharpe": float("nan"), "expected_max_sharpe": float("nan"),
                "trials": n, "periods": t}
    best = int(np.nanargmax(sr))
    x = m[:, best]
    z = (x - x.mean()) / x.std(ddof=0) if x.std(ddof=0) > 0 else np.zeros_like(x)
    skew, kurt = float((z ** 3).mean()), float((z ** 4).mean())
    var = float(np.nanvar(sr, ddof=1)) if n > 1 else 0.0
    return {"best": best, "sharpe": float(sr[best]), "trials": n, "periods": t, "sharpe_variance": var,
            "skew": skew, "kurtosis": kurt, "expected_max_sharpe": expected_max_sharpe(n, var),
            "deflated_sharpe": deflated_sharpe(float(sr[best]), t, n, var, skew, kurt)}


__all__ = ["EULER_GAMMA", "PBOResult", "deflated_sharpe", "deflated_sharpe_of", "expected_max_sharpe", "pbo"]
