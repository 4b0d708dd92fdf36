"""English rules for family, pets, possessions and dietary limits."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

from extraction.rules.base import Found, Sentence, fact, statement_ok
from extraction.rules.lexicon import ANIMALS, animal_of, item_key, possession_of, singular
from extraction.rules.numerals import to_int

I = re.IGNORECASE
_ANIMAL_EN = "|".join(sorted({a for al in ANIMALS.values() for a in al if a.isascii()}, key=len, reverse=True))
_ANIMAL_PHRASE = rf"(?:{_ANIMAL_EN})(?:\s+(?:{_ANIMAL_EN}))?"
"""A breed and its animal word together: "a beagle puppy", "a husky mix" is one animal."""
_STOP = r"(?=\s*(?:[,.!;)]|$|\s+and\b|\s+but\b|\s+so\b|\s+because\b|\s+since\b|\s+which\b|\s+that\b|\s+anymore\b))"
_NUM = r"(?P<n>a|an|one|two|three|four|five|\d+)"
_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def family_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    for m in re.finditer(r"\bI(?:'m| am|'ve| have)?\s+(?:been\s+)?(?:just\s+|recently\s+|happily\s+)?(?:got\s+)?married\b|"
                         r"\bI\s+(?:just\s+)?got\s+married\b", t, I):
        if statement_ok(s, m.start()):
            out.append(fact("family.spouse", "is married", m.span(), value="married"))
    for m in re.finditer(r"\bI(?:'m| am)\s+(?:still\s+|currently\s+)?(?P<st>single|divorced|engaged|widowed)\b", t, I):
        if statement_ok(s, m.start()):
            out.append(fact("family.spouse", f"is {m.group('st').lower()}", m.span(), value=m.group("st").lower()))
    for m in re.finditer(r"\b[Mm]y\s+(?P<rel>wife|husband|spouse|partner)(?:'s name is|\s+is called|\s+is named|,)\s+"
                         r"(?P<name>[A-Z][a-z]+)", t):
        out.append(fact("family.spouse", f"is married; their {m.group('rel').lower()} is {m.group('name')}", m.span(),
                        value=m.group("name")))
    for m in re.finditer(rf"\b(?:I|we)(?:\s+|(?='))(?:have|'ve got|'ve|have got)\s+{_NUM}\s+(?:(?:young|little|grown-up|adult)\s+)?"
                         r"(?P<c>kids?|children|child|sons?|daughters?|boys?|girls?)\b"
                         r"(?:\s+(?:named|called)\s+(?P<name>(?-i:[A-Z][a-z]+(?:\s+and\s+[A-Z][a-z]+)?)))?", t, I):
        if statement_ok(s, m.start()):
            n = to_int(m.group("n")) or 1
            noun = m.group("c").lower()
            word = "a" if n == 1 else _WORDS.get(n, str(n))
            named = f" named {m.group('name')}" if m.group("name") else ""
            out.append(fact("family.children", f"has {word} {noun}{named}", m.span(), value=noun, count=n,
                            name=m.group("name")))
    for m in re.finditer(r"\bmy\s+(?P<c>son|daughter|kid)\s+(?:is|just turned)\s+(?P<age>\d{1,2})(?:\s+years?\s+old)?\b", t, I):
        out.append(fact("family.children", f"has a {m.group('age')}-year-old {m.group('c').lower()}", m.span(),
                        value=m.group("c").lower()))
    for m in re.finditer(r"\b[Mm]y\s+(?P<c>son|daughter)(?:'s name is|\s+is called|\s+is named)\s+(?P<name>[A-Z][a-z]+)", t):
        out.append(fact("family.children", f"has a {m.group('c')} named {m.group('name')}", m.span(), value=m.group("c")))
    for m in re.finditer(r"\bI(?:'m| am)\s+(?:a\s+)?(?:mom|mother|dad|father|parent)\s+of\s+(?P<n>\w+)\b", t, I):
        n = to_int(m.group("n"))
        if n and statement_ok(s, m.start()):
            out.append(fact("family.children", f"has {_WORDS.get(n, n)} {'child' if n == 1 else 'children'}",
                            m.span(), value="children", count=n))
    return out


_PET_NAME = r"(?-i:[A-Z][a-z]+(?:\s+and\s+[A-Z][a-z]+)?)"
_PET_NAMED = (rf"(?:\s+(?:named|called)\s+(?P<name>{_PET_NAME})"
              rf"|,\s*(?:his|her|its|their)\s+names?\s+(?:is|are)\s+(?P<name2>{_PET_NAME})"
              rf"|,\s+(?P<name3>{_PET_NAME})(?=\s*(?:[,.!;]|$)))?")
"""A pet's name after the animal: "named Rex", ", his name is Biscuit", ", Miso and Tofu,"."""


