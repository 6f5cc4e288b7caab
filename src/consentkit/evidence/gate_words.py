"""What the gate says to the nurse, per reason code, in the clinic's languages: short sentences, what is wrong and
what to do. The audit log records only the codes."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from zoneinfo import ZoneInfo

LOCALES = ("zh-CN", "zh-TW", "en")

# Most important first: the order a refusal lists its reasons in.
MESSAGES: dict[str, dict[str, str]] = {
    "packet-missing": {
        "en": "The signed packet file is missing ({path}). Find it before going ahead.",
        "zh-CN": "找不到已签署的文件（{path}）。请先找到它再继续。",
        "zh-TW": "找不到已簽署的文件（{path}）。請先找到它再繼續。",
    },
    "draft-packet": {
        "en": "This is a DRAFT, not the final packet. Drafts are never signed: make the final packet and sign it.",
        "zh-CN": "这是草稿（DRAFT），不是正式文件。草稿不能签署：请生成正式文件并签署。",
        "zh-TW": "這是草稿（DRAFT），不是正式文件。草稿不能簽署：請產生正式文件並簽署。",
    },
    "packet-altered": {
        "en": "The packet file was changed after it was made or signed. Do not go ahead. Tell the clinic manager.",
        "zh-CN": "文件在生成或签署后被改动过。不要继续。请告知诊所负责人。",
        "zh-TW": "文件在產生或簽署後被改動過。不要繼續。請告知診所負責人。",
    },
    "packet-not-in-log": {
        "en": "The clinic's record does not show this packet being made. Do not go ahead. Tell the clinic manager.",
        "zh-CN": "诊所的记录里没有这份文件的生成记录。不要继续。请告知诊所负责人。",
        "zh-TW": "診所的紀錄裡沒有這份文件的產生紀錄。不要繼續。請告知診所負責人。",
    },
    "not-approved": {
        "en": "This version of the procedure text has no {reviews} approval on record. Do not go ahead. "
        "Tell the clinic manager.",
        "zh-CN": "本项目这一版本的告知内容没有{reviews}审批记录。不要继续。请告知诊所负责人。",
        "zh-TW": "本項目這一版本的告知內容沒有{reviews}核准紀錄。不要繼續。請告知診所負責人。",
    },
    "signature-invalid": {
        "en": "A signature on the packet does not check out ({detail}). Do not go ahead. Tell the clinic manager.",
        "zh-CN": "文件上的签名验证不通过（{detail}）。不要继续。请告知诊所负责人。",
        "zh-TW": "文件上的簽名驗證不通過（{detail}）。不要繼續。請告知診所負責人。",
    },
    "signature-not-logged": {
        "en": "The clinic's record does not show {roles} signing. Do not go ahead. Tell the clinic manager.",
        "zh-CN": "诊所的记录里没有{roles}的签署记录。不要继续。请告知诊所负责人。",
        "zh-TW": "診所的紀錄裡沒有{roles}的簽署紀錄。不要繼續。請告知診所負責人。",
    },
    "guardian-not-signed": {
        "en": "The patient is a minor and the parent or guardian has not signed. The guardian must sign first.",
        "zh-CN": "患者未成年，监护人还没有签署。必须先由监护人签署。",
        "zh-TW": "病人未成年，法定代理人還沒有簽署。必須先由法定代理人簽署。",
    },
    "not-signed": {
        "en": "Not signed yet by: {roles}. Everyone must sign before the procedure.",
        "zh-CN": "还没有签署：{roles}。手术前所有人都必须签署。",
        "zh-TW": "還沒有簽署：{roles}。手術前所有人都必須簽署。",
    },
    "seal-missing": {
        "en": "The clinic seal is missing: the packet was not finished after the last signature.",
        "zh-CN": "缺少诊所封存签章：最后一个签名后文件没有完成封存。",
        "zh-TW": "缺少診所封存簽章：最後一個簽名後文件沒有完成封存。",
    },
    "physician-mismatch": {
        "en": "{signer} explained and signed the disclosure, but {operating} is operating. "
        "The operating physician must explain and sign it personally.",
        "zh-CN": "告知并签署的是{signer}，但主刀医生是{operating}。主刀医生必须亲自告知并签署。",
        "zh-TW": "說明並簽署的是{signer}，但主刀醫師是{operating}。主刀醫師必須親自說明並簽署。",
    },
    "physician-unknown": {
        "en": "Cannot tell who is operating (the case file is not available). Give the name with --physician.",
        "zh-CN": "无法确定主刀医生（找不到病例文件）。请用 --physician 写明姓名。",
        "zh-TW": "無法確定主刀醫師（找不到病例文件）。請用 --physician 寫明姓名。",
    },
    "cooling-off-not-started": {
        "en": "The waiting period has not started: the patient has not signed.",
        "zh-CN": "考虑期还没有开始：患者还没有签署。",
        "zh-TW": "考慮期還沒有開始：病人還沒有簽署。",
    },
    "cooling-off-not-elapsed": {
        "en": "Too early. The patient signed on {signed}. The waiting period is {period}. "
        "The earliest start is {earliest}, {remaining} after this check-in time.",
        "zh-CN": "时间太早。患者签署时间：{signed}。考虑期：{period}。"
        "最早可以开始：{earliest}，比本次签到时间晚 {remaining}。",
        "zh-TW": "時間太早。病人簽署時間：{signed}。考慮期：{period}。"
        "最早可以開始：{earliest}，比本次報到時間晚 {remaining}。",
    },
}
ORDER = tuple(MESSAGES)

ROLES: dict[str, dict[str, str]] = {
    "clinic": {"en": "the clinic", "zh-CN": "诊所", "zh-TW": "診所"},
    "physician": {"en": "the physician", "zh-CN": "医生", "zh-TW": "醫師"},
    "patient": {"en": "the patient", "zh-CN": "患者", "zh-TW": "病人"},
    "guardian": {"en": "the guardian", "zh-CN": "监护人", "zh-TW": "法定代理人"},
    "witness": {"en": "the witness", "zh-CN": "见证人", "zh-TW": "見證人"},
    "seal": {"en": "the clinic seal", "zh-CN": "诊所封存签章", "zh-TW": "診所封存簽章"},
}


REVIEWS: dict[str, dict[str, str]] = {
    "clinical": {"en": "clinical", "zh-CN": "临床", "zh-TW": "臨床"},
    "legal": {"en": "legal", "zh-CN": "法务", "zh-TW": "法務"},
}


def role_list(roles: Sequence[str], locale: str) -> str:
    words = [(ROLES.get(r) or REVIEWS.get(r) or {}).get(locale, r) for r in roles]
    return ", ".join(words) if locale == "en" else "、".join(words)


def local_time(value: dt.datetime, zone: ZoneInfo) -> str:
    """``2026-12-10 13:59 CST (Asia/Shanghai)``: times shown in the clinic's zone, with the zone named."""
    here = value.astimezone(zone)
    return f"{here:%Y-%m-%d %H:%M} {here.tzname()} ({zone.key})"


