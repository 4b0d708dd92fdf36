"""English profile rules: name, age, gender, residence, hometown, work, education."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

from extraction.rules.base import Found, Sentence, fact, statement_ok
from extraction.rules.lexicon import is_occupation
from extraction.rules.places import en_place_at, is_known_place
from extraction.rules.sentences import NAME_TOKEN

I = re.IGNORECASE
_NAME = r"(?-i:(?P<name>[A-Z][a-zA-Z'-]+(?:\s+[A-Z][a-zA-Z'-]+)?|[\u4e00-\u9fff]{1,4}))"
_END = r"(?=\s*(?:[,.!;~)]|$|\s+and\b|\s+but\b|\s+here\b|\s+by the way\b|\s+btw\b))"
_NOT_NAME = re.compile(
    r"^(?:OK|Okay|Fine|Good|Great|Sorry|Back|Here|Ready|Sure|Not|So|Just|Also|Really|Very|Glad|Happy|Sad|Tired|"
    r"Busy|Free|Done|Home|Alive|Well|Excited|Hungry|Bored|Interested|Curious|New|Chinese|American|British|English|"
    r"French|German|Japanese|Korean|Canadian|Australian|Indian|Italian|Spanish|Mexican|Brazilian|Russian|Dutch|"
    r"Swedish|Irish|Scottish|Vegan|Vegetarian|Married|Single|Retired|Allergic|Planning|Going|Moving|Thinking|"
    r"Looking|Trying|Working|Living|From|In|At|On|The|A|An|Still|Currently|Now|Always|Never|Actually|Fluent|"
    r"Bilingual|Left|Right|Gay|Straight|Pregnant|Engaged|Divorced|Christian|Muslim|Buddhist|Jewish|Catholic)$")
_ORG = (rf"(?P<org>(?-i:{NAME_TOKEN}(?:\s+(?:{NAME_TOKEN}|&|of|de))*)|"
        r"(?i:an?|the)\s+(?:[\w-]+\s+){0,3}?(?i:startup|start-up|company|bank|hospital|school|firm|agency|restaurant|"
        r"store|shop|university|lab|nonprofit|non-profit|studio|factory|bakery|cafe|clinic|law firm|consultancy))")


def _place(text: str, pos: int) -> tuple[str, int] | None:
    return en_place_at(text, pos)


def name_rules(s: Sentence) -> list[Found]:
    out = []
    for m in re.finditer(rf"\b(?:my name(?:'s| is)|I(?:'m| am) called|call me|people call me|everyone calls me|"
                         rf"I go by)\s+{_NAME}", s.text, I):
        name = m.group("name")
        if (name[0].isupper() or not name.isascii()) and not _NOT_NAME.match(name.split()[0]) and statement_ok(s, m.start()):
            out.append(fact("name", f"is called {name}", m.span(), profile=True, value=name))
    for m in re.finditer(rf"\b(?:I'm|I am|this is)\s+{_NAME}{_END}(?:,\s*(?P<age>\d{{1,2}})(?=\s*(?:[,.!;]|$|\s+and\b)))?", s.text):
        name = m.group("name")
        if _NOT_NAME.match(name.split()[0]) or is_known_place(name) or not statement_ok(s, m.start()):
            continue
        f = fact("name", f"is called {name}", m.span(), profile=True, value=name)
        f.confidence = 0.8
        out.append(f)
        if m.group("age"):  # "I'm Jake, 34, ..."
            out.append(fact("age", f"is {m.group('age')} years old", m.span(), profile=True, value=m.group("age")))
    return out


def age_rules(s: Sentence) -> list[Found]:
    out = []
    pat = (r"\b(?:I'm|I am|I just turned|I turned|I'll be turning|I'm turning|I will be)\s+(?:now\s+)?(?P<n>\d{1,3})"
           r"(?:\s+years?\s+old|\s*(?:yo|y/o|yrs old))?(?=\s*(?:[,.!;]|$|\s+and\b|\s+but\b|\s+years\b|\s+now\b|\s+this\b))"
           r"|\bI(?:'m| am) an? (?P<n2>\d{1,3})[- ]year[- ]old\b(?:\s+(?P<role>[a-z][\w -]{1,30}?)(?=\s*(?:[,.!;]|$|\s+from\b|"
           r"\s+in\b|\s+at\b|\s+and\b)))?(?:\s+(?:from|in)\s+(?P<from>(?-i:[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)))?")
    for m in re.finditer(pat, s.text, I):
        n = int(m.group("n") or m.group("n2"))
        if 1 <= n <= 120 and statement_ok(s, m.start()):
            out.append(fact("age", f"is {n} years old", (m.start(), m.end()), profile=True, value=str(n)))
            role = m.group("role")
            if role and is_occupation(role):
                article = "an" if role[0] in "aeiou" else "a"
                out.append(fact("work.role", f"works as {article} {role}", m.span(), value=role))
            if m.group("from"):
                out.append(fact("hometown", f"is originally from {m.group('from')}", m.span(), profile=True,
                                value=m.group("from")))
    return out


def gender_rules(s: Sentence) -> list[Found]:
    out = []
    for m in re.finditer(r"\bI(?:'m| am) (?:a )?(?P<g>woman|man|female|male|girl|guy)\b(?!\s+(?:of|who|in|from))", s.text, I):
        if statement_ok(s, m.start()):
            g = "female" if m.group("g").lower() in ("woman", "female", "girl") else "male"
            out.append(fact("gender", f"is {g}", m.span(), profile=True, value=g))
    return out


def residence_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    pats = [
        (r"\b(?:I|we)\s+(?:(?:currently|now|still|actually|also|just|have)\s+)*(?:don't|do not|no longer)\s+live\s+in\s+", "neg"),
        (r"\b(?:I|we)(?:'m|'re| am| are)?\s+(?:(?:currently|now|still|actually|also|just|have been)\s+)*"
         r"(?:live|living|reside|residing|based|settled|located)\s+(?:in|at)\s+", "live"),
        (r"\b(?:I|we)(?:'ve| have)?\s+(?:(?:just|recently|finally|already|actually|also)\s+)*"
         r"(?:moved|relocated)\s+(?:back\s+)?(?:to|into)\s+", "moved"),
        (r"(?:^|(?<=,)|(?<=, ))\s*(?:currently\s+|now\s+)?(?:living|based)\s+in\s+", "live"),
    ]
    pats.append((r"\b(?:I|we)(?:\s+|(?='))(?:(?:also|once)\s+)?(?:used to live|lived|have lived|'ve lived|grew up and lived)\s+in\s+",
                 "previous"))
    for pat, kind in pats:
        for m in re.finditer(pat, t, I):
            p = _place(t, m.end())
            if p is None or not statement_ok(s, m.start()):
                continue
            end = p[1]
            why = re.match(r"\s+for\s+(?:work|my job|a job|a new job|school|college|university|my studies|study|family)\b",
                           t[end:], I)
            if why:
                end += why.end()
            fam = re.match(r"\s+with\s+(?:my|our)\s+(?:(?P<sp>wife|husband)|partner|family|parents|kids|children)"
                           r"(?:\s+and\s+(?:my|our)\s+(?P<n>two|three|four|\d)?\s*(?P<k>kids|children|sons|daughters))?\b",
                           t[end:], I)
            if fam and kind != "neg":
                if fam.group("sp"):
                    out.append(fact("family.spouse", "is married", (m.start(), end + fam.end()), value="married"))
                if fam.group("k"):
                    n = fam.group("n")
                    out.append(fact("family.children", f"has {n + ' ' if n else ''}{fam.group('k').lower()}",
                                    (m.start(), end + fam.end()), value=fam.group("k").lower()))
                end += fam.end()
            tail = re.match(r"\s+(?:now|anymore|any more|these days|currently)\b", t[end:], I)
            if tail:
                end += tail.end()
            if kind == "previous":
                dur = re.match(r"\s+for\s+(?:(?:about|almost|nearly|over|more than|around)\s+)?(?:\d+(?:\.\d+)?|a few|a couple of|"
                               r"many|several|two|three|four|five|six|seven|eight|nine|ten|a|one)\s+(?:years?|months?)"
                               r"(?:\s+now)?", t[end:], I)
                if dur:
                    end += dur.end()
                if re.search(r"\b(?:have|'ve) lived\b", m.group(0), I) and not re.search(r"\bbefore\b", t[end:], I):
                    # "I've lived in the U.S. for 3.5 years": how long is part of the fact asked about
                    length = re.sub(r"^\s*for\s+|\s+now$", "", dur.group(0), flags=I) if dur else ""
                    clause = f"has lived in {p[0]} for {length}" if length else f"lives in {p[0]}"
                    out.append(fact("residence", clause, (m.start(), end), profile=True, value=p[0]))
                else:
                    out.append(fact("residence.previous", f"used to live in {p[0]}", (m.start(), end), profile=True,
                                    value=p[0]))
            elif kind == "neg" or (tail and "any" in tail.group(0).lower()):
                out.append(fact("residence", f"no longer lives in {p[0]}", (m.start(), end), profile=True, value=""))
            else:
                out.append(fact("residence", f"lives in {p[0]}", (m.start(), end), profile=True, value=p[0],
                                moved=kind == "moved"))
    return out


def hometown_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    for m in re.finditer(r"\b(?:I(?:'m| am)\s+(?:originally\s+)?from|I\s+(?:originally\s+)?come from|I grew up in|"
                         r"I was born (?:and raised )?in|my hometown is)\s+", t, I):
        if re.match(r"\d", t[m.end():]):
            continue
        p = _place(t, m.end())
        if p and statement_ok(s, m.start()):
            out.append(fact("hometown", f"is originally from {p[0]}", (m.start(), p[1]), profile=True, value=p[0]))
    return out


def work_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    for m in re.finditer(rf"\b(?:I|we)(?:'m| am)?\s+(?:(?:currently|now|still|also)\s+)*(?:work|working)\s+(?P<prep>at|for)\s+{_ORG}"
                         r"(?:\s+as\s+(?:an?\s+)?(?P<role>[\w -]{2,40}?)(?=\s*(?:[,.!;]|$|\s+and\b|\s+but\b)))?", t, I):
        if statement_ok(s, m.start()):
            org = m.group("org")
            out.append(fact("work.employer", f"works {m.group('prep').lower()} {org}", m.span(), value=org))
            role = m.group("role")
            if role and is_occupation(role):
                article = "an" if role[0].lower() in "aeiou" else "a"
                out.append(fact("work.role", f"works as {article} {role}", m.span(), value=role))
    for m in re.finditer(r"\b(?:I|we)\s+(?:(?:currently|now|still|also)\s+)*work\s+in\s+", t, I):
        p = _place(t, m.end())
        if p and is_known_place(p[0]) and statement_ok(s, m.start()):
            out.append(fact("work.location", f"works in {p[0]}", (m.start(), p[1]), value=p[0]))
            continue
        f = re.match(r"(?P<f>[a-z][\w -]{2,30}?)(?=[,.!;]|$|\s+and\b|\s+but\b|\s+at\b|\s+for\b)", t[m.end():])
        if f and statement_ok(s, m.start()):
            out.append(fact("work.field", f"works in {f.group('f')}", (m.start(), m.end() + f.end()), value=f.group("f")))
    role_pat = (r"\b(?:I(?:'m| am)(?: now| currently| also)?|I work as|my job is|I have been|I've been)\s+(?:an?\s+)?"
                r"(?P<role>[A-Za-z][\w -]{1,40}?)(?:\s+(?:at|for|with)\s+" + _ORG + r")?"
                r"(?:\s+in\s+(?P<loc>(?-i:[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)))?"
                r"(?:\s+(?:based|living)\s+in\s+(?P<home>(?-i:[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)))?"
                r"(?=\s*(?:[,.!;]|$|\s+and\b|\s+but\b|\s+in\b|\s+who\b|\s+from\b|\s+based\b|\s+so\b))")
    for m in re.finditer(role_pat, t):
        role = m.group("role").strip()
        if not is_occupation(role) or not statement_ok(s, m.start()):
            continue
        if re.match(r"(?:a\s+)?student\b", role, I) and m.group("org"):
            out.append(fact("education.school", f"studies at {m.group('org')}", m.span(), value=m.group("org")))
            continue
        article = "an" if role[0].lower() in "aeiou" else "a"
        out.append(fact("work.role", f"works as {article} {role}", m.span(), value=role))
        if m.group("org"):
            out.append(fact("work.employer", f"works at {m.group('org')}", m.span(), value=m.group("org")))
        if m.group("loc"):
            out.append(fact("work.location", f"works in {m.group('loc')}", m.span(), value=m.group("loc")))
        if m.group("home"):
            out.append(fact("residence", f"lives in {m.group('home')}", m.span(), profile=True, value=m.group("home")))
    for m in re.finditer(rf"\b(?:I\s+(?:just\s+|recently\s+)?(?:started|joined|started working at|got a job (?:at|with)|"
                         rf"started a (?:new )?job (?:at|with)|got a (?:new )?job (?:at|with)|landed a job at)|my new job (?:is )?at|"
                         rf"I(?:'m| am) employed (?:at|by))\s+{_ORG}", t, I):
        if statement_ok(s, m.start()) and not is_known_place(m.group("org")):
            out.append(fact("work.employer", f"works at {m.group('org')}", m.span(), value=m.group("org")))
    for m in re.finditer(r"\bI\s+(?:just\s+|recently\s+)?(?:quit|left|lost)\s+my\s+job\b|\bI(?:'m| am|'ve been| have been)\s+(?:laid off|unemployed|between jobs)\b", t, I):
        if statement_ok(s, m.start()):
            out.append(fact("work.employer", "recently left their job", m.span(), value=""))
    for m in re.finditer(r"\bI(?:'m| am)\s+(?:now\s+)?retired\b|\bI\s+(?:just\s+)?retired\b", t, I):
        if statement_ok(s, m.start()):
            out.append(fact("work.role", "is retired", m.span(), value="retired"))
    return out


def education_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    school = (r"(?P<org>(?:the\s+)?(?:[A-Z][\w&.'-]*\s+)*(?:University|College|School|Institute|Academy|Polytechnic)"
              r"(?:\s+of(?:\s+[A-Z][\w&.'-]*)+)?|MIT|UCLA|NYU|Harvard|Stanford|Oxford|Cambridge|Yale|Princeton|"
              r"Berkeley|Caltech|Columbia|[A-Z]{2,6})")
    for m in re.finditer(rf"\bI(?:'m| am)?\s+(?:currently\s+)?(?:study|studying|studied)\s+(?P<major>[a-z][\w -]{{1,40}}?)\s+at\s+{school}", t):
        if statement_ok(s, m.start()):
            out.append(fact("education.school", f"studies at {m.group('org')}", m.span(), value=m.group("org")))
            out.append(fact("education.major", f"studies {m.group('major')}", m.span(), value=m.group("major")))
    for m in re.finditer(rf"\bI\s+(?:currently\s+)?(?:study|go to school|go)\s+at\s+{school}|\bI\s+go\s+to\s+{school.replace('org', 'org2')}", t):
        org = m.group("org") or m.group("org2")
        if statement_ok(s, m.start()):
            out.append(fact("education.school", f"studies at {org}", m.span(), value=org))
    for m in re.finditer(rf"\bI(?:'m| am)\s+(?:a\s+)?(?:student|freshman|sophomore|junior|senior|grad student|graduate student|"
                         rf"PhD student|PhD candidate|undergrad|undergraduate|master's student)\s+at\s+{school}", t):
        if statement_ok(s, m.start()):
            out.append(fact("education.school", f"studies at {m.group('org')}", m.span(), value=m.group("org")))
    for m in re.finditer(rf"\bI\s+(?:just\s+|recently\s+)?graduated\s+from\s+{school}", t):
        if statement_ok(s, m.start()):
            out.append(fact("education.school", f"graduated from {m.group('org')}", m.span(), value=m.group("org")))
    for m in re.finditer(r"\b(?:I\s+major(?:ed)?\s+in|my major is|I(?:'m| am) majoring in)\s+(?P<m>[\w -]{2,40}?)(?=[,.!;]|$|\s+and\b|\s+at\b)", t, I):
        if statement_ok(s, m.start()):
            out.append(fact("education.major", f"majors in {m.group('m')}", m.span(), value=m.group("m")))
    return out


RULES = [name_rules, age_rules, gender_rules, hometown_rules, education_rules, residence_rules, work_rules]
