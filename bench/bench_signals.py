"""Time every model's signals at every month-end 2014-01 .. 2025-06 on the embedded real data.

Run: .venv/bin/python bench/bench_signals.py [--repeat N] [--golden PATH [--write]]

The panel is loaded once (reported separately); each timed run uses a freshly built panel so its
caches start cold, and models run in registry order at every month-end, as a backtest would.
With ``--repeat N`` the timed run is repeated N times (each on a fresh panel) and the best is
reported per model. ``--golden PATH --write`` saves every ``to_dict()`` as a pickle;
``--golden PATH`` compares against it (exact, NaN == NaN) and prints the first differences.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd

from allocator.calendar import TradingCalendar
from allocator.config import load_universe
from allocator.panel import MarketPanel, panel_from_frames
from strategies import registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests kit, run as a script
from tests.synthetic import diff, same  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "allocator" / "data" / "bundled"
START, END = "2014-01-01", "2025-06-30"


def read_frames() -> dict[str, pd.DataFrame]:
    names = ("bars", "calendar", "instruments", "fundamentals", "classification", "stock_bars")
    return {n: pd.read_parquet(DATA / f"{n}.parquet") for n in names}


def build_panel(frames: dict[str, pd.DataFrame]) -> MarketPanel:
    return panel_from_frames(
        load_universe(), frames["bars"], calendar=TradingCalendar.from_days(frames["calendar"]["date"]),
        instruments=frames["instruments"], fundamentals=frames["fundamentals"],
        classification=frames["classification"], stock_bars=frames["stock_bars"])


def run_all(panel: MarketPanel, ends: list[pd.Timestamp], models: list[str],
            keep: bool) -> tuple[dict[str, float], dict]:
    """Seconds per model over all month-ends, and (if ``keep``) every result's ``to_dict()``."""
    seconds: dict[str, float] = defaultdict(float)
    results = {}
    for t in ends:
        for name in models:
            start = time.perf_counter()
            result = registry.run(name, panel, t)
            seconds[name] += time.perf_counter() - start
            if keep:
                results[(name, t.strftime("%Y-%m-%d"))] = result.to_dict()
    return dict(seconds), results


def compare(golden: dict, results: dict, limit: int = 10) -> int:
    bad = [k for k in golden if k not in results or not same(golden[k], results[k])]
    bad += [k for k in results if k not in golden]
    for k in bad[:limit]:
        print(f"  DIFF {k}: " + (diff(golden[k], results[k]) if k in golden and k in results
                                  else "missing on one side"))
    return len(bad)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="timed runs (fresh panel each); best is shown")
    ap.add_argument("--golden", type=Path, help="pickle of every to_dict() to compare with (or write)")
    ap.add_argument("--write", action="store_true", help="write --golden instead of comparing")
    ap.add_argument("--models", nargs="*", help="only these models (default: all)")
    args = ap.parse_args()

    start = time.perf_counter()
    frames = read_frames()
    t_read = time.perf_counter() - start
    start = time.perf_counter()
    panel = build_panel(frames)
    t_build = time.perf_counter() - start
    ends = list(panel.calendar.month_ends(START, END))
    known = registry.names()  # imports the model modules outside the timed part
    models = args.models or known
    print(f"read parquet {t_read:.2f} s, build panel {t_build:.2f} s (not timed below); "
          f"{len(models)} models x {len(ends)} month-ends ({ends[0].date()} .. {ends[-1].date()})")

    best: dict[str, float] = {}
    results: dict = {}
    for rep in range(max(1, args.repeat)):
        fresh = panel if rep == 0 else build_panel(frames)  # cold caches on every run
        seconds, res = run_all(fresh, ends, models, keep=rep == 0 and args.golden is not None)
        if rep == 0:
            results = res
        for name, s in seconds.items():
            best[name] = min(best.get(name, math.inf), s)
        print(f"  run {rep + 1}: {sum(seconds.values()):.3f} s")

    print(f"{'model':<22}{'total s':>10}{'ms/call':>10}")
    for name in models:
        print(f"{name:<22}{best[name]:>10.3f}{best[name] / len(ends) * 1e3:>10.2f}")
    total = sum(best.values())
    print(f"{'TOTAL (best per model)':<22}{total:>10.3f}{total / len(ends) / len(models) * 1e3:>10.2f}")

    if args.golden is not None:
        if args.write:
            args.golden.write_bytes(pickle.dumps(results))
            print(f"wrote {len(results)} results to {args.golden}")
        else:
            golden = pickle.loads(args.golden.read_bytes())
            golden = {k: v for k, v in golden.items() if k[0] in models}
            n_bad = compare(golden, results)
            print(f"golden: {len(golden) - n_bad} of {len(golden)} results identical"
                  + ("" if not n_bad else f", {n_bad} DIFFER"))


if __name__ == "__main__":
    main()
