"""collections_postponed (application/gc_pause.py): nested and concurrent holders."""

from __future__ import annotations

import gc
import threading

from application.gc_pause import collections_postponed


def test_collections_wait_until_the_last_holder_leaves():
    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with collections_postponed():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=other_writer)
    with collections_postponed():
        assert not gc.isenabled()
        thread.start()
        assert entered.wait(10)
    assert not gc.isenabled()  # the other thread still holds it
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    try:
        with collections_postponed():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_re_enabled_after_an_exception():
    try:
        with collections_postponed():
            raise ValueError("write failed")
    except ValueError:
        pass
    assert gc.isenabled()
