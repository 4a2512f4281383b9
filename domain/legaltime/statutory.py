"""The public holidays the law itself fixes, for years whose 放假调休安排 is not out yet.

《全国年节及纪念日放假办法》 (revised 2024-11-10) Art. 2 names the holidays for all
citizens and their dates; only the State Council's annual notice adds bridging
days and make-up working days (Art. 6 says a holiday on a weekend is
compensated, not on which day). A year built here is therefore *provisional*:
right about weekends and the statutory days, blind to the notice's bridges.

Pure: lunardate and the solar-term formula are tables and arithmetic, no I/O.
"""

from datetime import date, timedelta

from chinese_calendar import get_solar_terms
from lunardate import LunarDate

from schemas.calendar import YearCalendar

STATUTORY_SOURCE = "《全国年节及纪念日放假办法》(2024年修订) 第二条; provisional: no 放假调休安排 for this year"


def _lunar(year: int, month: int, day: int) -> date:
    solar: date = LunarDate(year, month, day).to_solar_date()
    return solar


def _qingming(year: int) -> date:
    # Qingming is a solar term, not a lunar date: the holiday is the day the term begins.
    terms: list[tuple[date, str]] = get_solar_terms(date(year, 4, 1), date(year, 4, 30))
    return next(d for d, name in terms if name == "清明")


def statutory_holidays(year: int) -> dict[date, str]:
    """Art. 2 of the 2024 revision: 13 days of holidays for all citizens, by date."""
    lunar_new_year = _lunar(year, 1, 1)
    days: dict[date, str] = {date(year, 1, 1): "元旦"}
    # Spring Festival is four days since 2025: lunar New Year's Eve (the day before 1/1,
    # which may be 12/29 or 12/30) and lunar 1/1 to 1/3.
    for offset in range(-1, 3):
        days[lunar_new_year + timedelta(days=offset)] = "春节"
    days[_qingming(year)] = "清明节"
    days[date(year, 5, 1)] = "劳动节"
    days[date(year, 5, 2)] = "劳动节"
    days[_lunar(year, 5, 5)] = "端午节"
    mid_autumn = _lunar(year, 8, 15)
    for day in (1, 2, 3):
        days[date(year, 10, day)] = "国庆节"
    # When Mid-Autumn falls inside National Day the days are one block; keep 国庆节 then.
    days.setdefault(mid_autumn, "中秋节")
    return days


def provisional_year(year: int) -> YearCalendar:
    """Weekends plus the statutory holidays, flagged provisional."""
    return YearCalendar(
        year=year,
        holidays=dict(sorted(statutory_holidays(year).items())),
        makeup_days=[],
        provisional=True,
        source=STATUTORY_SOURCE,
    )
