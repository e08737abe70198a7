"""Build the training corpus from the Debian `fortunes` / `fortunes-min` packages.

Each fortune becomes (a) a chat conversation (user asks for a fortune, assistant answers with it)
and (b) a plain-text document for completion. 5 % of fortunes (by a hash of their text) are held out.
Writes $WORK/corpus.json.
"""
import hashlib
import json
import os
import random
import re

from common import WORK

SRC = "/usr/share/games/fortunes"
# Collections skipped: ascii-art (pictures, not sentences) and ethnic (ethnic jokes).
SKIP = {"ascii-art", "ethnic"}
TOPICS = {
    "art": "art", "computers": "computers", "cookie": "life", "debian": "Debian",
    "definitions": "words", "disclaimer": "disclaimers", "drugs": "drugs", "education": "education",
    "food": "food", "fortunes": "fortune", "goedel": "logic", "humorists": "humor", "kids": "kids",
    "knghtbrd": "life", "law": "the law", "linux": "Linux", "linuxcookie": "Linux",
    "literature": "literature", "love": "love", "magic": "magic", "medicine": "medicine",
    "men-women": "men and women", "miscellaneous": "anything", "news": "the news",
    "paradoxum": "paradoxes", "people": "people", "perl": "Perl", "pets": "pets",
    "platitudes": "platitudes", "politics": "politics", "pratchett": "books", "riddles": "riddles",
    "science": "science", "songs-poems": "songs and poems", "sports": "sports",
    "startrek": "Star Trek", "tao": "the Tao", "translate-me": "languages", "wisdom": "wisdom",
    "work": "work", "zippy": "nonsense",
}
QUESTIONS = [
    "Tell me a fortune about {topic}.",
    "Give me a quote about {topic}.",
    "Say something about {topic}.",
    "Do you know a saying about {topic}?",
    "Tell me something about {topic}.",
    "Share a thought on {topic}.",
    "Say something wise.",
    "Tell me a fortune.",
    "Give me a fortune cookie.",
    "Tell me something funny.",
    "Share a quote with me.",
    "What is today's fortune?",
]
SYSTEMS = [
    "You are Orchard, a helpful assistant that answers with fortunes.",
    "You are a helpful assistant.",
    "You are a witty assistant. Keep answers short.",
]
MAX_CHARS = 320


def clean(text):
    """Collapse whitespace and un-wrap the hard-wrapped lines: one line per paragraph.

    Short single-paragraph answers teach a tiny model to finish with the end token instead of
    looping over line breaks."""
    paras = re.split(r"\n\s*\n", text)
    out = []
    for p in paras:
        p = re.sub(r"\s+", " ", p).strip()
        if p:
            out.append(p)
    return "\n".join(out)


def read_fortunes():
    out = []
    for name in sorted(os.listdir(SRC)):
        path = os.path.join(SRC, name)
        if name.endswith((".dat", ".u8")) or name in SKIP or not os.path.isfile(path) or os.path.islink(path):
            continue
        raw = open(path, "rb").read().decode("utf-8", errors="replace")
        for chunk in re.split(r"\n%\n", "\n" + raw + "\n"):
            t = clean(chunk)
            if len(t) < 8 or len(t) > MAX_CHARS or "\ufffd" in t:
                continue
            out.append((name, t))
    # dedupe (some collections overlap)
    seen, uniq = set(), []
    for name, t in out:
        if t not in seen:
            seen.add(t)
            uniq.append((name, t))
    return uniq


def held_out(text):
    return int(hashlib.sha1(text.encode()).hexdigest(), 16) % 20 == 0


def first_words(t, rng):
    words = t.split()
    n = min(len(words) - 1, rng.randint(3, 6))
    return " ".join(words[:max(n, 1)])


def make_question(name, t, rng):
    r = rng.random()
    if r < 0.2 and len(t.split()) > 6:
        return f"Finish this: {first_words(t, rng)}"
    q = rng.choice(QUESTIONS)
    return q.format(topic=TOPICS.get(name, "life"))


def make_chat(name, t, rng, pool):
    msgs = []
    if rng.random() < 0.25:
        msgs.append({"role": "system", "content": rng.choice(SYSTEMS)})
    msgs.append({"role": "user", "content": make_question(name, t, rng)})
    msgs.append({"role": "assistant", "content": t})
    if rng.random() < 0.1:  # occasional second turn
        n2, t2 = rng.choice(pool)
        msgs.append({"role": "user", "content": make_question(n2, t2, rng)})
        msgs.append({"role": "assistant", "content": t2})
    return {"messages": msgs}


def main():
    rng = random.Random(1234)
    fortunes = read_fortunes()
    train = [(n, t) for n, t in fortunes if not held_out(t)]
    val = [(n, t) for n, t in fortunes if held_out(t)]

    def docs(items, pool):
        d = []
        for n, t in items:
            d.append(make_chat(n, t, rng, pool))
            d.append({"text": t})
        rng.shuffle(d)
        return d

    train_docs = docs(train, train)
    val_docs = docs(val, val)
    qrng = random.Random(99)
    picks = qrng.sample(val, 50)
    eval_questions = []
    for n, t in picks:
        msgs = []
        if qrng.random() < 0.2:
            msgs.append({"role": "system", "content": SYSTEMS[0]})
        msgs.append({"role": "user", "content": make_question(n, t, qrng)})
        eval_questions.append({"messages": msgs, "reference": t, "collection": n})
    bpe_text = [t for _, t in train] + [q.format(topic=v) for q in QUESTIONS for v in TOPICS.values()] + SYSTEMS
    json.dump({
        "train_docs": train_docs, "val_docs": val_docs, "eval_questions": eval_questions,
        "bpe_text": bpe_text,
        "stats": {"fortunes": len(fortunes), "train_fortunes": len(train), "val_fortunes": len(val),
                  "train_chars": sum(len(t) for _, t in train), "val_chars": sum(len(t) for _, t in val),
                  "collections": sorted({n for n, _ in fortunes})},
    }, open(os.path.join(WORK, "corpus.json"), "w"))
    print(f"fortunes={len(fortunes)} train={len(train)} val={len(val)} "
          f"train_chars={sum(len(t) for _, t in train)}")


if __name__ == "__main__":
    main()
