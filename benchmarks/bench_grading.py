"""Benchmark the autograder: one grade, a class in batch, and nbgrader on the same class.

    python benchmarks/bench_grading.py [--repeats R] [--students S] [--rounds N]
                                       [--copies C] [--peers P] [--quick]

Prints numbers only; it never asserts a timing. Five measurements, one run:

1. grade(): the reference solutions graded R times in this process (after
   one cold grade, reported on its own, which also starts the sandbox's
   zygote). Wall time per grade; CPU = this process's time.process_time() +
   the CPU of its children from getrusage(RUSAGE_CHILDREN), the zygote
   stopped (and so reaped, with every worker it reaped) before reading it.
2. The peer: the reference net trained, in this process with one BLAS thread,
   on every frozen dataset with the rubric's hyperparameters, exactly as the
   training checks ask the worker to (autograder.training_run): R times.
   Grade CPU / training CPU and the grader's overhead (grade CPU - training CPU).
3. A class of S submissions (reference, stubs and each known bug, cycled)
   graded with run_batch (what ``backprop-hw batch`` runs) at -j 1 and -j 2,
   N rounds each in alternating order, a fresh output folder every time; the
   summary takes each -j's fastest round (other load on the machine only
   ever slows a run down).
4. ``backprop-hw batch -j 1`` over C copies of the reference, as a command
   (grader, zygote and workers: the command's whole CPU), divided by C, and
   over C/4 copies: the difference over the 3C/4 more is what one more
   submission costs (the goal's measure: start-up and report excluded; N rounds
   of both, alternating, the least CPU of each counting; also in units of the
   training peer, timed between them, as this machine's speed drifts); and,
   as a peer in the same run, run_batch in this process over the same copies
   with workers forked from the zygote and with a fresh interpreter each.
5. The peer grader: ``nbgrader autograde`` of the course ``backprop-hw
   nbgrader-course`` builds, and ``backprop-hw batch -j 1``, on the same P
   gallery submissions (tests/gallery: correct, then near-miss cases), each a
   command of its own: CPU per submission of each and the ratio.

Children's CPU: the grader reaps its zygote (stop_zygote) and its fresh
workers, the zygote reaps every worker it forked, and a worker reaps the
process it forked (the init of its pid namespace), so RUSAGE_CHILDREN holds
all of it; a command's CPU is its RUSAGE_CHILDREN share once it has exited
(nbgrader's kernels included: nbgrader reaps them). The sandbox's peak
memory is what the worker reports of itself (Report.peak_memory_mib). The
script also reports how many cores other processes kept busy meanwhile
(/proc/stat), since the figures mean little on a machine someone else is using.
"""

from __future__ import annotations

import os

# One BLAS thread, as the grader's worker has (autograder.sandbox._clean_env):
# set before anything imports numpy.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "tests", ROOT):  # ROOT ends up first
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import numpy as np  # noqa: E402

from autograder import training_run  # noqa: E402
from autograder.batch import run_batch  # noqa: E402
from autograder.checks.training import load_dataset  # noqa: E402
from autograder.grade import grade  # noqa: E402
from autograder.paths import SOLUTIONS  # noqa: E402
from autograder.reference import reference  # noqa: E402
from autograder.rubric import Rubric, load_rubric  # noqa: E402
from autograder.sandbox import stop_zygote  # noqa: E402

GOAL_CPU = 1.0  # s, one full grade (the goal)
GOAL_WALL = 2.0  # s, one full grade on a 2-core machine
GOAL_BATCH_CPU = 0.25  # s per submission, batch -j 1 of the reference (the goal)


# -- measuring ---------------------------------------------------------------

