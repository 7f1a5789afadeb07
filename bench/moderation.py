"""The sensitive-word check on a megabyte of Chinese text against a 10,000-word lexicon
(R-27; goal: under 50 ms), with baselines measured in the same run.

Usage: ``.venv/bin/python bench/moderation.py [--runs 20] [--size 1048576] [--words 10000]
[--seed 7] [--require-goal]`` (see the "Moderation" section of bench/README.md).

No database and no Django: it times ``xietong.moderation.matcher`` — what ``screen`` runs
for each field once the process holds the compiled lexicon. Text and lexicon come from
pypinyin's phrase dictionary (47,000 real Chinese words), split in two so that the
lexicon's words occur in the text only where they are planted (20 of them, spaced out or
broken up with symbols as an evader would) or where two neighbouring words happen to form
one. Every figure is the median of ``--runs`` runs after a warm-up.
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ahocorasick  # noqa: E402
from pypinyin.phrases_dict import phrases_dict  # noqa: E402

from xietong.moderation import matcher  # noqa: E402
from xietong.moderation.matcher import Entry, Matcher  # noqa: E402

GOAL_MS = 50.0
PUNCTUATION = "，，，。。、；：！？“”（）《》……——"
FILLERS = [" ", "-", "*", "·", "　", "\u200b", "_", "/"]
PLANTED = 20


def build_corpus(size: int, words: int, seed: int) -> tuple[str, list[str], list[str]]:
    """(text of ``size`` UTF-8 bytes, lexicon words, the planted words)."""
    rng = random.Random(seed)
    phrases = sorted(phrases_dict)
    rng.shuffle(phrases)
    # Lexicon words of three characters and more: a two-character dictionary word such as
    # 一个 is everyday language, which no lexicon would list.
    long_ones = [p for p in phrases if len(p) >= 3]
    lexicon = long_ones[:words]
    taken = set(lexicon)
    vocabulary = [p for p in phrases if p not in taken]
    planted = rng.sample(lexicon, PLANTED)

    pieces: list[str] = []
    length = 0
    sentence = 0
    while length < size:
        sentence += 1
        words_in_sentence = [rng.choice(vocabulary) for _ in range(rng.randint(3, 12))]
        if sentence % 40 == 0:  # some Latin letters and digits, half- and full-width
            words_in_sentence.insert(
                rng.randrange(len(words_in_sentence)), rng.choice(["OA系统", "ＶＰＮ", "2026年", " Excel "])
            )
        piece = "".join(words_in_sentence) + rng.choice(PUNCTUATION) + ("\n" if rng.random() < 0.1 else "")
        pieces.append(piece)
        length += len(piece.encode())
    for word in planted:
        filler = rng.choice(FILLERS)
        spelt = filler.join(word) if rng.random() < 0.5 else word
        pieces.insert(rng.randrange(len(pieces)), spelt + "。")
    text = "".join(pieces)
    text = text.encode()[:size].decode(errors="ignore")
    return text, lexicon, planted


def median_ms(function: Callable[[], Any], runs: int) -> tuple[float, Any]:
    result = function()  # warm-up: memoised translate tables, caches
    timings = []
    gc.disable()
    try:
        for _ in range(runs):
            start = time.perf_counter()
            result = function()
            timings.append((time.perf_counter() - start) * 1000)
    finally:
        gc.enable()
    return statistics.median(timings), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--size", type=int, default=1024 * 1024, help="bytes of UTF-8 text")
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--require-goal", action="store_true", help="exit status 1 when the goal is missed")
    args = parser.parse_args()

    text, lexicon, planted = build_corpus(args.size, args.words, args.seed)
    entries = [Entry(word, "测试", "block") for word in lexicon]
    print(
        f"text: {len(text.encode()):,} bytes UTF-8, {len(text):,} characters; lexicon: {len(lexicon):,} words"
    )
    print(f"python {sys.version.split()[0]}, {args.runs} runs each, median")

    start = time.perf_counter()
    compiled = Matcher(entries)
    first_build_ms = (time.perf_counter() - start) * 1000  # with the process's BMP fold table
    start = time.perf_counter()
    compiled = Matcher(entries)
    build_ms = (time.perf_counter() - start) * 1000

    folded = matcher.normalize(text)
    plain = ahocorasick.Automaton()
    for word in lexicon:
        plain.add_word(matcher.normalize(word), word)
    plain.make_automaton()
    one_word = matcher.normalize(lexicon[0])
    hundred = re.compile("|".join(re.escape(word) for word in lexicon[:100]))
    comment = text[: 2048 // 3]  # about 2 KB: a comment or a short notice

    rows: list[tuple[str, str, float]] = []

    def measure(name: str, what: str, function: Callable[[], Any]) -> Any:
        ms, result = median_ms(function, args.runs)
        rows.append((name, what, ms))
        return result

    measure("in", "baseline: `word in text`, one word over the raw text", lambda: one_word in text)
    measure(
        "re100",
        "baseline: `re` alternation of 100 lexicon words over the raw text",
        lambda: hundred.findall(text),
    )
    measure(
        "ac_plain",
        "pyahocorasick over the folded text, one symbol per character (the plain design, matching only)",
        lambda: list(plain.iter(folded)),
    )
    measure(
        "spell",
        f"fold + spell: one `str.translate` per {matcher.BLOCK_SIZE} characters",
        lambda: compiled._spell(text),
    )
    measure("comment", "the moderation check of a 2 KB text", lambda: compiled.find(comment))
    hits = measure(
        "check",
        "the moderation check: fold + spell + match + spans (`Matcher.find`)",
        lambda: compiled.find(text),
    )

    found = {hit.word for hit in hits}
    missed = [word for word in planted if word not in found]
    check_ms = rows[-1][2]
    baseline_ms = rows[1][2]

    print()
    print("| step | what | median ms | × re100 |")
    print("|---|---|---:|---:|")
    for name, what, ms in rows:
        print(f"| `{name}` | {what} | {ms:.2f} | {ms / baseline_ms:.2f} |")
    print()
    print(f"automaton build: {first_build_ms:.0f} ms first in a process, {build_ms:.0f} ms after a change")
    print(
        f"hits: {len(hits)} ({len(found)} distinct words); planted {PLANTED}, found {PLANTED - len(missed)}"
    )
    if missed:
        print(f"MISSED planted words: {missed}")
    verdict = "PASS" if check_ms < GOAL_MS and not missed else "FAIL"
    mib = len(text.encode()) / 1024 / 1024
    print(f"{verdict}: moderation check {check_ms:.2f} ms for {mib:.2f} MiB (goal < {GOAL_MS:.0f} ms)")
    return 1 if args.require_goal and verdict == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main())
