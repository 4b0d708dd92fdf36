"""Revision by object category (``Consolidator._category_of``), with a hand-written categoriser:
a change that shares no word with what it replaces still revises it when both name the same
kind of object, and a single-valued kind (a phone) is replaced without a change marker."""

from domain.consolidation import Consolidator, other_objects
from domain.extraction import Candidate, ExistingMemory
from domain.governance import TimePriority

KNOWN = {"bouldering": "sport", "trail running": "sport", "tennis": "sport", "pixel 6": "phone",
         "iphone 15": "phone", "camera": "phone", "guitar": "instrument", "吉他": "instrument", "尤克里里": "instrument"}


def categories(text: str) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for phrase, category in KNOWN.items():
        if phrase in text.lower():
            out.setdefault(category, set()).add(phrase)
    return {c: frozenset(p) for c, p in out.items()}


def words(text: str) -> frozenset[str]:
    """Object words: none of the phrasings below share one, so only categories can match."""
    return frozenset(w.strip(".") for w in text.lower().split()) - {"the", "user", "user's", "is", "a", "into"}


def consolidator() -> Consolidator:
    return Consolidator(TimePriority(), words=words, categories=categories,
                        single_valued=frozenset({"phone"}))


def held(mid, key, content, **attributes):
    return ExistingMemory(memory_id=mid, kind="fact", key=key, content=content, version=1, slots={key: content},
                          attributes={"lang": "en", **attributes})


def new(content, slot="note.x", **attributes):
    return Candidate("fact", slot, content, content, "en", ("m2",), group=None, attributes=attributes)


def test_a_changed_hobby_of_the_same_kind_revises_the_old_one():
    history = [held("h1", "hobby.boulder", "The user goes bouldering twice a week."),
               held("g1", "hobby.guitar", "The user plays guitar.")]
    [d] = consolidator().decide([new("These days the user is into trail running.", change=True)], history, [])
    assert (d.action, d.memory_id) == ("revise", "h1")


def test_without_a_change_marker_a_second_hobby_is_a_new_memory():
    history = [held("h1", "hobby.boulder", "The user goes bouldering.")]
    [d] = consolidator().decide([new("The user plays tennis on Sundays.")], history, [])
    assert d.action == "create"


def test_an_additive_or_narrating_statement_keeps_both():
    history = [held("h1", "hobby.boulder", "The user goes bouldering.")]
    for attributes in ({"change": True, "additive": True}, {"change": True, "weak_change": True}):
        [d] = consolidator().decide([new("The user started tennis.", **attributes)], history, [])
        assert d.action == "create", attributes


def test_another_phone_replaces_the_phone_without_a_marker():
    history = [held("p1", "possession.phone", "The user's phone is a Pixel 6.")]
    [d] = consolidator().decide([new("The user got the iPhone 15.", family="possession")], history, [])
    assert (d.action, d.memory_id, d.content) == ("revise", "p1", "The user got the iPhone 15.")


def test_only_a_possession_replaces_a_possession():
    """A photo caption or a remark naming a phone is not the user's new phone."""
    history = [held("p1", "possession.phone", "The user's phone is a Pixel 6.")]
    for attributes in ({}, {"family": "possession", "revise_only": True}):
        decisions = consolidator().decide([new("A photo of an iPhone 15 on a desk.", **attributes)], history, [])
        assert [d.memory_id for d in decisions if d.action == "revise"] == [], attributes
    notes = [held("n1", "note.phone", "The user's friend showed a Pixel 6.")]
    [d] = consolidator().decide([new("The user got the iPhone 15.", family="possession")], notes, [])
    assert d.action == "create"


def test_the_same_phone_again_is_not_a_replacement():
    history = [held("p1", "possession.phone", "The user's phone is a Pixel 6.")]
    [d] = consolidator().decide([new("The Pixel 6 camera of the user is great.", family="possession")], history, [])
    assert d.action == "create"


def test_a_relatives_phone_is_not_the_users():
    history = [held("p1", "possession.phone", "The user's phone is a Pixel 6.")]
    [d] = consolidator().decide([new("The user's sister got the iPhone 15.", subject="sister", family="possession")],
                                history, [])
    assert d.action == "create"


def test_chinese_instrument_switch():
    history = [held("h1", "hobby.吉他", "用户在自学吉他", lang="zh")]
    cand = Candidate("fact", "note.尤克", "现在改弹尤克里里了", "用户现在改弹尤克里里了", "zh", ("m2",), group=None,
                     attributes={"change": True, "revise_only": True})
    [d] = consolidator().decide([cand], history, [])
    assert (d.action, d.memory_id) == ("revise", "h1")


def test_other_objects_compares_words_and_chinese_character_pairs():
    assert other_objects(frozenset({"pixel 6"}), frozenset({"iphone 15"}))
    assert not other_objects(frozenset({"pixel"}), frozenset({"pixel 6"}))
    assert not other_objects(frozenset({"卡罗拉卖"}), frozenset({"卡罗拉"}))
    assert other_objects(frozenset({"比亚迪汉"}), frozenset({"卡罗拉"}))
    assert not other_objects(frozenset(), frozenset({"卡罗拉"}))


def test_a_phone_the_user_has_replaces_the_owned_one_whatever_the_rule():
    """No possession rule fired ("the user's iPhone 15 battery"): the possessive says it."""
    history = [held("p1", "note.phone", "The user's Pixel 6 keeps freezing.")]
    [d] = consolidator().decide([new("The user's iPhone 15 battery drains fast.")], history, [])
    assert (d.action, d.memory_id) == ("revise", "p1")
    [d] = consolidator().decide([new("Reviews of the iPhone 15 are mixed.")], history, [])
    assert d.action == "create"


def test_possessed():
    from domain.consolidation import possessed

    phone = {"phone": frozenset({"iphone 16"})}
    assert possessed("用户的iPhone 16充电口有点松", phone, frozenset({"phone"}))
    assert possessed("The user just got the iPhone 16.", phone, frozenset({"phone"}))
    assert not possessed("The user read reviews of the iPhone 16.", phone, frozenset({"phone"}))
    assert not possessed("The user's iPhone 16.", phone, frozenset({"car"}))


def test_a_part_of_the_phone_is_not_another_phone():
    """The categoriser may put a phone's camera with phones; the camera is not owned as a phone."""
    history = [held("p1", "note.phone", "The user's Pixel 6 keeps freezing.")]
    [d] = consolidator().decide([new("The camera on the user's phone is blurry.", family="possession")], history, [])
    assert d.action == "create"
