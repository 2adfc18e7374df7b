"""Where the package's files live: in a checkout of the repository, or installed.

In a checkout (``pip install -e .``, the Gradescope bundle) the reference and
the data sit beside the package, in ``solutions/`` and ``data/``. An installed
wheel (``pip install .``) carries them as package data, in
``autograder/_solutions`` and ``autograder/_data``. The student release
(``assignment/``) and the project's tests exist only in a checkout.
"""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
IN_CHECKOUT = (CHECKOUT / "solutions" / "layers.py").is_file() and \
    (CHECKOUT / "data" / "manifest.json").is_file()
ROOT = CHECKOUT if IN_CHECKOUT else PACKAGE  # the folder the worker must never see into
SOLUTIONS = CHECKOUT / "solutions" if IN_CHECKOUT else PACKAGE / "_solutions"
DATA = CHECKOUT / "data" if IN_CHECKOUT else PACKAGE / "_data"
ASSIGNMENT = CHECKOUT / "assignment"
RUBRIC = PACKAGE / "rubric.toml"
