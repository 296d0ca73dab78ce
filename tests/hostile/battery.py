"""The hostile-input battery: every attack on huisou, each with a time and a memory limit.

Run ``python tests/hostile/battery.py`` (``-k WORD`` picks cases, ``-v`` shows the output of
failed ones). Every ``tests/hostile/cases_*.py`` module exports ``CASES: list[Case]``; each case
runs in a subprocess of its own, in a fresh temp dir with a fresh ``HUISOU_HOME`` inside it,
under an address-space limit (inherited by the ``huisou`` processes it starts) and a wall-time
limit (the whole process group is killed). A case passes when ``run`` returns without raising.
One line per case, then ``N passed, N failed``; exit 1 if any failed. See README.md here.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
DEFAULT_TIMEOUT = 30.0


@dataclass
class Case:
    """One attack: ``run(tmp)`` raises (usually ``AssertionError``) when huisou misbehaves."""

    name: str
    run: Callable[[Path], None]
    timeout: float = 60
    memory_mb: int = 3072


@dataclass
class Outcome:
    case: Case
    passed: bool
    seconds: float
    peak_mb: float | None
    reason: str
    output: str


# --- helpers for cases --------------------------------------------------------------------


@dataclass
class Run:
    """What one ``huisou`` command did (output decoded losslessly with ``surrogateescape``)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"huisou {' '.join(map(repr, self.args))} -> exit {self.returncode}\n"
            f"--- stdout ---\n{self.stdout[-2000:]}\n--- stderr ---\n{self.stderr[-4000:]}"
        )


def huisou(
    *args: str | os.PathLike[str],
    timeout: float = DEFAULT_TIMEOUT,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Run:
    """Run the ``huisou`` CLI (this interpreter's) in ``HUISOU_HOME``; a hang fails the case."""
    argv = [os.fspath(arg) for arg in args]
    command = [sys.executable, "-m", "huisou", *argv]
    try:
        done = subprocess.run(
            command,
            input=input if input is not None else b"",
            capture_output=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"huisou {' '.join(map(repr, argv))} hung (> {timeout:g} s)") from exc
    decode = lambda data: data.decode("utf-8", "surrogateescape")  # noqa: E731
    return Run(argv, done.returncode, decode(done.stdout), decode(done.stderr))


def expect_ok(run: Run) -> Run:
    """Exit 0 and no traceback."""
    assert run.returncode == 0, f"expected exit 0\n{run.describe()}"
    assert "Traceback" not in run.stderr + run.stdout, f"traceback\n{run.describe()}"
    return run


def expect_error(run: Run, code: int = 1, naming: str | os.PathLike[str] | None = None) -> Run:
    """Exit ``code``, stderr is exactly one line (naming ``naming`` if given), no traceback."""
    assert "Traceback" not in run.stderr + run.stdout, f"traceback\n{run.describe()}"
    assert run.returncode == code, f"expected exit {code}\n{run.describe()}"
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}\n{run.describe()}"
    if naming is not None:
        assert os.fspath(naming) in lines[0], f"stderr does not name {naming!r}\n{run.describe()}"
    return run


def fake_home(home: Path | None = None) -> Path:
    """Make ``HUISOU_HOME`` use the fake colour backend and numpy store (no model needed)."""
    home = Path(home or os.environ["HUISOU_HOME"])
    plugins = home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "fakes.py").write_text(
        "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n"
    )
    (home / "config.toml").write_text(
        f'backend = "fake"\nstore = "numpy"\nbatch_size = 2\nplugins_dir = "{plugins}"\n'
    )
    return home


