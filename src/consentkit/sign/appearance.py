"""What a visible signature shows (21 CFR 11.50 style): the printed name, the meaning of the signature in the
packet's language(s) and in English, and the time given by the time-stamping authority, in the clinic's zone with
the zone named. A drawn signature image, when given, sits at the right of the box."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from consentkit.errors import InputError
from consentkit.sign import fonts

if TYPE_CHECKING:
    from pyhanko.stamp import TextStampStyle

ROLE_LABELS: dict[str, dict[str, str]] = {
    "clinic": {"zh-CN": "机构", "zh-TW": "機構", "en": "Clinic"},
    "physician": {"zh-CN": "医师", "zh-TW": "醫師", "en": "Physician"},
    "patient": {"zh-CN": "患者", "zh-TW": "病人", "en": "Patient"},
    "guardian": {"zh-CN": "监护人", "zh-TW": "法定代理人", "en": "Guardian"},
    "witness": {"zh-CN": "见证人", "zh-TW": "見證人", "en": "Witness"},
}
TIME_LABEL = {"zh-CN": "签署时间", "zh-TW": "簽署時間", "en": "Signed"}
TSA_NOTE = {"zh-CN": "时间戳服务", "zh-TW": "時間戳服務", "en": "TSA time"}
NO_BREAK_START = set("，。、；：！？）」』】〉》,.;:!?)%")
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGE_PIXELS = 4000 * 4000
PADDING = 4
NATURAL_SIZE = 10  # pt; the text is laid out at this size, then scaled into the box
LEADING = 12


@dataclass(frozen=True)
class AppearanceText:
    lines: tuple[str, ...]
    face: str  # "sc" or "tc"


def _labels(table: dict[str, str], locales: list[str]) -> str:
    chinese = next((table[loc] for loc in locales if loc.startswith("zh") and loc in table), table["zh-CN"])
    return f"{chinese} {table['en']}"


def appearance_text(
    role: str,
    name: str,
    meaning: dict[str, str],
    locales: list[str],
    tsa_time: dt.datetime,
    zone: ZoneInfo,
) -> AppearanceText:
    """The lines printed in a role's box, before wrapping."""
    shown = [loc for loc in locales if loc in meaning]
    if "en" not in shown and "en" in meaning:
        shown.append("en")
    local = tsa_time.astimezone(zone)
    zone_label = local.tzname() or ""
    when = local.strftime("%Y-%m-%d %H:%M:%S") + f" {zone_label} ({zone.key})".replace("  ", " ")
    lines = [f"{_labels(ROLE_LABELS.get(role, ROLE_LABELS['clinic']), locales)}: {name}"]
    lines += [meaning[loc] for loc in shown]
    lines.append(f"{_labels(TIME_LABEL, locales)}: {when} · {_labels(TSA_NOTE, locales)}")
    return AppearanceText(tuple(lines), fonts.face_for(locales))


def wrap(text: str, width_em: float, face: str) -> list[str]:
    """Break ``text`` into lines no wider than ``width_em`` (in em). Latin words break at spaces, Chinese
    between any two characters, and closing punctuation never starts a line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        tokens: list[str] = []
        word = ""
        for ch in paragraph:
            if ch.isascii() and not ch.isspace():
                word += ch
                continue
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        if word:
            tokens.append(word)
        line, width = "", 0.0
        for token in tokens:
            w = sum(fonts.advance(face, c) for c in token)
            if line and width + w > width_em and token not in NO_BREAK_START:
                lines.append(line.rstrip())
                line, width = ("", 0.0) if token.isspace() else (token, w)
                continue
            line += token
            width += w
        lines.append(line.rstrip())
    return lines


def fit_lines(text: AppearanceText, width_pt: float, height_pt: float) -> list[str]:
    """Wrap the lines at the largest scale that lets them fit the box (at least 0.4 × 10 pt)."""
    scale = 1.0
    while True:
        width_em = width_pt / (NATURAL_SIZE * scale)
        lines = [piece for line in text.lines for piece in wrap(line, width_em, text.face)]
        if len(lines) * LEADING * scale <= height_pt or scale <= 0.4:
            return lines
        scale -= 0.05


def load_signature_image(data: bytes, source: str) -> object:
    """A drawn signature (PNG or JPEG) as a Pillow image, checked for size."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_IMAGE_BYTES:
        raise InputError(f"{source}: the signature image is larger than 2 MiB")
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise InputError(f"{source}: the signature image is too large ({image.width}×{image.height} pixels)")
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"{source}: not a readable PNG or JPEG image") from exc
    if image.mode in ("RGB", "L"):
        return image
    flat = Image.new("RGB", image.size, (255, 255, 255))
    rgba = image.convert("RGBA")
    flat.paste(rgba, mask=rgba.split()[-1])
    return flat


def stamp_style(
    text: AppearanceText, box: tuple[float, float, float, float], image: object | None = None
) -> TextStampStyle:
    """A pyHanko stamp style drawing ``text`` (and ``image``) into a field of the size of ``box``."""
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.images import PdfImage
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStampStyle

    from consentkit.sign.fontengine import BytesFontFactory

    width = abs(box[2] - box[0])
    height = abs(box[3] - box[1])
    image_width = 0
    background = None
    if image is not None:
        image_width = int(min(width * 0.36, height * 2.5))
        background = PdfImage(image)  # type: ignore[arg-type]
    text_width = width - 2 * PADDING - image_width
    text_height = height - 2 * PADDING
    lines = fit_lines(text, text_width, text_height)
    body = "\n".join(lines)
    font = BytesFontFactory(fonts.mini_font(text.face, body), NATURAL_SIZE)
    no_margins = layout.Margins(0, 0, 0, 0)
    return TextStampStyle(
        stamp_text=body.replace("%", "%%"),
        text_box_style=TextBoxStyle(
            font=font,
            font_size=NATURAL_SIZE,
            leading=LEADING,
            box_layout_rule=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MIN,
                y_align=layout.AxisAlignment.ALIGN_MAX,
                margins=no_margins,
            ),
        ),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MAX,
            margins=layout.Margins(PADDING, PADDING + image_width, PADDING, PADDING),
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
        ),
        background=background,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MAX,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(int(width) - image_width, PADDING, PADDING, PADDING),
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
        ),
        background_opacity=1.0,
        border_width=0,
    )
