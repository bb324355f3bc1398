"""Every reason a suggestion or an explanation can give, and what it means in plain words.

The code says why it cannot tell in a technician's words ("only 7 of 35 matches agree on one
view"): exact, kept in the JSON a script reads and in the audit trail. An officer needs the
same fact in words they can act on, in English or Chinese, and what would settle it (retake,
another view, more references). So each reason has one entry here: its technical template
(what :func:`because` writes, the only way the core words a reason), its plain English and
Chinese, and its remedy; :func:`read_reason` turns a stored text back into entries, which is
how the web page, the CSV and the PDF show reasons recorded long before.

Texts written outside the core (the engine's quality prefix, its "not placed:" and its
explainer messages) are listed here too, so one glossary covers all that reaches an officer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

#: The one wording of each verdict, English and Chinese, wherever one is printed (the web
#: page's texts say the same: ``tests/web/test_web_text.py`` checks it).
VERDICT_WORDS: dict[str, tuple[str, str]] = {
    "counterfeit": ("LIKELY COUNTERFEIT", "疑似假冒"),
    "genuine": ("LIKELY GENUINE", "疑似正品"),
    "inconclusive": ("CAN'T TELL", "无法判断"),
}


class Remedy(NamedTuple):
    """What would settle a "can't tell", in both languages."""

    en: str
    zh: str


RETAKE = Remedy("Retake the photo: sharp, well lit, the whole item in the frame.",
                "重拍照片：清晰、光线充足、物品完整入镜。")
ANOTHER_VIEW = Remedy("Add another view of the same item (side, heel, tongue label, sole) and "
                      "press Inspect again.",
                      "为同一件物品补拍其他角度（侧面、鞋跟、鞋舌标签、鞋底），然后再次点击查验。")
MORE_REFERENCES = Remedy("Ask the right holder for more reference photos of this product.",
                         "请联系权利人为该产品补充参考照片。")
CHECK_PRODUCT = Remedy("Check the product (or let the app propose it), then retake the photo.",
                       "请核对所选产品（或由系统推荐产品），然后重拍照片。")
#: CHECK_PRODUCT when the app proposed the product: the officer names it instead.
CHOOSE_PRODUCT = Remedy("Choose the product yourself (untick \"Let the app propose the "
                        "product\"), then retake the photo.",
                        "请手动选择产品（取消勾选“由系统推荐产品”），然后重拍照片。")
SAME_SIDE = Remedy("To see it lined up, photograph the item from the same side as the "
                   "reference photo.", "如需对齐比较，请从与参考照片相同的一侧拍摄物品。")


@dataclass(frozen=True)
class Reason:
    """One reason: the technical template, the plain words in English and Chinese (the same
    placeholders), and what would settle it (None: nothing the officer can do)."""

    technical: str
    en: str
    zh: str
    remedy: Remedy | None


GLOSSARY: dict[str, Reason] = {
    "no_brand_references": Reason(
        "this brand has no references yet",
        "The right holder has not added any reference photos for this brand yet.",
        "权利人尚未为该品牌添加任何参考照片。", MORE_REFERENCES),
    "no_product_references": Reason(
        "this product has no references yet",
        "There are no reference photos of this product yet.",
        "该产品还没有参考照片。", MORE_REFERENCES),
    "few_genuine_photos": Reason(
        "only {n} distinct genuine photo(s); at least {need} are needed for a suggestion",
        "Only {n} genuine reference photo(s) of this product; the app needs at least {need} "
        "before it can suggest anything.",
        "该产品只有 {n} 张正品参考照片；至少需要 {need} 张才能给出建议。", MORE_REFERENCES),
    "few_genuine_to_calibrate": Reason(
        "too few genuine references to calibrate ({n}; at least {need} needed)",
        "Too few genuine reference photos ({n}; at least {need} needed) to know how much "
        "genuine items vary.",
        "正品参考照片太少（{n} 张，至少需要 {need} 张），无法判断正品之间的正常差异。",
        MORE_REFERENCES),
    "few_fakes_to_calibrate": Reason(
        "too few known fakes to calibrate ({n}; at least {need} needed)",
        "Too few photos of known fakes ({n}; at least {need} needed) to compare with.",
        "已知假冒品照片太少（{n} 张，至少需要 {need} 张），无法比较。", MORE_REFERENCES),
    "unlike_product": Reason(
        "the photo does not resemble this product's references (best similarity {best}); "
        "check the product or retake the photo",
        "The photo does not look like any reference photo of this product (closest match "
        "{best}): it may be another product, or the item is not clearly in view.",
        "照片与该产品的参考照片都不相似（最接近 {best}）：可能是其他产品，或物品未清晰入镜。",
        CHECK_PRODUCT),
    "between": Reason(
        "the photo lies between the genuine and the counterfeit references",
        "The photo looks about as much like the genuine references as like the known fakes.",
        "照片与正品参考和已知假冒品的相似程度差不多。", ANOTHER_VIEW),
    "less_typical": Reason(
        "the photo is less typical than most genuine references, but not far enough from "
        "them to flag",
        "The photo looks a little different from most genuine references, but not enough to "
        "call the item a likely counterfeit.",
        "照片与多数正品参考略有不同，但差异不足以判定为疑似假冒。", ANOTHER_VIEW),
    "calibrated_on_training": Reason(
        "calibrated on {n} reference(s) the model was trained on, so fewer genuine items are "
        "flagged here than will be in use; add photos the model has not seen",
        "{n} of the reference photos were used to train the app, so in daily use it will flag "
        "more genuine items than these figures show; add photos it has not seen.",
        "有 {n} 张参考照片曾用于训练本系统，实际使用中误报的正品会多于此处所示；"
        "请添加系统未见过的照片。", MORE_REFERENCES),
    "calibrated_on_training_with_margin": Reason(
        "calibrated on {n} reference(s) the model was trained on, their scores moved by the "
        "margin cross-validation measured for the model; add photos the model has not seen "
        "to calibrate on them instead",
        "{n} of the reference photos were used to train the app; its settings allow for how "
        "much better it knows them, as measured in testing. Photos it has not seen would "
        "make them surer.",
        "有 {n} 张参考照片曾用于训练本系统；系统已按测试中测得的差距对此作了修正。"
        "添加系统未见过的照片可使设置更可靠。", MORE_REFERENCES),
    "few_keypoints": Reason(
        "too few keypoints (a plain or blurred photo?)",
        "The photo has too little sharp detail to line it up with a reference photo.",
        "照片清晰细节太少，无法与参考照片对齐。", RETAKE),
    "few_matches": Reason(
        "only {n} distinctive matches",
        "Only {n} details of the photo could be found in the reference photo: too few to line "
        "the two up.",
        "照片中只有 {n} 处细节能在参考照片中找到，太少，无法对齐。", SAME_SIDE),
    "views_disagree": Reason(
        "only {inliers} of {matches} matches agree on one view",
        "The photo and the reference photo seem to show the item from different sides (only "
        "{inliers} of {matches} matching details fit together), so they cannot be lined up.",
        "照片与参考照片似乎拍摄的是物品的不同侧面（{matches} 处相同细节中只有 {inliers} 处吻合），"
        "无法对齐。", SAME_SIDE),
    "implausible_warp": Reason(
        "the matches imply an implausible warp",
        "Lining the photo up with the reference photo would need an unrealistic stretch, so it "
        "was not done.",
        "若要将照片与参考照片对齐，需要不合实际的拉伸变形，因此未对齐。", SAME_SIDE),
    "outside_photo": Reason(
        "it falls outside the photo",
        "This point lies outside what the photo shows.",
        "该鉴别要点位于照片画面之外。", SAME_SIDE),
    "no_product_to_compare": Reason(
        "brand {brand} has no references to compare with",
        "Brand {brand} has no reference photos to compare with.",
        "品牌 {brand} 没有可供比较的参考照片。", MORE_REFERENCES),
    "few_genuine_for_heat": Reason(
        "{brand} / {product} needs genuine references from at least two photos to show where "
        "a photo differs",
        "At least two genuine reference photos of {product} are needed to show where a photo "
        "differs.", "{product} 至少需要两张正品参考照片，才能显示照片的差异位置。",
        MORE_REFERENCES),
    "no_patch_features": Reason(
        "the model {model} gives no patch features, so it cannot show where a photo differs",
        "The model in use ({model}) cannot show where a photo differs.",
        "当前使用的模型（{model}）无法显示照片的差异位置。", None),
}

#: The photo quality gate's hints (already plain words), by check name: en and zh templates.
QUALITY_HINTS: dict[str, tuple[str, str]] = {
    "resolution": ("The photo is only {width}x{height} pixels: take it at full resolution, "
                   "closer to the item.",
                   "照片只有 {width}x{height} 像素：请使用全分辨率并靠近物品拍摄。"),
    "blur": ("The photo is blurred: hold the phone still, tap to focus on the item and retake.",
             "照片模糊：请拿稳手机，点击屏幕对焦物品后重拍。"),
    "dark": ("The photo is too dark: add light or move the item into light and retake.",
             "照片太暗：请增加照明或将物品移到明亮处后重拍。"),
    "overexposed": ("The photo is washed out: avoid direct light or the flash and retake.",
                    "照片过曝：请避开强光或闪光灯后重拍。"),
    "glare": ("Reflections hide part of the item: tilt it or step out of direct light and "
              "retake.", "反光遮挡了物品的一部分：请倾斜物品或避开直射光后重拍。"),
    "framing": ("The photo is a narrow strip: photograph the whole item, then close-ups of its "
                "identification points.", "照片画面过窄：请先拍摄物品整体，再拍摄鉴别要点的特写。"),
}

#: The heat map in words (``novelty``: its hottest patch, 0 = as genuine photos are, 1 = beyond
#: nearly all): what the colours mean on this photo, never a bare number.
HEAT_WORDS: dict[str, tuple[str, str]] = {
    "calm": ("Nothing stands out: every region of the photo looks like some genuine reference. "
             "Details the map cannot see may still differ, so compare the references too.",
             "没有明显差异：照片各区域都与某张正品参考相似。热图无法发现的细节仍可能不同，请对照参考照片。"),
    "some": ("The coloured regions differ more than in a typical genuine photo: yellow a "
             "little, red strongly.",
             "着色区域的差异大于典型正品照片：黄色为轻微差异，红色为明显差异。"),
    "strong": ("The red regions differ more than in nearly all of the {n} genuine references.",
               "红色区域的差异超过了几乎全部 {n} 张正品参考。"),
}
HEAT_LEGEND = ("Colour shows where to look, not the verdict; it may also fall on hands or "
               "background.", "颜色只提示应查看的位置，不代表结论；也可能落在手或背景上。")
#: Novelty under this: nothing stands out; at or over the second: beyond nearly all.
_CALM, _STRONG = 0.05, 0.99


def heat_words(novelty: float, references: int, lang: str) -> str:
    """The heat map's legend in ``lang`` for a photo of this ``novelty``, compared with
    ``references`` genuine references."""
    level = "calm" if novelty < _CALM else "some" if novelty < _STRONG else "strong"
    index = 1 if lang == "zh" else 0
    return f"{HEAT_WORDS[level][index].format(n=references)} {HEAT_LEGEND[index]}"


#: How the engine joins reasons (``gallery/inspector.py``, ``gallery/explainer.py``).
QUALITY_PREFIX = "photo quality: "
ALSO = " Also: "
NOT_PLACED = "not placed: "


def because(code: str, **values: object) -> str:
    """The technical text of reason ``code`` with ``values`` filled in (the core's wording)."""
    return GLOSSARY[code].technical.format(**values)


class Said(NamedTuple):
    """One reason read back from a text: its glossary code (a quality check's name for a
    quality hint, "" for a text no entry matches) and the values it quoted."""

    code: str
    values: dict[str, str]


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"{(\w+)}", template)
    regex = "".join(re.escape(part) if n % 2 == 0 else f"(?P<{part}>.+?)"
                    for n, part in enumerate(parts))
    return re.compile(f"^{regex}$")