def pet_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    pat = (rf"\b(?:I|we)(?:\s+|(?='))(?:(?:just|recently|also|still)\s+)*(?:have|'ve got|'ve|have got|own|adopted|got)\s+"
           rf"{_NUM}\s+(?P<adj>(?:[a-z-]+\s+){{0,2}}?)(?P<a>{_ANIMAL_PHRASE})\b" + _PET_NAMED)
    tail = (rf"\band\s+{_NUM}\s+(?P<adj>(?:[a-z-]+\s+){{0,2}}?)(?P<a>{_ANIMAL_PHRASE})\b"
            + _PET_NAMED)
    matches = list(re.finditer(pat, t, I))
    # "we have three kids and two cats": the list continues the same "have"
    matches += [m for m in re.finditer(tail, t, I)
                if re.search(r"\b(?:I|we)(?:\s+|(?='))(?:have|'ve got|'ve|have got|own)\b", t[:m.start()], I)]
    for m in matches:
        if not statement_ok(s, m.start()):
            continue
        key = animal_of(m.group("a")) or "pet"
        n = to_int(m.group("n")) or 1
        art = m.group("n").lower() if n == 1 else _WORDS.get(n, str(n))
        clause = f"has {art} {m.group('adj')}{m.group('a').lower()}"
        name = m.group("name") or m.group("name2") or m.group("name3")
        if name:
            clause += f" named {name}"
        out.append(fact(f"pet.{key}", clause, m.span(), value=m.group("a").lower(), name=name))
    for m in re.finditer(rf"\bmy\s+(?P<a>{_ANIMAL_EN})(?:'s name is|\s+is called|\s+is named|,)\s+(?P<name>[A-Z][a-z]+)", t, I):
        key = animal_of(m.group("a")) or "pet"
        a = singular(m.group("a"))
        art = "an" if a[0] in "aeiou" else "a"
        out.append(fact(f"pet.{key}", f"has {art} {a} named {m.group('name')}", m.span(), value=a, name=m.group("name")))
    return out


def possession_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    pat = (r"\bI\s+(?:(?:just|recently|finally|also)\s+)*(?P<v>have|own|bought|got|drive|purchased)\s+"
           rf"(?P<item>(?:a|an|the|my|two)\s+(?:new\s+|used\s+|second-hand\s+)?[\w -]{{1,30}}?){_STOP}")
    for m in re.finditer(pat, s.text, I):
        item = m.group("item")
        key = possession_of(re.sub(r"^(?:a|an|the|my|two)\s+", "", item, flags=I))
        if key is None or animal_of(item) or not statement_ok(s, m.start()):
            continue
        verb = {"have": "has", "own": "owns", "drive": "drives", "purchased": "bought"}.get(m.group("v").lower(), m.group("v").lower())
        item = re.sub(r"^my\b", "their", item, flags=I)
        bare = re.sub(r"^(?:a|an|the|my|their)\s+(?:new\s+|used\s+|second-hand\s+)?", "", item, flags=I)
        model = re.compile(_MODEL_EN, I).match(s.text, m.end()) if possession_of(bare, whole=True) == key else None
        if model:  # "I got a new phone, it's an iPhone 15": the next clause names the model
            out.append(fact(f"possession.{key}", f"{verb} {item}, {model.group('model')}", (m.start(), model.end()),
                            value=model.group("model")))
            continue
        out.append(fact(f"possession.{key}", f"{verb} {item}", m.span(), value=item))
    out += _switched_to_model(s, out)
    return out


_SWITCH_EN = (r"\bI\s+(?:(?:just|recently|finally|also)\s+)*(?P<v>switched|changed|upgraded|replaced|swapped)\s+"
              r"(?P<my>my\s+)?(?P<cat>phones?|cars?|laptops?|computers?|bikes?|tablets?)\b")
_MODEL_EN = (r"\s*(?:[,;:-]|\band\b)\s*(?:and\s+)?(?:(?:now|so)\s+)?(?:(?:I|I'm|I am)\s+)?(?:(?:now|currently)\s+)?"
             r"(?:use|using|have|drive|driving|got|it's|it is|its|went with|chose)\s+(?:an?\s+|the\s+|my\s+)?"
             r"(?:new\s+)?(?P<model>(?-i:(?:[A-Z0-9]|[a-z](?=[A-Z]))[\w-]*)(?:\s+(?-i:[A-Z0-9][\w-]*)){0,3})")


def _switched_to_model(s: Sentence, found: list[Found]) -> list[Found]:
    """"I switched phones, now I use a Pixel 8": a change of category whose next clause names
    the make or model (capitalised or with digits) states the new possession, model included."""
    out: list[Found] = []
    for m in re.finditer(_SWITCH_EN, s.text, I):
        key = possession_of(singular(m.group("cat")), whole=True)
        model = re.compile(_MODEL_EN, I).match(s.text, m.end())
        if key is None or model is None or not statement_ok(s, m.start()) \
                or any(f.spans[0][0] < model.end() and m.start() < f.spans[0][1] for f in found):
            continue
        verb = "drives" if key == "car" else "uses"
        what = f"{'their ' if m.group('my') else ''}{m.group('cat').lower()}"
        out.append(fact(f"possession.{key}", f"{m.group('v').lower()} {what} and now {verb} {model.group('model')}",
                        (m.start(), model.end()), value=model.group("model")))
    return out


