from __future__ import annotations

import json
import logging

from xietong.core.logging import RequestIdFilter, request_id_var


def test_log_lines_are_json_with_the_request_id() -> None:
    from pythonjsonlogger.json import JsonFormatter

    record = logging.LogRecord("xietong.test", logging.INFO, __file__, 1, "审批已提交", None, None)
    token = request_id_var.set("req-0123456789")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    formatter = JsonFormatter("%(levelname)s %(name)s %(request_id)s %(message)s", json_ensure_ascii=False)
    line = json.loads(formatter.format(record))
    assert line == {
        "levelname": "INFO",
        "name": "xietong.test",
        "request_id": "req-0123456789",
        "message": "审批已提交",
    }
