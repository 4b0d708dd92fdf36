"""Object categories with the real embedding model: typical members of a category are told
apart from generic words, in both languages (``extraction/rules/categories.py``)."""

import pytest

from extraction.rules.categories import ObjectCategories, object_phrases
from projections.embedding.embedder import build_embedder


@pytest.fixture(scope="module")
def categories(model_dir):
    embedder = build_embedder(model_dir=model_dir)
    return ObjectCategories(lambda texts: embedder.embed(list(texts)))


@pytest.mark.parametrize("text, category", [
    ("I play the saxophone in a band", "instrument"), ("我最近在学二胡", "instrument"),
    ("trail running on weekends", "sport"), ("每周打两次羽毛球", "sport"),
    ("my car is a Honda Civic", "car"), ("我开比亚迪汉", "car"),
    ("Got the iPhone 15 yesterday", "phone"), ("I bought a Dell XPS 13 for work", "computer"),
    ("doing watercolour painting", "art"), ("studying Spanish before the trip", "language"),
])
def test_members_take_their_category(categories, text, category):
    assert category in categories(text), (text, categories(text))


@pytest.mark.parametrize("text", ["we had lunch after the weekend", "my dog hurt his finger", "周末和朋友吃饭"])
def test_generic_words_name_no_category(categories, text):
    assert categories(text) == {}, (text, categories(text))


def test_a_category_named_by_its_own_word_has_no_object(categories):
    assert categories("my phone keeps dying") == {"phone": frozenset()}
    assert categories("我手机是vivo X70")["phone"] == frozenset({"vivo x70"})


def test_phrases_keep_model_numbers_and_pairs():
    assert {"iPhone 15", "trail running"} <= set(object_phrases("Got the iPhone 15, then trail running"))
    assert "尤克里里" in object_phrases("现在改弹尤克里里了")
