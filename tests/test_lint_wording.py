"""CK140 placeholders, CK150 promise and minimising words, CK151 waivers: what they catch and what they leave."""

from __future__ import annotations

from pathlib import Path

import pytest

from _lint_fixtures import line_of, lint, minimal_spec, only, text, write_spec
from consentkit.lint.rules.wording import (
    PROMISE_KEYS,
    RISK_PROMISE_KEYS,
    WAIVER_KEYS,
    find_placeholder,
    find_wording,
)


def concepts(value: str, locale: str, section: str = "description") -> list[str]:
    return [c.key for c, _ in find_wording(value, locale, PROMISE_KEYS, section)]


@pytest.mark.parametrize(
    ("locale", "value", "concept"),
    [
        ("en", "Results are guaranteed.", "guarantee"),
        ("en", "We promise a natural look.", "guarantee"),
        ("en", "This treatment is risk-free.", "absolute-safety"),
        ("en", "It is completely safe.", "absolute-safety"),
        ("en", "There are no side effects.", "no-side-effects"),
        ("en", "You get permanent results.", "permanence"),
        ("en", "It is painless, with no downtime.", "trivialising"),
        ("en", "A quick lunchtime procedure.", "trivialising"),
        ("en", "The best results in town.", "superlative"),
        ("en", "Our world-leading team.", "superlative"),
        ("en", "A 99% success rate.", "promotional-rate"),
        ("en", "Our success rate is high.", "rate-claim"),
        ("zh-CN", "我们保证效果。", "guarantee"),
        ("zh-CN", "无效退款。", "guarantee"),
        ("zh-CN", "本项目零风险。", "absolute-safety"),
        ("zh-CN", "绝对安全。", "absolute-safety"),
        ("zh-CN", "本手术无副作用。", "no-side-effects"),
        ("zh-CN", "一劳永逸。", "permanence"),
        ("zh-CN", "效果永久。", "permanence"),
        ("zh-CN", "几乎无痛。", "trivialising"),
        ("zh-CN", "立竿见影。", "trivialising"),
        ("zh-CN", "这是最好的技术。", "superlative"),
        ("zh-CN", "全国第一。", "superlative"),
        ("zh-CN", "成功率100%。", "promotional-rate"),
        ("zh-TW", "保證滿意。", "guarantee"),
        ("zh-TW", "無風險。", "absolute-safety"),
        ("zh-TW", "無併發症。", "no-side-effects"),
        ("zh-TW", "永不復發。", "permanence"),
        ("zh-TW", "術後無恢復期。", "trivialising"),
        ("zh-TW", "安全舒適。", "trivialising"),
        ("zh-TW", "最專業的團隊。", "superlative"),
        ("zh-TW", "治癒率很高。", "rate-claim"),
    ],
)
def test_promises_are_found(locale: str, value: str, concept: str) -> None:
    assert concept in concepts(value, locale)


@pytest.mark.parametrize(
    ("locale", "value"),
    [
        ("en", "Results cannot be guaranteed."),
        ("en", "There is no guarantee that you will like the result."),
        ("en", "No treatment is risk-free."),
        ("en", "There is no risk-free option."),
        ("en", "No procedure is completely safe."),
        ("en", "If there are no complications, you can go home the same day."),
        ("en", "For the best results, keep out of the sun."),
        ("en", "It is not painless: the injections hurt."),
        ("en", "Wear an XXL shirt and SPF 30+ sunscreen."),
        ("en", "The results are not permanent."),
        ("en", "Safety checks are done first."),
        ("en", "A scar forms along the cut."),
        ("zh-CN", "效果不能保证。请保证充足睡眠。"),
        ("zh-CN", "为确保安全，请有人陪同回家。"),
        ("zh-CN", "第一天会肿，第一次复诊在第一周。"),
        ("zh-CN", "最好不要喝酒。"),
        ("zh-CN", "最好的办法是多休息。"),
        ("zh-CN", "效果不是永久的。"),
        ("zh-CN", "填充剂可能导致永久失明。"),
        ("zh-CN", "没有绝对安全的手术。"),
        ("zh-CN", "如果没有并发症，一周后可以上班。"),
        ("zh-CN", "不能保证不留疤。"),
        ("zh-CN", "约 2 周时效果最明显。"),
        ("zh-TW", "效果不一定達到您的期望。"),
        ("zh-TW", "並非沒有風險。"),
        ("zh-CN", "会造成永久性损伤。"),
        ("zh-TW", "會造成永久性損傷。"),
        ("zh-TW", "最好的辦法是多休息。"),
    ],
)
def test_honest_wording_is_left_alone(locale: str, value: str) -> None:
    assert concepts(value, locale) == []


