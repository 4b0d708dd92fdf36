"""Knowledge-base benchmark: chunking speed, and what one edit of a long document costs
(bench/results/knowledge.json).

1. ``chunk_document`` over a generated zh/en document of ``--chars`` characters (CPU seconds,
   characters per CPU second, chunks, the largest chunk).
2. A document of ``--paragraphs`` paragraphs ingested through the real service (SQLite event
   store, no vectors), then updated three ways at ``--repeats`` random positions: one
   paragraph edited (a sentence appended), one inserted, one removed. For each: how many
   chunks the update touched (revised + created + archived) and its CPU time. The point: an
   edit touches the chunks around it, not every chunk after it.

    python -m bench.bench_knowledge [--chars 1000000] [--paragraphs 300] [--repeats 10]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from bench._common import write_result

import memstream
from domain.chunking import chunk_document

ZH = ["酒店预订可在入住前24小时免费取消。", "之后取消收取一晚房费！", "早餐供应时间为七点到十点。", "停车位需要提前在网上预约；",
      "如有疑问，请联系前台。", "会员可以免费升级房型吗？"]
EN = ["Hotel bookings can be cancelled free of charge up to 24 hours before check-in.",
      "Later cancellations are charged one night!", "Breakfast is served from seven to ten.",
      "Parking must be reserved online in advance.", "Do members get a free room upgrade?",
      "Contact the front desk with any question."]


def paragraph(rng: random.Random, number: int) -> str:
    pool = ZH if number % 2 else EN
    joiner = "" if number % 2 else " "
    return f"Section {number}. " + joiner.join(rng.choice(pool) for _ in range(rng.randint(2, 7)))


def document(paragraphs: list[str], number: int = 0) -> dict:
    return {"kb_id": "bench", "doc_id": f"guide-{number}", "title": "Guest guide", "text": "\n\n".join(paragraphs)}


def cpu() -> float:
    return time.process_time()


def run(chars: int, paragraphs: int, repeats: int) -> dict:
    rng = random.Random(7)
    text, number = [], 0
    while sum(len(p) for p in text) < chars:
        text.append(paragraph(rng, number))
        number += 1
    body = "\n\n".join(text)
    start = cpu()
    chunks = chunk_document(body, 800, 100)
    spent = cpu() - start
    result: dict = {"chunking": {"chars": len(body), "cpu_s": round(spent, 3),
                                 "chars_per_cpu_s": int(len(body) / spent) if spent else None,
                                 "chunks": len(chunks), "largest_chunk": max(len(c.text) for c in chunks)}}
    base = [paragraph(rng, i) for i in range(paragraphs)]
    kinds = {
        "edit one paragraph": lambda k: base[:k] + [base[k] + " Updated: now 48 hours."] + base[k + 1:],
        "insert one paragraph": lambda k: base[:k] + ["A new notice about the spa, open daily."] + base[k:],
        "remove one paragraph": lambda k: base[:k] + base[k + 1:],
    }
    positions = sorted(rng.sample(range(1, paragraphs - 1), repeats))
    result["updates"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, edit in kinds.items():
            touched_shares, cpu_times, counts = [], [], []
            with memstream.open(data_dir=Path(tmp) / name.replace(" ", "-"), extractor="rules",
                                with_vectors=False) as ms:
                for number, position in enumerate(positions):
                    first = ms.add_document(document(base, number))
                    start = cpu()
                    update = ms.add_document(document(edit(position), number))
                    cpu_times.append(cpu() - start)
                    touched = len(update.revised) + len(update.created) + len(update.archived)
                    counts.append(touched)
                    touched_shares.append(touched / len(first.created))
            result["updates"][name] = {
                "chunks": len(first.created), "positions": positions, "chunks_touched": counts,
                "mean_touched": round(sum(counts) / len(counts), 2), "max_touched": max(counts),
                "mean_touched_share": round(sum(touched_shares) / len(touched_shares), 4),
                "mean_update_cpu_s": round(sum(cpu_times) / len(cpu_times), 3)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chars", type=int, default=1_000_000)
    parser.add_argument("--paragraphs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=10, help="edit positions per kind of update")
    args = parser.parse_args()
    result = run(args.chars, args.paragraphs, args.repeats)
    result["args"] = vars(args)
    print(result)
    print(write_result("knowledge", result))


if __name__ == "__main__":
    main()
