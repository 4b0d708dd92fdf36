"""The repository hands out deep copies of a cached directory; the copy shares the entry
values (never changed in place) but must be independent wherever it can change."""

import copy

from domain.user_directory import UserDirectory


def directory_with_one_entry() -> UserDirectory:
    d = UserDirectory(user_id="ana")
    d.update(upserts={"m1": {"key": "residence", "slots": {"residence": "Lisbon"}}}, removals=[],
             conversation_id="c1", event_id="e1")
    return d


def test_a_copy_changes_without_changing_the_original():
    original = directory_with_one_entry()
    clone = copy.deepcopy(original)
    assert (clone.id, clone.version, clone.entries, clone.last_input) == (
        original.id, original.version, original.entries, original.last_input)
    clone.update(upserts={"m2": {"key": "work"}}, removals=["m1"], conversation_id="c1", event_id="e2")
    assert set(original.entries) == {"m1"} and original.last_input == {"c1": "e1"}
    assert set(clone.entries) == {"m2"} and clone.last_input == {"c1": "e2"}
    assert (original.version, clone.version) == (2, 3)
    assert [type(e).__name__ for e in clone.collect_events()][-1] == "DirectoryUpdated"
    assert len(original.collect_events()) == 2  # the copy's new event is not the original's


def test_a_copy_inside_a_larger_structure_is_copied_once():
    original = directory_with_one_entry()
    pair = copy.deepcopy([original, original])
    assert pair[0] is pair[1] and pair[0] is not original
