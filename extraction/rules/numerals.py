"""Small number parsing: Arabic digits, Chinese numerals and English number words."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}

CN_NUM = r"[零〇一二两俩三四五六七八九十百千]+"
NUM = r"(?:\d+|[零〇一二两俩三四五六七八九十百千]+)"

_EN_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3, "few": 3, "several": 3,
}
EN_NUM = r"(?:\d+|a couple of|a few|several|an|a|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"


def cn_to_int(text: str) -> int | None:
    """Parse a Chinese numeral ("二十八", "十五", "两", "一百零三") or digits."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        else:
            unit = _CN_UNITS[ch]
            total += (current or 1) * unit
            current = 0
    return total + current


def to_int(text: str) -> int | None:
    """Digits, Chinese numerals ("三") or English words ("three", "a couple of")."""
    t = text.strip().lower()
    if t in _EN_WORDS:
        return _EN_WORDS[t]
    return cn_to_int(t)


def has_cjk(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None
