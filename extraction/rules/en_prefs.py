"""English explicit preferences: like / love / enjoy / prefer / hate / dislike / can't stand /
I'm into / I'm a fan of, with "anymore" and "no longer" for changes of mind."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

from extraction.rules.base import Found, Sentence, statement_ok
from extraction.rules.lexicon import is_food
from extraction.rules.objects import classify

I = re.IGNORECASE
_ADV = r"(?:(?:really|really do|do|absolutely|totally|just|also|still|always|definitely|kind of|kinda|sort of|"\
       r"genuinely|truly|actually|have always|'ve always|used to|now|honestly|personally|generally|especially|"\
       r"very much|quite|simply|even|secretly|both|all)\s+)*"
_VERB_I = (r"(?P<neg>don't|do not|didn't|no longer|never|don't really|do not really)\s+(?:really\s+)?(?P<nv>like|love|enjoy)|"
           r"(?P<hate>hate|dislike|loathe|detest|can't stand|cannot stand|can not stand)|"
           r"(?P<prefer>prefer)|"
           r"(?P<pos>love|like|enjoy|adore|fell in love with|have fallen in love with|'ve fallen in love with|got into|"
           r"have gotten into|'ve gotten into|am into|'m into|am really into|'m really into|am crazy about|"
           r"'m crazy about|am obsessed with|'m obsessed with|am passionate about|'m passionate about|am fond of|"
           r"'m fond of|am a (?:big |huge )?fan of|'m a (?:big |huge )?fan of)|"
           r"(?P<negbe>am not (?:really )?into|'m not (?:really )?into|am not (?:a |really a )?(?:big )?fan of|"
           r"'m not (?:a |really a )?(?:big )?fan of|am tired of|'m tired of|am sick of|'m sick of|am no longer into|"
           r"'m no longer into)")
_OBJ = r"(?P<obj>[^,.;!?\n]{1,60}?)"
_OBJ_END = (r"(?=\s*(?:[,.;!?\n]|$|\s+but\b|\s+because\b|\s+since\b|\s+although\b|\s+though\b|\s+so\b|"
            r"\s+when\b|\s+if\b|\s+and\s+(?:I|we|my)\b|\s+and\s+(?:also\s+|really\s+)?(?:love|like|enjoy|hate|dislike|prefer|"
            r"fell|got into)\b))")
_OVER = re.compile(r"\s+(?:over|to|rather than|more than|instead of)\s+", re.IGNORECASE)


def _polarity(m: re.Match) -> str:
    if m.group("neg"):
        return "no_longer" if m.group("neg").lower().startswith("no longer") else "neg"
    if m.group("hate") or m.group("negbe"):
        if m.group("negbe") and "no longer" in m.group("negbe").lower():
            return "no_longer"
        return "neg"
    if m.group("prefer"):
        return "prefer"
    return "pos"


def preference_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    pat = (rf"(?:\b(?P<subj>I|we|We)(?=['\s])\s*|(?<=\band\s)(?:(?:have|'ve|now|then|also)\s+)?(?=(?:fell|got|love|loved|like|"
           rf"enjoy|hate|really|also|absolutely)\b)){_ADV}(?:{_VERB_I})\s+{_OBJ}{_OBJ_END}")
    for m in re.finditer(pat, t, I):
        pre = t[max(0, m.start() - 12):m.start()].lower()
        if re.search(r"(?:would|'d)\s*$", pre) or not statement_ok(s, m.start()):
            continue
        obj = m.group("obj")
        if re.match(r"(?:to\s+(?:know|ask|book|get|see|make|have|go with|order|reserve|try)\b|it when|when|how|that|"
                    r"the idea|the sound of|the way)", obj, I):
            continue
        over = None
        if m.group("prefer"):
            parts = _OVER.split(obj, maxsplit=1)
            if len(parts) == 2:
                obj, over = parts
        out.extend(classify(obj, "en", _polarity(m), m.span(), over))
    # "my favourite food is X" / "my hobby is X"
    for m in re.finditer(r"\bmy\s+(?:favou?rite\s+(?P<cat>[a-z ]{2,20}?)|hobby|hobbies)\s+(?:is|are)\s+"
                         r"(?P<obj>[^,.;!?]{1,40}?)(?=\s*(?:[,.;!?]|$|\s+but\b|\s+and\s+I\b))", t, I):
        if not statement_ok(s, m.start()):
            continue
        obj = m.group("obj")
        cat = (m.group("cat") or "").lower()
        if cat in ("food", "dish", "cuisine", "snack", "dessert", "drink", "fruit", "meal") and not is_food(obj):
            obj = "eating " + obj
        out.extend(classify(obj, "en", "pos", m.span()))
    return out


RULES = [preference_rules]
