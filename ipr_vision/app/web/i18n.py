"""Every text the web app shows, in English and Simplified Chinese.

One table, so a translator sees all of it in one file and a test can check that no key lacks
a language. ``t("zh", key)`` returns the Chinese text; placeholders use ``str.format``.
"""

from __future__ import annotations

LANGUAGES = (("English", "en"), ("中文", "zh"))

TEXT: dict[str, tuple[str, str]] = {
    # frame
    "title": ("## ipr-vision: genuine or counterfeit?\nA suggestion from the right holder's "
              "reference photos", "## ipr-vision：正品还是假冒？\n基于权利人参考照片的建议"),
    "disclaimer": ("ipr-vision suggests; the officer and the right holder decide. A suggestion "
                   "is not a legal determination.",
                   "ipr-vision 仅提供建议，由执法人员和权利人作出决定。建议不构成法律认定。"),
    "language": ("Language", "语言"),
    "signed_in": ("Signed in as **{name}** ({role}).", "当前用户：**{name}**（{role}）。"),
    "logout": ("Log out", "退出登录"),
    "role_officer": ("officer", "执法人员"),
    "role_right_holder": ("right holder", "权利人"),
    "role_trainer": ("trainer", "培训师"),
    "role_admin": ("admin", "管理员"),
    "tab_inspect": ("Inspect", "查验"),
    "tab_records": ("Inspection records", "查验记录"),
    "tab_gallery": ("Gallery", "参考图库"),
    "tab_workshop": ("Workshop", "培训"),
    "tab_users": ("Users and brands", "用户与品牌"),
    "brand": ("Brand", "品牌"),
    "product": ("Product", "产品"),
    "propose": ("Let the app propose the product", "由系统推荐产品"),
    "denied": ("Not allowed: {detail}", "无权操作：{detail}"),
    "failed": ("Could not do that: {detail}", "操作未完成：{detail}"),
    "genuine": ("genuine", "正品"),
    "fake": ("fake", "假冒"),
    # inspect
    "photos": ("Photos: one or several", "照片：一张或多张"),
    "camera": ("Or take a photo with the camera", "或用摄像头拍照"),
    "inspect_button": ("Inspect", "查验"),
    "verdict_counterfeit": ("LIKELY COUNTERFEIT", "疑似假冒"),
    "verdict_genuine": ("LIKELY GENUINE", "疑似正品"),
    "verdict_inconclusive": ("CAN'T TELL", "无法判断"),
    "verdict_hint_inconclusive": ("The photo does not give a confident answer. Check the "
                                  "identification points by hand or ask the right holder.",
                                  "该照片无法给出可靠结论。请人工核对鉴别要点或联系权利人。"),
    "p_counterfeit": ("Chance of counterfeit: {p}", "假冒可能性：{p}"),
    "p_uncalibrated": ("(a rank among genuine references: no known fakes to calibrate on)",
                       "（仅为与正品参考的相对排名：无已知假冒样本可供校准）"),
    "no_score": ("No score could be given.", "无法给出评分。"),
    "why": ("Why", "原因"),
    "product_line": ("Product: {product}", "产品：{product}"),
    "proposed": ("proposed by the app; also close: {others}", "系统推荐；其他接近的产品：{others}"),
    "operating_point": ("Flags at most {flag} of genuine items; expected to catch {catch} of "
                        "known fakes.", "最多误报 {flag} 的正品；预计可识别 {catch} 的已知假冒。"),
    "inspection_id": ("Inspection **{id}** recorded.", "已记录查验 **{id}**。"),
    "nearest_genuine": ("Nearest genuine references", "最相似的正品参考"),
    "nearest_fake": ("Nearest known fakes", "最相似的已知假冒"),
    "notes": ("Right holder's notes", "权利人备注"),
    "no_notes": ("No notes on these references.", "这些参考照片没有备注。"),
    "where_differs": ("Where the photo differs from genuine references",
                      "与正品参考的差异位置"),
    "heat_caption": ("Novelty {novelty:.2f}: 0 is as consistent as a typical genuine photo, 1 "
                     "beyond nearly all {n} genuine references. Red-yellow regions are unlike any "
                     "genuine reference (they may also be hands or background).",
                     "新颖度 {novelty:.2f}：0 表示与典型正品一致，1 表示超出几乎全部 {n} 张正品参考。"
                     "红黄色区域与所有正品参考均不相似（也可能是手或背景）。"),
    "aligned": ("Aligned with the nearest genuine reference (left: photo; right: reference; "
                "red boxes: regions that differ)", "与最近正品参考对齐（左：照片；右：参考；红框：差异区域）"),
    "not_aligned": ("No reliable alignment: {reason}", "无法可靠对齐：{reason}"),
    "id_points": ("Identification points", "鉴别要点"),
    "point_line": ("{n}. {note}: similarity {similarity:.2f}, heat {heat:.2f}",
                   "{n}. {note}：相似度 {similarity:.2f}，差异热度 {heat:.2f}"),
    "point_unplaced": ("{n}. {note}: {reason}", "{n}. {note}：{reason}"),
    "no_explanation": ("No heat map: {reason}", "无差异热图：{reason}"),
    "quality_failed": ("Photo quality: {hints}", "照片质量：{hints}"),
    "evidence_button": ("Evidence pack (PDF + JSON, zip)", "证据包（PDF + JSON，zip）"),
    "evidence_file": ("Evidence pack", "证据包"),
    "batch_table": ("All photos of this inspection", "本次查验的全部照片"),
    "batch_csv": ("Results as CSV", "结果 CSV"),
    "show_photo": ("Show details of photo", "显示照片详情"),
    "col_photo": ("photo", "照片"),
    "col_verdict": ("suggestion", "建议"),
    "col_p": ("chance of counterfeit", "假冒可能性"),
    "col_product": ("product", "产品"),
    "col_reason": ("why / error", "原因 / 错误"),
    "progress": ("Inspecting photo {done} of {total}", "正在查验第 {done} / {total} 张"),
    "no_photo": ("Add a photo first.", "请先添加照片。"),
    "choose_brand": ("Choose a brand first.", "请先选择品牌。"),
    # records
    "refresh": ("Refresh", "刷新"),
    "records_table": ("Inspections you may see (newest first)", "您可查看的查验记录（最新在前）"),
    "col_id": ("inspection", "查验编号"),
    "col_time": ("time (UTC)", "时间（UTC）"),
    "col_officer": ("officer", "执法人员"),
    "col_brand": ("brand", "品牌"),
    "col_photos": ("photos", "照片数"),
    "col_verdicts": ("suggestions", "建议"),
    "col_outcome": ("outcome", "结果"),
    "outcome_id": ("Inspection", "查验编号"),
    "outcome": ("Outcome", "处理结果"),
    "outcome_seized": ("seized", "已扣留"),
    "outcome_released": ("released", "已放行"),
    "outcome_confirmed_fake": ("confirmed counterfeit by right holder", "权利人确认为假冒"),
    "outcome_confirmed_genuine": ("confirmed genuine by right holder", "权利人确认为正品"),
    "outcome_note": ("Note (optional)", "备注（可选）"),
    "outcome_save": ("Record outcome", "记录处理结果"),
    "outcome_saved": ("Outcome of {id} recorded: {outcome}.", "已记录 {id} 的处理结果：{outcome}。"),
    "records_csv": ("Records as CSV", "记录 CSV"),
    # gallery
    "new_product": ("New product name", "新产品名称"),
    "create_product": ("Create product", "创建产品"),
    "product_created": ("Product {product} created.", "已创建产品 {product}。"),
    "upload_files": ("Photos or zip files of photos", "照片或照片压缩包（zip）"),
    "label": ("These photos show", "这些照片为"),
    "upload_button": ("Add to gallery", "添加到图库"),
    "upload_summary": ("Added {added}, duplicates {duplicates}, not added {failed}.",
                       "已添加 {added} 张，重复 {duplicates} 张，未添加 {failed} 张。"),
    "col_file": ("file", "文件"),
    "col_result": ("result", "结果"),
    "col_detail": ("reference or reason", "参考编号或原因"),
    "result_added": ("added", "已添加"),
    "result_duplicate": ("duplicate", "重复"),
    "result_failed": ("not added", "未添加"),
    "result_skipped": ("skipped", "已跳过"),
    "dup_detail": ("same photo as reference #{ref}", "与参考 #{ref} 为同一照片"),
    "dup_in_upload": ("the same photo twice in this upload", "本次上传中重复出现"),
    "show_label": ("Show", "显示"),
    "all": ("all", "全部"),
    "grid": ("References (click one to select it)", "参考照片（点击选择）"),
    "selected": ("Selected reference", "已选参考"),
    "selected_none": ("Click a reference in the grid.", "请在上方网格中点击一张参考照片。"),
    "selected_info": ("Reference #{id}: {label}, {product}, added by {by} on {at}. File: {name}",
                      "参考 #{id}：{label}，{product}，由 {by} 于 {at} 添加。文件：{name}"),
    "note": ("Note on this reference (identification points, provenance)",
             "该参考的备注（鉴别要点、来源）"),
    "save_note": ("Save note", "保存备注"),
    "note_saved": ("Note saved.", "备注已保存。"),
    "remove_ref": ("Remove this reference", "删除该参考"),
    "removed": ("Reference #{id} removed.", "已删除参考 #{id}。"),
    "point_box": ("Identification point box in pixels: left, top, right, bottom",
                  "鉴别要点框（像素）：左、上、右、下"),
    "point_note": ("What to check there", "需核对的内容"),
    "add_point": ("Add identification point", "添加鉴别要点"),
    "point_added": ("Identification point #{id} added.", "已添加鉴别要点 #{id}。"),
    "point_id": ("Point number to remove", "要删除的要点编号"),
    "remove_point": ("Remove point", "删除要点"),
    "point_removed": ("Point removed.", "已删除要点。"),
    "points_list": ("Points on this reference", "该参考上的鉴别要点"),
    "no_points": ("No identification points yet.", "尚无鉴别要点。"),
    "health": ("Product health: how well this gallery tells genuine from fake",
               "产品健康度：该图库区分正品与假冒的能力"),
    "health_button": ("Compute health panel", "计算健康度"),
    "health_counts": ("{genuine} genuine references ({genuine_groups} photo groups), {fake} known "
                      "fakes ({fake_groups} photo groups).",
                      "正品参考 {genuine} 张（{genuine_groups} 组），已知假冒 {fake} 张（{fake_groups} 组）。"),
    "health_auroc": ("Separation (AUROC, each photo group left out in turn): {auroc}. 1.0 is "
                     "perfect, 0.5 is chance.", "区分度（AUROC，逐组留出）：{auroc}。1.0 为完美，0.5 为随机。"),
    "health_ece": ("Calibration error (ECE): {ece}.", "校准误差（ECE）：{ece}。"),
    "health_catch": ("At the brand's operating point (at most {flag} of genuine items flagged), "
                     "this product flags {flagged} of its genuine references and is expected to "
                     "catch {catch} of its known fakes.",
                     "在品牌工作点（最多误报 {flag} 的正品）下，该产品误报 {flagged} 的正品参考，"
                     "预计可识别 {catch} 的已知假冒。"),
    "health_reason": ("No figures yet: {reason}", "暂无统计：{reason}"),
    "health_skipped": ("{count} references were used to train the model; they are left out of "
                       "these figures and of the calibration.",
                       "{count} 张参考照片曾用于训练模型，未计入以下统计和校准。"),
    "health_trained": ("Caution: the calibration includes {count} photos the model was trained "
                       "on, so more genuine items will be flagged than shown. Add photos the "
                       "model has not seen.",
                       "注意：校准包含 {count} 张模型训练用过的照片，实际误报的正品会多于此处所示。"
                       "请添加模型未见过的照片。"),
    "operating_slider": ("Operating point: flag at most this share of genuine items (%)",
                         "工作点：最多误报的正品比例（%）"),
    "set_operating": ("Set operating point for the brand", "设置品牌工作点"),
    "operating_set": ("Operating point set to {flag}.", "工作点已设置为 {flag}。"),
    # workshop
    "compare": ("Side by side", "并排对比"),
    "pairs": ("Most confusable genuine / fake pairs", "最易混淆的正品 / 假冒对"),
    "pair_choice": ("#{g} genuine vs #{f} fake (similarity {s:.2f})",
                    "正品 #{g} 对 假冒 #{f}（相似度 {s:.2f}）"),
    "load_pairs": ("Find pairs", "查找对比组"),
    "left_genuine": ("Genuine", "正品"),
    "right_fake": ("Fake", "假冒"),
    "no_pairs": ("This product needs genuine and fake references for a comparison.",
                 "该产品需同时有正品与假冒参考才能对比。"),
    "quiz": ("Spot-the-fake quiz", "识假测验"),
    "quiz_size": ("Number of photos", "照片数量"),
    "quiz_start": ("Start quiz", "开始测验"),
    "quiz_question": ("Photo {n} of {total}: genuine or fake?", "第 {n} / {total} 张：正品还是假冒？"),
    "answer_genuine": ("Genuine", "正品"),
    "answer_fake": ("Fake", "假冒"),
    "quiz_score": ("Score: {score} of {total}.", "得分：{score} / {total}。"),
    "quiz_answer": ("#{id}: you said {answer}, it is {label}. {note}",
                    "#{id}：您的回答为{answer}，正确答案为{label}。{note}"),
    "quiz_right": ("right", "正确"),
    "quiz_wrong": ("wrong", "错误"),
    "quiz_skipped": ("nothing", "未作答"),
    "quiz_results": ("Answers and references", "答案与参考"),
    "quiz_idle": ("Choose a brand and start a quiz.", "请选择品牌并开始测验。"),
    # users
    "users_table": ("Users", "用户"),
    "user_name": ("User name", "用户名"),
    "user_role": ("Role", "角色"),
    "user_brands": ("Brands (right holders only)", "品牌（仅权利人）"),
    "user_password": ("Password (at least 10 characters)", "密码（至少 10 个字符）"),
    "add_user": ("Add user", "添加用户"),
    "user_added": ("User {name} added.", "已添加用户 {name}。"),
    "remove_user": ("Remove user", "删除用户"),
    "user_removed": ("User {name} removed.", "已删除用户 {name}。"),
    "user_missing": ("No user {name}.", "无用户 {name}。"),
    "new_brand": ("New brand name", "新品牌名称"),
    "create_brand": ("Create brand", "创建品牌"),
    "brand_created": ("Brand {brand} created.", "已创建品牌 {brand}。"),
    "col_name": ("name", "用户名"),
    "col_role": ("role", "角色"),
    "col_brands": ("brands", "品牌"),
    "col_created": ("created (UTC)", "创建时间（UTC）"),
    "login_message": ("Log in with the account your administrator gave you.",
                      "请使用管理员分配的账号登录。"),
}


def t(lang: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``lang`` ("en" or "zh"), with ``values`` filled in."""
    en, zh = TEXT[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def both(key: str, **values: object) -> str:
    """English and Chinese together, for places shown before a language is chosen."""
    return f"{t('en', key, **values)} / {t('zh', key, **values)}"
