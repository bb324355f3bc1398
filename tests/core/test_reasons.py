"""The glossary of reasons: every reason the code can give is read back to its entry and has
plain English and Chinese, free of the technician's words, and what would settle it."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from ipr_vision.core.alignment import align
from ipr_vision.core.index import BrandIndex
from ipr_vision.core.quality import assess_quality
from ipr_vision.core.reasons import (
    ALSO,
    CHECK_PRODUCT,
    CHOOSE_PRODUCT,
    GLOSSARY,
    NOT_PLACED,
    QUALITY_HINTS,
    QUALITY_PREFIX,
    RETAKE,
    SAME_SIDE,
    because,
    plain_reason,
    read_reason,
    remedies,
)
from ipr_vision.core.scoring import (
    Calibration,
    Mode,
    Policy,
    TrainedOnMargin,
    calibrate,
    decide,
    product_mode,
    unlike_reason,
)
from ipr_vision.core.suggest import BrandCalibration, assess
from tests.support import REPO, texture

CORE = REPO / "ipr_vision" / "core"
GALLERY = REPO / "ipr_vision" / "gallery"
#: Words an officer should not have to know.
JARGON = re.compile(r"keypoint|homograph|calibrat|inlier|ransac|warp|novelty|patch|embedding|"
                    r"distinctive|matches agree", re.IGNORECASE)


def sample(code: str) -> str:
    """The reason's technical text with every placeholder given a value."""
    names = re.findall(r"{(\w+)}", GLOSSARY[code].technical)
    return because(code, **{name: "7" for name in names})


@pytest.mark.parametrize("code", sorted(GLOSSARY))
def test_each_reason_reads_back_in_plain_words_in_both_languages(code: str) -> None:
    text = sample(code)
    assert read_reason(text) == [(code, dict.fromkeys(re.findall(r"{(\w+)}",
                                                                GLOSSARY[code].technical), "7"))]
    en, zh = plain_reason(text, "en"), plain_reason(text, "zh")
    assert len(en) == len(zh) == 1
    assert not JARGON.search(en[0]), en[0]
    assert re.search(r"[\u4e00-\u9fff]", zh[0]) and "{" not in en[0] + zh[0]
    assert en[0] != text  # the officer's words, not the technician's


def test_every_reason_the_core_words_is_in_the_glossary_and_no_entry_is_stale() -> None:
    """The core words reasons only through because(); the engine's texts are found in its
    source, so an entry whose text nobody emits any more fails here."""
    core = "\n".join(p.read_text(encoding="utf-8") for p in CORE.glob("*.py"))
    engine = "\n".join(p.read_text(encoding="utf-8") for p in GALLERY.glob("*.py"))
    engine = re.sub(r"\"\s*\n\s*f?\"", "", engine)  # implicit concatenation joined
    used = set(re.findall(r"because\(\s*\"(\w+)\"", core))
    assert used and used <= GLOSSARY.keys()
    for code in GLOSSARY.keys() - used:
        fixed = max(re.split(r"{\w+}", GLOSSARY[code].technical), key=len).strip()
        assert fixed in engine, f"{code}: {fixed!r} is emitted nowhere"
    for prefix in (QUALITY_PREFIX.strip(), ALSO.strip(), NOT_PLACED.strip()):
        assert prefix in engine


def test_reasons_the_code_gives_are_read_back() -> None:
    """Each place that gives a reason, made to give it."""
    policy = Policy()
    genuine, fake = np.linspace(0, 0.3, 40), np.linspace(0.5, 0.9, 40)
    contrast = Calibration(Mode.CONTRAST, 0.45, 0.2, 0.5, genuine, fake, "rank", ())
    alone = Calibration(Mode.GENUINE_ONLY, 0.45, 0.2, 0.5, genuine, np.zeros(0), "rank", ())
    empty = BrandCalibration({}, {})
    mode = product_mode(1, 0, policy)
    few_genuine = calibrate(np.zeros(2), np.zeros(2, bool), np.zeros(2), Mode.CONTRAST, policy)
    n = policy.min_calibration_genuine + 5
    few_fakes = calibrate(np.zeros(n), np.zeros(n, bool), np.zeros(n), Mode.CONTRAST, policy)
    photo = texture(3).copy()
    reference = texture(1)
    for (x, y), (sx, sy) in zip([(0, 0), (300, 0), (0, 300), (300, 300), (500, 100)],
                                [(400, 300), (100, 300), (400, 50), (50, 50), (250, 200)],
                                strict=True):
        photo.paste(reference.crop((sx, sy, sx + 100, sy + 100)), (x, y))
    given = {
        "no_brand_references": assess(np.ones(4), BrandIndex(4), empty, policy).reason,
        "few_genuine_photos": mode.reason,
        "few_genuine_to_calibrate": few_genuine,
        "few_fakes_to_calibrate": few_fakes,
        "between": decide(0.3, contrast)[1],
        "less_typical": decide(0.3, alone)[1],
        "calibrated_on_training": BrandCalibration({}, {}, trained_included=3).warning,
        "calibrated_on_training_with_margin": BrandCalibration(
            {}, {}, trained_included=3, margin=TrainedOnMargin(0.1, -0.1)).warning,
        "few_keypoints": align(Image.new("RGB", (300, 300), (128, 128, 128)),
                               texture(5)).reason,
        "few_matches": align(texture(3), texture(4)).reason,
        "views_disagree": align(photo, reference).reason,
        "implausible_warp": align(reference.resize((3200, 2400)), reference).reason,
    }
    for code, text in given.items():
        assert isinstance(text, str) and [said.code for said in read_reason(text)] == [code]
    unlike = unlike_reason(0.1, contrast)
    assert unlike and read_reason(unlike)[0].code == "unlike_product"


def test_composed_reasons_are_read_one_by_one_with_what_settles_them() -> None:
    """The engine joins a failed quality gate's hints before the verdict's reason, and puts
    "not placed:" before an alignment's; each part is explained, and retaking comes first."""
    blurred_dark = assess_quality(Image.new("RGB", (200, 200), (10, 10, 10)))
    hints = " ".join(check.hint_en for check in blurred_dark.failed)
    text = f"{QUALITY_PREFIX}{hints}{ALSO}{because('between')}"
    codes = [said.code for said in read_reason(text)]
    assert codes == [*(check.name for check in blurred_dark.failed), "between"]
    assert "resolution" in codes and "200x200" in plain_reason(text, "zh")[0]
    assert remedies(text)[0] == RETAKE and len(remedies(text)) == 2
    assert set(QUALITY_HINTS) >= set(codes[:-1])
    placed = NOT_PLACED + because("views_disagree", inliers=3, matches=40)
    assert read_reason(placed) == [("views_disagree", {"inliers": "3", "matches": "40"})]
    assert remedies(placed) == [SAME_SIDE]
    assert "40" in plain_reason(placed, "en")[0] and "40" in plain_reason(placed, "zh")[0]


def test_a_proposed_product_is_settled_by_choosing_it() -> None:
    unlike = because("unlike_product", best="0.41")
    assert remedies(unlike) == [CHECK_PRODUCT]
    assert remedies(unlike, product_proposed=True) == [CHOOSE_PRODUCT]


def test_a_text_no_entry_explains_is_shown_as_it_is() -> None:
    assert plain_reason("a reason from a newer version", "zh") == [
        "a reason from a newer version"]
    assert remedies("a reason from a newer version") == []
