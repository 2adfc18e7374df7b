"""Turn what a student handed in (a folder or a .zip) into a folder of .py files.

Zips are read defensively: only .py files are taken, at most three folders
deep, with caps on the archive's size and on the files' number and size, and
no path may leave the extraction folder; symlinks are never followed. A
problem becomes one sentence for the report, never an exception.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from autograder.errors import MissingPath

STUDENT_MODULES = ("layers.py", "two_layer_net.py", "fc_net.py")  # the files students write
MAX_FILES = 200
MAX_FILE_BYTES = 2_000_000
MAX_ARCHIVE_BYTES = 20_000_000
MAX_DEPTH = 3  # folders above a .py file inside a zip
MAX_ENTRIES = 2_000         # entries of any kind in a zip
MAX_TOTAL_BYTES = 10_000_000  # the .py files taken from a zip, all together


def _find_code(folder: Path) -> Path:
    """The shallowest folder at or below ``folder`` (three levels at most) with student modules.

    Symlinked and hidden folders are not followed.
    """
    level = [folder]
    for _ in range(MAX_DEPTH + 1):
        for candidate in level:
            if any((candidate / name).is_file() and not (candidate / name).is_symlink()
                   for name in STUDENT_MODULES):
                return candidate
        level = [d for parent in level for d in sorted(parent.iterdir())
                 if d.is_dir() and not d.is_symlink()
                 and not d.name.startswith((".", "__"))]
    return folder


def _extract(archive: Path, target: Path) -> str | None:
    """Extract the .py files of ``archive`` into ``target``; return a problem or None."""
    try:  # opened, never trusted: no link, no FIFO that would block the grader
        fd = os.open(archive, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        return f"{archive.name} cannot be opened ({error.strerror})"
    handle = os.fdopen(fd, "rb")
    size = os.fstat(fd).st_size
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        return f"{archive.name} is not a regular file"
    if size > MAX_ARCHIVE_BYTES:
        handle.close()
        return (f"{archive.name} is {size / 1e6:.0f} MB, more than the "
                f"{MAX_ARCHIVE_BYTES / 1e6:.0f} MB a submission may be")
    with handle:
        return _extract_open(archive, handle, target)


def _extract_open(archive: Path, handle: Any, target: Path) -> str | None:
    try:
        with zipfile.ZipFile(handle) as zf:
            if len(zf.infolist()) > MAX_ENTRIES:
                return f"{archive.name} holds more than {MAX_ENTRIES} entries"
            members = [m for m in zf.infolist() if not m.is_dir()]
            if not members:
                return f"{archive.name} is an empty zip file"
            # Declared sizes first, before anything is written...
            declared = sum(m.file_size for m in members if m.filename.endswith(".py"))
            if declared > MAX_TOTAL_BYTES:
                return (f"{archive.name} holds {declared / 1e6:.0f} MB of Python files, more "
                        f"than the {MAX_TOTAL_BYTES / 1e6:.0f} MB a submission may be")
            written = 0
            taken = 0
            for member in members:
                path = PurePosixPath(member.filename.replace("\\", "/"))
                if (path.suffix != ".py" or path.is_absolute() or ".." in path.parts
                        or len(path.parts) > MAX_DEPTH + 1 or path.parts[0] == "__MACOSX"
                        or (member.external_attr >> 16) & 0o170000 == 0o120000):
                    continue
                if member.file_size > MAX_FILE_BYTES:
                    return (f"{member.filename} in {archive.name} is larger than "
                            f"{MAX_FILE_BYTES / 1e6:.0f} MB")
                if taken >= MAX_FILES:
                    return f"{archive.name} holds more than {MAX_FILES} Python files"
                destination = target.joinpath(*path.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                # ...then what is really there, which a forged header can understate.
                with zf.open(member) as source, open(destination, "wb") as out:
                    data = source.read(min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - written) + 1)
                    if len(data) > min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - written):
                        return (f"{member.filename} in {archive.name} holds more than its "
                                f"size limit")
                    out.write(data)
                    written += len(data)
                taken += 1
            if not taken:
                return (f"{archive.name} holds no .py files (at most {MAX_DEPTH} folders "
                        f"deep)")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, RuntimeError, ValueError,
            NotImplementedError, EOFError) as error:
        return f"{archive.name} is not a readable zip file ({error})"
    return None


@contextmanager
def prepared(path: Path) -> Iterator[tuple[Path, str | None]]:
    """Yield (folder with the submission's .py files, problem or None).

    Raises MissingPath only when ``path`` does not exist at all.
    """
    path = Path(path)
    if not path.exists():
        raise MissingPath(f"no such submission: {path}")
    work = Path(tempfile.mkdtemp(prefix="backprop-hw-submission-"))
    try:
        if path.is_dir():
            yield _find_code(path), None
        else:
            if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device: never opened
                problem = f"{path.name} is neither a folder nor a regular file"
            elif path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
                problem = _extract(path, work)
            else:
                problem = f"{path.name} is neither a folder nor a .zip file"
            yield (_find_code(work), problem)
    finally:
        shutil.rmtree(work, ignore_errors=True)
