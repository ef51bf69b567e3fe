"""Data in and out of the store: the bundled dataset, file imports and the status report."""

from pathlib import Path

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
