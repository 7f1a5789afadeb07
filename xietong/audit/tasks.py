"""Daily jobs of the audit trail."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from xietong.audit import chain, services

logger = logging.getLogger(__name__)


# Huey's schedule is in UTC: 19:10 UTC is 03:10 in Beijing, after the working day.
@db_periodic_task(crontab(hour="19", minute="10"))  # type: ignore[untyped-decorator]
@lock_task("audit-archive")  # type: ignore[untyped-decorator]
def archive_expired_events() -> None:
    services.archive_expired()


# Verified after the archive run, so a break is reported the morning it appears.
@db_periodic_task(crontab(hour="19", minute="40"))  # type: ignore[untyped-decorator]
def verify_chain() -> None:
    result = chain.verify()
    if result.broken is not None:
        logger.error("audit.chain.broken", extra={"count": result.count, "broken": result.broken.describe()})
    else:
        logger.info("audit.chain.verified", extra={"count": result.count})
