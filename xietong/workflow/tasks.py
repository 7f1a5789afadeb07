"""Background jobs of the approval engine: the deadline sweep (R-76, R-65). Thin: the work is
``services.sla_sweep``, which checks every item again under its request's lock, so a run that
overlaps another or repeats does nothing twice."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from xietong.core import clock

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*/5"))  # type: ignore[untyped-decorator]
@lock_task("workflow-deadlines")  # type: ignore[untyped-decorator]
def sweep_deadlines() -> int:
    """Every five minutes: remind before deadlines, and remind, escalate or act after them."""
    from xietong.workflow import services

    result = services.sla_sweep(now=clock.now())
    if result.reminded or result.overdue:
        logger.info(
            "workflow.deadlines.swept",
            extra={
                "reminded": result.reminded,
                "overdue": result.overdue,
                "escalated": result.escalated,
                "auto_approved": result.auto_approved,
                "auto_rejected": result.auto_rejected,
            },
        )
    return result.reminded + result.overdue