def test_rates_belong_in_outcome_but_promotional_ones_nowhere() -> None:
    assert concepts("成功率约为九成。", "zh-CN", section="outcome") == []
    assert concepts("成功率约为九成。", "zh-CN", section="benefits") == ["rate-claim"]
    assert "promotional-rate" in concepts("成功率100%。", "zh-CN", section="outcome")
    assert "promotional-rate" in concepts("99% success in our hands.", "en", section="outcome")


@pytest.mark.parametrize(
    ("locale", "value"),
    [
        ("zh-CN", "风险自担。"),
        ("zh-CN", "后果自负。"),
        ("zh-CN", "本院免责。"),
        ("zh-CN", "后果由患者自行承担。"),
        ("zh-TW", "風險自負。"),
        ("zh-TW", "後果自負。"),
        ("zh-TW", "本診所免責。"),
        ("en", "You go ahead at your own risk."),
        ("en", "We are not liable for any harm."),
        ("en", "The clinic is not responsible for bruising."),
    ],
)
def test_waivers_are_found(locale: str, value: str) -> None:
    assert [c.key for c, _ in find_wording(value, locale, WAIVER_KEYS)] == ["waiver"]


def test_waiver_free_text_passes() -> None:
    assert find_wording("自行承担费用。", "zh-CN", WAIVER_KEYS) == ()
    assert find_wording("Tell us about your medicines.", "en", WAIVER_KEYS) == ()


@pytest.mark.parametrize(
    "value",
    [
        "Stop [X] days before.",
        "XX医院",
        "请联系XXX医生",
        "TODO: rates",
        "TBD",
        "FIXME",
        "Name: ___",
        "某某医生",
        "〇〇诊所",
        "术后…天拆线",
        "Stop … days before",
        "Dear <name>,",
        "{{ clinic }}",
        "【医院名称】",
        "Lorem ipsum",
    ],
)
def test_placeholders_are_found(value: str) -> None:
    assert find_placeholder(value) is not None


@pytest.mark.parametrize(
    "value",
    [
        "Wear an XXL shirt.",
        "SPF 30+ sunscreen.",
        "Pain, swelling... Then it settles.",
        "肿胀、疼痛……",
        "【注意】",
        "In the XXth century",
        "Age < 18 years",
        "Take 2 x 500 mg",
    ],
)
def test_placeholder_look_alikes_pass(value: str) -> None:
    assert find_placeholder(value) is None


