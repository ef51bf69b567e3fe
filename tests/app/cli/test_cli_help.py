"""Every command's --help: it runs, fits 100 columns, and each group lists its commands' whole
first sentences (click would cut them mid-word to the column left)."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from app.cli import _register, cli


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out = [(path, group)]
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            out += _commands(cmd, (*path, name))
        else:
            out.append(((*path, name), cmd))
    return out


_register()
ALL = _commands(cli)


def test_every_command_is_listed_with_help() -> None:
    assert len(ALL) > 30
    assert all(cmd.help for _, cmd in ALL), [p for p, c in ALL if not c.help]


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=[" ".join(p) or "allocator" for p, _ in ALL])
def test_help_runs_fits_and_lists_whole_sentences(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(ln) for ln in lines) <= 100
    cmd = dict(ALL)[path]
    if not isinstance(cmd, click.Group):
        return
    listing = result.output.split("Commands:\n", 1)[1]
    # One entry per command: its name at column 2, the summary wrapped under it.
    entries = re.split(r"\n(?=  \S)", listing.strip("\n"))
    shown = {e.split()[0]: " ".join(e.split()[1:]) for e in entries}
    for name, sub in cmd.commands.items():
        summary = shown[name]
        assert not summary.endswith("..."), f"{name}: {summary}"
        first = " ".join(sub.help.split("\n\n")[0].split())
        assert first.startswith(summary.rstrip(".")), (name, summary, first)


def test_the_cli_reference_in_docs_is_generated_from_the_commands() -> None:
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "scripts" / "cli_reference.py"
    spec = importlib.util.spec_from_file_location("cli_reference", script)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    assert module.OUT.read_text(encoding="utf-8") == module.reference(), \
        "docs/cli.md is out of date: run python scripts/cli_reference.py"
