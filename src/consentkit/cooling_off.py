"""The cooling-off (reflection) period between the patient's signed disclosure and the procedure.

The period that applies is the longer of the spec's and the jurisdiction policy's for the procedure's category,
and a policy may also forbid the calendar day of signing (Taiwan: "not the same day as the explanation"). Days are
whole 24-hour periods from the time the patient's signature was timestamped; calendar days are the clinic's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from consentkit.render.i18n import N_, Translator, translator
from consentkit.spec.models import Policy, ProcedureSpec


@dataclass(frozen=True)
class CoolingOffPeriod:
    days: int
    not_same_day: bool
    source: str  # which rule set the length: "spec", "policy" or "spec and policy"

    def earliest(self, signed_at: dt.datetime, zone: ZoneInfo) -> dt.datetime:
        """The first moment the procedure may start, for a signature timestamped at ``signed_at`` (aware)."""
        if signed_at.tzinfo is None:
            raise ValueError("signed_at must be timezone-aware")
        earliest = signed_at + dt.timedelta(days=self.days)
        if self.not_same_day:
            local = signed_at.astimezone(zone)
            next_midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
            earliest = max(earliest, next_midnight)
        return earliest.astimezone(dt.UTC)

    def satisfied(self, signed_at: dt.datetime, procedure_at: dt.datetime, zone: ZoneInfo) -> bool:
        return procedure_at >= self.earliest(signed_at, zone)

    def describe(self, locale: str, t: Translator | None = None) -> str:
        """The rule in words, e.g. "at least 14 days (336 hours) after the patient signs", from the fixed-wording
        catalogues: ``t`` when the caller has one (a workspace may override a catalogue), else the built-in one."""
        t = t or _builtin_translator(locale)
        if self.days == 0:
            if self.not_same_day:
                return t(N_("not on the same day as signing"))
            return t(N_("no waiting period after signing"))
        if self.not_same_day:
            return t.ngettext(
                "at least %(n)s day (%(hours)s hours) after the patient signs, and not on the day of signing",
                "at least %(n)s days (%(hours)s hours) after the patient signs, and not on the day of signing",
                self.days,
                hours=self.days * 24,
            )
        return t.ngettext(
            "at least %(n)s day (%(hours)s hours) after the patient signs",
            "at least %(n)s days (%(hours)s hours) after the patient signs",
            self.days,
            hours=self.days * 24,
        )


@cache
def _builtin_translator(locale: str) -> Translator:
    from consentkit.errors import ConfigError
    from consentkit.resources import builtin_dir

    try:
        return translator((builtin_dir("templates"),), locale)
    except ConfigError:  # a locale without a catalogue reads the English source text
        return Translator(locale, {}, None)


def cooling_off_period(spec: ProcedureSpec, policy: Policy) -> CoolingOffPeriod:
    spec_days = spec.cooling_off.days if spec.cooling_off else 0
    rule = policy.cooling_off_for(spec.category)
    days = max(spec_days, rule.days)
    source = "spec and policy" if spec_days == rule.days else "spec" if spec_days > rule.days else "policy"
    return CoolingOffPeriod(days, rule.not_same_day, source)
