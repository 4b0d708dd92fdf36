"""``RuleCandidateFinder``: offline, deterministic candidate finding for zh and en chats.

For every user message of the window it splits sentences, resolves relative dates
against the message's chat_time, and runs the language's rules (profile, family,
diet, preferences, plans, events). Context messages (``is_new=False``) are analysed
too, but only when a new message makes a choice, to find the plan that choice
belongs to; candidates come from new user messages only. A new message is covered
when everything in it is explained by a candidate or is small talk.
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns
from dataclasses import dataclass, field
from typing import Sequence

from domain.extraction import Candidate, CandidateSet, WindowMessage
from extraction.rules import changes, en, favourites, en_life, en_plans, en_prefs, health_learning_location, zh, zh_life, zh_plans, zh_prefs
from extraction.rules.base import IMPLICIT_CONFIDENCE, Found, Sentence, content_of, run_rules
from extraction.rules.brands import CATEGORY_EN, CATEGORY_ZH, PREFERENCE_SLOT, TIER_PREFERENCE
from extraction.rules.choices import Choice, detect_choice
from extraction.rules.clauses import statement_clauses
from extraction.rules.topics import family_of, family_values, has_change
from extraction.rules.dates import find_dates
from extraction.rules.filler import assistant_says_nothing_about_user, is_filler, residual_fragments
from extraction.rules.lexicon import slugify
from extraction.rules.numerals import has_cjk
from extraction.rules.sentences import detach_questions, split_sentences
from extraction.rules.truecase import truecase
from extraction.rules.fallback import fallback, named, speaker_name, third_person_en, third_person_zh
from extraction.rules.annotate import annotate, group_of

ZH_RULES = favourites.RULES + health_learning_location.ZH_RULES + zh_life.RULES + zh.RULES + zh_plans.RULES[:1] + zh_prefs.RULES + zh_plans.RULES[1:] + changes.RULES
EN_RULES = favourites.RULES + health_learning_location.EN_RULES + en_life.RULES + en.RULES + en_plans.RULES[:1] + en_prefs.RULES + en_plans.RULES[1:] + changes.RULES
ADDITIVE = ("food.like", "food.dislike", "family.children")
NAMED_GROUPS = ("profile", "work")
"""Memories rendered from their slots (``domain.consolidation.GROUPS``): never renamed per speaker."""
MAX_CHARS = 4000
"""Longer messages (pasted documents) are only read this far and are never covered."""


def normalise(text: str) -> str:
    """Same-length normalisation (curly quotes) so that spans still index the original text."""
    return (text or "").replace("\u2019", "'").replace("\u2018", "'")


def lang_of(text: str) -> str:
    return "zh" if has_cjk(text or "") else "en"


def sentence_lang(text: str) -> str:
    """Which rule set reads a sentence: Chinese unless a few CJK characters sit in English
    ("My name is 小忆 and I live in Shanghai")."""
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk * 4 >= latin else "en"


@dataclass
class _Analysis:
    index: int
    message: WindowMessage
    lang: str
    found: list[Found] = field(default_factory=list)
    consumed: list[tuple[int, int]] = field(default_factory=list)


class RuleCandidateFinder:
    """Finds candidate slots with regexes and small lexicons; no network, no model."""

    name = "rules"

    def find(self, messages: Sequence[WindowMessage]) -> CandidateSet:
        msgs = list(messages)
        self.answered: set[str] = set()
        analyses = {i: self._analyse(i, m) for i, m in enumerate(msgs) if m.is_new and _analysed(m)}
        extra: list[Found] = []
        for i, m in enumerate(msgs):
            if m.is_new and i in analyses:
                extra.extend(self._choices(i, msgs, analyses))
        found: list[Found] = [f for a in analyses.values() if a.message.is_new for f in a.found] + extra
        found = self._merge(found)
        found.sort(key=lambda f: f.order)
        candidates = tuple(self._candidate(f, analyses) for f in found)
        covered = frozenset(self._covered(msgs, analyses)) | frozenset(self.answered)
        return CandidateSet(candidates=candidates, covered_message_ids=covered)

    # ------------------------------------------------------------ per message

    def _analyse(self, index: int, m: WindowMessage) -> _Analysis:
        text = truecase(normalise(m.text)[:MAX_CHARS])
        lang = lang_of(text)
        a = _Analysis(index, m, lang)
        for start, end in detach_questions(text, split_sentences(text, lang), lang):
            s_lang = sentence_lang(text[start:end])
            s = Sentence(text[start:end], start, s_lang, m.chat_time, find_dates(text[start:end], m.chat_time, s_lang))
            fs = self._read(s)
            self._name_speaker(fs, m.name, s_lang)
            for f in fs:
                f.shifted(start)
                f.message_id = m.message_id
                f.order = (index, f.spans[0][0])
                f.lang = s_lang
                a.consumed.extend(f.spans)
            a.found.extend(fs)
        return a

    def _read(self, s: Sentence, user_subject: bool = False) -> list[Found]:
        """The sentence's findings, spans relative to it: its rules' and, where no rule claimed
        it, the fallback's, one per statement when it joins statements of different families."""
        fs = run_rules(ZH_RULES if s.lang == "zh" else EN_RULES, s)
        parts = statement_clauses(s, self._asserts)
        if parts and not self._claimed(fs):
            return [f.shifted(c.at) for c in parts for f in self._read(c.sentence, c.inherits_user)]
        fs = self._with_fallback(s, fs, user_subject)
        self._attach_dates(s, fs)
        annotate(s, fs)
        # a statement the rules left untouched beside the one they read ("i live in austin, my dog
        # is a corgi named waffles"): read by itself, not lost
        for c in parts:
            end = c.at + len(c.sentence.text)
            if not any(a < end and c.at < b for f in fs for a, b in f.spans):
                fs.extend(f.shifted(c.at) for f in self._read(c.sentence, c.inherits_user))
        return fs

    @classmethod
    def _asserts(cls, s: Sentence) -> bool:
        """A clause states something by itself: it says what changed, it names where the user
        lives or works (住宝安), or a rule claims it."""
        family = family_of(s.text, s.lang)
        return has_change(s.text, s.lang) or family in ("residence", "work") and bool(family_values(s.text, family)) \
            or cls._claimed(run_rules(ZH_RULES if s.lang == "zh" else EN_RULES, s))

    @staticmethod
    def _claimed(fs: list[Found]) -> bool:
        """A rule explains the sentence (a generic dated event alone does not)."""
        return bool(fs) and not all(f.slot.startswith("event.") for f in fs)

    def _with_fallback(self, s: Sentence, fs: list[Found], user_subject: bool = False) -> list[Found]:
        """No rule claimed the sentence (or only a generic dated event did): the fallback fact."""
        if self._claimed(fs):
            return fs
        f = fallback(s, user_subject)
        if f is None:
            return fs
        if fs and f.attributes.get("family") not in ("work", "residence"):
            return fs
        return [f]

    @staticmethod
    def _name_speaker(fs: list[Found], name: str | None, lang: str) -> None:
        """A message that names its speaker: that name, not "the user", is the subject of its
        standalone facts (events, fallback facts), whose slots are then the speaker's own.

        Why: several speakers can share one user id (LoCoMo's pairs of friends); as "the user"
        their facts lose the name a question asks about and revise each other's slots. Grouped
        memories (the profile, work) are rendered from their slots and keep their wording."""
        speaker = speaker_name(name)
        if speaker is None:
            return
        for f in fs:
            if (f.group or group_of(f.slot)) in NAMED_GROUPS or f.kind not in ("fact", "preference"):
                continue
            f.content = named(f.content or content_of(f.clause, lang), speaker, lang)
            f.slot = f"{f.slot}.{slugify(speaker) or 'speaker'}"
            f.attributes["speaker"] = speaker

    @staticmethod
    def _attach_dates(s: Sentence, fs: list[Found]) -> None:
        """A date no rule used qualifies the nearest finding of its sentence."""
        for d in s.dates:
            if any(a < d.end and d.start < b for f in fs for a, b in f.spans):
                continue
            if not fs:
                continue
            near = min(fs, key=lambda f: min(abs(f.spans[0][0] - d.end), abs(f.spans[0][1] - d.start)))
            near.attributes.setdefault("when", d.period.zh if s.lang == "zh" else d.period.en)
            near.attributes.setdefault("period", d.token)
            near.spans.append((d.start, d.end))

    # ------------------------------------------------------------ choices

    def _choices(self, i: int, msgs: list[WindowMessage], analyses: dict[int, _Analysis]) -> list[Found]:
        offer_idx = next((j for j in range(i - 1, -1, -1) if msgs[j].role in ("assistant", "system") and msgs[j].text), None)
        if offer_idx is None:
            return []
        a = analyses[i]
        m = msgs[i]
        choice = detect_choice(normalise(m.text), a.lang, normalise(msgs[offer_idx].text), msgs[offer_idx].message_id)
        if choice is None:
            return []
        # the choice explains its span better than a like / dislike rule would
        a.found = [f for f in a.found if not ((f.kind == "preference" or f.attributes.get("fallback")) and any(
            x < choice.span[1] and choice.span[0] < y for x, y in f.spans))]
        a.consumed.append(choice.span)
        out: list[Found] = []
        self._analyse_context(msgs, analyses)
        plan = self._plan_for(i, analyses)
        sources = (choice.offer_message_id,)
        request = self._request_of(offer_idx, msgs, analyses)
        if request is not None:  # the question the offer answered: the choice now says what it asked
            sources += (request,)
            self.answered.add(request)
        if plan is not None and _is_new(plan, analyses):
            self._join_choice(plan, choice, sources + (m.message_id,))
        elif plan is not None:
            f = Found(plan.kind, plan.slot, plan.clause, [choice.span], attributes=dict(plan.attributes), lang=plan.lang)
            self._join_choice(f, choice, sources + (plan.message_id,))
            f.message_id, f.order = m.message_id, (i, choice.span[0])
            out.append(f)
        else:
            out.append(self._choice_fact(choice, a.lang, m.message_id, (i, choice.span[0])))
        implicit = self._implicit(choice, a.lang, m.message_id, (i, choice.span[0] + 1))
        if implicit is not None:
            out.append(implicit)
        if request is not None:
            for f in out:
                f.extra_sources = tuple(dict.fromkeys(f.extra_sources + (request,)))
        asker = msgs[offer_idx - 1] if offer_idx > 0 and msgs[offer_idx - 1].role == "user" else None
        asked = request_topic(asker.text, a.lang) if asker is not None else ""
        for f in out:
            if f.slot.startswith("choice.") and asked:  # what the pick was for: "which tent did I pick?"
                f.clause += f"（{asked}）" if a.lang == "zh" else f" (asked: {asked})"
        return out

    @staticmethod
    def _request_of(offer_idx: int, msgs: list[WindowMessage], analyses: dict[int, _Analysis]) -> str | None:
        """The new user message right before the offer, when it only asked (it yields no finding):
        "Which gym class fits me?" is answered by the pick, and its episode would otherwise
        outrank the choice for "which class did I pick?"."""
        j = offer_idx - 1
        if j < 0 or msgs[j].role != "user" or not msgs[j].is_new:
            return None
        a = analyses.get(j)
        if a is None or a.found:
            return None
        return msgs[j].message_id

    def _analyse_context(self, msgs: list[WindowMessage], analyses: dict[int, _Analysis]) -> None:
        """Context messages, analysed only when a choice needs the plan it belongs to.

        Why lazily: they yield no candidates of their own, and a window is mostly
        context (a chat's recent turns around one or two new ones). On windows of six
        context turns and one new one, reading all of them took 1.13 ms per ``find``
        against 0.19 ms now (``window_find`` in bench/bench_extractor.py).
        """
        for j, m in enumerate(msgs):
            if j not in analyses and _analysed(m):
                analyses[j] = self._analyse(j, m)

    @staticmethod
    def _plan_for(i: int, analyses: dict[int, _Analysis]) -> Found | None:
        plans = [(j, f) for j, a in sorted(analyses.items()) for f in a.found if f.slot.startswith("travel.")]
        before = [(j, f) for j, f in plans if j <= i]
        if before:
            return before[-1][1]
        after = [(j, f) for j, f in plans if analyses[j].message.is_new]
        return after[0][1] if after else None

    @staticmethod
    def _join_choice(plan: Found, choice: Choice, sources: tuple[str, ...]) -> None:
        lang = plan.lang or lang_of(plan.clause)
        name = choice.chosen.display(lang)
        plan.clause += f"，并选择了{name}" if lang == "zh" else f" and chose {name}"
        plan.attributes["choice"] = name
        plan.attributes["options"] = [o.display(lang) for o in choice.options]
        plan.extra_sources = tuple(dict.fromkeys(plan.extra_sources + sources))

    @staticmethod
    def _choice_fact(choice: Choice, lang: str, message_id: str, order: tuple[int, int]) -> Found:
        name = choice.chosen.display(lang)
        names = [o.display(lang) for o in choice.options]
        # the pick only: a later re-choice among the same options must not leave the old pick in the text
        # (the options offered are kept in the attributes)
        if lang == "zh":
            clause = f"选择了{name}"
        elif choice.chosen.verb:  # actions: "decided to take the train"
            clause = f"decided to {name}"
        else:
            clause = f"chose {name}"
        slot = f"choice.{choice.category}" if choice.category else f"choice.{slugify(choice.chosen.core)}"
        f = Found("fact", slot, clause, [choice.span], preference_type="explicit",
                  attributes={"choice": name, "options": names}, lang=lang)
        f.extra_sources = (choice.offer_message_id,)
        f.message_id, f.order = message_id, order
        return f

    @staticmethod
    def _implicit(choice: Choice, lang: str, message_id: str, order: tuple[int, int]) -> Found | None:
        chosen = choice.chosen.brand
        if chosen is None:
            return None
        tiers = [o.brand.tier for o in choice.options if o.brand and o.brand.category == chosen.category]
        if len(tiers) < 2 or len(set(tiers)) < 2:
            return None
        if chosen.tier == min(tiers):
            low = True
        elif chosen.tier == max(tiers):
            low = False
        else:
            return None
        low_zh, high_zh, low_en, high_en = TIER_PREFERENCE[chosen.category]
        names = [o.display(lang) for o in choice.options if o.brand and o.brand.category == chosen.category]
        name = choice.chosen.display(lang)
        if lang == "zh":
            clause = low_zh if low else high_zh
            reasoning = (f"助手提供了{'、'.join(names)}等{CATEGORY_ZH[chosen.category]}选项，用户选择了其中"
                         f"{'最经济实惠' if low else '最高端'}的{name}，据此推断用户{clause}。")
        else:
            clause = low_en if low else high_en
            listed = ", ".join(names[:-1]) + f" and {names[-1]}"
            reasoning = (f"The assistant offered {listed} as {CATEGORY_EN[chosen.category]} options and the user "
                         f"picked {name}, the {'cheapest' if low else 'most upscale'} of them, so the user {clause}.")
        f = Found("preference", PREFERENCE_SLOT[chosen.category], clause, [choice.span], preference_type="implicit",
                  confidence=IMPLICIT_CONFIDENCE, reasoning=reasoning,
                  attributes={"value": "budget" if low else "premium", "inferred_from": name}, lang=lang)
        f.extra_sources = (choice.offer_message_id,)
        f.message_id, f.order = message_id, order
        return f

    # ------------------------------------------------------------ assembling

    @staticmethod
    def _merge(found: list[Found]) -> list[Found]:
        """Same slot twice in one message: join additive slots, drop exact repeats."""
        out: list[Found] = []
        for f in sorted(found, key=lambda f: f.order):
            twin = next((g for g in out if g.slot == f.slot and g.message_id == f.message_id), None)
            if twin is None:
                dup = next((g for g in out if g.slot == f.slot and g.clause == f.clause), None)
                if dup is not None:
                    dup.extra_sources = tuple(dict.fromkeys(dup.extra_sources + (f.message_id,) + f.extra_sources))
                    continue
                out.append(f)
                continue
            if f.clause == twin.clause or f.clause in twin.clause:
                continue
            if f.slot in ADDITIVE or f.slot.startswith("pet.") or f.kind == twin.kind == "preference" and f.group is None:
                sep = "，" if twin.lang == "zh" else " and "
                twin.clause = f"{twin.clause}{sep}{f.clause}"
                twin.spans.extend(f.spans)
            else:
                out[out.index(twin)] = f
        return out

    @staticmethod
    def _candidate(f: Found, analyses: dict[int, _Analysis]) -> Candidate:
        lang = f.lang or ("zh" if has_cjk(f.clause) else "en")
        sources = tuple(dict.fromkeys((f.message_id,) + f.extra_sources))
        return Candidate(
            kind=f.kind,
            slot=f.slot,
            clause=f.clause,
            content=f.content or content_of(f.clause, lang),
            lang=lang,  # type: ignore[arg-type]
            source_message_ids=sources,
            confidence=f.confidence,
            preference_type=f.preference_type,
            reasoning=f.reasoning,
            group=f.group or group_of(f.slot),
            attributes={k: v for k, v in f.attributes.items() if v not in (None, "")},
        )

    @staticmethod
    def _covered(msgs: list[WindowMessage], analyses: dict[int, _Analysis]) -> list[str]:
        covered: list[str] = []
        for i, m in enumerate(msgs):
            if not m.is_new:
                continue
            if m.role in ("assistant", "system"):
                if assistant_says_nothing_about_user(m.text):
                    covered.append(m.message_id)
                continue
            if m.role != "user":
                if not (m.text or "").strip() and m.tool_output is None:
                    covered.append(m.message_id)
                continue
            a = analyses.get(i)
            if a is None:
                covered.append(m.message_id)
                continue
            if len(m.text) > MAX_CHARS:
                continue
            frags = residual_fragments(normalise(m.text), a.consumed)
            if all(is_filler(frag, q) for frag, q in frags):
                covered.append(m.message_id)
        return covered


