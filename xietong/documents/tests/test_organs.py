"""发文机关 kept by the 文秘 of their unit (机关代字: 9704 §7.2.4)."""

from __future__ import annotations

from typing import Any

import pytest

from xietong.audit.models import Event
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.documents import organs
from xietong.documents.models import IssuingOrgan
from xietong.documents.tests.archive_helpers import finished_outgoing
from xietong.documents.tests.conftest import DocsPeople
from xietong.org.models import OrgUnit

pytestmark = pytest.mark.django_db

VALUES = {"code": "华东发", "name": "华东分公司", "mark": "华东分公司文件", "print_org": "华东分公司办公室"}


def test_a_clerk_creates_and_edits_an_organ_of_their_unit(
    docs_people: DocsPeople, docs_org: dict[str, OrgUnit]
) -> None:
    organ = organs.organ_create(actor=docs_people.sub_clerk, unit=docs_org["sub"], values=VALUES)
    assert organ.code == "华东发"
    assert organ.is_active
    organ = organs.organ_update(
        actor=docs_people.sub_clerk, organ=organ, values={**VALUES, "code": "华东办发", "is_active": False}
    )
    assert organ.code == "华东办发"
    assert not organ.is_active
    assert Event.objects.filter(action=organs.ORGAN_CREATED).count() == 1
    assert Event.objects.filter(action=organs.ORGAN_UPDATED).count() == 1
    assert list(organs.organs_for(docs_people.sub_clerk)) == [organ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "HD发"}, "code"),
        ({"code": "华东〔发〕"}, "code"),
        ({"code": ""}, "code"),
        ({"name": ""}, "name"),
        ({"mark": "标" * 101}, "mark"),
        ({"print_org": " "}, "print_org"),
    ],
)
def test_organ_values_are_checked(
    docs_people: DocsPeople, docs_org: dict[str, OrgUnit], change: dict[str, Any], field: str
) -> None:
    with pytest.raises(DomainError) as error:
        organs.organ_create(actor=docs_people.sub_clerk, unit=docs_org["sub"], values={**VALUES, **change})
    assert field in [detail["field"] for detail in error.value.details]
    assert not IssuingOrgan.objects.exists()


def test_organ_code_is_unique_and_fixed_once_numbers_were_given(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit]
) -> None:
    with pytest.raises(DomainError, match="已被使用"):
        organs.organ_create(
            actor=docs_people.clerk, unit=docs_org["group"], values={**VALUES, "code": "协同发"}
        )
    finished_outgoing(organ, docs_people.drafter, docs_org["finance"])
    with pytest.raises(DomainError, match="不能再修改"):
        organs.organ_update(
            actor=docs_people.clerk,
            organ=organ,
            values={"code": "协同办发", "name": organ.name, "mark": organ.mark, "print_org": organ.print_org},
        )
    updated = organs.organ_update(
        actor=docs_people.clerk,
        organ=organ,
        values={"code": "协同发", "name": "协同集团", "mark": organ.mark, "print_org": organ.print_org},
    )
    assert updated.name == "协同集团"


def test_only_clerks_of_the_unit_manage_its_organs(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit]
) -> None:
    with pytest.raises(PermissionDeniedError):
        organs.organ_create(actor=docs_people.sub_clerk, unit=docs_org["group"], values=VALUES)
    with pytest.raises(PermissionDeniedError):
        organs.organ_create(actor=docs_people.outsider, unit=docs_org["sub"], values=VALUES)
    with pytest.raises(PermissionDeniedError):
        organs.organ_update(actor=docs_people.sub_clerk, organ=organ, values={**VALUES, "code": "协同发"})
    assert not organs.organs_for(docs_people.sub_clerk).exists()
    assert list(organs.organs_for(docs_people.clerk)) == [organ]
