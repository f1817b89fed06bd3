"""The time zone most people in a region live in, for "what is open at 03:00 there".

A region file may name it (`timezone:`); otherwise phonenumbers' zone for the country's example
landline number is used (one zone per country; good enough to pick a night hour), else UTC.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers import timezone as number_zones

from bot.helplines.schema import RegionFile

_UNKNOWN = "Etc/Unknown"


def region_zone(code: str, model: RegionFile | None = None) -> ZoneInfo:
    """The region's main IANA zone (`model.timezone` first)."""
    if model is not None and model.timezone:
        return ZoneInfo(model.timezone)
    country = code.split("-", 1)[0].upper()
    example = phonenumbers.example_number_for_type(country, PhoneNumberType.FIXED_LINE)
    if example is not None:
        for name in number_zones.time_zones_for_number(example):
            if name != _UNKNOWN:
                try:
                    return ZoneInfo(name)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
    return ZoneInfo("UTC")