_PATTERNS = {code: _pattern(reason.technical) for code, reason in GLOSSARY.items()}
_QUALITY_PATTERNS = {name: _pattern(en) for name, (en, _) in QUALITY_HINTS.items()}
_QUALITY_HINT = re.compile(r".+?[.?](?= |$)")


def read_reason(text: str) -> list[Said]:
    """The reasons in a text as the code writes it (quality hints first, then the rest), each
    with its code; a text no entry explains comes back whole under code "" (never lost)."""
    said: list[Said] = []
    text = text.strip()
    if text.startswith(NOT_PLACED):
        text = text[len(NOT_PLACED):]
    if text.startswith(QUALITY_PREFIX):
        hints, _, text = text[len(QUALITY_PREFIX):].partition(ALSO)
        said += [_read(hint.strip(), _QUALITY_PATTERNS) for hint in _hints(hints)]
    if text:
        said.append(_read(text, _PATTERNS))
    return said


def _hints(text: str) -> list[str]:
    """Quality hints one by one: each is a sentence (one may hold a "1200x800")."""
    return _QUALITY_HINT.findall(text) or [text]


def _read(text: str, patterns: dict[str, re.Pattern[str]]) -> Said:
    for code, pattern in patterns.items():
        found = pattern.match(text)
        if found:
            values = {key: value.strip("'\"") for key, value in found.groupdict().items()}
            return Said(code, values)
    return Said("", {"text": text})


def plain_reason(text: str, lang: str) -> list[str]:
    """Each reason in ``text`` in plain words, in ``lang`` ("en" or "zh")."""
    lines = []
    for code, values in read_reason(text):
        if code in QUALITY_HINTS:
            template = QUALITY_HINTS[code][1 if lang == "zh" else 0]
        elif code:
            template = GLOSSARY[code].zh if lang == "zh" else GLOSSARY[code].en
        else:
            template = "{text}"
        lines.append(template.format(**values))
    return lines


def remedies(text: str, *, product_proposed: bool = False) -> list[Remedy]:
    """What would settle the reasons in ``text``, each once, in order: a failed quality check
    is settled by a retake; a product the app proposed and the photo does not resemble, by
    the officer choosing it."""
    found: list[Remedy] = []
    for code, _ in read_reason(text):
        remedy = RETAKE if code in QUALITY_HINTS else GLOSSARY[code].remedy if code else None
        if remedy == CHECK_PRODUCT and product_proposed:
            remedy = CHOOSE_PRODUCT
        if remedy is not None and remedy not in found:
            found.append(remedy)
    return found
