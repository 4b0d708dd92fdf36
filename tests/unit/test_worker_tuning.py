"""Per-role process settings of `memstream worker` (streams/cli_stream.py): tuning and
what each role loads before it joins its consumer group."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from application.settings import Settings
from cli.stream import preload, tune_for_role
from streams.app import ROLES, build_app
from tests.conftest import REPO


def test_embedding_threads_default_to_one_in_a_worker_and_two_elsewhere():
    assert Settings(embed_threads=0).embedding_threads == 2
    assert tune_for_role(Settings(embed_threads=0), "projections").embedding_threads == 1
    assert tune_for_role(Settings(embed_threads=3), "all").embedding_threads == 3


def _niceness_after(role: str, fine_nice: int) -> int:
    code = ("import os; from application.settings import Settings; from cli.stream import tune_for_role; "
            f"tune_for_role(Settings(fine_nice={fine_nice}), {role!r}); print(os.nice(0))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    return int(out.stdout.strip())


def test_only_a_fine_worker_lowers_its_priority():
    base = _niceness_after("fast", 10)
    assert _niceness_after("fine", 10) == min(19, base + 10)
    assert _niceness_after("fine", 0) == base


def test_the_worker_leaves_the_root_logger_at_its_level():
    """Faust's spinner would set it to DEBUG: every library debug call then builds a record."""
    import faust

    from streams.faust_worker import build_worker

    def level_after_setup(worker: faust.Worker) -> int:
        logger = logging.getLogger(f"memstream-test-{id(worker)}")
        logger.addHandler(logging.NullHandler())
        logger.setLevel(logging.WARNING)
        worker.on_setup_root_logger(logger, logging.WARNING)
        return logger.level

    app = faust.App("memstream-test-logging", broker="kafka://127.0.0.1:1", store="memory://")
    stock = faust.Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False)
    assert level_after_setup(stock) == logging.DEBUG  # what the fix is for
    assert level_after_setup(build_worker(app)) == logging.WARNING


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


class LoadingRuntime:
    """Records which of the runtime's lazily loaded parts were asked for."""

    def __init__(self, embed_ahead: bool = True) -> None:
        self.settings = Settings(embed_ahead=embed_ahead)
        self.service = SimpleNamespace(store=None)  # what build_app's record handler holds
        self.loaded: list[str] = []

    @property
    def read_side(self):
        self.loaded.append("read_side")

    @property
    def embedder(self):
        self.loaded.append("embedder")


def what_the_role_runs(role: str) -> set[str]:
    """The agents and tasks the role's real Faust app starts (``projections`` has no app)."""
    if role == "projections":
        return {"projections"}
    app = build_app(Settings(kafka_url="127.0.0.1:1"), LoadingRuntime(), role=role)  # type: ignore[arg-type]
    runs = set(app.agents)
    if any(task.__name__ == "run_projections" for task in app._app_tasks):
        runs.add("projections")
    return runs


@pytest.mark.parametrize("embed_ahead", [True, False])
@pytest.mark.parametrize("role", [*ROLES, "projections"])
def test_each_role_loads_what_its_app_embeds_with_before_joining(role: str, embed_ahead: bool):
    """Whatever projects needs the read side (model and index); the Fine agent embeds
    ahead with the model alone; a role that does neither loads nothing."""
    runs = what_the_role_runs(role)
    if "projections" in runs:
        needed = ["read_side"]
    elif "memstream.fine" in runs and embed_ahead:
        needed = ["embedder"]
    else:
        needed = []
    runtime = LoadingRuntime(embed_ahead=embed_ahead)
    preload(runtime, role)
    assert runtime.loaded == needed, f"--role {role} runs {sorted(runs)}"
    if role == "fast":
        assert runs == {"memstream.fast"} and runtime.loaded == []  # the Fast stage never embeds
