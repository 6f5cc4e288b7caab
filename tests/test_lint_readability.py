"""CK190 readability and the English syllable counter."""

from __future__ import annotations

from pathlib import Path

from _lint_fixtures import line_of, lint, minimal_spec, only, text, write_spec
from consentkit.lint.rules.readability import flesch_kincaid, long_chinese_sentences
from consentkit.lint.syllables import syllables

LONG_SENTENCE = (
    "药物可能扩散到注射部位以外，在几小时到几周内引起全身无力、看东西重影、眼皮下垂、说话或吞咽困难，甚至呼吸困难。"
)

# Syllables as dictionaries give them (CMU pronouncing dictionary, Merriam-Webster).
WORDS = {
    "the": 1, "a": 1, "make": 1, "table": 2, "free": 1, "takes": 1, "faces": 2, "uses": 2, "times": 1,
    "jumped": 1, "wanted": 2, "needed": 2, "used": 1, "radio": 3, "nation": 2, "usual": 3, "quality": 3,
    "medium": 3, "various": 3, "serious": 3, "precious": 2, "infectious": 3, "period": 3, "patient": 2,
    "diet": 2, "client": 2, "media": 3, "via": 2, "swelling": 2, "bruising": 2, "redness": 2, "infection": 3,
    "surgery": 3, "procedure": 3, "treatment": 2, "medicine": 3, "injection": 3, "muscle": 2, "muscles": 2,
    "headache": 2, "temporary": 4, "permanent": 3, "uncommon": 3, "common": 2, "rare": 1, "bleeding": 2,
    "pregnancy": 3, "allergic": 3, "reaction": 3, "breathing": 2, "swallowing": 3, "weakness": 2, "vision": 2,
    "double": 2, "drooping": 2, "needle": 2, "numbing": 2, "cream": 1, "wrinkles": 2, "forehead": 2,
    "usually": 4, "months": 1, "weeks": 1, "minutes": 2, "results": 2, "different": 3, "person": 2,
    "expect": 2, "happens": 2, "effect": 2, "strongest": 2, "warning": 2, "label": 2, "medical": 3,
    "emergency": 4, "department": 3, "contact": 2, "severe": 2, "mild": 1, "recover": 3, "recovery": 4,
    "scar": 1, "scarring": 2, "implant": 2, "capsule": 2, "rupture": 2, "nose": 1, "eyelid": 2, "evenly": 3,
    "unnatural": 4, "antibodies": 4, "cosmetic": 3, "extra": 2, "possible": 3, "option": 2, "alternative": 4,
    "retinoid": 3, "texture": 2, "fine": 1, "lines": 1, "deepen": 2, "slowly": 2, "change": 1, "changes": 2,
    "healthy": 2, "skin": 1, "sunscreen": 2, "area": 3, "likely": 2, "gently": 2, "massage": 2, "alcohol": 3,
    "exercise": 3, "sauna": 2, "laser": 2, "upright": 2, "trouble": 2, "speaking": 2, "throat": 1,
    "seeing": 2, "top-up": 2, "phone": 1, "fading": 2, "problems": 2, "family": 3, "reviewed": 2,
    "science": 2, "bruised": 1, "smoker": 2, "healing": 2, "wound": 1, "stitches": 2, "removed": 2,
    "tissue": 2, "fluid": 2, "create": 2, "idea": 3, "every": 3, "people": 2, "going": 2, "being": 2,
    "quiet": 2, "carried": 2, "bodies": 2, "tries": 1, "eyes": 1, "young": 1, "yes": 1, "doctor": 2,
}  # fmt: skip


def test_syllable_counter_on_a_word_list() -> None:
    wrong = {w: (n, syllables(w)) for w, n in WORDS.items() if syllables(w) != n}
    assert len(wrong) <= len(WORDS) * 0.03, wrong  # ≥ 97% exact on these; FK itself is ±1.5 grades


def test_syllable_counter_never_says_zero_for_a_word() -> None:
    for word in ("x", "rhythm", "hmm", "sky", "I", "ALS", "mm"):
        assert syllables(word) >= 1


def test_flesch_kincaid_grades() -> None:
    easy = flesch_kincaid("The skin turns red. It fades in a few days. You can go back to work.")
    assert easy.words == 16 and easy.sentences == 3 and easy.grade < 2
    hard = flesch_kincaid(
        "Subsequent to administration, transient erythematous manifestations, occasionally accompanied by "
        "localised oedematous reactions, frequently necessitate symptomatic pharmacological management."
    )
    assert hard.grade > 20
    assert flesch_kincaid("See e.g. the label, i.e. the leaflet.").sentences == 1  # abbreviations are not ends


def test_long_chinese_sentences() -> None:
    short = "打针时会痛。之后可能发红。"
    assert long_chinese_sentences(short) == ()
    long = (
        "药物可能扩散到注射部位以外，在几小时到几周内引起全身无力、看东西重影、眼皮下垂、说话或吞咽困难，甚至呼吸困难。"
    )
    assert [n for _, n in long_chinese_sentences(long)] == [49]
    assert long_chinese_sentences("大约每 100 人中有 3 到 5 人发生，会持续几周。") == ()  # numbers count once


def test_ck190_long_chinese_sentence(tmp_path: Path) -> None:
    spec = minimal_spec()
    long_cn = (
        "药物可能扩散到注射部位以外，在几小时到几周内引起全身无力、看东西重影、眼皮下垂、说话或吞咽困难，甚至呼吸困难。"
    )
    spec["risks"][0]["text"] = text(long_cn, "皮膚會發紅。", "The skin turns red.")
    path = write_spec(tmp_path, spec)
    found = only(lint(tmp_path), "CK190")
    assert [(f.field, f.line, f.severity) for f in found] == [
        ("risks[0].text.zh-CN", line_of(path, long_cn[:10]), "warning")
    ]
    assert "49 characters" in found[0].message


def test_ck190_hard_english_section_and_headings_skipped(tmp_path: Path) -> None:
    hard = (
        "Subsequent to administration, transient erythematous manifestations, occasionally accompanied by "
        "localised oedematous reactions, frequently necessitate symptomatic pharmacological management. "
        "Intercurrent immunological hypersensitivity necessitates immediate discontinuation."
    )
    spec = minimal_spec(description=text("医生治疗皮肤。", "醫師治療皮膚。", hard))
    spec["title"]["en"] = "Percutaneous collagen induction with radiofrequency microneedling technology"
    path = write_spec(tmp_path, spec)
    found = only(lint(tmp_path), "CK190")
    assert [(f.field, f.line) for f in found] == [("description.en", line_of(path, "Subsequent to"))]
    assert "grade" in found[0].message


def test_ck190_short_plain_texts_pass(tmp_path: Path) -> None:
    write_spec(tmp_path, minimal_spec())
    assert only(lint(tmp_path), "CK190") == []
