"""English plans and events: "planning a trip to Tokyo next summer", "I have a job interview
next Friday", "I went to Paris last week"."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

from extraction.rules.base import (Found, Sentence, clause_end, en_third_person, fact, hedged, is_question_clause,
                                   negated, subject_is_user)
from extraction.rules.dates import DateMention
from extraction.rules.places import en_place_at, is_known_place, place_key

I = re.IGNORECASE
_TRIP = (r"(?P<verb>planning\s+(?:a|my|our|the|an?\s+\w+)\s+(?:trip|vacation|holiday|visit|getaway|honeymoon)\s+to|"
         r"planning\s+to\s+(?:go|travel|fly|head)\s+to|planning\s+to\s+visit|plan\s+to\s+(?:go|travel|fly|head)\s+to|"
         r"plan\s+to\s+visit|going\s+to\s+(?:go|travel|fly|head)\s+to|going\s+to\s+visit|"
         r"going\s+(?:on\s+(?:a\s+)?(?:trip|vacation|holiday)\s+)?to|heading\s+(?:off\s+)?to|flying\s+(?:out\s+)?to|"
         r"traveling\s+to|travelling\s+to|visiting|taking\s+(?:a|my|our)\s+(?:\w+\s+)?(?:trip|vacation|holiday)\s+to|"
         r"off\s+to|will\s+(?:go|travel|fly|head)\s+to|will\s+(?:be\s+)?visit(?:ing)?|'ll\s+(?:go|travel|fly|head)\s+to|"
         r"'ll\s+(?:be\s+)?visit(?:ing)?|'ll\s+be\s+(?:going|traveling|travelling|flying)\s+to|"
         r"want\s+to\s+(?:go|travel|fly)\s+to|want\s+to\s+visit|hope\s+to\s+visit|hoping\s+to\s+(?:go\s+to|visit)|"
         r"thinking\s+(?:of|about)\s+(?:going|traveling|travelling|flying)\s+to|thinking\s+(?:of|about)\s+visiting|"
         r"have\s+a\s+(?:\w+\s+)?trip\s+to|booked\s+a\s+(?:\w+\s+)?(?:trip|flight|vacation)\s+to|"
         r"(?:my|our)\s+(?:upcoming\s+|next\s+)?(?:trip|vacation|holiday|honeymoon)\s+to|'ll\s+be\s+in|will\s+be\s+in)\s+")
_COMPANION = re.compile(r"\bwith\s+(?P<c>(?:my|our)\s+(?:whole\s+)?(?:family|wife|husband|kids|children|parents|partner|"
                        r"girlfriend|boyfriend|friends?|son|daughter|mom|dad|mother|father|colleagues?))\b", I)
_WANT = re.compile(r"want|hope|hoping|thinking", I)


def travel_clause(verb: str, place: str, companion: str, d: DateMention | None, business: bool) -> str:
    kind = "a business trip" if business else "a trip"
    with_ = f" with {companion}" if companion else ""
    when = f" {d.phrase('en')}" if d else ""
    if _WANT.search(verb):
        return f"wants to visit {place}{with_}{when}"
    return f"is planning {kind} to {place}{with_}{when}"


def travel_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    for m in re.finditer(rf"(?:\b(?:I|we)(?:'m|'re| am| are)?\s+(?:(?:really|also|finally|currently|still|just|"
                         rf"now|actually|seriously|about)\s+)*|\b){_TRIP}", t, I):
        p = en_place_at(t, m.end())
        if p is None:
            continue
        place, end = p
        if re.match(r"(?:my|our|the|a|an)\b", place, I):
            continue
        date = s.date_near(m.start(), ("future", "present"))
        past = s.date_near(m.start(), ("past",))
        if past is not None and date is None:
            continue
        tripish = re.search(r"trip|vacation|holiday|visit|getaway|honeymoon|travel|fly", m.group("verb"), I)
        if not (is_known_place(place) or date is not None or tripish):
            continue  # "heading to Starbucks" is not a trip
        if not subject_is_user(t, m.start(), "en") or is_question_clause(t, m.start(), "en"):
            continue
        if hedged(t, m.start(), "en") or negated(t, m.start("verb"), "en"):
            continue  # "I'm not going to Naples": what will not happen is no plan
        comp = _COMPANION.search(t)
        companion = re.sub(r"^(?:my|our)\b", "their", comp.group("c"), flags=I) if comp else ""
        bm = re.search(r"\b(?:for work|on business|(?:for|on) a business trip|for an? (?:\w+\s+)?(?:conference|meeting|workshop)|"
                       r"for a work trip)\b", t, I)
        business = bm is not None
        slot = f"travel.{date.token}" if date else f"travel.{place_key(place)}"
        clause = travel_clause(m.group("verb"), place, companion, date, business)
        f = fact(slot, clause, (m.start(), end), destination=place, period=date.token if date else None,
                 when=date.period.en if date else None, companions=companion or None,
                 purpose="business" if business else "travel")
        if date is not None:
            f.spans.append((date.start, date.end))
        if comp:
            f.spans.append(comp.span())
        if bm:
            f.spans.append(bm.span())
        holiday = re.search(r"\b(?:for|on)\s+(?:a\s+)?(?:vacation|holiday|trip|visit|getaway)\b", t, I)
        if holiday:
            f.spans.append(holiday.span())
        dur = re.search(r"\bfor\s+(?:a|one|two|three|four|five|six|seven|ten|a few|a couple of|\d+)\s+(?:days?|nights?|weeks?|months?)\b", t, I)
        if dur:
            f.spans.append(dur.span())
            f.attributes["duration"] = dur.group(0)[4:]
        out.append(f)
    return out


def _clause_bounds(s: Sentence, pos: int) -> tuple[int, int]:
    t = s.text
    start = 0
    for m in re.finditer(r"[,;:]\s*|\bbut\s+|\bso\s+|\band\s+(?=I\b)", t[:pos]):
        start = m.end()
    return start, clause_end(t, pos)


def _rewrite(s: Sentence, a: int, b: int) -> str:
    seg = s.text[a:b]
    subj = re.search(r"\b(?:I|we)\b", seg, I)
    moved: list[str] = []
    for d in sorted(s.dates, key=lambda d: -d.start):
        if a <= d.start and d.end <= b:
            if subj and d.end - a <= subj.start():
                moved.append(d.phrase("en"))  # "Last summer I went ..." -> "went ... in summer 2024"
                seg = seg[:d.start - a] + seg[d.end - a:]
                subj = re.search(r"\b(?:I|we)\b", seg, I)
            else:
                seg = seg[:d.start - a] + d.phrase("en") + seg[d.end - a:]
    seg = seg.strip(" ,")
    if moved:
        seg = seg.rstrip(" .!") + " " + " ".join(moved)
    seg = re.sub(r"^(?:I|we)(?:'m|'re|\s+am|\s+are)\s+", "is ", seg.strip(), flags=I)
    seg = re.sub(r"^(?:I|we)(?:'ll|\s+will)\s+", "will ", seg, flags=I)
    seg = re.sub(r"^(?:I|we)\s+", "", seg, flags=I)
    return en_third_person(seg).rstrip(" .!")


_PAST_VERB = re.compile(r"\b(?:went|visited|traveled|travelled|flew|moved|started|finished|got|had|attended|ran|"
                        r"completed|bought|graduated|joined|took|met|saw|won|passed|quit|left|adopted|married|"
                        r"celebrated|returned|came back|spent|watched|tried|climbed|hiked|lost|broke|signed|"
                        r"launched|published|became|turned)\b", I)
_FUTURE = re.compile(r"\b(?:going to|gonna|will|'ll|plan to|planning to|have an?|'ve got an?|have got an?|need to|"
                     r"have to|am (?:\w+ing)|'m (?:\w+ing)|are (?:\w+ing)|'re (?:\w+ing)|scheduled|booked)\b", I)


def event_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    for d in s.dates:
        if d.tense != "past":
            continue
        a, b = _clause_bounds(s, d.start)
        seg = s.text[a:b]
        vm = _PAST_VERB.search(seg)
        if not vm or not re.search(r"\b(?:I|we)\b", seg, I) and a > 0:
            continue
        if not subject_is_user(s.text, a + vm.start(), "en") or hedged(s.text, a + vm.start(), "en"):
            continue
        place = None
        pm = re.search(r"\b(?:went|traveled|travelled|flew|moved|returned|came back)\s+(?:back\s+)?to\s+", seg, I)
        if pm:
            p = en_place_at(s.text, a + pm.end())
            place = p[0] if p else None
        elif re.match(r"visited\s+", seg[vm.start():], I):
            p = en_place_at(s.text, a + vm.end() + 1)
            place = p[0] if p else None
        slot = f"event.{d.token}" + (f".{place_key(place)}" if place else "")
        out.append(fact(slot, _rewrite(s, a, b), (a, b), period=d.token, when=d.period.en, place=place))
    return out


def plan_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    for d in s.dates:
        if d.tense == "past":
            continue
        a, b = _clause_bounds(s, d.start)
        seg = s.text[a:b]
        if not _FUTURE.search(seg) or not re.search(r"\b(?:I|we)\b", seg, I):
            continue
        if not subject_is_user(s.text, d.start, "en") or is_question_clause(s.text, d.start, "en"):
            continue
        if hedged(s.text, a + 1, "en"):
            continue
        slot = "plan.move" if re.search(r"\bmov(?:e|ing)\s+to\b", seg, I) else f"plan.{d.token}"
        out.append(fact(slot, _rewrite(s, a, b), (a, b), period=d.token, when=d.period.en))
    return out


RULES = [travel_rules, event_rules, plan_rules]
