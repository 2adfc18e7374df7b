"""Build the Gradescope autograder bundle (the .zip uploaded as the assignment's autograder).

Gradescope unpacks the bundle into ``/autograder/source``, runs ``setup.sh``
there once (as root) while it builds the image, and for every submission
copies ``run_autograder`` to ``/autograder/run_autograder`` and runs it, the
student's files being in ``/autograder/submission``; it then reads
``/autograder/results/results.json``.

The bundle holds only what grading needs: the ``autograder`` package (with
rubric.toml), the reference code in ``solutions/`` (the grader loads it) and
the frozen datasets in ``data/``. In ``source/`` they keep their layout in the
repository, so ``autograder.paths`` finds them as it does here.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from autograder.errors import UsageError
from autograder.files import atomic_path
from autograder.paths import DATA, PACKAGE, SOLUTIONS
from autograder.rubric import RUBRIC, load_rubric
from autograder.submission import STUDENT_MODULES

# What grading imports at run time (scikit-learn, pytest, ... are not needed).
NUMPY_REQUIREMENT = "numpy>=1.24"
TOMLI_REQUIREMENT = "tomli>=2.0"

SETUP_SH = f"""\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# Grading needs Python 3.10+ with numpy (and tomli before Python 3.11): nothing else.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip
pip=(python3 -m pip install --no-cache-dir)
# Ubuntu 23.04 and later mark the system Python as externally managed (PEP 668).
if python3 -m pip install --help | grep -q -- --break-system-packages; then
    pip+=(--break-system-packages)
fi
"${{pip[@]}}" "{NUMPY_REQUIREMENT}"
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    "${{pip[@]}}" "{TOMLI_REQUIREMENT}"
fi
python3 -c 'import sys, numpy; print("python", sys.version.split()[0], "numpy", numpy.__version__)'
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission. AUTOGRADER_ROOT (default
# /autograder) lets the bundle be tried outside Gradescope.
set -uo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
results="$root/results/results.json"
mkdir -p "$root/results"
rm -f "$results"
cd "$root/source" || exit 1
export PYTHONPATH="$root/source${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
python3 -m autograder.cli grade "$root/submission" --json "$results"
status=$?
if [ "$status" -ne 0 ]; then
    # Only a grader that finished may leave a results file.
    rm -f "$results"
    echo "run_autograder: the grader failed (exit status $status)" >&2
fi
exit "$status"
"""

EXECUTABLE = 0o100755 << 16
REGULAR = 0o100644 << 16
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # reproducible bundles: the same files give the same zip


class BundleError(UsageError):
    """The bundle cannot be built: a file the grader needs is missing or the rubric is bad."""


def _package_files(package: Path) -> list[Path]:
    """The package's own files (an installed wheel's _solutions and _data go elsewhere)."""
    return sorted(p for p in package.rglob("*") if p.is_file()
                  and not any(part.startswith((".", "_solutions", "_data"))
                              or part == "__pycache__"
                              for part in p.relative_to(package).parts)
                  and p.suffix not in (".pyc", ".pyo"))


def bundle_files() -> dict[str, Path]:
    """Every file of the bundle besides the two scripts: {name in the zip: path}.

    Raises BundleError when the reference code or a dataset the manifest
    lists is missing.
    """
    files: dict[str, Path] = {}
    for path in _package_files(PACKAGE):
        files[f"autograder/{path.relative_to(PACKAGE).as_posix()}"] = path
    solutions = SOLUTIONS
    for name in STUDENT_MODULES:
        if not (solutions / name).is_file():
            raise BundleError(f"the reference {solutions / name} is missing")
    for path in sorted(solutions.glob("*.py")):
        files[f"solutions/{path.name}"] = path
    data = DATA
    manifest = data / "manifest.json"
    try:
        datasets = json.loads(manifest.read_text(encoding="utf-8"))["datasets"]
    except (OSError, ValueError, KeyError) as error:
        raise BundleError(f"cannot read the data manifest {manifest}: {error}") from None
    files["data/manifest.json"] = manifest
    for path in sorted(data.glob("*.npz")):
        files[f"data/{path.name}"] = path
    missing = [info.get("file", f"{name}.npz") for name, info in datasets.items()
               if f"data/{info.get('file', f'{name}.npz')}" not in files]
    if missing:
        raise BundleError(f"datasets listed in {manifest} are missing: {', '.join(missing)}")
    return files


def _add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.external_attr = mode
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_bundle(out: Path, rubric: Path = RUBRIC) -> list[str]:
    """Write the Gradescope bundle to ``out`` (atomically) and return the names it holds.

    ``rubric`` becomes the bundle's ``autograder/rubric.toml``. It is validated
    first: a bundle never ships a rubric the grader rejects. Raises BundleError
    or RubricError.
    """
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise BundleError(f"the bundle must be a .zip file, got {out}")
    load_rubric(Path(rubric), manifest_path=DATA / "manifest.json")
    files = bundle_files()
    files["autograder/rubric.toml"] = Path(rubric)
    with atomic_path(out) as temporary, zipfile.ZipFile(temporary, "w") as zf:
        _add(zf, "setup.sh", SETUP_SH.encode(), EXECUTABLE)
        _add(zf, "run_autograder", RUN_AUTOGRADER.encode(), EXECUTABLE)
        for name, path in files.items():
            _add(zf, name, path.read_bytes(), REGULAR)
    return ["setup.sh", "run_autograder", *files]