_REQUEST_CUE = re.compile(r"\b(?:help me|recommend|suggest|options|ideas|pick|choose|which|what|any)\b|推荐|帮我|建议|选|"
                          r"哪|什么|几个|吗", re.IGNORECASE)


def request_topic(text: str, lang: str) -> str:
    """What a user's request asked for, in the third person and without its question clause:
    "need a new backpacking tent under $300, what are my options" -> "need a new backpacking
    tent under $300"; 想报个健身课，你帮我列几个选择 -> 想报个健身课."""
    text = normalise(text).strip()
    if not (_REQUEST_CUE.search(text) or text.endswith(("?", "？"))):
        return ""  # an earlier statement or pick, not the request the offer answered
    spans = detach_questions(text, split_sentences(text, lang), lang)
    head = text[spans[0][0]:spans[0][1]] if spans else text
    head = head.strip().rstrip("?？.。!！,， ")
    if not head or len(head) > 90:
        return ""
    return third_person_zh(head) if lang == "zh" else third_person_en(head)


def _analysed(m: WindowMessage) -> bool:
    """Which messages the rules read: users' messages with text."""
    return m.role == "user" and bool(m.text)


def _is_new(f: Found, analyses: dict[int, _Analysis]) -> bool:
    return any(a.message.message_id == f.message_id and a.message.is_new for a in analyses.values())