def duration(
    delta: dt.timedelta, locale: str, *, minutes: bool = False, seconds: bool = False, down: bool = False
) -> str:
    """``14 days 23 hours`` (minutes under a day, or always with ``minutes``), rounded up to the minute: never
    understates a wait. ``down``: rounded down to the minute, for a time that has at least passed. ``seconds``:
    down to the second, for a time that fell short, so ``14 days 23 hours 59 minutes 59 seconds`` never reads as
    15 days."""
    whole = max(0, int(delta.total_seconds()))  # int() rounds toward zero: down for a positive delta
    if seconds:
        total, secs = divmod(whole, 60)
    elif down:
        total, secs = whole // 60, 0
    else:
        total, secs = max(0, -(-math.ceil(delta.total_seconds()) // 60)), 0
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if locale == "en":
        parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
        if not days or minutes or seconds or down:
            parts.append(f"{mins} minute{'s' if mins != 1 else ''}")
        if seconds:
            parts.append(f"{secs} second{'s' if secs != 1 else ''}")
        return " ".join(parts)
    unit = {"zh-CN": ("天", "小时", "分钟", "秒"), "zh-TW": ("天", "小時", "分鐘", "秒")}[locale]
    text = (f"{days} {unit[0]} " if days else "") + f"{hours} {unit[1]}"
    if seconds:
        return f"{text} {mins} {unit[2]} {secs} {unit[3]}"
    return text if days and not (minutes or down) else f"{text} {mins} {unit[2]}"


def say(code: str, locale: str, **values: str) -> str:
    templates = MESSAGES[code]
    return templates.get(locale, templates["en"]).format(**values)
