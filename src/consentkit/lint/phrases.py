"""Words that promise, minimise or waive, per concept and locale (CK150, CK151), and placeholders (CK140).

Each entry is a regular expression. English ones match whole words, case-insensitively; Chinese ones match as
written. The lists follow regulatory.md §5 (广告法 Art 9 and 16, the SAMR 医疗美容广告执法指南, 醫療法 Art 86, the UK
CAP code) and are tuned against false positives: 第一天 is not a superlative, 最好不要 is advice, "no treatment is
risk-free" is a negation, a permanent scar is a risk. Change them here, with a test in tests/test_lint_wording.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Concept:
    """A kind of forbidden wording. ``negatable``: "not guaranteed", "不能保证" are fine. ``hedged``: a possibility
    word before it ("may", "可能") makes it a risk statement. ``allowed_in``: sections where it is fine.
    ``in_risks``: checked inside risk statements too. Harm words (a permanent scar, blindness that is usually
    permanent) belong there, but nothing in a risk statement may promise, claim safety or play the risk down.
    ``risk_phrases``: narrower phrases used inside risk statements instead of ``phrases``, where a risk is described
    ("side effects are minor and go away", "副作用轻微时", "风险低的人") rather than judged as a whole."""

    key: str
    reads_as: str
    advice: str
    phrases: dict[str, tuple[str, ...]]
    negatable: bool = True
    hedged: bool = False
    allowed_in: tuple[str, ...] = field(default=())
    not_after: tuple[str, ...] = field(default=())  # e.g. "为" before 确保: purpose ("to make sure"), not a promise
    in_risks: bool = False
    risk_phrases: dict[str, tuple[str, ...]] | None = None


# Patterns with a look-ahead list hold both scripts' words: the zh-CN and zh-TW lists are merged into one
# alternation, and a branch that excludes only 损伤 would let the other branch match 損傷's simplified twin.
_GUARANTEE = (
    r"(?:保证|确保|担保|保證|確保|擔保)(?=[^，。；！？,.;!?\s]{0,6}?(?:效果|结果|結果|成功|安全|满意|滿意|无|無|不会|不會|"
    r"没有|沒有|永久|一定|百分|100|改善|达到|達到|变美|變美))"
)
_PERMANENT = (
    r"永久(?!性?的?(?:瘢痕|疤痕|损伤|損傷|损害|損害|失明|麻木|伤害|傷害|神经|神經|色素|改变|改變|变形|變形|凹陷|畸形|"
    r"不对称|不對稱|脱发|禿|秃|填充|植入|假体|假體|注射物))"
)

# Inside a risk statement, what follows "the risk is low" / "风险低" can make it a condition or a statement about
# whom the risk concerns: "the risk is low if you do not smoke", "风险低的人", "副作用小时" (both scripts' words).
_WHO_OR_WHEN_EN = r"if|when|unless|for|in|among|with|after|once|while|as long as"
_NOT_WHO_ZH = r"(?!的?(?:人|者|患者|病人|求美者|人群|群体|群體))"
_NOT_WHO_OR_WHEN_ZH = r"(?![于於见見时時者]|的?(?:人|患者|病人|求美者|人群|群体|群體))"

PROMISES: tuple[Concept, ...] = (
    Concept(
        "guarantee",
        "a guarantee",
        "no result can be promised: say what usually happens and how often",
        {
            "en": (
                r"guarantee[sd]?",
                r"guaranteeing",
                r"we promise",
                r"promised? (?:results?|outcomes?)",
                r"assured (?:results?|outcomes?)",
                r"results? (?:are|is) assured",
                r"money[- ]back",
            ),
            "zh-CN": (
                _GUARANTEE,
                r"承诺(?:效果|结果|疗效)",
                r"包(?:效果|满意|成功)",
                r"(?:无效|不满意)退款",
                r"一定(?:会|能)(?:成功|满意|有效|变美|达到)",
                r"(?:效果|结果|疗效|安全)(?:有|都有|绝对有|一定有)?(?:保证|保障)",
            ),
            "zh-TW": (
                _GUARANTEE,
                r"承諾(?:效果|結果|療效)",
                r"包(?:效果|滿意|成功)",
                r"(?:無效|不滿意)退(?:費|款)",
                r"一定(?:會|能)(?:成功|滿意|有效|變美|達到)",
                r"(?:效果|結果|療效|安全)(?:有|都有|絕對有|一定有)?(?:保證|保障)",
            ),
        },
        not_after=("为", "為", "为了", "為了"),
        in_risks=True,
    ),
    Concept(
        "absolute-safety",
        "a claim of absolute safety",
        "every procedure has risks: name them instead",
        {
            "en": (
                r"(?:completely|totally|perfectly|absolutely|entirely|fully|100 ?%) safe",
                r"(?:very|extremely|highly|really|super|incredibly|exceptionally|remarkably) safe",
                r"safe and (?:reliable|proven|sure|secure)",
                r"(?:proven|guaranteed) safe(?:ty)?",
                r"risk[- ]free",
                r"(?:no|zero) risks?",
                r"without (?:any )?risks?",
                r"free (?:of|from) (?:any )?risks?",
                r"harmless",
                r"safest",
                r"no danger",
            ),
            "zh-CN": (
                r"百分之百",
                r"(?:绝对|完全)安全",
                r"(?:无|零|毫无)风险",
                r"没有(?:任何)?风险",
                r"安全无害",
                r"无害",
                r"(?:非常|十分|很|极其|极为|相当|特别|超级|绝对)安全(?![性地措检检])",
                r"安全(?:可靠|放心|有效)",
                r"最安全",
                r"万无一失",
            ),
            "zh-TW": (
                r"百分之百",
                r"(?:絕對|完全)安全",
                r"(?:無|零|毫無)風險",
                r"沒有(?:任何)?風險",
                r"安全無(?:虞|害)",
                r"無害",
                r"(?:非常|十分|很|極其|極為|相當|特別|超級|絕對)安全(?![性地措檢])",
                r"安全(?:可靠|放心|有效)",
                r"最安全",
                r"萬無一失",
            ),
        },
        in_risks=True,
    ),
    Concept(
        "no-side-effects",
        "a claim of no side effects",
        "list the side effects and how often they happen",
        {
            "en": (
                r"no (?:side[- ]effects?|complications?|after[- ]effects?)",
                r"(?:without|free (?:of|from)) (?:any )?(?:side[- ]effects?|complications?)",
                r"side[- ]effect[- ]free",
                r"complication[- ]free",
            ),
            "zh-CN": (r"(?:无|零)(?:副作用|并发症|后遗症)", r"(?:没有|不会有)(?:任何)?(?:副作用|并发症|后遗症)"),
            "zh-TW": (r"(?:無|零)(?:副作用|併發症|後遺症)", r"(?:沒有|不會有)(?:任何)?(?:副作用|併發症|後遺症)"),
        },
    ),
    Concept(
        "permanence",
        "a promise of permanence",
        "say how long the effect usually lasts and that it varies",
        {
            "en": (
                r"permanent(?:ly)? (?:results?|outcomes?|effects?|solution|fix|cure|correction|change|improvement|"
                r"removal|hair removal|reduction)",
                r"lasts? (?:forever|a lifetime|for life|permanently)",
                r"(?:lifetime|lifelong|life-long) (?:results?|effects?)",
                r"(?:results?|effects?|outcomes?|changes?|improvements?|corrections?|removal|reduction|it|they|this) "
                r"(?:is|are|will be|stays?|remains?|lasts?|will (?:stay|remain|last)) (?:(?:usually|generally|mostly|"
                r"largely|often|truly|completely|fully) )?(?:permanent(?:ly)?|lifelong|life-long)"
                r"(?! (?:damage|harm|scar))",
                r"permanently (?:removes?|reduces?|destroys?|eliminates?|gets? rid of|fix(?:es)?|corrects?|cures?|"
                r"stops?|ends?|changes?|improves?|lifts?|tightens?|reshapes?|slims?)",
                r"never (?:comes?|grows?) back",
                r"once and for all",
                r"forever",
            ),
            "zh-CN": (
                _PERMANENT,
                r"终[身生]有效",
                r"永不(?:反弹|复发)",
                r"一劳永逸",
                r"根治",
            ),
            "zh-TW": (
                _PERMANENT,
                r"終[身生]有效",
                r"永不(?:復發|反彈)",
                r"一勞永逸",
                r"根治",
            ),
        },
        hedged=True,
    ),
    Concept(
        "minimising-risk",
        "playing the risks down",
        "do not judge the risks for the patient: name them and say how often they happen",
        {
            "en": (
                r"(?:risks?|side[- ]effects?|complications?|dangers?) (?:is|are) (?:(?:very|extremely|really|quite) )?"
                r"(?:minimal|negligible|tiny|insignificant|trivial|nothing to worry about)",
                r"(?:risks?|side[- ]effects?|complications?) (?:is|are) (?:(?:very|extremely) )?(?:small|low|minor)"
                r"(?! (?:than|compared|in number))",
                r"(?:minimal|negligible|tiny|insignificant|trivial) (?:risks?|side[- ]effects?|complications?|danger)",
                r"(?:very|extremely) (?:low|small) risks?",
                r"(?:hardly|almost|virtually|practically) (?:any|no) (?:risks?|side[- ]effects?|complications?)",
                r"(?:little|low) to no (?:risks?|side[- ]effects?|downtime)",
            ),
            "zh-CN": (
                r"(?:风险|副作用|并发症|危险)(?:很|极|非常|十分|相当|都|也|都很|极其)?(?:小|低|少|轻微)(?![于於见見])",
                r"(?:风险|副作用|并发症)(?:可以)?忽略不计",
                r"(?:很|极|非常|十分)?(?:小|低|少)的(?:风险|副作用|并发症)",
                r"(?:几乎|基本|基本上)(?:没有|无)(?:风险|副作用|并发症|危险)",
                r"极低风险",
            ),
            "zh-TW": (
                r"(?:風險|副作用|併發症|危險)(?:很|極|非常|十分|相當|都|也|都很|極其)?(?:小|低|少|輕微)(?![于於见見])",
                r"(?:風險|副作用|併發症)(?:可以)?忽略不計",
                r"(?:很|極|非常|十分)?(?:小|低|少)的(?:風險|副作用|併發症)",
                r"(?:幾乎|基本|基本上)(?:沒有|無)(?:風險|副作用|併發症|危險)",
                r"極低風險",
            ),
        },
        in_risks=True,
        # Inside a risk statement only a judgement of the risk as a whole: "risks are minimal", "风险很小". A
        # severity that describes the harm ("side effects are minor and go away", "副作用轻微"), a condition
        # ("副作用轻微时…", "the risk is low if…") and who is at low risk ("风险低的人", "people at very low risk")
        # are the honest content of a risk statement.
        risk_phrases={
            "en": (
                r"(?:risks?|side[- ]effects?|complications?|dangers?) (?:is|are) (?:(?:very|extremely|really|quite) )?"
                r"(?:minimal|negligible|tiny|insignificant|trivial|nothing to worry about)",
                r"(?:risks?|side[- ]effects?|complications?) (?:is|are) (?:(?:very|extremely) )?(?:small|low)"
                rf"(?! (?:than|compared|in number|{_WHO_OR_WHEN_EN}))",
                rf"(?:risks?|dangers?) (?:is|are) (?:(?:very|extremely) )?minor(?! (?:than|{_WHO_OR_WHEN_EN}))",
                r"(?:minimal|negligible|tiny|insignificant|trivial) (?:risks?|side[- ]effects?|complications?|danger)",
                r"(?<!at )(?<!at a )(?:very|extremely) (?:low|small) risks?",
                r"(?:hardly|almost|virtually|practically) (?:any|no) (?:risks?|side[- ]effects?|complications?)",
                r"(?:little|low) to no (?:risks?|side[- ]effects?|downtime)",
            ),
            "zh-CN": (
                rf"(?:风险|危险)(?:很|极|非常|十分|相当|都|也|都很|极其)?(?:小|低|少|轻微){_NOT_WHO_OR_WHEN_ZH}",
                rf"(?:副作用|并发症)(?:很|极|非常|十分|相当|都|也|都很|极其)?(?:小|低|少){_NOT_WHO_OR_WHEN_ZH}",
                r"(?:风险|副作用|并发症)(?:可以)?忽略不计",
                r"(?:很|极|非常|十分)?(?:小|低|少)的(?:风险|副作用|并发症)",
                r"(?:几乎|基本|基本上)(?:没有|无)(?:风险|副作用|并发症|危险)",
                rf"极低风险{_NOT_WHO_ZH}",
            ),
            "zh-TW": (
                rf"(?:風險|危險)(?:很|極|非常|十分|相當|都|也|都很|極其)?(?:小|低|少|輕微){_NOT_WHO_OR_WHEN_ZH}",
                rf"(?:副作用|併發症)(?:很|極|非常|十分|相當|都|也|都很|極其)?(?:小|低|少){_NOT_WHO_OR_WHEN_ZH}",
                r"(?:風險|副作用|併發症)(?:可以)?忽略不計",
                r"(?:很|極|非常|十分)?(?:小|低|少)的(?:風險|副作用|併發症)",
                r"(?:幾乎|基本|基本上)(?:沒有|無)(?:風險|副作用|併發症|危險)",
                rf"極低風險{_NOT_WHO_ZH}",
            ),
        },
    ),
    Concept(
        "trivialising",
        "trivialising",
        "describe what the patient will feel and how long recovery takes instead",
        {
            "en": (
                r"painless(?:ly)?",
                r"pain[- ]free",
                r"no (?:pain|discomfort)",
                r"without (?:any )?pain",
                r"(?:won't|will not|doesn't|does not) hurt",
                r"(?:no|zero) down ?time",
                r"no recovery(?: time| period)?",
                r"lunch ?time (?:procedure|treatment|lift|facelift|peel)",
                r"scar(?:less|[- ]free)",
                r"(?:leaves?|leaving) no scars?",
                r"no scars?",
                r"instant(?:ly)? results?",
                r"immediate results?",
                r"results? (?:are|is) (?:instant|immediate)",
                r"quick and easy",
                r"nothing to worry about",
                r"safe and effective",
                r"walk[- ]in,? walk[- ]out",
                r"(?:just|only|merely|simply) an? (?:(?:small|little|quick|simple|tiny|minor|short|easy),? )+"
                r"(?:injection|procedure|treatment|operation|surgery|jab|prick|scratch|needle|nip|tuck|session)",
                r"(?:just|only|merely) an? (?:injection|jab|prick|scratch)",
                r"(?:barely|hardly|scarcely) (?:hurts?|painful|any pain|any discomfort|noticeable)",
                r"(?:almost|virtually|practically) (?:no|painless|pain[- ]free) ?(?:pain|discomfort)?",
                r"(?:does not|doesn't|won't|will not) really hurt",
            ),
            "zh-CN": (
                r"无痛",
                r"(?:完全|一点[也都])不痛",
                r"毫无痛感",
                r"没有(?:任何)?痛[感苦]",
                r"(?:无|零|没有)恢复期",
                r"(?:无需|不需要)恢复",
                r"不留(?:疤|痕)",
                r"零疤痕",
                r"无(?:疤|痕)",
                r"立竿见影",
                r"(?:即刻|立即|马上)见效",
                r"午[休餐]美容",
                r"轻松(?:变美|搞定|完成)",
                r"安全舒适",
                r"(?:只是|只不过是|不过是|仅仅是|就是)(?:一个|一次|个)?(?:小|简单的?|普通的?)(?:手术|针|治疗|操作|项目|注射)",
                r"(?:只是|只不过是|不过是|仅仅是|就是|只)(?:打|扎)?(?:一|几)针",
                r"(?:基本|基本上|几乎|差不多)(?:不痛|不疼|没有?(?:痛|疼)感?|无痛|无感)",
                r"不怎么(?:痛|疼)",
            ),
            "zh-TW": (
                r"無痛",
                r"(?:完全|一點[也都])不痛",
                r"毫無痛感",
                r"沒有(?:任何)?痛[感苦]",
                r"(?:無|零|沒有)恢復期",
                r"(?:無需|不需要)恢復",
                r"不留(?:疤|痕)",
                r"零疤痕",
                r"無(?:疤|痕)",
                r"立竿見影",
                r"(?:即刻|立即|馬上)見效",
                r"午[休餐]美容",
                r"輕鬆(?:變美|搞定|完成)",
                r"安全舒適",
                r"(?:只是|只不過是|不過是|僅僅是|就是)(?:一個|一次|個)?(?:小|簡單的?|普通的?)(?:手術|針|治療|操作|項目|注射)",
                r"(?:只是|只不過是|不過是|僅僅是|就是|只)(?:打|扎)?(?:一|幾)針",
                r"(?:基本|基本上|幾乎|差不多)(?:不痛|不疼|沒有?(?:痛|疼)感?|無痛|無感)",
                r"不怎麼(?:痛|疼)",
            ),
        },
        # not in risks: "a painless lump", "无痛性肿块" describe a symptom there
    ),
    Concept(
        "superlative",
        "a superlative",
        "describe the procedure plainly, without comparing it with others",
        {
            "en": (
                r"best(?= (?:results?|outcomes?|clinic|doctors?|surgeons?|choice|treatment|technology|technique|care|"
                r"quality|service|option|method|products?|possible|in class))",
                r"best[- ]in[- ]class",
                r"number one",
                r"no\. ?1",
                r"#1",
                r"world[- ](?:leading|class|famous|renowned)",
                r"(?:industry|market)[- ]leading",
                r"most (?:advanced|experienced|skilled|trusted|popular|professional|modern|natural)",
                r"state[- ]of[- ]the[- ]art",
                r"cutting[- ]edge",
                r"revolutionary",
                r"unrivall?ed",
                r"unmatched",
                r"top[- ]rated",
                r"second to none",
                r"leading (?:clinic|experts?|doctors?|surgeons?)",
            ),
            "zh-CN": (
                r"最好的(?!办法|方法|做法|时间|时机|辦法|時間|時機)",
                r"最佳(?!时间|时机|时期|時間|時機|時期)",
                r"最优",
                r"最(?:先进|专业|权威)",
                r"顶[级尖]",
                r"(?:国家|世界)级",
                r"(?:全国|国内|世界|全球|亚洲|行业|业界|排名|销量)第一",
                r"第一品牌",
                r"(?:国际|世界|行业|遥遥)领先",
                r"首屈一指",
                r"独一无二",
            ),
            "zh-TW": (
                r"最好的(?!办法|方法|做法|时间|时机|辦法|時間|時機)",
                r"最佳(?!时间|时机|时期|時間|時機|時期)",
                r"最優",
                r"最(?:先進|專業|權威)",
                r"頂[級尖]",
                r"(?:國家|世界)級",
                r"(?:全國|國內|世界|全球|亞洲|行業|業界|排名|銷量)第一",
                r"第一品牌",
                r"(?:國際|世界|業界|遙遙)領先",
                r"首屈一指",
                r"獨一無二",
            ),
        },
        not_after=("for ", "for the ", "for your "),  # "for the best results, avoid the sun" is advice
    ),
    Concept(
        "promotional-rate",
        "a promotional success rate",
        "no procedure succeeds for everyone: give the factual rate in `outcome` ('about 8 in 10 people…')",
        {
            "en": (
                r"(?:99|100)(?:\.\d+)? ?% (?:success|successful|satisfaction|satisfied|effective|efficacy|cure|"
                r"effect)",
                r"(?:success|satisfaction|cure|efficacy) rates? (?:of )?(?:99|100)(?:\.\d+)? ?%",
                r"100 ?%",
            ),
            "zh-CN": (
                r"(?:成功率|有效率|治愈率|满意率|满意度)(?:高达|达到?|为|是)?\s*(?:99|100)(?:\.\d+)?\s*[%％]",
                r"(?:99|100)(?:\.\d+)?\s*[%％]\s*的?(?:成功|有效|满意|治愈)",
                r"成功率百分之百",
                r"100\s*[%％]",
            ),
            "zh-TW": (
                r"(?:成功率|有效率|治癒率|滿意率|滿意度)(?:高達|達到?|為|是)?\s*(?:99|100)(?:\.\d+)?\s*[%％]",
                r"(?:99|100)(?:\.\d+)?\s*[%％]\s*的?(?:成功|有效|滿意|治癒)",
                r"成功率百分之百",
                r"100\s*[%％]",
            ),
        },
    ),
    Concept(
        "rate-claim",
        "a success-rate claim outside `outcome`",
        "state factual rates only in `outcome` (Taiwan's 醫療法 Art 63 asks for them there), as plain figures",
        {
            "en": (r"(?:success|cure|efficacy|satisfaction|effective(?:ness)?) rates?",),
            "zh-CN": (r"成功率", r"有效率", r"治愈率", r"满意率"),
            "zh-TW": (r"成功率", r"有效率", r"治癒率", r"滿意率"),
        },
        allowed_in=("outcome",),
    ),
)

WAIVER = Concept(
    "waiver",
    "a liability waiver",
    "remove it: a consent form informs the patient and never releases the clinic from its duty of care",
    {
        "en": (
            r"at (?:your|the patient's|their|his|her) own risk",
            r"(?:not|never) (?:be )?(?:held )?(?:liable|responsible) for",
            r"(?:not|no) liab(?:le|ility)",
            r"waive[sd]? (?:all |any |your |the )?(?:rights?|claims?)",
            r"hold (?:us|the clinic|the doctor|the hospital|\w+(?: \w+)?) harmless",
            r"(?:release|absolve)[sd]? (?:us|the clinic|the doctor|the hospital) (?:from|of)",
            r"disclaim(?:s|er)?",
        ),
        "zh-CN": (
            r"风险自[担负]",
            r"(?:后果|责任)自负",
            r"自行承担(?:一切|全部|所有)?(?:风险|后果|责任)",
            r"(?:风险|后果|责任)由[^，。；]{0,8}承担",
            r"免责",
            r"概不负责",
            r"不承担(?:任何)?(?:法律)?责任",
            r"放弃(?:追究|索赔|起诉|诉讼)",
        ),
        "zh-TW": (
            r"風險自[擔負]",
            r"(?:後果|責任)自負",
            r"自行承擔(?:一切|全部|所有)?(?:風險|後果|責任)",
            r"(?:風險|後果|責任)由[^，。；]{0,8}承擔",
            r"免責",
            r"概不負責",
            r"不承擔(?:任何)?(?:法律)?責任",
            r"放棄(?:追究|索賠|起訴|訴訟)",
        ),
    },
    negatable=False,
)

NEGATIONS_EN = frozenset(
    [
        "no",
        "not",
        "never",
        "cannot",
        "can't",
        "cant",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "doesn't",
        "don't",
        "didn't",
        "won't",
        "wouldn't",
        "nothing",
        "none",
        "nor",
        "neither",
        "without",
        "hardly",
    ]
)
CONDITIONALS_EN = frozenset(["if", "unless", "whether"])
HEDGES_EN = frozenset(["may", "might", "can", "could", "sometimes", "rarely", "occasionally", "risk"])

NEGATIONS_ZH = ("不", "没", "沒", "无法", "無法", "非", "未", "别", "別", "勿", "难以", "難以")
NOT_NEGATIONS_ZH = (  # words that start with 不 but do not negate what follows
    "不适",
    "不適",
    "不良",
    "不同",
    "不少",
    "不久",
    "不错",
    "不錯",
    "不断",
    "不斷",
    "不平",
    "不对称",
    "不對稱",
    "不规则",
    "不規則",
    "不舒服",
)
CONDITIONALS_ZH = ("如果", "若", "假如", "只要", "如无", "如無", "如没有", "如沒有", "万一", "萬一")
HEDGES_ZH = ("可能", "或", "有时", "有時", "偶尔", "偶爾", "少数", "少數", "极少", "極少", "风险", "風險")

PLACEHOLDER_TRIGGERS: tuple[str, ...] = (
    "[",
    "【",
    "XX",
    "xx",
    "TODO",
    "TBD",
    "TBC",
    "FIXME",
    "___",
    "＿＿",
    "某某",
    "〇",
    "○",
    "◯",
    "△",
    "□",
    "…",
    "...",
    "<",
    "{",
    "%",
    "$",
    "orem ipsum",
    "???",
    "？？",
)
"""Substrings without which no placeholder pattern can match: texts without any skip the regular expression."""

PLACEHOLDERS: tuple[str, ...] = (
    r"\[\s*(?:[Xx]+|_+|…+|\.{2,}|\?+|[A-Z][A-Z0-9 _-]*[A-Z0-9])\s*\]",
    r"[【\[][^】\]\n]{0,12}(?:填写|填寫|名称|名稱|姓名|日期|待定|待补充|待補充|此处|此處|某某)[^】\]\n]{0,12}[】\]]",
    r"(?<![A-Za-z0-9])(?:X{2,}|x{2,})(?![A-Za-z0-9])",
    r"(?<![A-Za-z])(?:TODO|TBD|TBC|FIXME)(?![A-Za-z])",
    r"_{3,}",
    r"＿{2,}",
    r"某某",
    r"[〇○◯]{2,}",
    r"[△□]{2,}",
    r"(?<=\s)(?:…+|\.{3,})(?=\s)",
    r"(?:…+|\.{3,})(?=[\u4e00-\u9fff0-9A-Za-z])",
    r"<[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff .-]{0,30}>",
    r"\{\{[^}]*\}\}",
    r"\{[A-Za-z_][A-Za-z0-9_]*\}",
    r"%[sd]\b",
    r"\$\{?[A-Z_]{3,}\}?",
    r"(?i:lorem ipsum)",
    r"\?{3,}",
    r"？{2,}",
)
