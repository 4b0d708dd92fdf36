"""The default extractor: offline rules find candidate slots, consolidation decides.

No network and no model: it always works, which is why it is also the fallback
when the Anthropic extractor cannot reach its API.
"""

from __future__ import annotations

import functools

from domain.information import content_tokens
from domain.consolidation import GROUPS, PARAPHRASE_KINDS, Categories, Consolidator, Similar
from domain.extraction import Candidate, CandidateFinder, Extraction, ExtractionRequest
from domain.governance import GovernancePolicy, TimePriority
from domain.skill import decide_skills
from domain.tool_usage import tool_candidates
from extraction.rules.attachments import attachment_candidates
from extraction.rules.skills import find_skills


def restates_skill(candidate: Candidate, skills_covered: set[str]) -> bool:
    """The fallback's catch-all note about a message a skill represents whole: the skill says it."""
    return candidate.slot.startswith("note.") and set(candidate.source_message_ids) <= skills_covered


COVERED_SHARE = 0.5
"""Share of a long message's content words the memories made from it must hold to cover it."""


def _root(token: str) -> str:
    """A crude inflection fold, enough to compare "went to the park" with "goes to parks"."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(token) > len(suffix) + 2 and token.endswith(suffix):
            return token[: -len(suffix)]
    return token


def partly_represented(messages, decisions, held_by, covered) -> frozenset[str]:
    """Long user messages (12+ English content words) the rules claimed sentence by sentence,
    whose memories hold less than half of their content words: their episodes must stay.

    Why: a later revision, a dropped clause or a merge can leave part of a multi-sentence turn
    ("my school event last week ... I talked about my journey ...") in no memory; archiving the
    episode would lose it (LoCoMo recall). Chinese is compared by characters, so it keeps the
    rules' coverage; a message an existing memory holds (``held_by``) is left to that link."""
    out: set[str] = set()
    for m in messages:
        if not m.is_new or m.role != "user" or m.message_id not in covered or held_by.get(m.message_id):
            continue
        said = {_root(t) for t in content_tokens(m.text or "") if t.isascii()}
        if len(said) < 12:
            continue
        contents = [d.content or "" for d in decisions if m.message_id in d.source_message_ids]
        if not contents:
            continue
        kept = {_root(t) for c in contents for t in content_tokens(c)}
        if len(said & kept) < COVERED_SHARE * len(said):
            out.add(m.message_id)
    return frozenset(out)


class _CachedCategories:
    """An object categoriser with its answers kept per text: a candidate that can revise by
    category is compared with every clause of the user, and each clause again at the next.
    ``prefetch`` passes on only the texts not answered yet, so a long history is not split into
    phrases again at every such candidate."""

    MAX_TEXTS = 16_384

    def __init__(self, categorise: Categories) -> None:
        self._categorise = categorise
        self._answers: dict[str, dict[str, frozenset[str]]] = {}

    def __call__(self, text: str) -> dict[str, frozenset[str]]:
        answer = self._answers.get(text)
        if answer is None:
            if len(self._answers) >= self.MAX_TEXTS:
                self._answers.clear()
            answer = self._answers[text] = self._categorise(text)
        return answer

    def prefetch(self, texts: list[str]) -> None:
        new = [t for t in texts if t not in self._answers]
        if new:
            getattr(self._categorise, "prefetch", lambda texts: None)(new)

    def forget_all(self) -> None:
        self._answers.clear()
        getattr(self._categorise, "forget_all", lambda: None)()


class RuleBasedExtractor:
    name = "rules-v1"

    def __init__(
        self,
        finder: CandidateFinder | None = None,
        policy: GovernancePolicy | None = None,
        similar: Similar | None = None,
        categories: Categories | None = None,
    ) -> None:
        if finder is None:
            from extraction.rules import RuleCandidateFinder

            finder = RuleCandidateFinder()
        self.finder = finder
        self.policy = policy or TimePriority()
        from extraction.rules.topics import content_words, family_values

        # memoised: consolidation compares each candidate with every clause of the user's
        # memories, and recomputed those clauses' words each time (a third of its CPU on LoCoMo)
        words = functools.lru_cache(maxsize=16_384)(lambda text: frozenset(content_words(text)))
        self._words = words
        values = functools.lru_cache(maxsize=4_096)(family_values)
        self._values = values
        self.family_values = values
        """How this extractor reads a family's values; the Offline stage settles by it too."""
        from extraction.rules.categories import SINGLE_VALUED

        # memoised per text: a qualifying candidate is compared with every clause of the user
        self._categories = _CachedCategories(categories) if categories else None
        self.consolidator = Consolidator(self.policy, similar, words, values, self._categories, SINGLE_VALUED)

    def forget_cached(self) -> None:
        """Drop the texts this extractor keeps in memory (content words, paraphrase vectors),
        so that forgotten content does not outlive a forget in a running process."""
        self._words.cache_clear()
        self._values.cache_clear()
        getattr(self.consolidator.similar, "forget_all", lambda: None)()
        if self._categories is not None:
            self._categories.forget_all()

    def extract(self, request: ExtractionRequest) -> Extraction:
        found = self.finder.find(request.messages)
        tools, tools_covered = tool_candidates(request.messages)
        skills, skills_covered = find_skills(request.messages)  # decided apart: domain/skill.py
        media, media_covered = attachment_candidates(request.messages)
        tools_covered = tools_covered | skills_covered | media_covered  # represented whole
        candidates = [c for c in found.candidates if not restates_skill(c, skills_covered)] + tools + media
        self._prefetch(candidates, request)
        decisions, held_by, unplaced = self.consolidator.decide_with_coverage(
            candidates, request.existing, request.messages)
        unplaced = unplaced | partly_represented(request.messages, decisions, held_by, found.covered_message_ids)
        return Extraction(
            decisions=tuple(decisions) + tuple(decide_skills(skills, request.existing)),
            held_by=held_by,
            # a message part of which became no memory is only partly represented: its episode stays
            covered_message_ids=(found.covered_message_ids - unplaced) | tools_covered,
            decided_by=f"{self.name}+{self.policy.name}",
        )

    def _prefetch(self, candidates: list, request: ExtractionRequest) -> None:
        """Embed the candidates the paraphrase lookup may compare, in one batch: consolidation
        asks for them one at a time, and each single text was a model call of its own (a cache
        read and write, ~30 % more inference CPU per text than batches of 8; on LoCoMo ~2 calls
        per turn)."""
        prefetch = getattr(self.consolidator.similar, "prefetch", None)
        texts = [c.content for c in candidates if c.kind in PARAPHRASE_KINDS and c.group not in GROUPS]
        if prefetch is not None and (len(texts) > 1 or texts and request.existing):
            prefetch(texts)  # with nothing to compare with, the lookup never runs
