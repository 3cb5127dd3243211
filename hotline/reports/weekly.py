"""The weekly report's period names and the jobs that store the reports on time."""
from __future__ import annotations

from datetime import datetime

from hotline.reports.periods import parse_week, previous_week, week_of  # noqa: F401 (the scheduler's names)
from hotline.reports.snapshots import report_job


def weekly_report_job(now: datetime | None = None) -> dict:
    """Monday 08:00: the past week's report, generated and stored."""
    return report_job("weekly", now)


def monthly_report_job(now: datetime | None = None) -> dict:
    """The 1st, 08:00: the past month's bulletin (月度通报), generated and stored."""
    return report_job("monthly", now)
