"""Per-role process settings of `memstream worker` (cli/stream.py): tuning and what each
role loads before it joins its consumer group. The priority changes need processes of
their own: tests/integration/test_worker_priority.py."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from application.fine_stage import FineStage
from application.memory_app import MemoryApplication
from application.service import MemoryService
from application.settings import Settings
from cli.stream import preload, tune_for_role
from streams.app import ROLES, build_app
from tests.support.fakes import PlannedExtractor


def test_embedding_threads_default_to_one_in_a_worker_and_two_elsewhere():
    assert Settings(embed_threads=0).embedding_threads == 2
    assert tune_for_role(Settings(embed_threads=0), "projections").embedding_threads == 1
    assert tune_for_role(Settings(embed_threads=3), "all").embedding_threads == 3


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


class LoadingRuntime:
    """Records which of the runtime's lazily loaded parts were asked for."""

    def __init__(self, embed_ahead: bool = True) -> None:
        self.settings = Settings(embed_ahead=embed_ahead)
        self.store = store = MemoryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.service = MemoryService(store, FineStage(store, PlannedExtractor()))  # for build_app's handler
        self.loaded: list[str] = []

    @property
    def read_side(self):
        self.loaded.append("read_side")

    @property
    def embedder(self):
        self.loaded.append("embedder")


def what_the_role_runs(role: str, data_dir: Path) -> set[str]:
    """The agents and tasks the role's real Faust app starts (``projections`` has no app)."""
    if role == "projections":
        return {"projections"}
    settings = Settings(kafka_url="127.0.0.1:1", data_dir=data_dir)
    app = build_app(settings, LoadingRuntime(), role=role)  # type: ignore[arg-type]
    runs = set(app.agents)
    if any(task.__name__ == "run_projections" for task in app._app_tasks):
        runs.add("projections")
    return runs


@pytest.mark.parametrize("embed_ahead", [True, False])
@pytest.mark.parametrize("role", [*ROLES, "projections"])
def test_each_role_loads_what_its_app_embeds_with_before_joining(role: str, embed_ahead: bool, tmp_path: Path):
    """Whatever projects needs the read side (model and index); the Fine agent embeds
    ahead with the model alone; a role that does neither loads nothing."""
    runs = what_the_role_runs(role, tmp_path)
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
