"""发文字号: gap-free per organ and year, unique under concurrency, voided numbers kept."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections, transaction

from xietong.core.errors import DomainError
from xietong.documents import numbering
from xietong.documents.models import IssuingOrgan, NumberCounter, OutgoingDocument, VoidedNumber


@pytest.mark.django_db
def test_r78_numbers_run_per_organ_and_year(organ: IssuingOrgan, docs_org: Any) -> None:
    other = IssuingOrgan.objects.create(
        unit=docs_org["sub"],
        code="华东发",
        name="华东分公司",
        mark="华东分公司文件",
        print_org="华东分公司办公室",
    )
    assert [numbering.allocate(organ, 2026) for _ in range(3)] == [1, 2, 3]
    assert numbering.allocate(organ, 2027) == 1
    assert numbering.allocate(other, 2026) == 1
    assert NumberCounter.objects.get(organ=organ, year=2026).last == 3


@pytest.mark.django_db
def test_r78_a_failed_registration_gives_its_number_back(organ: IssuingOrgan) -> None:
    def fail() -> None:
        with transaction.atomic():
            numbering.allocate(organ, 2026)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    assert numbering.allocate(organ, 2026) == 1


@pytest.mark.django_db
def test_r78_void_records_the_number(organ: IssuingOrgan, docs_people: Any) -> None:
    document = OutgoingDocument.objects.create(
        organ=organ,
        title="关于测试的通知",
        drafter=docs_people.drafter,
        doc_no_year=2026,
        doc_no_seq=4,
        doc_no="协同发〔2026〕4号",
    )
    with pytest.raises(DomainError):
        numbering.void(document=document, reason=" ", actor=docs_people.clerk)
    voided = numbering.void(document=document, reason="重复编号", actor=docs_people.clerk)
    assert (voided.year, voided.seq, voided.doc_no) == (2026, 4, "协同发〔2026〕4号")
    assert VoidedNumber.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_r78_concurrent_numbering_is_gap_free(organ: IssuingOrgan) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers by itself; the row lock under test is PostgreSQL's")
    threads_count, per_thread = 8, 10
    barrier = threading.Barrier(threads_count)
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                with transaction.atomic():
                    number = numbering.allocate(organ, 2026)
                with lock:
                    numbers.append(number)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == list(range(1, threads_count * per_thread + 1))
