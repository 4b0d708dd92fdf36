"""Similarity-based candidate lookup with the real embedding model: a paraphrase
that the slot rules key differently still revises the same memory."""

import numpy as np
import pytest

from application.similarity import EmbeddingSimilarity
from domain.consolidation import Consolidator
from domain.extraction import Candidate, ExistingMemory
from domain.governance import TimePriority
from projections.embedding.embedder import build_embedder


@pytest.fixture(scope="module")
def similar(model_dir):
    embedder = build_embedder(model_dir=model_dir)
    return EmbeddingSimilarity(lambda: embedder)


def held(memory_id, key, content, kind="preference"):
    return ExistingMemory(memory_id=memory_id, kind=kind, key=key, content=content, version=1,
                          slots={key: content}, attributes={"lang": "zh"})


def cand(slot, content, kind="preference"):
    return Candidate(kind, slot, content, content, "zh", ("m1",), preference_type="explicit")


@pytest.mark.parametrize("existing,new,same", [
    (held("p1", "preference.horror_movies", "用户喜欢看恐怖片"), cand("preference.horror_film", "用户爱看恐怖电影"), True),
    (held("p1", "preference.horror_movies", "用户喜欢看恐怖片"), cand("preference.comedy", "用户喜欢看喜剧片"), False),
    (held("w1", "work.employer", "The user works at Google.", "fact"),
     cand("work.company", "The user is employed by Google.", "fact"), True),
    (held("w1", "work.employer", "The user works at Google.", "fact"),
     cand("work.company", "The user works at Microsoft.", "fact"), False),
    (held("h1", "preference.hiking", "The user likes hiking."), cand("preference.biking", "The user likes biking."), False),
])
def test_paraphrase_revises_the_same_memory(similar, existing, new, same):
    [decision] = Consolidator(TimePriority(), similar).decide([new], [existing], [])
    if same:
        assert (decision.action, decision.memory_id) == ("revise", existing.memory_id)
        assert set(decision.slots) == {existing.key, new.slot}, "both keys now lead to this memory"
    else:
        assert decision.action == "create"


def test_without_a_matcher_slots_decide_alone():
    existing = held("p1", "preference.horror_movies", "用户喜欢看恐怖片")
    [decision] = Consolidator(TimePriority()).decide([cand("preference.horror_film", "用户爱看恐怖电影")], [existing], [])
    assert decision.action == "create"


class CountingModel:
    """The real model, counting the texts each call hands it."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def embed(self, texts):
        self.calls.append(list(texts))
        return self.inner.embed(texts)


def test_prefetched_and_compared_texts_reach_the_model_once(model_dir):
    model = CountingModel(build_embedder(model_dir=model_dir))
    similar = EmbeddingSimilarity(lambda: model)
    similar.prefetch(["The user is employed by Google.", "The user likes biking."])
    assert model.calls == [["The user is employed by Google.", "The user likes biking."]]
    pool = ["The user works at Google.", "The user likes hiking."]
    assert similar("The user is employed by Google.", pool) == 0
    assert similar("The user likes biking.", pool) is None
    assert model.calls[1:] == [pool]  # the pool once, in one batch; the prefetched texts never again
    direct = np.asarray(model.inner.embed(["The user is employed by Google.", *pool]))
    assert similar._vectors(["The user is employed by Google.", *pool]) == pytest.approx(direct, abs=1e-6)
