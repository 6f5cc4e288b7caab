"""Words for the spec's codes (severity, permanence, roles, aftercare topics...) and conditions read aloud
("applies if: smoker and treatment area is upper face"). The English words are gettext message ids."""

from __future__ import annotations

from collections.abc import Mapping

from consentkit.render.i18n import N_, Translator
from consentkit.spec.conditions import BoolOp, Compare, ListExpr, Literal_, Name, Node, Not, parse_condition
from consentkit.spec.models import IntakeCatalogue, ProcedureSpec

SEVERITY = {
    "minor": N_("Minor"),
    "moderate": N_("Moderate"),
    "serious": N_("Serious"),
    "life-threatening": N_("Life-threatening"),
}
PERMANENCE = {
    "temporary": N_("Temporary"),
    "may-be-permanent": N_("May be permanent"),
    "permanent": N_("Permanent"),
}
CATEGORY = {
    "surgical": N_("Surgical procedure"),
    "minimally-invasive": N_("Minimally invasive procedure"),
    "non-invasive": N_("Non-invasive procedure"),
}
ROLE = {
    "clinic": N_("Clinic"),
    "physician": N_("Physician"),
    "patient": N_("Patient"),
    "guardian": N_("Guardian"),
    "witness": N_("Witness"),
}
TOPIC = {
    "wound_care": N_("Wound and skin care"),
    "medication": N_("Medicines"),
    "diet": N_("Food and drink"),
    "activity": N_("Activity"),
    "sun": N_("Sun"),
    "other": N_("Other"),
}
IDENTITY = {
    "resident-id": N_("Resident identity card"),
    "passport": N_("Passport"),
    "hk-macau-permit": N_("Hong Kong and Macau travel permit"),
    "taiwan-permit": N_("Taiwan travel permit"),
    "tw-national-id": N_("National identification card"),
    "arc": N_("Resident certificate"),
    "driving-licence": N_("Driving licence"),
    "other": N_("Other identity document"),
}
SEX = {"female": N_("Female"), "male": N_("Male"), "other": N_("Other")}
FOLLOW_UP_KIND = {"visit": N_("Visit"), "call": N_("Phone call")}
DOCUMENT = {
    "consent": N_("Consent form"),
    "disclosure": N_("Risk disclosure"),
    "care-guide": N_("Care guide"),
}


def pick(text: Mapping[str, str] | None, locale: str) -> str:
    """The text in ``locale`` (specs carry every locale; lint CK1xx checks that)."""
    if not text:
        return ""
    return text.get(locale) or text.get("en") or next(iter(text.values()))


class ConditionWords:
    """Reads a condition in words with the intake's and the procedure's own labels."""

    def __init__(self, spec: ProcedureSpec, intake: IntakeCatalogue, t: Translator) -> None:
        self.spec = spec
        self.intake = intake
        self.t = t

    def __call__(self, source: str) -> str:
        return self._words(parse_condition(source).tree)

    def _label(self, name: str) -> str:
        q = self.intake.question(name)
        if q is not None:
            return pick(q.label, self.t.locale)
        opt = self.spec.option(name)
        return pick(opt.label, self.t.locale) if opt is not None else name

    def _value(self, name: str, lit: Node) -> str:
        if isinstance(lit, ListExpr):
            sep = self.t(N_(", "))
            return sep.join(self._value(name, item) for item in lit.items)
        if not isinstance(lit, Literal_):
            return self._words(lit)
        value = lit.value
        q = self.intake.question(name)
        opt = self.spec.option(name)
        choices = (q.choices if q is not None else None) or (opt.choices if opt is not None else None) or []
        for choice in choices:
            if choice.id == value:
                return pick(choice.label, self.t.locale)
        if isinstance(value, bool):
            return self.t(N_("yes")) if value else self.t(N_("no"))
        return str(value)

    def _words(self, node: Node) -> str:
        t = self.t
        if isinstance(node, Name):
            return self._label(node.name)
        if isinstance(node, Not):
            return t(N_("not (%(what)s)"), what=self._words(node.operand))
        if isinstance(node, BoolOp):
            joiner = t(N_(" and ")) if node.op == "and" else t(N_(" or "))
            return joiner.join(self._words(op) for op in node.operands)
        if isinstance(node, Compare) and isinstance(node.left, Name):
            label = self._label(node.left.name)
            value = self._value(node.left.name, node.right)
            phrases = {
                "==": N_("%(label)s: %(value)s"),
                "!=": N_("%(label)s: not %(value)s"),
                "in": N_("%(label)s: %(value)s"),
                "not in": N_("%(label)s: not %(value)s"),
                "<": N_("%(label)s under %(value)s"),
                "<=": N_("%(label)s %(value)s or less"),
                ">": N_("%(label)s over %(value)s"),
                ">=": N_("%(label)s %(value)s or more"),
            }
            return t(phrases.get(node.op, N_("%(label)s: %(value)s")), label=label, value=value)
        if isinstance(node, Literal_):
            return str(node.value)
        return str(node)
