"""The lexicon: words unique per folded form, import, and the compiled automaton following
every change — in this process at once, in others after the re-check interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from xietong.audit.models import Event
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.identity.models import User
from xietong.moderation import lexicon, services
from xietong.moderation.models import LexiconVersion, SensitiveWord
from xietong.moderation.tests.conftest import add_word, category

pytestmark = pytest.mark.django_db


def verdict_of(text: str) -> str:
    return services.check(fields={"body": text}).action


def test_automaton_is_rebuilt_after_a_lexicon_change(secadmin_user: User) -> None:
    assert verdict_of("这是测试新词") == "allow"
    word = add_word(secadmin_user, "测试新词")
    assert verdict_of("这是测试新词") == "block"
    services.word_update(actor=secadmin_user, word=word, action="hold")
    assert verdict_of("这是测试新词") == "hold"
    services.word_update(actor=secadmin_user, word=word, is_active=False)
    assert verdict_of("这是测试新词") == "allow"
    assert SensitiveWord.objects.filter(pk=word.pk).exists()  # kept for the record


def test_another_process_change_is_seen_after_the_recheck_interval(
    secadmin_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(lexicon, "_seconds", lambda: now[0])
    assert verdict_of("远程新词") == "allow"
    # Another process adds a word: its rows and a new token, nothing in this process.
    SensitiveWord.objects.create(word="远程新词", normalized="远程新词", category=category("违法违规"))
    LexiconVersion.objects.update_or_create(pk=1, defaults={"token": "another-process"})
    now[0] += lexicon.RECHECK_SECONDS / 2
    assert verdict_of("远程新词") == "allow"  # not checked yet: the compiled lexicon stands
    now[0] += lexicon.RECHECK_SECONDS
    assert verdict_of("远程新词") == "block"


def test_the_version_is_read_once_per_interval(
    secadmin_user: User, monkeypatch: pytest.MonkeyPatch, django_assert_num_queries: Any
) -> None:
    monkeypatch.setattr(lexicon, "_seconds", lambda: 5000.0)
    add_word(secadmin_user, "测试新词")
    verdict_of("热身")
    with django_assert_num_queries(0):
        for _ in range(5):
            assert verdict_of("测试新词") == "block"


def test_words_are_unique_per_folded_form(secadmin_user: User) -> None:
    add_word(secadmin_user, "ＳＢ")
    for spelling in ("sb", "s b", "S-B", "ｓｂ"):
        with pytest.raises(DomainError, match="已在词库中"):
            add_word(secadmin_user, spelling)
    assert SensitiveWord.objects.get().normalized == "sb"


def test_a_word_of_symbols_only_is_refused(secadmin_user: User) -> None:
    with pytest.raises(DomainError, match="只由空格、标点或符号组成"):
        add_word(secadmin_user, "！ ！ ！")


def test_only_moderators_change_the_lexicon(sysadmin_user: User) -> None:
    with pytest.raises(PermissionDeniedError):
        add_word(sysadmin_user, "测试新词")
    assert not SensitiveWord.objects.exists()
    assert Event.objects.filter(action=services.WORD_CREATED, result="denied").exists()


def test_changes_are_audited(secadmin_user: User) -> None:
    word = add_word(secadmin_user, "测试新词", category_name="广告", action="hold")
    services.word_update(actor=secadmin_user, word=word, action="block")
    created = Event.objects.get(action=services.WORD_CREATED)
    assert created.details == {"category": "广告", "action": "hold"}
    updated = Event.objects.get(action=services.WORD_UPDATED)
    assert updated.details == {"changes": {"action": ["hold", "block"]}}


def test_import_adds_new_words_and_reports_the_rest(secadmin_user: User) -> None:
    add_word(secadmin_user, "已有词")
    lines = ["# 注释", "新词一", "", "  新词二  ", "已 有 词", "新词一", "？？", "长" * 101]
    result = services.words_import(actor=secadmin_user, lines=lines, category=category("广告"), action="hold")
    assert result.created == 2
    assert sorted(result.duplicates) == ["已 有 词", "新词一"]
    assert [number for number, _text, _reason in result.invalid] == [7, 8]
    assert set(SensitiveWord.objects.filter(action="hold").values_list("word", flat=True)) == {
        "新词一",
        "新词二",
    }
    assert verdict_of("含新词二的文本") == "hold"
    event = Event.objects.get(action=services.WORDS_IMPORTED)
    assert (event.details["created"], event.details["duplicates"], event.details["invalid"]) == (2, 2, 2)


def test_word_files_in_gbk_are_read() -> None:
    assert services.decode_word_file("敏感词\n".encode("gb18030")) == "敏感词\n"
    assert services.decode_word_file("\ufeff敏感词".encode()) == "敏感词"


def test_the_import_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "words.txt"
    path.write_bytes("命令词一\n命令词二\n".encode("gb18030"))
    category("违法违规")
    call_command("moderation_import", str(path), "--category", "违法违规", "--action", "block")
    assert "已导入 2 个敏感词" in capsys.readouterr().out
    assert verdict_of("命令词二") == "block"
    event = Event.objects.get(action=services.WORDS_IMPORTED)
    assert event.actor_id is None
    with pytest.raises(CommandError, match="分类“不存在的分类”不存在"):
        call_command("moderation_import", str(path), "--category", "不存在的分类")
