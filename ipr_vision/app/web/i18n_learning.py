"""The texts of the screens by which the gallery learns (issue 18), in English and Simplified
Chinese: adopting a confirmed inspection as references, asking the app what an unnamed item
is, and choosing a brand's model.

Kept apart from :data:`.i18n.TEXT` as :mod:`.i18n_admin`'s texts are (one file would pass 450
lines), and joined to it there, so :func:`.i18n.t` and the tests see one table.
"""

from __future__ import annotations

LEARNING_TEXT: dict[str, tuple[str, str]] = {
    # Records: a confirmed inspection's photos as references
    "adopt_button": ("Add to the gallery as references", "作为参考照片加入图库"),
    "adopt_yes": ("Yes, add them", "是，加入"),
    "adopt_confirm": ("Add the photos of inspection {id} to the {brand} gallery as **{label}** "
                      "references? Every inspection of the brand is compared with them from now "
                      "on; each keeps a note of this inspection and of who confirmed it.",
                      "将查验 {id} 的照片作为**{label}**参考照片加入 {brand} 图库？此后该品牌的每次"
                      "查验都会与其比对；每张照片都会注明来源查验及确认人。"),
    "adopt_added": ("Added to the gallery: {items}.", "已加入图库：{items}。"),
    "adopt_duplicates": ("Already in the gallery: {items}.", "图库中已有：{items}。"),
    "adopt_failed": ("Refused: {items}.", "未加入：{items}。"),
    "adopt_item": ("{name} (reference #{ref})", "{name}（参考 #{ref}）"),
    "adopt_nothing": ("Nothing was added.", "未加入任何照片。"),
    "adopt_unconfirmed": ("The right holder has not confirmed this inspection yet.",
                          "权利人尚未确认此查验。"),
    "choose_inspection": ("Choose an inspection first.", "请先选择查验记录。"),
    # Inspect: what is this item?
    "identify": ("I don't know the brand: let the app propose one",
                 "不确定品牌：由系统推荐"),
    "identify_title": ("What is this item? The app's proposal, from the first photo:",
                       "这是什么物品？系统根据第一张照片推荐："),
    "identify_line": ("{brand} · {product}: similarity {similarity:.2f}",
                      "{brand} · {product}：相似度 {similarity:.2f}"),
    "identify_used": ("Inspected as the first one. If it is not that brand, choose the brand "
                      "and inspect again.",
                      "已按第一项查验。如果品牌不对，请选择品牌后重新查验。"),
    "brand_proposed": ("Brand proposed by the app from the photo: {brand}",
                       "品牌由系统根据照片推荐：{brand}"),
    # Gallery: the brand's model
    "models_title": ("Model used for this brand", "本品牌使用的模型"),
    "models_show": ("Compare the models", "比较模型"),
    "models_intro": ("How well each installed model tells {brand}'s known fakes from its genuine "
                     "references, each photo group left out, at the brand's operating point "
                     "({flag} of genuine items flagged):",
                     "各已安装模型区分 {brand} 已知假冒品与正品参考照片的能力（逐组留出），"
                     "按本品牌的工作点（{flag} 的正品被标记）："),
    "models_line": ("**{name}**{used}: catches {caught} of the known fakes; separation "
                    "{grade} (AUROC {auroc})",
                    "**{name}**{used}：可识别 {caught} 的已知假冒品；区分度{grade}"
                    "（AUROC {auroc}）"),
    "models_in_use": (" (in use)", "（正在使用）"),
    "models_versus_better": ("Against the model in use, on the {count} references both scored: "
                             "AUROC {auroc} (95 % interval {low} to {high}): **better, beyond "
                             "chance**.",
                             "与正在使用的模型相比（两者均评分的 {count} 张参考照片）："
                             "AUROC {auroc}（95% 区间 {low} 至 {high}）：**更好，超出偶然波动**。"),
    "models_versus_worse": ("Against the model in use, on the {count} references both scored: "
                            "AUROC {auroc} (95 % interval {low} to {high}): worse, beyond "
                            "chance.",
                            "与正在使用的模型相比（两者均评分的 {count} 张参考照片）："
                            "AUROC {auroc}（95% 区间 {low} 至 {high}）：更差，超出偶然波动。"),
    "models_versus_no_clear_difference": (
        "Against the model in use, on the {count} references both scored: AUROC {auroc} (95 % "
        "interval {low} to {high}): no clear difference, the interval holds zero.",
        "与正在使用的模型相比（两者均评分的 {count} 张参考照片）：AUROC {auroc}"
        "（95% 区间 {low} 至 {high}）：无明显差别，区间包含零。"),
    "models_missing": ("**{name}**{used}: no figures yet, {count} references are not embedded "
                       "with it (choosing it embeds them first)",
                       "**{name}**{used}：暂无数据，{count} 张参考照片尚未用其提取特征"
                       "（选择后会先提取）"),
    "models_no_figures": ("**{name}**{used}: no figures: {reason}",
                          "**{name}**{used}：无数据：{reason}"),
    "models_choice": ("Model", "模型"),
    "models_set": ("Use this model", "使用此模型"),
    "models_working": ("Switching to {name}: the brand's references may be embedded with it "
                       "first, which can take a few minutes…",
                       "正在切换到 {name}：可能需要先用其提取本品牌参考照片的特征，"
                       "可能需要几分钟…"),
    "models_done": ("{brand} now uses {name} ({count} references embedded first).",
                    "{brand} 现在使用 {name}（先提取了 {count} 张参考照片的特征）。"),
}
