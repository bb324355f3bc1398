"""Every text the web app shows, in English and Simplified Chinese.

One table, so a translator sees all of it together and a test can check that no key lacks
a language; the admins' screens' part is kept in :mod:`.i18n_admin`, the learning screens'
in :mod:`.i18n_learning` and the errors raised below the web app in :mod:`.i18n_errors` (one
file would pass 450 lines), joined here. ``t("zh", key)`` returns the Chinese text;
placeholders use ``str.format``.
"""

from __future__ import annotations

from .i18n_admin import ADMIN_TEXT
from .i18n_errors import ERROR_TEXT
from .i18n_learning import LEARNING_TEXT

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
    "photos": ("Photos of ONE item: one or several views", "同一件物品的照片：一张或多张（不同角度）"),
    "new_inspection": ("New inspection (next item)", "新的查验（下一件物品）"),
    "item_recorded": ("Inspection **{id}**: {n} photo(s) of one item recorded. More photos of the "
                      "same item: add them and press Inspect again. The next item: New inspection.",
                      "查验 **{id}**：已记录同一件物品的 {n} 张照片。同一物品的更多照片：添加后再次点击查验。"
                      "下一件物品：点击新的查验。"),
    "nothing_new": ("These photos are already part of inspection **{id}**: nothing was recorded "
                    "again.", "这些照片已属于查验 **{id}**：未重复记录。"),
    "item_title": ("This item (inspection {id})", "本件物品（查验 {id}）"),
    "item_counts": ("From {n} photo(s): {counts}.", "依据 {n} 张照片：{counts}。"),
    "item_rule": ("Rule: likely counterfeit when a photo says so and none says genuine; likely "
                  "genuine only when every readable photo says so; otherwise can't tell (photos "
                  "that disagree are for you to look at).",
                  "规则：有照片疑似假冒且没有照片疑似正品时，判定为疑似假冒；所有可读照片均疑似正品时，"
                  "才判定为疑似正品；否则无法判断（结论相互矛盾的照片请人工查看）。"),
    "photo_of": ("Photo {n} of {total}: {name}", "第 {n} / {total} 张：{name}"),
    "unreadable": ("unreadable", "无法读取"),
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
    "operating_point": ("Flags at most {flag} of genuine items; expected to catch {catch} of "
                        "known fakes.", "最多误报 {flag} 的正品；预计可识别 {catch} 的已知假冒。"),
    "inspection_id": ("Inspection **{id}** recorded.", "已记录查验 **{id}**。"),
    "nearest_genuine": ("Nearest genuine references", "最相似的正品参考"),
    "nearest_fake": ("Nearest known fakes", "最相似的已知假冒"),
    "notes": ("Right holder's notes", "权利人备注"),
    "no_notes": ("No notes on these references.", "这些参考照片没有备注。"),
    "where_differs": ("Where the photo differs from genuine references",
                      "与正品参考的差异位置"),
    "aligned": ("Aligned with the nearest genuine reference (left: photo; right: reference; "
                "red boxes: regions that differ)", "与最近正品参考对齐（左：照片；右：参考；红框：差异区域）"),
    "id_points": ("Identification points", "鉴别要点"),
    "point_unplaced": ("{n}. {note}: {reason}", "{n}. {note}：{reason}"),
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
    "col_item": ("item suggestion", "物品建议"),
    "col_decision": ("officer's decision", "执法人员决定"),
    "col_confirmation": ("right holder's confirmation", "权利人确认"),
    "history_title": ("Outcome history of inspection {id}", "查验 {id} 的处理记录"),
    "history_line": ("{at} · {by} ({role}): **{outcome}**", "{at} · {by}（{role}）：**{outcome}**"),
    "history_note": ("note: {note}", "备注：{note}"),
    "no_history": ("No outcome recorded yet.", "尚未记录处理结果。"),
    "role_": ("role not recorded", "未记录角色"),
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
    "removed": ("Reference #{id} removed (kept on record with your reason).",
                "已删除参考 #{id}（连同删除原因留档）。"),
    "remove_reason": ("Why remove it (kept on record)", "删除原因（将留档）"),
    "remove_reason_needed": ("Say why the reference is removed first.", "请先填写删除原因。"),
    "allow_poor": ("Accept photos too small, blurred or dark (recorded)",
                   "接受过小、模糊或过暗的照片（将留档）"),
    "poor_allowed": ("poor quality accepted", "已接受低质量照片"),
    "point_note": ("What to check there", "需核对的内容"),
    "add_point": ("Add identification point", "添加鉴别要点"),
    "point_added": ("Identification point #{id} added.", "已添加鉴别要点 #{id}。"),
    "remove_point": ("Remove point", "删除要点"),
    "point_removed": ("Point removed.", "已删除要点。"),
    "points_list": ("Points on this reference", "该参考上的鉴别要点"),
    "health": ("Product health: how well this gallery tells genuine from fake",
               "产品健康度：该图库区分正品与假冒的能力"),
    "health_button": ("Compute health panel", "计算健康度"),
    "health_counts": ("{genuine} genuine references ({genuine_groups} photo groups), {fake} known "
                      "fakes ({fake_groups} photo groups).",
                      "正品参考 {genuine} 张（{genuine_groups} 组），已知假冒 {fake} 张（{fake_groups} 组）。"),
    "health_catch": ("At the brand's operating point (at most {flag} of genuine items flagged), "
                     "this product flags {flagged} of its genuine references and is expected to "
                     "catch {catch} of its known fakes.",
                     "在品牌工作点（最多误报 {flag} 的正品）下，该产品误报 {flagged} 的正品参考，"
                     "预计可识别 {catch} 的已知假冒。"),
    "health_reason": ("No figures yet: {reason}", "暂无统计：{reason}"),
    "health_skipped": ("{count} references were used to train the model; they are left out of "
                       "these figures and of the calibration.",
                       "{count} 张参考照片曾用于训练模型，未计入以下统计和校准。"),
    "health_trained_moved": ("The calibration includes {count} photos the model was trained "
                             "on, their scores adjusted by the margin measured in testing "
                             "(cross-validation). Photos the model has not seen would make "
                             "these figures surer.",
                             "校准包含 {count} 张模型训练用过的照片，其分数已按测试（交叉验证）"
                             "中测得的差距修正。添加模型未见过的照片可使这些数字更可靠。"),
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
    "quiz_skipped": ("nothing", "未作答"),
    # signed brand packages
    "export_title": ("Signed package for customs", "供海关使用的签名品牌包"),
    "export_help": ("A package holds this brand's references, signed with the brand's key kept "
                    "on this server. Customs galleries that trust the key import it. Leave the "
                    "number empty for the whole brand, or give the number of an earlier package "
                    "to carry only what changed since.",
                    "品牌包包含本品牌的参考照片，并以保存在本服务器上的品牌密钥签名。信任该密钥的海关图库可导入。"
                    "编号留空则导出整个品牌；填写此前某个包的编号则只导出此后的变更。"),
    "export_since": ("Only the changes since package # (optional)", "仅导出自第 # 号包以来的变更（可选）"),
    "export_since_bad": ("A package number is a whole number from 1, such as 3.", "包编号须为从 1 起的整数，例如 3。"),
    "export_button": ("Download signed package", "下载签名包"),
    "export_file": ("Package {brand} #{seq}", "品牌包 {brand} #{seq}"),
    "export_summary": ("Package {brand} #{seq} ({kind}), signed with key {fingerprint}: {refs} "
                       "reference(s), {withdrawn} withdrawn, {size}.",
                       "品牌包 {brand} #{seq}（{kind}），签名密钥 {fingerprint}：{refs} 张参考照片，"
                       "撤回 {withdrawn} 张，{size}。"),
    "kind_full": ("the whole brand", "整个品牌"),
    "kind_since": ("changes since #{since}", "自 #{since} 以来的变更"),
    "kind_delta": ("changes only", "仅变更"),
    "written_table": ("Packages written for this brand", "本品牌已生成的包"),
    "col_kind": ("contents", "内容"),
    "col_key": ("key", "密钥"),
    "col_by": ("by", "操作人"),
    "col_signed_by": ("signed by", "签名人"),
    "col_signed_at": ("signed (UTC)", "签名时间（UTC）"),
    "col_imported_by": ("imported by", "导入人"),
    "col_imported_at": ("imported (UTC)", "导入时间（UTC）"),
    "col_key_name": ("whose key", "密钥所属"),
    "col_trusted_by": ("trusted by", "信任操作人"),
    "col_trusted_at": ("trusted (UTC)", "信任时间（UTC）"),
    "col_state": ("state", "状态"),
    "key_active": ("active", "有效"),
    "key_revoked": ("revoked {at}: {reason}", "已于 {at} 吊销：{reason}"),
    "packages_title": ("Signed brand packages", "签名品牌包"),
    "import_file": ("Signed package from a right holder (.zip)", "权利人提供的签名包（.zip）"),
    "import_button": ("Import package", "导入品牌包"),
    "choose_file": ("Add a package file first.", "请先添加包文件。"),
    "import_applied": ("**Imported** package {brand} #{seq} ({kind}): {added} added, {changed} "
                       "changed, {withdrawn} withdrawn.",
                       "**已导入** 品牌包 {brand} #{seq}（{kind}）：新增 {added} 张，更改 {changed} 张，"
                       "撤回 {withdrawn} 张。"),
    "import_already": ("Package {brand} #{seq} was imported before: nothing changed.",
                       "品牌包 {brand} #{seq} 此前已导入：未作任何更改。"),
    "import_signed": ("Signed with key {fingerprint} by {by} on {at}.", "签名密钥 {fingerprint}，由 {by} 于 {at} 签名。"),
    "import_kept": ("{n} of its photos were references here already and were kept as they are.",
                    "其中 {n} 张照片已是本图库的参考照片，保持不变。"),
    "import_reembedded": ("Its photos were embedded here: the package carried no vectors of this "
                          "gallery's model.", "其照片已在本地计算特征：包内没有本图库模型的特征向量。"),
    "import_refused": ("**Refused**, nothing was changed: {reason}", "**已拒绝**，未作任何更改：{reason}"),
    "keys_table": ("Keys trusted per brand", "各品牌信任的签名密钥"),
    "keys_help": ("A right holder's public key is trusted on the server, after comparing its "
                  "fingerprint with theirs, with `ipr-vision keys trust KEY.pub --brand BRAND`",
                  "权利人的公钥须在服务器上设为信任（先与权利人核对指纹），命令为 "
                  "`ipr-vision keys trust KEY.pub --brand BRAND`"),
    "imported_table": ("Packages imported", "已导入的包"),
    "from_package": ("From signed package {brand} #{seq} (key {fingerprint}), signed by {by} on {at}; "
                     "imported by {imported_by} on {imported_at}.",
                     "来自签名包 {brand} #{seq}（密钥 {fingerprint}），由 {by} 于 {at} 签名；"
                     "由 {imported_by} 于 {imported_at} 导入。"),
    "provenance": ("Where these references came from", "这些参考照片的来源"),
    "origin_refs": ("- **{refs}**: {origin}", "- **{refs}**：{origin}"),
    "login_message": ("Log in with the account your administrator gave you.",
                      "请使用管理员分配的账号登录。"),
    "login": ("Log in", "登录"),
    "login_password": ("Password", "密码"),
    "login_failed": ("Incorrect user name or password.", "用户名或密码错误。"),
    "login_throttled": ("Too many attempts from your address: try again in {seconds} s.",
                        "来自您地址的尝试次数过多：请在 {seconds} 秒后重试。"),
    "login_busy": ("The server is busy checking other logins: try again in a moment.",
                   "服务器正忙于验证其他登录：请稍后重试。"),
    # officer screens (issue 16)
    "inspecting": ("Inspecting…", "正在查验…"),
    "why_cant_tell": ("Why the app can't tell", "无法判断的原因"),
    "settle": ("What would settle it", "如何得出结论"),
    "p_withheld": ("No chance of counterfeit is shown: this photo does not support a confident "
                   "answer either way.", "不显示假冒可能性：该照片不足以得出任何可靠结论。"),
    "product_used": ("Compared with product: {product}", "比对产品：{product}"),
    "product_proposed": ("{product}, proposed by the app (also close: {others})",
                         "{product}（系统推荐；其他接近的产品：{others}）"),
    "product_proposed_short": ("{product} (proposed)", "{product}（系统推荐）"),
    "your_photo": ("Your photo", "您的照片"),
    "compare_genuine": ("Nearest genuine: #{ref}, similarity {similarity:.2f}",
                        "最相似的正品：#{ref}，相似度 {similarity:.2f}"),
    "compare_fake": ("Nearest known fake: #{ref}, similarity {similarity:.2f}",
                     "最相似的已知假冒：#{ref}，相似度 {similarity:.2f}"),
    "compare_none_genuine": ("No genuine reference of this product to compare with.",
                             "该产品没有可比较的正品参考。"),
    "compare_none_fake": ("No known fake of this product to compare with.",
                          "该产品没有可比较的已知假冒。"),
    "reference_caption": ("#{ref} {label}, similarity {similarity:.2f}",
                          "#{ref} {label}，相似度 {similarity:.2f}"),
    "aligned_hidden": ("No aligned view: {reason}", "无对齐视图：{reason}"),
    "aligned_none": ("No aligned view: no genuine reference photo could be read.",
                     "无对齐视图：无法读取正品参考照片。"),
    "points_none": ("No identification points: the right holder has marked none on the nearest "
                    "genuine references.", "无鉴别要点：权利人尚未在最相似的正品参考上标注鉴别要点。"),
    "points_unplaced": ("The identification points could not be placed on this photo: {reason}",
                        "鉴别要点无法标注在该照片上：{reason}"),
    "point_found": ("{n}. {note}: similarity with the same region of the genuine reference "
                    "{similarity:.2f} (1 = the same)",
                    "{n}. {note}：与正品参考同一区域的相似度 {similarity:.2f}（1 = 完全相同）"),
    "explain_failed": ("Where the photo differs cannot be shown: {reason}",
                       "无法显示差异位置：{reason}"),
    "photo_unreadable": ("This photo could not be read: {reason}", "无法读取该照片：{reason}"),
    # right holders, trainers, admins (issue 16)
    "confirm_yes": ("Yes, remove", "是，删除"),
    "confirm_no": ("Cancel", "取消"),
    "product_name_needed": ("Type the new product's name first.", "请先输入新产品名称。"),
    "operating_current": ("Brand {brand} flags at most {flag} of genuine items; every product "
                          "of the brand is judged at this point.",
                          "品牌 {brand} 最多误报 {flag} 的正品；该品牌的所有产品均按此工作点判断。"),
    "health_separation": ("How well known fakes stand apart from genuine references: **{grade}** "
                          "<small>(AUROC {auroc}, 95 % interval {low} to {high} over these "
                          "photos; 1.0 is perfect, 0.5 is guessing)</small>",
                          "已知假冒与正品参考的区分程度：**{grade}** "
                          "<small>（AUROC {auroc}，基于这些照片的 95% 区间 {low} 至 {high}；"
                          "1.0 为完美，0.5 为随机猜测）</small>"),
    "health_no_separation": ("How well known fakes stand apart: not known yet (it needs both "
                             "genuine references and known fakes).",
                             "已知假冒的区分程度：尚不可知（需要同时有正品参考和已知假冒）。"),
    "health_calibration": ("Whether the chance of counterfeit can be taken at its word "
                           "(calibration): **{grade}** <small>(calibration error {ece}; 0 is "
                           "perfect)</small>",
                           "给出的假冒可能性是否可信（校准）：**{grade}** "
                           "<small>（校准误差 {ece}；0 为完美）</small>"),
    "health_no_calibration": ("Calibration: not available (too few known fakes to calibrate on).",
                              "校准：暂无（已知假冒太少，无法校准）。"),
    "grade_strong": ("strong", "强"),
    "grade_fair": ("fair", "一般"),
    "grade_weak": ("weak: add more genuine and fake photos", "弱：请添加更多正品和假冒照片"),
    "grade_good": ("good", "良好"),
    "grade_poor": ("poor: add more known fakes", "差：请添加更多已知假冒"),
    "photo_size": ("Photo: {width} by {height} pixels. To mark an identification point, click "
                   "two opposite corners of its box on the photo.",
                   "照片：宽 {width}、高 {height} 像素。标注鉴别要点：在照片上点击框的两个对角。"),
    "box_hint": ("No box drawn yet.", "尚未画框。"),
    "box_first": ("First corner at ({x}, {y}): now click the opposite corner.",
                  "第一个角位于 ({x}, {y})：请点击对角。"),
    "box_drawn": ("Box from ({x0}, {y0}) to ({x1}, {y1}): {width} by {height} pixels. Say what to "
                  "check there, then add the point.",
                  "框从 ({x0}, {y0}) 到 ({x1}, {y1})：宽 {width}、高 {height} 像素。请填写需核对的内容，"
                  "然后添加要点。"),
    "box_needed": ("Draw the box first: click two opposite corners on the photo.",
                   "请先画框：在照片上点击两个对角。"),
    "point_choose": ("Choose a point in the list first.", "请先在列表中选择要点。"),
    "point_gone": ("That point is no longer there.", "该要点已不存在。"),
    "point_confirm": ("Remove identification point {n} ({note})?", "删除鉴别要点 {n}（{note}）？"),
    "ref_confirm": ("Remove reference #{id}? It is no longer used from now on, and stays on record "
                    "with your reason: {reason}",
                    "删除参考 #{id}？此后不再使用，并连同删除原因留档：{reason}"),
    "quiz_help": ("Photos listed in the side-by-side view are left out of your quizzes, and the "
                  "view is hidden while a quiz runs.",
                  "并排对比中列出的照片不会出现在您的测验中；测验进行时将隐藏并排对比。"),
    "quiz_over": ("Quiz over: your answers are below. Start another quiz when you like.",
                  "测验结束：答案见下方。可随时开始新的测验。"),
    "quiz_marked_right": ("Right: #{id} is {label}.", "正确：#{id} 为{label}。"),
    "quiz_marked_wrong": ("Wrong: #{id} is {label}.", "错误：#{id} 为{label}。"),
    "quiz_right_answers": ("Right answers", "答对的照片"),
    "quiz_wrong_answers": ("Wrong answers", "答错的照片"),
}


TEXT.update(ADMIN_TEXT)
TEXT.update(LEARNING_TEXT)
TEXT.update(ERROR_TEXT)


def t(lang: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``lang`` ("en" or "zh"), with ``values`` filled in."""
    en, zh = TEXT[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def both(key: str, **values: object) -> str:
    """English and Chinese together, for places shown before a language is chosen."""
    return f"{t('en', key, **values)} / {t('zh', key, **values)}"
