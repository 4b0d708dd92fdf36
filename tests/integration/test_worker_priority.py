"""A ``--role fine`` worker lowers its priority (cli/stream.py ``tune_for_role``): checked in
processes of their own, since niceness cannot be raised back and a session is per process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def _niceness_after(role: str, fine_nice: int) -> int:
    code = ("import os; from application.settings import Settings; from cli.stream import tune_for_role; "
            f"tune_for_role(Settings(fine_nice={fine_nice}), {role!r}); print(os.nice(0))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    return int(out.stdout.strip())


def test_only_a_fine_worker_lowers_its_priority():
    base = _niceness_after("fast", 10)
    assert _niceness_after("fine", 10) == min(19, base + 10)
    assert _niceness_after("fine", 0) == base


def test_a_session_leader_lowers_its_sessions_priority_and_nobody_else_does(tmp_path):
    """Linux autogroups share the CPU between sessions first; see lower_session_priority."""
    def run(new_session: bool, target: Path) -> str:
        code = ("import sys; from pathlib import Path; from cli.stream import lower_session_priority; "
                f"print(lower_session_priority(10, Path({str(target)!r})))")
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                             check=True, start_new_session=new_session)
        return out.stdout.strip()

    target = tmp_path / "autogroup"
    assert run(False, target) == "False" and not target.exists()  # it would renice the caller's session
    assert run(True, target) == "True" and target.read_text() == "10"
    assert run(True, tmp_path / "no-autogroup-support" / "autogroup") == "False"  # no error either
