"""When a run started, as an aware datetime, shown in the reader's local time with its offset.

Two records name the time and they disagree on the zone: our `run_info.json` writes
`started_at` as ISO 8601 with its offset (UTC), while lmms-eval stamps its results file
(`<YYYYMMDD_HHMMSS>_results.json` and the `date` inside) in the zone of its `--timezone`
option, whose default is Asia/Singapore, without saying which. The zone it used is in the same
file (`config.resolved_cli_args.timezone`), so the stamp can be read back correctly; without it
lmms-eval's default applies. A run compared against another run made elsewhere then shows both
in one zone: this machine's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from skill3d_eval.records import RunInfo

# lmms-eval's `get_datetime_str(timezone="Asia/Singapore")`, used when the CLI gets no --timezone.
LMMS_EVAL_DEFAULT_TIMEZONE = "Asia/Singapore"


class RunDateError(ValueError):
    """A recorded date that cannot be read; names where it came from."""


def lmms_eval_stamp(stamp: str, results: dict[str, Any], source: str) -> datetime:
    """lmms-eval's `YYYYMMDD_HHMMSS` in the zone the results file says it was written in."""
    cli_args = (results.get("config") or {}).get("resolved_cli_args") or {}
    zone_name = cli_args.get("timezone") or LMMS_EVAL_DEFAULT_TIMEZONE
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RunDateError(f"{source}: unknown timezone {zone_name!r} in config.resolved_cli_args.timezone") from exc
    try:
        return datetime.strptime(stamp, "%Y%m%d_%H%M%S").replace(tzinfo=zone)
    except ValueError as exc:
        raise RunDateError(f"{source}: date {stamp!r} is not lmms-eval's YYYYMMDD_HHMMSS") from exc


def run_started(run_info: RunInfo | None, stamp: str, results: dict[str, Any], source: str) -> datetime:
    """Our own `started_at` when recorded (it carries its offset), else lmms-eval's stamp."""
    if run_info is not None and run_info.started_at:
        try:
            started = datetime.fromisoformat(run_info.started_at)
        except ValueError as exc:
            raise RunDateError(f"{source}: run_info started_at {run_info.started_at!r} is not ISO 8601") from exc
        if started.tzinfo is not None:
            return started
    return lmms_eval_stamp(str(results.get("date") or stamp), results, source)


def local_stamp(moment: datetime | None) -> str:
    """'2026-12-01 01:20 UTC+00:00': minutes are enough to tell runs apart, the offset says which zone."""
    if moment is None:
        return "-"
    local = moment.astimezone()
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{local:%Y-%m-%d %H:%M} UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
