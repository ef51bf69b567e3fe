"""``allocator demo`` on the embedded data: the story on screen, in about 100 lines none wider
than 160 columns, and every full table in the files it names."""

from __future__ import annotations

import json

from tests.app.cli.test_cli_data import run_cli


def test_the_demo_fits_a_screen_and_writes_every_table(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out_dir = tmp_path / "out"
    code, out, err = run_cli(["demo", "--out", str(out_dir)], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) <= 105
    assert max(len(ln) for ln in lines) <= 160
    for folder in ("signals", "recommendations", "paper"):
        assert f"{out_dir / folder}/" in " ".join(out.split())
        texts = sorted((out_dir / folder).glob("*.txt"))
        assert len(texts) >= 8 and all(p.with_suffix(".json").exists() for p in texts)
        for p in texts:
            json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))
    assert "rs_mainline" in (out_dir / "signals" / "rs_mainline.txt").read_text(encoding="utf-8")
    assert json.loads((out_dir / "data-status.json").read_text(encoding="utf-8"))["series"]
    pdfs = sorted(out_dir.glob("*.pdf"))
    assert len(pdfs) == 3 and all(p.read_bytes()[:5] == b"%PDF-" for p in pdfs)
    flat = " ".join(out.split())  # a long path may wrap onto the next line
    assert all(p.name in flat for p in pdfs)
