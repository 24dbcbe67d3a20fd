"""`dealcraft forecast …`: the forecasting commands an operator (or cron) runs."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def cmd_forecast_snapshot(args: argparse.Namespace) -> int:
    from dealcraft.cli import _setup

    _setup()
    from dealcraft.forecasting.models import ForecastSnapshotLine
    from dealcraft.forecasting.services import take_snapshot

    snapshot, created = take_snapshot(acting_user=None, today=args.date)
    lines = ForecastSnapshotLine.objects.filter(snapshot=snapshot).count()
    if created:
        print(f"took the forecast snapshot for the week of {snapshot.week} "
              f"({snapshot.period}): {lines} line{'s' if lines != 1 else ''}")
    else:
        print(f"the snapshot for the week of {snapshot.week} ({snapshot.period}) was already "
              f"taken; nothing changed")
    return 0


def register(commands: Any, command: Any) -> None:
    """Add the `forecast` command group to the command line."""
    group = commands.add_parser("forecast", help="forecast snapshots",
                                description="forecast snapshots")
    actions = group.add_subparsers(dest="forecast_command", metavar="ACTION", required=True)
    sub = command(actions, "snapshot", cmd_forecast_snapshot,
                  "keep this week's forecast (once per week; meant for cron)")
    sub.add_argument("--date", type=_day, default=None, metavar="YYYY-MM-DD",
                     help="take the snapshot of the week containing this day "
                          "(default: today)")
