"""The matching engine alone: folding, spans back into the original, whole-word Latin
matches (R-27). No database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xietong.moderation import matcher
from xietong.moderation.matcher import Entry, Matcher, normalize


def found(m: Matcher, text: str) -> list[tuple[str, str]]:
    return [(hit.word, hit.text) for hit in m.find(text)]


LEXICON = Matcher(
    [
        Entry("法轮功", "政治敏感", "block"),
        Entry("ＡＢＣ", "广告", "hold"),
        Entry("s b", "低俗辱骂", "hold"),
        Entry("fish", "测试", "hold"),
        Entry("法轮", "测试", "hold"),
    ]
)


def test_full_width_and_half_width_forms_match_alike() -> None:
    assert normalize("ＡＢＣ１２３") == "abc123"
    assert found(LEXICON, "请联系ＡＢＣ") == [("ＡＢＣ", "ＡＢＣ")]
    assert found(LEXICON, "请联系ABC") == [("ＡＢＣ", "ABC")]
    assert found(LEXICON, "请联系abc") == [("ＡＢＣ", "abc")]


def test_letter_case_is_ignored() -> None:
    assert found(LEXICON, "找 AbC 办")[0] == ("ＡＢＣ", "AbC")
    assert found(LEXICON, "FISH") == [("fish", "FISH")]


@pytest.mark.parametrize(
    "text",
    [
        "法 轮 功",
        "法-轮-功",
        "法*轮*功",
        "法　轮　功",  # ideographic spaces
        "法\n轮\t功",
        "法\u200b轮\u200d功",  # zero-width space and joiner
        "法。轮，功",
        "法\u0336轮\u0336功",  # strike-through combining marks
        "法😀轮😀功",
        "法\ue000轮功",  # private use
    ],
)
def test_characters_inserted_between_the_letters_are_ignored(text: str) -> None:
    hits = [hit for hit in LEXICON.find(text) if hit.word == "法轮功"]
    assert [hit.text for hit in hits] == [text]


def test_words_with_spaces_or_symbols_fold_like_the_text() -> None:
    assert normalize("s b") == "sb"
    assert found(LEXICON, "你是sb吗") == [("s b", "sb")]
    assert found(LEXICON, "你是 S.B.") == [("s b", "S.B")]


def test_hits_point_at_the_original_text() -> None:
    text = "第一段。\n第二段提到法 轮-功和ＡＢＣ。"
    hits = LEXICON.find(text, field="body")
    words = {hit.word: hit for hit in hits}
    assert text[words["法轮功"].start : words["法轮功"].end] == "法 轮-功"
    assert text[words["ＡＢＣ"].start : words["ＡＢＣ"].end] == "ＡＢＣ"
    assert {hit.field for hit in hits} == {"body"}


def test_overlapping_words_are_all_found() -> None:
    assert [hit.word for hit in LEXICON.find("法轮功")] == ["法轮", "法轮功"]


def test_latin_words_match_whole_words_only() -> None:
    assert found(LEXICON, "usb 接口") == []
    assert found(LEXICON, "selfish") == []
    assert found(LEXICON, "fishing") == []
    assert found(LEXICON, "买 fish 去") == [("fish", "fish")]
    assert found(LEXICON, "买鱼fish了") == [("fish", "fish")]  # Chinese around it is no letter
    assert found(LEXICON, "ＡＢＣＤ") == []  # full-width letters are letters too


def test_a_character_that_folds_to_several_keeps_its_span() -> None:
    # U+FB01 ﬁ folds to "fi": the hit spans the original three characters.
    assert found(LEXICON, "a ﬁsh!") == [("fish", "ﬁsh")]


def test_characters_that_fold_to_several_lexicon_letters_match() -> None:
    # Hangul syllables fold to their jamo: the lexicon's letters inside another character.
    hits = Matcher([Entry("한국", "测试", "hold")]).find("대한국민")
    assert [(hit.word, hit.text) for hit in hits] == [("한국", "한국")]


def test_spans_stay_right_across_translate_blocks() -> None:
    filler = "，" * (matcher.BLOCK_SIZE - 1)
    text = "开头" + filler + "法" + " " * 5000 + "轮功" + "结尾"
    (hit,) = [hit for hit in LEXICON.find(text) if hit.word == "法轮功"]
    assert text[hit.start] == "法"
    assert text[hit.end - 1] == "功"
    assert hit.end - hit.start == 5003


def test_a_flood_of_one_word_keeps_the_others() -> None:
    text = "法轮" * 1000 + "ＡＢＣ"
    hits = LEXICON.find(text, limit=10)
    assert len(hits) <= 12
    assert {hit.word for hit in hits} == {"法轮", "ＡＢＣ"}


def test_an_empty_lexicon_finds_nothing() -> None:
    assert Matcher([]).find("法轮功") == []


def test_symbol_only_words_are_ignored() -> None:
    assert Matcher([Entry("！！！", "测试", "block")]).size == 0


CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
FILLERS = st.text(alphabet=" -_*.,，。、\u200b\u3000~!|/\\", max_size=3)


@settings(max_examples=200, deadline=None)
@given(word=st.text(alphabet=CJK, min_size=2, max_size=6), gaps=st.lists(FILLERS, min_size=6, max_size=6))
def test_any_fillers_between_the_letters_still_match(word: str, gaps: list[str]) -> None:
    spelt = "".join(char + gap for char, gap in zip(word, gaps, strict=False)).rstrip(
        " -_*.,，。、\u200b\u3000~!|/\\"
    )
    text = "前文" + spelt + "后文"
    hits = [hit for hit in Matcher([Entry(word, "测试", "block")]).find(text) if hit.word == word]
    assert hits
    assert normalize(text[hits[0].start : hits[0].end]) == word


SMALL = "甲乙丙丁戊"


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.text(alphabet=SMALL, min_size=1, max_size=4), min_size=1, max_size=8, unique=True),
    text=st.text(alphabet=SMALL + "己 ，\u200b", max_size=60),
)
def test_every_occurrence_is_found_and_nothing_else(words: list[str], text: str) -> None:
    """Against a plain search of the folded text: a character that begins a word is spelt
    with two symbols and one that begins none with one, and neither may let a word start
    inside a character or run over a character that is in no word (己)."""
    folded = normalize(text)
    expected = {
        (word, index)
        for word in words
        for index in range(len(folded) - len(word) + 1)
        if folded.startswith(word, index)
    }
    hits = Matcher([Entry(word, "测试", "block") for word in words]).find(text)
    assert {(hit.word, len(normalize(text[: hit.start]))) for hit in hits} == expected
    for hit in hits:
        assert normalize(hit.text) == hit.word
