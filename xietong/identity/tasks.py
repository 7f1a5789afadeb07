"""Nightly jobs of accounts."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from xietong.core import clock
from xietong.identity import services


# Huey's schedule is in UTC: 18:00 UTC is 02:00 in Beijing, outside working hours.
@db_periodic_task(crontab(hour="18", minute="0"))  # type: ignore[untyped-decorator]
@lock_task("identity-disable-dormant")  # type: ignore[untyped-decorator]
def disable_dormant_accounts() -> int:
    """IA-09: accounts unused for 90 days (configurable) are disabled."""
    return services.accounts_disable_dormant(now=clock.now())


# Huey's schedule is in UTC: Monday 01:00 UTC is Monday 09:00 in Beijing, the start of the week.
@db_periodic_task(crontab(day_of_week="1", hour="1", minute="0"))  # type: ignore[untyped-decorator]
@lock_task("identity-anomaly-reminder")  # type: ignore[untyped-decorator]
def remind_unreviewed_login_anomalies() -> int:
    """R-21: remind the security administrators of login anomalies nobody has reviewed yet
    (an e-mail for now; notifications do not exist yet)."""
    return services.login_anomalies_remind()
