"""Shared pieces of the pipeline and broker benchmarks.

Why one workload generator: both benchmarks must push the *same kind* of input
through the real service, so their numbers can be compared. Messages are short
zh/en chat turns; about half match a rule of the offline extractor (residence,
work, diet, allergies, trips, likes) and become fine memories, the rest stay
episodes, as in real chat. Slots (names, cities, jobs, numbers) make most texts
unique, so the embedding cache does not flatter the numbers.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

CITIES_ZH = "上海 北京 杭州 成都 深圳 广州 南京 武汉 西安 重庆 苏州 厦门 青岛 长沙 昆明 大连".split()
CITIES_EN = "Berlin Lisbon Seattle Tokyo Paris Boston Denver Madrid Oslo Toronto Dublin Austin Vienna Prague".split()
JOBS_ZH = "程序员 医生 老师 设计师 律师 会计 护士 厨师 记者 工程师".split()
JOBS_EN = "nurse teacher designer lawyer accountant chef engineer pilot journalist dentist".split()
DRINKS_ZH = "拿铁 美式咖啡 绿茶 奶茶 乌龙茶 豆浆 果汁 啤酒".split()
THINGS_EN = "tea coffee jazz sushi cycling chess pizza hiking swimming yoga".split()
ALLERGENS_ZH = "花生 海鲜 牛奶 芒果 鸡蛋 小麦".split()
ALLERGENS_EN = "peanuts shellfish milk cats pollen gluten".split()
ACTIVITIES_ZH = "爬山 游泳 看电影 逛街 钓鱼 露营".split()
NAMES = "Anna Ben Chen Dara Eli Fei Gus Hana Ivan Jun Kai Lena Ming Nora Omar Pia Rui Sam Tao Uma".split()

ZH = [
    "我住在{cz}。", "我现在在{cz}工作，是一名{jz}。", "我不太能吃辣。", "我喜欢喝{dz}。",
    "我对{az}过敏。", "我下个月要去{cz}出差。", "周末打算去{xz}。", "今天好累啊，加班到{h}点。",
    "帮我查一下明天{cz}的天气。", "哈哈，好的，谢谢！第{n}次麻烦你了", "你觉得{cz}的{xz}怎么样？",
    "我女儿今年{n}岁了。", "刚才和{name}吃了顿饭，聊了{n}个小时。",
]
EN = [
    "I live in {ce} now.", "I work as a {je} at a hospital.", "I'm allergic to {ae}.",
    "I prefer {te} over {te2}.", "Next week I'm flying to {ce} for work.", "I love {te} on weekends.",
    "What's the weather like in {ce} tomorrow?", "Thanks, that helps a lot! ({n})",
    "Can you recommend a good book about {te}?", "My sister {name} moved to {ce} {n} years ago.",
    "Remind me to call {name} at {h} pm.", "I don't eat meat.",
]
REPLIES = ["好的，记住了。", "Got it, thanks for sharing!", "明白了，还有什么需要吗？", "Sure, noted."]


def chat_text(rng: random.Random) -> str:
    template = rng.choice(ZH if rng.random() < 0.5 else EN)
    slots = {
        "cz": rng.choice(CITIES_ZH), "jz": rng.choice(JOBS_ZH), "dz": rng.choice(DRINKS_ZH),
        "az": rng.choice(ALLERGENS_ZH), "xz": rng.choice(ACTIVITIES_ZH), "ce": rng.choice(CITIES_EN),
        "je": rng.choice(JOBS_EN), "ae": rng.choice(ALLERGENS_EN), "te": rng.choice(THINGS_EN),
        "te2": rng.choice(THINGS_EN), "name": rng.choice(NAMES), "h": rng.randint(1, 12),
        "n": rng.randint(2, 99),
    }
    return template.format(**slots)


def make_envelopes(count: int, users: int, seed: int = 7, messages: int = 1,
                   reply_share: float = 0.3, prefix: str = "bench") -> list[dict[str, Any]]:
    """``count`` envelope dicts across ``users`` users, chat_time increasing per envelope.

    Message 0 is always the user's turn (so its episode is ``episode_id(event_id, "0")``);
    ``messages`` > 1 adds more user turns (bulk loads), ``reply_share`` adds an
    assistant reply to that share of single-turn envelopes.
    """
    rng = random.Random(seed)
    base = 1_748_736_000  # 2025-06-01T00:00:00Z
    out = []
    for i in range(count):
        when = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(base + 60 * i))
        turns = [{"message_id": f"m{i}.0", "role": "user", "content": chat_text(rng), "chat_time": when}]
        for j in range(1, messages):
            turns.append({"message_id": f"m{i}.{j}", "role": "user", "content": chat_text(rng),
                          "chat_time": when})
        if messages == 1 and rng.random() < reply_share:
            turns.append({"message_id": f"m{i}.r", "role": "assistant", "content": rng.choice(REPLIES),
                          "chat_time": when})
        user = f"user-{rng.randrange(users):05d}"
        out.append({"event_id": f"{prefix}-{seed}-{i}", "user_id": user,
                    "conversation_id": f"{user}-c{i % 3}", "messages": turns})
    return out


def unique_share(envelopes: Sequence[dict[str, Any]]) -> float:
    texts = [m["content"] for e in envelopes for m in e["messages"]]
    return round(len(set(texts)) / max(1, len(texts)), 3)


def pct(values: Sequence[float], scale: float = 1000.0, digits: int = 1) -> dict[str, Any]:
    """p50/p90/p99/max/mean of seconds, in milliseconds by default."""
    if not len(values):
        return {"n": 0}
    a = np.asarray(values, dtype=float) * scale
    return {"n": int(a.size), "p50": round(float(np.percentile(a, 50)), digits),
            "p90": round(float(np.percentile(a, 90)), digits),
            "p99": round(float(np.percentile(a, 99)), digits),
            "max": round(float(a.max()), digits), "mean": round(float(a.mean()), digits)}


def cpu_seconds(pid: int | None = None) -> float:
    """User+system CPU seconds of a process (and its reaped children) from /proc."""
    try:
        fields = Path(f"/proc/{pid or os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks


def machine() -> dict[str, Any]:
    """Facts that make the numbers comparable: cores, CPU, Python, load (shared machine)."""
    from bench.report import machine_facts

    facts = machine_facts()
    facts["loadavg_start"] = facts.pop("loadavg")
    return facts


def write_result(name: str, result: dict[str, Any], out_dir: Path = RESULTS) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    result.setdefault("machine", machine())
    result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
