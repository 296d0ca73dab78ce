"""The hostile-input battery runs in the normal suite, and its runner catches what it claims to."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BATTERY = Path(__file__).parent / "hostile" / "battery.py"


def run_battery(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BATTERY), *args], capture_output=True, text=True, timeout=1800
    )


@pytest.mark.slow
def test_every_hostile_case_passes():
    result = run_battery("-v")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].endswith(" 0 failed")


def test_runner_fails_raising_hanging_and_memory_hungry_cases(tmp_path: Path):
    (tmp_path / "cases_selftest.py").write_text(
        textwrap.dedent(
            """
            import os, time
            from pathlib import Path
            from battery import Case

            def fine(tmp):
                assert Path(os.environ["HUISOU_HOME"]).parent == tmp and tmp == Path.cwd()
                (tmp / "mine").write_text("fresh")

            def fresh(tmp):
                assert not (tmp / "mine").exists()

            def raises(tmp):
                raise AssertionError("huisou printed a traceback")

            def hangs(tmp):
                time.sleep(60)

            def hogs(tmp):
                blocks = [bytearray(64 << 20) for _ in range(40)]  # 2.5 GB

            CASES = [
                Case("fine", fine),
                Case("fresh", fresh),
                Case("raises", raises),
                Case("hangs", hangs, timeout=2),
                Case("hogs", hogs, memory_mb=512),
            ]
            """
        )
    )
    result = run_battery("--cases-dir", str(tmp_path))
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    statuses = [line.split(" ", 1)[0] for line in lines[:-1]]
    assert statuses == ["PASS", "PASS", "FAIL", "FAIL", "FAIL"]
    assert "huisou printed a traceback" in lines[2]
    assert "timed out after 2 s" in lines[3]
    assert "MemoryError" in lines[4]
    assert lines[-1] == "2 passed, 3 failed"
    picked = run_battery("--cases-dir", str(tmp_path), "-k", "fine")
    assert picked.returncode == 0 and picked.stdout.splitlines()[-1] == "1 passed, 0 failed"
