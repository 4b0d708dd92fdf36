"""The no-information classifier: small talk in many phrasings carries none, statements do."""

from __future__ import annotations

import pytest

from domain.information import carries_information, content_tokens

NO_INFORMATION = [
    # greetings
    "hi", "Hi!", "hello", "Hello there", "hey", "heyyy", "Hey hey!", "yo", "Good morning!", "good night",
    "gm", "Morning :)", "Hi! How can I help you today?", "How are you?", "how's it going?", "what's up",
    "你好", "您好！", "早上好", "早安～", "晚安", "晚安，好梦！", "大家好", "在吗？", "在的，请说。", "嗨",
    # thanks
    "thanks", "Thanks!!", "thx", "ty", "tysm", "Thank you so much!", "thanks a lot :)", "cheers",
    "much appreciated", "thanksss", "谢谢", "谢谢！", "多谢", "谢啦", "感谢", "辛苦了", "好的，谢谢！",
    # laughter
    "lol", "LOL", "lmao", "lmaooo", "haha", "hahaha", "HAHAHAHA", "hehe", "xD", "rofl", "哈哈", "哈哈哈哈",
    "呵呵", "嘻嘻", "😂😂😂", "lol ok", "nvm lol",
    # acknowledgements
    "ok", "OK", "okay", "okkk", "k", "kk", "alright", "sure", "yes", "yeah", "yep", "got it",
    "Got it, thanks!", "sounds good", "cool", "nice", "great!", "perfect", "noted", "makes sense",
    "好的", "好", "好吧", "好嘞", "行", "可以", "嗯", "嗯嗯", "哦", "收到", "明白了", "知道了", "没问题",
    "👍", "👌🏻", "🙏", "...", "!!", "ok 👍", "好的好的，谢谢啦",
    # assistant pleasantries
    "Sure, happy to help!", "You're welcome!", "You are welcome.", "No problem!", "No worries :)",
    "Let me know if you need anything else.", "Glad I could help!", "Anytime!", "My pleasure.",
    "Of course!", "不客气", "不客气！有什么需要随时告诉我。", "很高兴为您服务", "你好！有什么可以帮你的吗？",
    "早上好，祝你今天愉快！", "Good morning! Hope you slept well.", "好的，记住了。", "恭喜！",
    # sign-offs, wishes, slang praise and laughter
    "np", "ttyl", "brb", "Sure thing!", "Much obliged", "Have a nice day!", "Happy new year!", "Merry Christmas!",
    "Talk to you later", "Thanks for the tips!", "Thanks for the advice", "congrats!!",
    "原来如此", "有道理", "666", "hhh", "2333", "88", "笑死", "绝了", "谢谢你的建议", "新年快乐", "生日快乐！", "再聊",
    "改天聊～",
    # reactions, a verb form of a filler word, sign-offs in other words
    "thanks a lot, that helps", "hahaha that's funny", "catch you later", "Interesting!", "That's hilarious",
    "exactly", "totally", "回头聊", "有意思", "哈哈好笑", "真的吗？", "晚安～ 明天见", "好的，待会见",
    # a bare persona line: it describes the assistant, not the user
    "You are a helpful assistant.", "You're a friendly AI assistant!", "你是一个乐于助人的助手", "你是一名专业的旅行助手。",
]

INFORMATION = [
    "I live in Seattle.", "I can swim", "I'm 28", "I work as a nurse at St. Mary's", "The train",
    "Thai, definitely", "no", "not really", "No more steak for me", "Yes, last year!",
    "I'll visit my sister in Denver next Friday", "Where do I live?", "what do I do for a living?",
    "my cat is called Miso", "thanks, I moved to Berlin", "lol I just adopted a dog", "ok, book the Hilton",
    "我住在上海", "我有高血压", "爬山吧", "粤菜吧", "我不知道", "谢谢，我下周去北京", "哈哈，我养了一只猫",
    "好的，订七天酒店", "住在哪里", "我搬到深圳了", "3", "2025-03-14", "Paris", "我28岁",
    "tool weather: sunny", "You are a helpful assistant. The user is vegan.",
    # words the wider filler classes hold, next to content
    "I have a new job", "I think I'll move to Berlin", "I'm an assistant professor", "My room is 233", "I'm 88",
    "我建议去北京", "我有一个建议：周末去爬山", "I got new tips from my coach about running",
    "Merry christmas, I'm in Paris", "我是助手",
    "我明天见客户", "funny story: I moved to Oslo", "I find chess interesting", "我觉得编程很有意思", "it helps my back pain",
]


@pytest.mark.parametrize("text", NO_INFORMATION)
def test_small_talk_carries_no_information(text: str) -> None:
    assert not carries_information(text), content_tokens(text)


@pytest.mark.parametrize("text", INFORMATION)
def test_statements_and_questions_carry_information(text: str) -> None:
    assert carries_information(text)


def test_content_tokens_are_what_is_left_after_fillers() -> None:
    assert content_tokens("Thanks! I moved to Berlin 🎉") == ["moved", "berlin"]
    assert content_tokens("哈哈，我养了一只猫") == ["养", "一", "只", "猫"]
    assert content_tokens("Haha ok 👍") == []


def test_negations_are_never_filler() -> None:
    for text in ("no", "nope", "not at all really", "never", "我不吃辣"):
        assert carries_information(text) == (text != "not at all really"), text