def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def machine_busy_seconds() -> float | None:
    """CPU-seconds every process on the machine has used since boot (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    wall: float
    cpu: float  # self + children
    self_cpu: float
    child_cpu: float
    others: float | None = None  # cores busy with other processes meanwhile


class Meter:
    """Wall and CPU (this process and its children) of one block."""

    def __enter__(self) -> Meter:
        self._wall, self._self, self._child = (time.perf_counter(), time.process_time(),
                                               children_cpu())
        self._busy = machine_busy_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        stop_zygote()  # reaped: its workers' CPU is now this process's children's
        wall = time.perf_counter() - self._wall
        self_cpu = time.process_time() - self._self
        busy = machine_busy_seconds()
        child = children_cpu() - self._child
        others = None
        if busy is not None and self._busy is not None and wall > 0:
            others = max(0.0, (busy - self._busy - self_cpu - child) / wall)
        self.sample = Sample(wall, self_cpu + child, self_cpu, child, others)


def others_text(sample: Sample) -> str:
    return "unknown" if sample.others is None else f"{sample.others:.2f}"


def spread(values: list[float], unit: str = "s", digits: int = 3) -> str:
    return (f"min {min(values):.{digits}f}  median {statistics.median(values):.{digits}f}  "
            f"max {max(values):.{digits}f} {unit}")


def med(samples: list[Sample], attr: str) -> float:
    return statistics.median(getattr(s, attr) for s in samples)


# -- 1. grade() --------------------------------------------------------------

def bench_grade(rubric: Rubric, repeats: int) -> tuple[list[float], Sample, dict]:
    """Wall of each of ``repeats`` grades, and their CPU together (divide by ``repeats``)."""
    with Meter() as cold:  # with the zygote's start, as one `backprop-hw grade` pays it
        report = grade(SOLUTIONS, rubric)
    info = {"cold": cold.sample, "score": report.score, "max_score": report.max_score,
            "protections": report.protections}
    walls, peaks = [], []
    with Meter() as meter:
        for _ in range(repeats):
            started = time.perf_counter()
            report = grade(SOLUTIONS, rubric)
            walls.append(time.perf_counter() - started)
            peaks.append(report.peak_memory_mib)
            if report.score != info["score"]:
                info.setdefault("score_changed", []).append(report.score)
    info["rss_sandbox"] = max(peaks)
    info["rss_self"] = peak_rss_mib(resource.RUSAGE_SELF)
    return walls, meter.sample, info


# -- 2. the peer: training alone ---------------------------------------------

def train_all(rubric: Rubric, modules: dict, data: dict) -> dict[str, float]:
    """Train the reference on every dataset as the training checks do; test scores."""
    return {name: training_run.train_reference(rule.hyperparameters, data[name],
                                               modules=modules)
            for name, rule in rubric.datasets.items()}


def bench_training(rubric: Rubric, repeats: int) -> tuple[list[Sample], dict[str, float]]:
    modules = reference()
    data = {name: load_dataset(name) for name in rubric.datasets}  # loaded outside the timing
    samples, scores = [], {}
    for _ in range(repeats):
        with Meter() as meter:
            scores = train_all(rubric, modules, data)
        samples.append(meter.sample)
    return samples, scores


# -- 3. batch ------------------------------------------------------------------

def build_class(folder: Path, students: int) -> list[str]:
    """``students`` submissions in ``folder``: reference, stubs, each known bug, cycled."""
    from submissions import BUGS, buggy_files, make_submission, reference_files
    kinds = [("reference", reference_files()), ("stubs", None),
             *((bug.name, buggy_files(bug)) for bug in BUGS)]
    names = []
    for i in range(students):
        kind, files = kinds[i % len(kinds)]
        name = f"s{i:03d}_{kind}"
        make_submission(folder / name, files)
        names.append(name)
    return names


def bench_batch(rubric: Rubric, students: int, jobs_list: tuple[int, ...],
                rounds: int) -> dict[int, list[dict]]:
    """Grade the class ``rounds`` times with each -j, alternating the order, fresh output each."""
    results: dict[int, list[dict]] = {jobs: [] for jobs in jobs_list}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        subs = Path(tmp) / "submissions"
        subs.mkdir()
        build_class(subs, students)
        with open(os.devnull, "w") as devnull:
            for round_ in range(rounds):
                for jobs in (jobs_list if round_ % 2 == 0 else jobs_list[::-1]):
                    out = Path(tmp) / f"out-{round_}-j{jobs}"  # fresh for every run
                    with Meter() as meter:
                        result = run_batch(subs, out, rubric, jobs=jobs, progress=devnull)
                    results[jobs].append({"sample": meter.sample, "scores": dict(result.scores),
                                          "graded": len(result.graded),
                                          "failed": len(result.failed)})
    return results


# -- 4. batch -j 1 of the reference, as a command -----------------------------------

def command(args: list[str], cwd: Path) -> tuple[Sample, subprocess.CompletedProcess]:
    """Run ``args`` to the end; its wall and whole CPU (its reaped children's included).

    ROOT goes first on PYTHONPATH and the venv's bin/ on PATH (nbgrader runs alembic
    from it): the command grades with this tree's autograder, wherever it is installed.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (
        str(ROOT), os.environ.get("PYTHONPATH")))),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with Meter() as meter:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])} ... failed ({done.returncode}):\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return meter.sample, done


def backprop_hw(*args: str) -> list[str]:
    return [sys.executable, "-m", "autograder.cli", *args]


