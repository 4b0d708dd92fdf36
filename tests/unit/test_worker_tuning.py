"""Per-role process settings of `memstream worker` (streams/cli_stream.py::tune_for_role)."""

from __future__ import annotations

import subprocess
import sys

from application.settings import Settings
from streams.cli_stream import tune_for_role
from tests.conftest import REPO


def test_embedding_threads_default_to_one_in_a_worker_and_two_elsewhere():
    assert Settings(embed_threads=0).embedding_threads == 2
    assert tune_for_role(Settings(embed_threads=0), "projections").embedding_threads == 1
    assert tune_for_role(Settings(embed_threads=3), "all").embedding_threads == 3


def _niceness_after(role: str, fine_nice: int) -> int:
    code = ("import os; from application.settings import Settings; from streams.cli_stream import tune_for_role; "
            f"tune_for_role(Settings(fine_nice={fine_nice}), {role!r}); print(os.nice(0))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    return int(out.stdout.strip())


def test_only_a_fine_worker_lowers_its_priority():
    base = _niceness_after("fast", 10)
    assert _niceness_after("fine", 10) == min(19, base + 10)
    assert _niceness_after("fine", 0) == base