def diet_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    spicy = r"(?:(?:very|too|super|really)\s+)?(?:spicy(?:\s+(?:food|foods|dishes|stuff|things))?|spice|hot food|chil[il]i(?:es)?)"
    for m in re.finditer(rf"\bI\s+(?:really\s+|just\s+|absolutely\s+)?(?:can't|cannot|can not|couldn't|don't|do not|never)\s+"
                         rf"(?:really\s+)?(?:eat|handle|take|stand|tolerate|do|have)\s+{spicy}\b|"
                         rf"\bspicy food (?:doesn't|does not) agree with me\b|\bI(?:'m| am) not (?:good|great) with {spicy}\b", t, I):
        if statement_ok(s, m.start()):
            out.append(fact("diet.spicy", "cannot eat spicy food", m.span(), profile=True, value="no"))
    for m in re.finditer(rf"\bI\s+(?:can|can now|now can|can actually)\s+(?:eat|handle|take)\s+{spicy}\b", t, I):
        if statement_ok(s, m.start()):
            out.append(fact("diet.spicy", "can eat spicy food", m.span(), profile=True, value="yes"))
    for m in re.finditer(r"\bI(?:'m| am)\s+(?:no longer|not)\s+(?:an?\s+)?(?:vegetarian|vegan)(?:\s+anymore)?\b|"
                         r"\bI\s+(?:started|went back to)\s+eating meat(?:\s+again)?\b", t, I):
        if statement_ok(s, m.start()):
            out.append(fact("diet.vegetarian", "is no longer vegetarian", m.span(), profile=True, value="no"))
    for m in re.finditer(r"\bI(?:'m| am|'ve been| have been|\s+went|\s+became|\s+just went)\s+(?:an?\s+)?(?:strict\s+)?"
                         r"(?P<v>vegetarian|vegan|pescatarian)\b|\bI\s+(?:don't|do not|never)\s+eat\s+(?:any\s+)?meat\b", t, I):
        if statement_ok(s, m.start()):
            v = (m.group("v") or "vegetarian").lower()
            out.append(fact("diet.vegetarian", f"is {v}", m.span(), profile=True, value=v))
    for m in re.finditer(r"\bI(?:'m| am)\s+(?P<i>lactose|gluten)[- ]intolerant\b|\bI\s+have\s+(?P<c>celiac|coeliac)(?:\s+disease)?\b", t, I):
        if statement_ok(s, m.start()):
            item = (m.group("i") or "gluten").lower()
            clause = f"is {item} intolerant" if m.group("i") else "has celiac disease"
            out.append(fact(f"diet.allergy.{item_key(item)}", clause, m.span(), profile=True, value=item))
    for m in re.finditer(rf"\bI(?:'m| am)\s+(?:(?:very|severely|deathly|a little|mildly|really|super|also)\s+)?allergic\s+to\s+"
                         rf"(?P<i>[\w -]{{2,30}}?){_STOP}|\bI\s+have\s+(?:an?\s+)?(?:(?:severe|mild|bad)\s+)?"
                         r"(?P<i2>[\w-]+(?:\s+[\w-]+)?)\s+allergy\b", t, I):
        item = m.group("i") or m.group("i2")
        if statement_ok(s, m.start()):
            out.append(fact(f"diet.allergy.{item_key(item)}", f"is allergic to {item}", m.span(), profile=True, value=item))
    for m in re.finditer(r"\bI\s+(?:don't|do not|never|can't|cannot)\s+(?P<v>eat|drink)\s+(?P<i>[\w -]{2,25}?)"
                         r"(?:\s+(?:for|due to)\s+(?P<why>(?:\w+\s+)?(?:reasons?|health|religion)))?"
                         r"(?=\s*(?:[,.!;)]|$|\s+and\b|\s+but\b|\s+so\b|\s+because\b|\s+since\b|\s+anymore\b|\s+for\b))", t, I):
        item = m.group("i")
        verb = m.group("v").lower()
        if re.match(r"(?:much|a lot|anything|breakfast|lunch|dinner|out|late|spicy|after|before|here|there)\b", item, I):
            continue
        if not statement_ok(s, m.start()):
            continue
        out.append(fact(f"diet.avoid.{item_key(item)}", f"does not {verb} {item}", m.span(), profile=True, value=item))
    return out


RULES = [diet_rules, family_rules, pet_rules, possession_rules]
