"""``allocator universe check``: is a universe file sound, and what can each model compute on it."""

from __future__ import annotations

import click

from app.cli import AppContext, SummaryGroup, pass_app
from app.cli.output import echo_json


@click.group(cls=SummaryGroup)
def universe() -> None:
    """Universes of your own: check a universe file against the data."""


@universe.command("check")
@click.argument("path", metavar="NAME|PATH")
@click.option("--no-data", is_flag=True, help="Check the file only, not what the database holds for it.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def check_cmd(app: AppContext, path: str, no_data: bool, as_json: bool) -> None:
    """Validate a universe (a shipped name, a .toml file or a directory with universe.toml): every
    problem of the file on one line, then per model whether it runs on the stored data, and why not.
    Exits 2 when the file has problems, 1 when no model can run."""
    from allocator.universe_check import data_inputs, file_problems
    from strategies import registry
    from strategies.coverage import model_coverage

    found, problems = file_problems(path)
    payload: dict = {"universe": path, "problems": problems, "inputs": [], "models": []}
    if found is not None:
        payload |= {"name": found.name, "industries": len(found.codes), "calendar": found.calendar,
                    "level": "index" if found.index_level else "etf",
                    "classification": found.classification.kind if found.classification else None}
    if found is not None and not no_data:
        inputs = data_inputs(app.store, found)
        available = {i.name: i.available for i in inputs}
        payload["inputs"] = [i.to_dict() for i in inputs]
        payload["models"] = [model_coverage(s, available).to_dict() for s in registry.specs()]
    if as_json:
        echo_json(payload)
    else:
        click.echo(_render(payload, found))
    if problems:
        raise SystemExit(2)
    if payload["models"] and all(m["status"] == "cannot" for m in payload["models"]):
        raise SystemExit(1)


def _render(payload: dict, found) -> str:  # type: ignore[no-untyped-def]
    if payload["problems"]:
        return "\n".join([f"universe {payload['universe']}: {len(payload['problems'])} problem(s)",
                          *(f"problem: {p}" for p in payload["problems"])])
    level = ("index level (no ETF map: industries held through their own indices)" if found.index_level
             else "ETF level")
    cls = found.classification_label("en") if found.classification else "none"
    lines = [f"universe {found.name} ({found.path}): {len(found.codes)} industries, calendar {found.calendar}, "
             f"{found.currency}, {level}, classification {cls}; the file is sound"]
    if payload["inputs"]:
        lines.append("")
        lines += [f"{'have' if i['available'] else 'MISSING'} {i['name']}: {i['detail']}" for i in payload["inputs"]]
        lines.append("")
        head = {"runs": "runs", "partial": "runs, partly", "cannot": "CANNOT run"}
        if all(m["status"] == "cannot" and m["missing"][:1] == ["industries"] for m in payload["models"]):
            return "\n".join([*lines, "no model can run: the universe has no industry series in this database"])
        lines += [f"{m['model']}: {head[m['status']]}" + (f": {m['why']}" if m["why"] else "")
                  for m in payload["models"]]
    return "\n".join(lines)
