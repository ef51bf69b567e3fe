"""Write ``docs/cli.md``, the CLI reference, from the click commands themselves.

Run ``python scripts/cli_reference.py`` after changing a command or an option; a test fails
while the file differs from what this prints (``--check``), so the reference cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "cli.md"


def _walk(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    for name, cmd in sorted(group.commands.items()):
        out += _walk(cmd, (*path, name)) if isinstance(cmd, click.Group) else [(*path, name)]
    return out


def reference() -> str:
    """The reference: every command's ``--help``, in the order of the command tree."""
    sys.path.insert(0, str(ROOT))
    from app.cli import _register, cli

    _register()
    parts = ["# CLI reference", "",
             "Generated from the commands by `python scripts/cli_reference.py`; do not edit by hand.", ""]
    for path in _walk(cli):
        result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=100, prog_name="allocator")
        if result.exit_code != 0:
            raise SystemExit(f"allocator {' '.join(path)} --help failed:\n{result.output}")
        parts += [f"## allocator {' '.join(path)}".rstrip(), "", "```text", result.output.rstrip(), "```", ""]
    return "\n".join(parts)


def main() -> int:
    text = reference()
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python scripts/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
