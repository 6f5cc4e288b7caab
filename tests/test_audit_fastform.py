"""The fast path that recognises valid events must never accept what ``parse_event`` refuses, and its bytes must
be exactly RFC 8785 (``consentkit.spec.canonical.canonical_json``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, field_validator

from _audit_fixtures import EventFactory
from consentkit.audit import events as ev
from consentkit.audit.fastform import Untranslatable, model_pattern
from consentkit.spec.canonical import canonical_json

UTC = dt.UTC
times = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(UTC))
sha = st.from_regex(r"\Asha256:[0-9a-f]{64}\Z")
subject = st.from_regex(r"\Ahmac-sha256:[0-9a-f]{64}\Z")
case = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z").filter(lambda c: ev.personal_number_in(c) is None)
actor = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\Z") | subject
code = st.from_regex(r"\A[a-z][a-z0-9-]{0,47}\Z")
locale = st.sampled_from(["zh-CN", "zh-TW", "en", "fr", "zh-Hant-TW"])
files = st.dictionaries(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,20}\Z"), sha, max_size=4)
refs = st.lists(st.builds(ev.EventRef, index=st.integers(0, 2**53 - 1), leaf=sha), max_size=3).map(tuple)
common = {"case": case, "subject": subject, "actor": actor, "time": times, "refs": refs}
staff_role = st.sampled_from(["nurse", "physician", "staff", "auditor"])

valid_events = st.one_of(
    st.builds(
        ev.packet_generated,
        **common,
        actor_role=staff_role,
        procedure=st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,20}\Z"),
        version=st.from_regex(r"\A[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\Z"),
        spec=sha,
        locales=st.lists(locale, min_size=1, max_size=4),
        files=files,
    ),
    st.builds(
        ev.disclosure_presented,
        **common,
        actor_role=staff_role,
        how=st.sampled_from(["printed", "screen"]),
        locales=st.lists(locale, min_size=1, max_size=2),
    ),
    st.builds(
        ev.document_signed,
        **common,
        actor_role=st.sampled_from(["patient", "physician", "witness"]),
        role=st.sampled_from(["clinic", "physician", "patient", "guardian", "witness"]),
        field=st.from_regex(r"\Asig-[a-z-]{1,20}\Z"),
        signer_cert=sha,
        tsa_time=times,
        file_name=st.just("packet.pdf"),
        file_sha256=sha,
    ),
    st.builds(
        ev.document_timestamped,
        **common,
        actor_role=st.sampled_from(["clinic", "staff"]),
        field=st.from_regex(r"\Asig-[a-z-]{1,20}[0-9]{1,4}\Z"),
        tsa_cert=sha,
        tsa_time=times,
        file_name=st.just("packet.pdf"),
        file_sha256=sha,
        previous=sha,
    ),
    st.builds(
        ev.procedure_checkin,
        **common,
        actor_role=staff_role,
        outcome=st.just("refused"),
        at=times,
        reasons=st.lists(code, min_size=1, max_size=5),
    ),
    st.builds(ev.procedure_checkin, **common, actor_role=staff_role, outcome=st.just("pass"), at=times),
    st.builds(ev.procedure_started, **common, actor_role=staff_role, at=times),
    st.builds(ev.evidence_exported, **common, actor_role=staff_role, tree_size=st.integers(0, 2**53 - 1), files=files),
    st.builds(ev.case_read, **common, actor_role=staff_role, via=code),
    st.builds(
        ev.spec_approved,
        actor=actor,
        actor_role=st.just("reviewer"),
        procedure=st.just("rhinoplasty"),
        version=st.just("1.0.0"),
        content=sha,
        review=st.sampled_from(["clinical", "legal"]),
        time=times,
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=valid_events)
def test_event_bytes_are_rfc8785_and_usually_fast(event: Any) -> None:
    body = ev.event_bytes(event)
    assert body == canonical_json(event)
    assert ev.parse_event(body) == event
    typical = all(2000 <= t.year <= 2099 and (t.month, t.day) != (2, 29) for t in _times(event))
    if typical and all(r.index < 10**15 for r in event.refs) and getattr(event.data, "tree_size", 0) < 10**15:
        assert ev.FAST.match(body) is not None


def _times(event: Any) -> list[dt.datetime]:
    data = event.data
    return [event.time, *(getattr(data, k) for k in ("at", "tsa_time") if hasattr(data, k))]


def test_every_factory_event_takes_the_fast_path() -> None:
    make = EventFactory()
    for _ in range(12):
        assert ev.FAST.match(ev.event_bytes(make())) is not None


def _check_sound(body: bytes) -> bool:
    """If the fast path accepts ``body``, it must be a valid event in canonical form."""
    if ev.FAST.match(body) is None:
        return False
    event = ev.parse_event(body)  # raises if the fast path accepted something invalid
    assert canonical_json(event) == body
    return True


REPLACEMENTS = [
    (b'"outcome":"refused","reasons":["cooling-off"]', b'"outcome":"refused","reasons":[]'),
    (b'"outcome":"refused"', b'"outcome":"pass"'),
    (b'"reasons":["cooling-off"]', b'"reasons":["cooling-off","Cooling off"]'),
    (b"-03-01T", b"-02-30T"),
    (b"-03-01T", b"-04-31T"),
    (b"T02:00:0", b"T24:00:0"),
    (b".000000Z", b".000000+00:00"),
    (b".000000Z", b"Z"),
    (b'"v":1', b'"v":2'),
    (b'"v":1', b'"v":01'),
    (b'"v":1', b'"v":1.0'),
    (b'"v":1}', b'"v":1,"notes":"x"}'),
    (b'{"actor"', b'{ "actor"'),
    (b'"type":"case.read"', b'"type":"document.signed"'),
    (b'"type":"disclosure.presented"', b'"type":"case.read"'),
    (b'"documents":[{', b'"documents":[{"name":"a.pdf","sha256":"sha256:' + b"0" * 64 + b'"},{'),
    (b'"documents":[{"name":"packet.pdf"', b'"documents":[{"name":"packet\\u002epdf"'),
    (b'"C-00', b'"C\\u002d00'),
    (b'"case":"C-00', b'"case":" C-00'),
    (b'"locales":["zh-CN"]', b'"locales":[]'),
    (b'"locales":["zh-CN"]', b'"locales":["zh-CN","zh-CN","zh-CN","zh-CN","zh-CN"]'),
]


def test_the_fast_path_never_accepts_an_invalid_or_non_canonical_event() -> None:
    """Every single-byte change of every kind of event, and targeted structural edits: whatever the fast path
    accepts, pydantic accepts too and re-encodes to the same bytes."""
    make = EventFactory()
    bodies = [ev.event_bytes(make()) for _ in range(12)]
    accepted = 0
    for body in bodies:
        for pos in range(len(body)):
            for flip in (0x01, 0x02, 0x08, 0x20, 0x40):
                accepted += _check_sound(body[:pos] + bytes([body[pos] ^ flip]) + body[pos + 1 :])
            accepted += _check_sound(body[:pos] + body[pos + 1 :])
        for old, new in REPLACEMENTS:
            if old in body:
                _check_sound(body.replace(old, new, 1))
    assert accepted > 0  # some edits give another valid event (a different hash digit): those are fine


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=valid_events, data=st.data())
def test_random_edits_of_random_events_are_never_wrongly_accepted(event: Any, data: st.DataObject) -> None:
    body = ev.event_bytes(event)
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(body) - 1))
        insert = data.draw(st.sampled_from([b"", b" ", b",", b"0", b'"', b"\\", b"\xe4\xb8\xad"]))
        cut = data.draw(st.integers(0, 2))
        body = body[:pos] + insert + body[pos + cut :]
    _check_sound(body)


def test_times_the_regex_cannot_decide_fall_back() -> None:
    leap = dt.datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    event = EventFactory()()
    event = event.model_copy(update={"time": leap})
    body = ev.event_bytes(event)
    assert ev.FAST.match(body) is None
    assert ev.parse_event(body).time == leap
    bad = body.replace(b"2028-02-29", b"2027-02-29")
    with pytest.raises(ev.EventError):
        ev.parse_event(bad)
    assert ev.FAST.match(bad) is None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def test_the_generator_refuses_what_it_cannot_express() -> None:
    class WithValidator(_Strict):
        x: ev.Code

        @field_validator("x")
        @classmethod
        def _v(cls, value: str) -> str:
            return value

    class FreeText(_Strict):
        note: str

    class Floaty(_Strict):
        dose: float

    class Unbounded(_Strict):
        items: tuple[ev.Code, ...]

    class Wildcard(_Strict):
        x: str = Field(pattern=r"^.+$")

    class Lax(BaseModel):
        x: ev.Code

    for model in (WithValidator, FreeText, Floaty, Unbounded, Wildcard, Lax):
        with pytest.raises(Untranslatable):
            model_pattern(model)