def few_copies(copies: int) -> int:
    """The smaller class the command also grades: the difference is what one more
    submission costs, without the command's start-up and its class report."""
    return max(1, copies // 4)


def bench_reference_copies(rubric: Rubric, copies: int, rounds: int) -> dict[str, Sample]:
    """``backprop-hw batch -j 1`` over ``copies`` copies of the reference and over
    few_copies(copies), ``rounds`` times each, alternating (the least CPU of each counts:
    the least disturbed); run_batch in this process over the same copies with the zygote
    and without (a fresh interpreter per worker)."""
    from submissions import make_submission, reference_files
    samples = {}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        subs, few = Path(tmp) / "submissions", Path(tmp) / "few"
        for i in range(copies):
            make_submission(subs / f"ref{i:03d}", reference_files())
            if i < few_copies(copies):
                make_submission(few / f"ref{i:03d}", reference_files())
        for round_ in range(rounds):
            # The training peer, between the commands: this machine's speed drifts by tens
            # of percent within minutes, so the cost is also given in units of it.
            peer = min(bench_training(rubric, 3)[0], key=lambda sample: sample.cpu)
            if "peer" not in samples or peer.cpu < samples["peer"].cpu:
                samples["peer"] = peer
            for name, folder in (("command", subs), ("command_few", few)):
                out = Path(tmp) / f"out-{name}-{round_}"  # a fresh one: nothing to resume
                sample, _ = command(backprop_hw("batch", str(folder), "--out", str(out),
                                                "-j", "1"), ROOT)
                if name not in samples or sample.cpu < samples[name].cpu:
                    samples[name] = sample
        with open(os.devnull, "w") as devnull:
            for zygote in (True, False):
                limits = dataclasses.replace(rubric.limits, zygote=zygote)
                out = Path(tmp) / f"out-{zygote}"
                with Meter() as meter:
                    run_batch(subs, out, dataclasses.replace(rubric, limits=limits), jobs=1,
                              progress=devnull)
                samples["zygote" if zygote else "fresh"] = meter.sample
    return samples


# -- 5. the peer grader: nbgrader autograde ------------------------------------------

def gallery_class(count: int) -> dict[str, dict[str, str]]:
    """``count`` gallery submissions: the correct cases, then the near-miss ones."""
    from submissions import gallery_files
    gallery = ROOT / "tests" / "gallery"
    cases = [c for kind in ("correct", "near_miss") for c in sorted((gallery / kind).iterdir())
             if c.is_dir()]
    return {f"{case.parent.name}_{case.name}": gallery_files(case) for case in cases[:count]}


def bench_nbgrader(peers: int) -> dict[str, Sample]:
    """nbgrader autograde and backprop-hw batch -j 1 on the same ``peers`` submissions."""
    from autograder.nbgrader_course import ASSIGNMENT_ID
    students = gallery_class(peers)
    with tempfile.TemporaryDirectory(prefix="bench-nbgrader-") as tmp:
        course, batch_dir = Path(tmp) / "course", Path(tmp) / "batch"
        command(backprop_hw("nbgrader-course", str(course)), ROOT)
        nbgrader = [sys.executable, "-m", "nbgrader"]
        command([*nbgrader, "generate_assignment", ASSIGNMENT_ID], course)
        for student, files in students.items():
            folder = course / "submitted" / student / ASSIGNMENT_ID
            shutil.copytree(course / "release" / ASSIGNMENT_ID, folder)
            for name, source in files.items():
                (folder / name).write_text(source, encoding="utf-8")
            shutil.copytree(folder, batch_dir / student)  # the very same files, for batch
        samples = {"nbgrader": command([*nbgrader, "autograde", ASSIGNMENT_ID], course)[0]}
        samples["batch"], _ = command(backprop_hw("batch", str(batch_dir), "--out",
                                                  str(Path(tmp) / "out"), "-j", "1"), ROOT)
    return samples


# -- report --------------------------------------------------------------------

def machine() -> str:
    return (f"{platform.machine()}, nproc {os.cpu_count()}, Python {platform.python_version()}, "
            f"numpy {np.__version__}, {platform.platform(terse=True)}")


def load() -> str:
    """The load averages: other work on the machine skews the -j 2 figures most."""
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, metavar="R",
                        help="grades and training runs to time (default 10, --quick 3)")
    parser.add_argument("--students", type=int, metavar="S",
                        help="submissions in the class batch (default 50, --quick 10)")
    parser.add_argument("--rounds", type=int, metavar="N",
                        help="batch runs per -j and of the copies, the fastest counts (default "
                             "3: a shared machine's speed can drift by 2x within minutes; "
                             "--quick 1)")
    parser.add_argument("--copies", type=int, metavar="C",
                        help="copies of the reference for batch -j 1 (default 20, --quick 4)")
    parser.add_argument("--peers", type=int, metavar="P",
                        help="gallery submissions graded by nbgrader and by batch (default 6, "
                             "--quick 2); 0 leaves nbgrader out")
    parser.add_argument("--quick", action="store_true",
                        help="a fast smoke run: R=3, S=10, 1 batch round, C=4, P=2")
    args = parser.parse_args(argv)

    def pick(value: int | None, quick: int, full: int) -> int:
        return value if value is not None else (quick if args.quick else full)

    repeats, students = pick(args.repeats, 3, 10), pick(args.students, 10, 50)
    rounds, copies, peers = pick(args.rounds, 1, 3), pick(args.copies, 4, 20), \
        pick(args.peers, 2, 6)
    if min(repeats, students, rounds, copies) < 1 or peers < 0:
        parser.error("--repeats, --students, --rounds and --copies must be at least 1, "
                     "--peers at least 0")

    print(f"bench_grading: {time.strftime('%Y-%m-%d %H:%M')}, {machine()}")
    print(f"  repeats {repeats}, students {students}, batch rounds {rounds}, copies {copies}, "
          f"peers {peers}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"{load()} at the start")
    rubric = load_rubric()

    walls, block, info = bench_grade(rubric, repeats)
    cold = info["cold"]
    print(f"\n1. grade(reference) x {repeats}, score {info['score']:g} / {info['max_score']:g}; "
          f"before them 1 cold grade (it starts the zygote): {cold.wall:.3f} s wall, "
          f"{cold.cpu:.3f} s CPU")
    if "score_changed" in info:
        print(f"  warning: the score changed between grades: {info['score_changed']}")
    grade_cpu = block.cpu / repeats
    print(f"  wall          {spread(walls)}")
    print(f"  CPU per grade {grade_cpu:.3f} s (grader {block.self_cpu / repeats:.3f}, zygote "
          f"and workers {block.child_cpu / repeats:.3f}), other processes busy meanwhile: "
          f"{others_text(block)} cores")
    print(f"  peak RSS      sandbox process {info['rss_sandbox']:.0f} MiB, grader "
          f"{info['rss_self']:.0f} MiB")
    print("  sandbox: " + "; ".join(info["protections"]))

    training, accuracies = bench_training(rubric, repeats)
    print(f"\n2. reference training alone, {len(accuracies)} datasets, x {repeats}, "
          f"in-process, 1 BLAS thread")
    print(f"  wall          {spread([s.wall for s in training])}")
    print(f"  CPU           {spread([s.cpu for s in training])}")
    print("  test score    " + ", ".join(
        f"{k} {training_run.metric(rubric.datasets[k].hyperparameters)} {v:.3f}"
        for k, v in accuracies.items()))
    train_cpu = med(training, "cpu")
    print(f"  grade CPU / training CPU = {grade_cpu / train_cpu:.2f}; "
          f"grader overhead = {grade_cpu - train_cpu:.3f} s CPU per grade")

    jobs_list = (1, 2)
    batch = bench_batch(rubric, students, jobs_list, rounds)
    print(f"\n3. batch of {students} submissions (reference, stubs and each known bug, "
          f"cycled), graded by run_batch, {rounds} round(s) per -j, order alternating")
    for round_ in range(rounds):
        for jobs in jobs_list:
            b = batch[jobs][round_]
            s = b["sample"]
            print(f"  round {round_ + 1} -j {jobs}: wall {s.wall:.2f} s, CPU {s.cpu:.2f} s "
                  f"(grader {s.self_cpu:.2f}, children {s.child_cpu:.2f}), "
                  f"{students / s.wall:.2f} submissions/s, {s.wall / students:.3f} s wall and "
                  f"{s.cpu / students:.3f} s CPU per submission, {s.cpu / s.wall:.2f} cores "
                  f"busy (other processes: {others_text(s)}); {b['graded']} graded, "
                  f"{b['failed']} grader failures")
    runs = [b for jobs in jobs_list for b in batch[jobs]]
    same = all(b["scores"] == runs[0]["scores"] for b in runs)
    scores = runs[0]["scores"]
    mean = statistics.mean(scores.values()) if scores else float("nan")
    print(f"  scores identical across runs: {'yes' if same else 'NO'}; mean score "
          f"{mean:.2f} / {rubric.max_score:g}")
    j1, j2 = (min((b["sample"] for b in batch[jobs]), key=lambda s: s.wall)
              for jobs in jobs_list)  # the fastest round of each: the least disturbed
    speedup = j1.wall / j2.wall

    ref = bench_reference_copies(rubric, copies, rounds)
    per = {name: sample.cpu / copies for name, sample in ref.items()}
    few = few_copies(copies)
    extra = (ref["command"].cpu - ref["command_few"].cpu) / max(copies - few, 1)
    print(f"\n4. {copies} copies of the reference, graded -j 1")
    for name, what in (("command", "`backprop-hw batch -j 1` (the whole command)"),
                       ("zygote", "run_batch, workers forked from the zygote"),
                       ("fresh", "run_batch, a fresh interpreter per worker")):
        sample = ref[name]
        print(f"  {what:<46} {per[name]:.3f} CPU-s and {sample.wall / copies:.3f} s wall per "
              f"submission (other processes: {others_text(sample)} cores)")
    print(f"  the command over {few} copies instead: {ref['command_few'].cpu:.2f} CPU-s; one "
          f"more submission costs {extra:.3f} CPU-s (the least CPU of {rounds} round(s) "
          f"each), {extra / ref['peer'].cpu:.2f}x the training peer timed between them "
          f"({ref['peer'].cpu:.3f} s)")
    print(f"  fresh / zygote = {per['fresh'] / per['zygote']:.2f}x CPU per submission")

    peer = bench_nbgrader(peers) if peers else {}
    if peer:
        nb, ours = (peer[k].cpu / peers for k in ("nbgrader", "batch"))
        print(f"\n5. the same {peers} gallery submissions, each grader a command of its own")
        for name, what in (("nbgrader", "nbgrader autograde (nbgrader-course's course)"),
                           ("batch", "backprop-hw batch -j 1")):
            sample = peer[name]
            print(f"  {what:<46} {sample.cpu / peers:.3f} CPU-s and {sample.wall / peers:.3f} s "
                  f"wall per submission (other processes: {others_text(sample)} cores)")
        print(f"  nbgrader / batch = {nb / ours:.1f}x CPU per submission")

    rows = [
        ("grade(): wall, median", f"{statistics.median(walls):.3f} s",
         f"<= {GOAL_WALL:g} s: {'met' if statistics.median(walls) <= GOAL_WALL else 'NOT met'}"),
        ("grade(): CPU, mean", f"{grade_cpu:.3f} s",
         f"<= {GOAL_CPU:g} s: {'met' if grade_cpu <= GOAL_CPU else 'NOT met'}"),
        ("  of which training (peer)", f"{train_cpu:.3f} s", ""),
        ("  grader overhead", f"{grade_cpu - train_cpu:.3f} s",
         f"grade/training {grade_cpu / train_cpu:.2f}x"),
        ("grade(): peak RSS sandbox/grader",
         f"{info['rss_sandbox']:.0f}/{info['rss_self']:.0f} MiB", ""),
        (f"batch -j 1: {students} subs, best", f"{j1.wall:.2f} s wall",
         f"{students / j1.wall:.2f} subs/s, {j1.cpu / students:.3f} CPU-s/sub"),
        (f"batch -j 2: {students} subs, best", f"{j2.wall:.2f} s wall",
         f"{students / j2.wall:.2f} subs/s, {j2.cpu / students:.3f} CPU-s/sub"),
        ("batch speedup j2/j1", f"{speedup:.2f}x",
         f"scales with workers (ideal 2.00x); other processes used {others_text(j1)} / "
         f"{others_text(j2)} cores meanwhile"),
        (f"batch -j 1 command, {copies} references", f"{per['command']:.3f} CPU-s/sub",
         f"with its start-up; in-process {per['zygote']:.3f} (zygote) vs {per['fresh']:.3f} "
         f"(fresh)"),
        ("  one more submission", f"{extra:.3f} CPU-s",
         f"<= {GOAL_BATCH_CPU:g}: {'met' if extra <= GOAL_BATCH_CPU else 'NOT met'} "
         f"({copies} vs {few} copies; {extra / ref['peer'].cpu:.2f}x the training peer "
         f"timed between them)"),
    ]
    if peer:
        rows.append((f"nbgrader autograde, {peers} subs", f"{nb:.3f} CPU-s/sub",
                     f"{nb / ours:.1f}x backprop-hw batch -j 1 ({ours:.3f}) on the same "
                     f"submissions"))
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"\nsummary ({machine()}, {load()} at the end)")
    print(f"  {'measure':<{width}}  {'value':>{value_width}}  goal / note")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>{value_width}}  {note}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
