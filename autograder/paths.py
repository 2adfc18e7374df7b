"""Where the package's folders live: the repository this package sits in."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENT = ROOT / "assignment"
DATA = ROOT / "data"
RUBRIC = Path(__file__).resolve().parent / "rubric.toml"
