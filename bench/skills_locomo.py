"""How many skills the offline rules find in LoCoMo's casual conversations (there are none to
find, so every procedure found is a false positive). Each turn is shown with the turn before
it as context, as the Fine stage would; prints the count and every hit.

    python -m bench.skills_locomo [--data ../shared/data/locomo/locomo10.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from domain.extraction import WindowMessage
from extraction.rules.skills import find_skills

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo10.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    args = parser.parse_args()
    turns, found = 0, []
    for conversation in json.loads(args.data.read_text(encoding="utf-8")):
        for name, session in conversation["conversation"].items():
            if not (name.startswith("session_") and isinstance(session, list)):
                continue
            previous = None
            for turn in session:
                turns += 1
                window = ([previous] if previous else []) + [WindowMessage(turn["dia_id"], "e", "user", turn["text"])]
                skills, _ = find_skills(window)
                found += [(x.mode, turn["dia_id"], turn["text"][:120]) for x in skills]
                previous = WindowMessage(turn["dia_id"] + "-prev", "e", "assistant", turn["text"], is_new=False)
    procedures = [f for f in found if f[0] == "procedure"]
    print(f"{turns} turns: {len(procedures)} procedures, {len(found) - len(procedures)} additions/uses "
          "(these apply only to an existing skill they name)")
    for item in found:
        print(*item, sep="  ")


if __name__ == "__main__":
    main()