def make_photos(folder: Path, count: int = 3, size: tuple[int, int] = (32, 24)) -> list[Path]:
    """``count`` small distinct JPEGs in ``folder`` (created)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo{i:03d}.jpg"
        Image.new("RGB", size, ((40 * i) % 256, 200 - (30 * i) % 200, 90)).save(path)
        paths.append(path)
    return paths


# --- discovery and running ----------------------------------------------------------------


def load_module(path: Path) -> ModuleType:
    """Import a case module; its ``from battery import ...`` gets this very module."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    sys.modules.setdefault("battery", sys.modules[__name__])
    spec = importlib.util.spec_from_file_location(f"hostile_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def discover(directory: Path = HERE) -> list[tuple[Path, Case]]:
    """Every case of every ``cases_*.py`` module in ``directory``, in file order."""
    found: list[tuple[Path, Case]] = []
    for path in sorted(directory.glob("cases_*.py")):
        for case in load_module(path).CASES:
            found.append((path, case))
    names = [case.name for _path, case in found]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SystemExit(f"battery: duplicate case names: {', '.join(duplicates)}")
    return found


def run_case(module: Path, case: Case) -> Outcome:
    """Run ``case`` in a child process with its limits; the child reports its peak RSS."""
    with tempfile.TemporaryDirectory(prefix="huisou-hostile-") as tmp:
        report = Path(tmp) / "report.json"
        work = Path(tmp) / "case"
        work.mkdir()
        command = [sys.executable, str(Path(__file__).resolve()), "--child", str(module)]
        command += [case.name, str(work), str(report)]
        started = time.monotonic()
        child = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: a timeout kills every descendant
        )
        try:
            output, _ = child.communicate(timeout=case.timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            output, _ = child.communicate()
            timed_out = True
        seconds = time.monotonic() - started
        text = output.decode("utf-8", "replace")
        data = json.loads(report.read_text()) if report.exists() else {}
    peak = data.get("peak_mb")
    if timed_out:
        reason = f"timed out after {case.timeout:g} s"
    elif child.returncode != 0:
        reason = data.get("error") or f"child exited {child.returncode} (memory limit?)"
    elif peak is not None and peak > case.memory_mb:
        reason = f"peak RSS {peak:.0f} MB over the {case.memory_mb} MB limit"
    else:
        reason = ""
    return Outcome(case, not reason, seconds, peak, reason, text)


def child_main(module: Path, name: str, work: Path, report: Path) -> int:
    """Inside the child: limits, a fresh ``HUISOU_HOME``, run the case, report peak RSS."""
    cases = {case.name: case for case in load_module(module).CASES}
    case = cases[name]
    limit = case.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.environ["HUISOU_HOME"] = str(work / "home")
    os.environ.pop("HUISOU_CONFIG", None)
    (work / "home").mkdir()
    os.chdir(work)
    error = ""
    try:
        case.run(work)
    except BaseException as exc:  # noqa: BLE001 - any escape is the case failing
        traceback.print_exc()
        error = _first_line(exc)
    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    report.write_text(json.dumps({"peak_mb": peak_kb / 1024, "error": error}))
    return 1 if error else 0


def _first_line(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0] if message else ''}"


def _line(outcome: Outcome) -> str:
    peak = f", peak {outcome.peak_mb:.0f} MB" if outcome.peak_mb is not None else ""
    status = "PASS" if outcome.passed else "FAIL"
    line = f"{status} {outcome.case.name} ({outcome.seconds:.1f} s{peak})"
    return line if outcome.passed else f"{line}: {outcome.reason}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="pattern", help="only cases whose name contains this")
    parser.add_argument("-v", "--verbose", action="store_true", help="show failed cases' output")
    parser.add_argument("--cases-dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        module, name, work, report = args.child
        return child_main(Path(module), name, Path(work), Path(report))
    selected = [
        (module, case)
        for module, case in discover(args.cases_dir)
        if not args.pattern or args.pattern in case.name
    ]
    passed = failed = 0
    for module, case in selected:
        outcome = run_case(module, case)
        print(_line(outcome), flush=True)
        if not outcome.passed and args.verbose:
            print("    " + outcome.output.rstrip().replace("\n", "\n    "), flush=True)
        passed, failed = passed + outcome.passed, failed + (not outcome.passed)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