def test_ck140_line_and_field(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["aftercare"]["wound_care"][0]["text"] = text(
        "请于XX天后复诊。", "請於XX天後回診。", "Come back after [X] days."
    )
    spec["references"][0]["citation"] = "TODO find the label"
    path = write_spec(tmp_path, spec)
    found = {f.field: f for f in only(lint(tmp_path), "CK140")}
    assert set(found) == {
        "aftercare.wound_care[0].text.zh-CN",
        "aftercare.wound_care[0].text.zh-TW",
        "aftercare.wound_care[0].text.en",
        "references[0].citation",
    }
    assert found["aftercare.wound_care[0].text.en"].line == line_of(path, "Come back after [X] days.")
    assert "'[X]'" in found["aftercare.wound_care[0].text.en"].message
    assert found["references[0].citation"].line == line_of(path, "TODO find")


def test_ck150_outside_risks_only(tmp_path: Path) -> None:
    spec = minimal_spec(
        benefits=[{"id": "painless", "text": text("几乎无痛。", "幾乎無痛。", "It is painless.")}],
    )
    spec["risks"][0]["text"] = text("可能造成永久瘢痕。", "可能造成永久疤痕。", "Permanent scarring can occur.")
    spec["risks"][0]["management"] = text(
        "无痛的治疗也有风险。", "無痛的治療也有風險。", "Painless care still has risks."
    )
    path = write_spec(tmp_path, spec)
    found = {f.field: f for f in only(lint(tmp_path), "CK150")}
    assert set(found) == {"benefits[0].text.zh-CN", "benefits[0].text.zh-TW", "benefits[0].text.en"}
    finding = found["benefits[0].text.zh-CN"]
    assert finding.line == line_of(path, "几乎无痛")
    assert finding.message.startswith("'几乎无痛' reads as trivialising;")
    assert finding.severity == "error"


@pytest.mark.parametrize(
    ("locale", "value", "expected"),
    [
        ("zh-CN", "效果永久，风险很小，非常安全。", ["permanence", "minimising-risk", "absolute-safety"]),
        ("zh-TW", "效果永久，風險很小，非常安全。", ["permanence", "minimising-risk", "absolute-safety"]),
        (
            "en",
            "Results are permanent. Risks are minimal and it is very safe.",
            ["permanence", "minimising-risk", "absolute-safety"],
        ),
        ("en", "The effect is permanent.", ["permanence"]),
        ("en", "The results will last permanently.", ["permanence"]),
        ("en", "Permanently removes hair.", ["permanence"]),
        ("en", "Side effects are minimal.", ["minimising-risk"]),
        ("en", "It is just a small injection.", ["trivialising"]),
        ("en", "Only a quick, simple procedure.", ["trivialising"]),
        ("zh-CN", "只是小手术。", ["trivialising"]),
        ("zh-CN", "基本不痛。", ["trivialising"]),
        ("zh-CN", "安全可靠。", ["absolute-safety"]),
        ("zh-TW", "非常安全。", ["absolute-safety"]),
        ("zh-TW", "只是打一針。", ["trivialising"]),
        ("zh-CN", "效果有保证。", ["guarantee"]),
        ("zh-CN", "副作用很少。", ["minimising-risk"]),
    ],
)
def test_promise_and_minimising_variants(locale: str, value: str, expected: list[str]) -> None:
    assert concepts(value, locale, "benefits") == expected


@pytest.mark.parametrize(
    ("locale", "value"),
    [
        ("en", "Blindness is usually permanent."),
        ("en", "Results are not permanent."),
        ("en", "It is safe to shower after 24 hours."),
        ("en", "The risk is higher if you smoke."),
        ("zh-CN", "这不是小手术，需要全身麻醉。"),
        ("zh-CN", "需要做小手术，部分脂肪不会存活。"),
        ("zh-CN", "为了安全，请有人陪同回家。"),
        ("zh-CN", "风险小于百分之一。"),
        ("zh-CN", "手术并不是非常安全的。"),
        ("zh-TW", "安全性由醫師評估。"),
        ("zh-CN", "这种并发症少见，但可能很严重。"),  # 少见: "uncommon", how often it happens
        ("zh-TW", "這種併發症很少見，但可能很嚴重。"),
    ],
)
def test_honest_variants_are_left_alone(locale: str, value: str) -> None:
    assert concepts(value, locale, "benefits") == []


def test_ck150_inside_a_risk_harm_words_pass_but_playing_down_does_not(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][1]["text"] = text(
        "可能失明，失明通常是永久的。",
        "可能失明，失明通常是永久的。",
        "You may go blind. Blindness is usually permanent.",
    )
    spec["risks"][0]["text"] = text(
        "风险很小，皮肤会发红。", "風險很小，皮膚會發紅。", "The risk is minimal: the skin turns red."
    )
    path = write_spec(tmp_path, spec)
    found = {f.field: f for f in only(lint(tmp_path), "CK150")}
    assert set(found) == {"risks[0].text.zh-CN", "risks[0].text.zh-TW", "risks[0].text.en"}
    assert found["risks[0].text.en"].message.startswith("'risk is minimal' reads as playing the risks down;")
    assert found["risks[0].text.zh-CN"].line == line_of(path, "风险很小")


def test_ck150_points_at_the_line_inside_a_folded_text(tmp_path: Path) -> None:
    body = write_spec(tmp_path, minimal_spec())
    lines = body.read_text(encoding="utf-8").splitlines()
    start = lines.index("description:")
    end = start + 1
    while lines[end].startswith("  "):
        end += 1
    lines[start:end] = [
        "description:",
        "  zh-CN: 医生治疗皮肤。",
        "  zh-TW: 醫師治療皮膚。",
        "  en: >-",
        "    The doctor treats the skin.",
        "    It is painless for most people.",
    ]
    body.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = only(lint(tmp_path), "CK150")
    assert [(f.line, f.field) for f in found] == [(line_of(body, "It is painless"), "description.en")]
    assert found[0].source is not None and "painless" in found[0].source


def test_ck151_waiver_even_inside_a_risk(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][0]["management"] = text("后果自负。", "後果自負。", "At your own risk.")
    path = write_spec(tmp_path, spec)
    found = {f.field: f for f in only(lint(tmp_path), "CK151")}
    assert set(found) == {"risks[0].management.zh-CN", "risks[0].management.zh-TW", "risks[0].management.en"}
    assert found["risks[0].management.en"].line == line_of(path, "At your own risk.")
    assert "liability waiver" in found["risks[0].management.en"].message


def risk_concepts(value: str, locale: str) -> list[str]:
    return [c.key for c, _ in find_wording(value, locale, RISK_PROMISE_KEYS, "risks", in_risk=True)]


@pytest.mark.parametrize(
    ("locale", "value"),
    [
        ("en", "Side effects are minor and go away within a week."),
        ("en", "The risk is low if you do not smoke."),
        ("en", "People at very low risk can still have it."),
        ("zh-CN", "副作用轻微时，可以照常生活。"),  # when side effects are mild…
        ("zh-CN", "风险低的人也可能发生。"),  # people at low risk
        ("zh-CN", "副作用轻微，几天内消退。"),
        ("zh-CN", "极低风险人群也会发生。"),
        ("zh-TW", "副作用輕微時，可以照常生活。"),
        ("zh-TW", "風險低的人也可能發生。"),
    ],
)
def test_ck150_inside_a_risk_descriptions_of_severity_condition_or_who_pass(locale: str, value: str) -> None:
    assert risk_concepts(value, locale) == []
    assert "minimising-risk" in concepts(value, locale, "benefits")  # outside a risk the stricter list applies


@pytest.mark.parametrize(
    ("locale", "value", "expected"),
    [
        ("en", "Risks are minimal.", ["minimising-risk"]),
        ("en", "Side effects are minimal.", ["minimising-risk"]),
        ("en", "The risk is small.", ["minimising-risk"]),
        ("en", "Risks are minor.", ["minimising-risk"]),
        ("en", "There is a very low risk of infection.", ["minimising-risk"]),
        ("en", "Hardly any side effects.", ["minimising-risk"]),
        ("en", "It is very safe.", ["absolute-safety"]),
        ("en", "Results are guaranteed.", ["guarantee"]),
        ("zh-CN", "风险很小，皮肤会发红。", ["minimising-risk"]),
        ("zh-CN", "风险小，恢复快。", ["minimising-risk"]),
        ("zh-CN", "副作用很少。", ["minimising-risk"]),
        ("zh-CN", "风险极低。", ["minimising-risk"]),
        ("zh-CN", "这是极低风险的手术。", ["minimising-risk"]),
        ("zh-CN", "非常安全。", ["absolute-safety"]),
        ("zh-CN", "安全可靠。", ["absolute-safety"]),
        ("zh-TW", "風險很小。", ["minimising-risk"]),
        ("zh-TW", "副作用很少。", ["minimising-risk"]),
        ("zh-TW", "非常安全。", ["absolute-safety"]),
    ],
)
def test_ck150_inside_a_risk_a_judgement_of_the_risk_as_a_whole_is_caught(
    locale: str, value: str, expected: list[str]
) -> None:
    assert risk_concepts(value, locale) == expected


def test_ck150_honest_risk_wording_passes_lint(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][0]["text"] = text(
        "副作用轻微时，几天内消退。", "副作用輕微時，幾天內消退。", "Side effects are minor and go away in a few days."
    )
    spec["risks"][1]["text"] = text(
        "风险低的人也可能发生。", "風險低的人也可能發生。", "People at very low risk can still have it."
    )
    write_spec(tmp_path, spec)
    assert only(lint(tmp_path), "CK150") == []
