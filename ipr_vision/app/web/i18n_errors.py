"""The errors raised below the web app, in English and Simplified Chinese.

An :class:`~ipr_vision.errors.IprVisionError` a web user can cause carries one of these keys
and the values that fill it (:func:`.common.detail` says it); the English text is the error's
own message word for word, so the command line and the page say the same. Kept apart from
:data:`.i18n.TEXT` as :mod:`.i18n_admin`'s texts are (one file would pass 450 lines), and
joined to it there, so :func:`.i18n.t` and the tests see one table.
"""

from __future__ import annotations

ERROR_TEXT: dict[str, tuple[str, str]] = {
    # how a refusal is put together
    "error.photo": ("{source}: {reason}", "{source}：{reason}"),
    "error.none_yet": ("none yet", "尚无"),
    "word_brand": ("brand", "品牌"),
    "word_product": ("product", "产品"),
    "word_role": ("role", "角色"),
    "word_outcome": ("outcome", "结果"),
    # who may do what
    "error.log_in_again": ("please log in again", "请重新登录"),
    "error.may_not_inspect": ("{user} may not inspect {brand!r}", "{user} 无权查验 {brand!r}"),
    "error.may_not_record": ("{user} may not record {outcome!r} for inspection {id}",
                             "{user} 无权为查验 {id} 记录「{outcome}」"),
    "error.may_not_see_inspection": ("{user} may not see inspection {id}",
                                     "{user} 无权查看查验 {id}"),
    "error.no_access": ("{user} has no access to brand {brand!r}", "{user} 无权访问品牌 {brand!r}"),
    "error.may_not_change": ("{user} may not change brand {brand!r}",
                             "{user} 无权更改品牌 {brand!r}"),
    "error.may_not_workshop": ("{user} may not run a workshop on brand {brand!r}",
                               "{user} 无权在品牌 {brand!r} 上开展培训"),
    "error.may_not_adopt": ("{user} may not add references to brand {brand!r}",
                            "{user} 无权向品牌 {brand!r} 添加参考照片"),
    "error.may_not_compare": ("{user} may not compare models on brand {brand!r}",
                              "{user} 无权比较品牌 {brand!r} 的模型"),
    "error.may_not_export": ("{user} may not export packages of brand {brand!r}",
                             "{user} 无权导出品牌 {brand!r} 的数据包"),
    "error.may_not_see_keys": ("{user} may not see the signing keys of brand {brand!r}",
                               "{user} 无权查看品牌 {brand!r} 的签名密钥"),
    "error.may_not_see_any_keys": ("{user} may not see the signing keys of any brand",
                                   "{user} 无权查看任何品牌的签名密钥"),
    "error.may_not_see_packages": ("{user} may not see the packages of brand {brand!r}",
                                   "{user} 无权查看品牌 {brand!r} 的数据包"),
    "error.reference_unseen": ("no reference #{ref} that {user} may see",
                               "没有 {user} 可查看的参考 #{ref}"),
    "error.admin_brands": ("only an admin creates brands", "只有管理员可以创建品牌"),
    "error.admin_users": ("only an admin manages users and brands", "只有管理员可以管理用户和品牌"),
    "error.admin_imports": ("only an admin imports brand packages", "只有管理员可以导入品牌数据包"),
    # inspecting
    "error.no_photos": ("no photos to inspect", "没有要查验的照片"),
    "error.brand_empty": ("brand {brand} has no reference photos yet, so a photo cannot be "
                          "compared with anything; nothing was recorded",
                          "品牌 {brand} 尚无参考照片，照片无从比对；未作任何记录"),
    "error.no_brand_to_identify": ("no brand you may inspect has reference photos yet",
                                   "您可查验的品牌都还没有参考照片"),
    "error.not_your_inspection": ("inspection {id} is of {brand} by {officer}: start a new "
                                  "inspection",
                                  "查验 {id} 是 {officer} 对 {brand} 的查验：请开始新的查验"),
    "error.not_of_inspection": ("{photo} is not a photo of inspection {id}",
                                "{photo} 不是查验 {id} 的照片"),
    "error.no_inspection": ("no inspection {id!r}", "没有查验记录 {id!r}"),
    "error.quiz_needs_both": ("a quiz needs genuine and fake reference photos; this gallery has "
                              "{genuine} genuine and {fake} fake photo groups",
                              "测验需要正品和假冒参考照片；本图库有 {genuine} 组正品照片和 "
                              "{fake} 组假冒照片"),
    "error.quiz_photos_gone": ("some quiz photos were removed from the gallery meanwhile",
                               "部分测验照片已在此期间从图库中删除"),
    # the gallery
    "error.unknown_brand": ("unknown brand {brand!r} (brands in this gallery: {known})",
                            "未知品牌 {brand!r}（本图库的品牌：{known}）"),
    "error.unknown_value": ("unknown {what} {value!r} ({what}s: {accepted})",
                            "未知的{what} {value!r}（可选的{what}：{accepted}）"),
    "error.bad_label": ("label must be genuine or fake, not {value!r}",
                        "标签只能是正品（genuine）或假冒（fake），不能是 {value!r}"),
    "error.name_empty": ("a {what} needs a name", "{what}需要名称"),
    "error.name_long": ("{what} name {name!r}...: at most {most} characters",
                        "{what}名称 {name!r}...：最多 {most} 个字符"),
    "error.name_control": ("{what} name {name!r}: no line breaks, tabs or other control "
                           "characters", "{what}名称 {name!r}：不能含换行符、制表符或其他控制字符"),
    "error.name_path": ("{what} name {name!r}: no '/' or '\\', and not '.' or '..'",
                        "{what}名称 {name!r}：不能含 '/' 或 '\\'，也不能是 '.' 或 '..'"),
    "error.no_product": ("brand {brand!r} has no product {product!r}",
                         "品牌 {brand!r} 没有产品 {product!r}"),
    "error.no_product_of": ("brand {brand!r} has no product {product!r} (products: {known})",
                            "品牌 {brand!r} 没有产品 {product!r}（现有产品：{known}）"),
    "error.create_product_first": ("brand {brand!r} has no product {product!r}; create it first",
                                   "品牌 {brand!r} 没有产品 {product!r}；请先创建该产品"),
    "error.no_reference": ("no reference with id {ref}", "没有编号为 {ref} 的参考照片"),
    "error.brand_holds_references": ("brand {brand!r} still holds references",
                                     "品牌 {brand!r} 仍有参考照片"),
    "error.brand_in_packages": ("brand {brand!r} is named in signed-package records (keys or "
                                "packages), which must keep it",
                                "品牌 {brand!r} 出现在签名数据包的记录（密钥或数据包）中，"
                                "这些记录必须保留该品牌"),
    "error.brand_reason": ("say why the brand is removed", "请说明删除该品牌的原因"),
    "error.brand_has_holders": ("right holders {holders} are assigned to brand {brand}; change "
                                "their brands first",
                                "权利人 {holders} 仍被分配到品牌 {brand}；请先更改他们的品牌"),
    "error.share_range": ("the share of genuine items flagged must be between 0 and 0.5 (e.g. "
                          "0.01 for 1 %)",
                          "被标记的正品比例必须介于 0 和 0.5 之间（例如 0.01 表示 1 %）"),
    "error.point_outside": ("an identification point's box must lie inside the photo",
                            "鉴别要点的框必须位于照片之内"),
    "error.point_note": ("an identification point needs a note saying what to check",
                         "鉴别要点需要一条说明，写明需核对的内容"),
    "error.no_model": ("no installed model {model!r} (installed: {installed})",
                       "未安装模型 {model!r}（已安装：{installed}）"),
    "error.not_folder": ("{folder} is not a folder", "{folder} 不是文件夹"),
    "error.no_photos_in": ("no photos found in {folder} (expected "
                           "<product>/<genuine|fake>/<photos>)",
                           "在 {folder} 中未找到照片（应为 <产品>/<genuine|fake>/<照片>）"),
    "error.adopt_unconfirmed": ("inspection {id} has no confirmation by the right holder yet; "
                                "confirm it fake or genuine first",
                                "查验 {id} 尚未经权利人确认；请先确认其为假冒或正品"),
    "error.adopt_nothing": ("inspection {id} has no photo that was read and judged as a "
                            "product, so there is nothing to add",
                            "查验 {id} 没有已读取并按产品判断过的照片，因此没有可加入的内容"),
    # users
    "error.no_gallery": ("no gallery folder at {location}", "{location} 处没有图库文件夹"),
    "error.no_user": ("no user named {name!r}", "没有名为 {name!r} 的用户"),
    "error.user_exists": ("a user named {name!r} already exists", "名为 {name!r} 的用户已存在"),
    "error.user_name": ("user name {name!r}: use 1-64 letters, digits, '_', '.', '@' or '-', "
                        "starting with a letter or digit",
                        "用户名 {name!r}：请使用 1-64 个字母、数字、'_'、'.'、'@' 或 '-'，"
                        "并以字母或数字开头"),
    "error.holder_needs_brand": ("a right holder needs at least one brand",
                                 "权利人至少需要一个品牌"),
    "error.only_holders_brands": ("only right holders are assigned brands; a {role} sees all "
                                  "brands", "只有权利人才分配品牌；{role}可查看所有品牌"),
    "error.password_short": ("the password needs at least {least} characters",
                             "密码至少需要 {least} 个字符"),
    "error.remove_self": ("an admin cannot remove their own account", "管理员不能删除自己的账户"),
    "error.change_own_role": ("an admin cannot change their own role", "管理员不能更改自己的角色"),
    # photos (the reason alone: "error.photo" puts the file's name before it)
    "error.photo_bytes": ("file is {size} bytes; the limit is {most} bytes",
                          "文件大小为 {size} 字节，上限为 {most} 字节"),
    "error.photo_not_file": ("not a file", "不是文件"),
    "error.photo_missing": ("file not found", "找不到文件"),
    "error.photo_permission": ("permission denied", "无权读取该文件"),
    "error.photo_unreadable": ("cannot be read ({detail})", "无法读取（{detail}）"),
    "error.photo_empty": ("file is empty (0 bytes)", "文件为空（0 字节）"),
    "error.photo_bomb": ("image dimensions are too large (decompression bomb?)",
                         "图像尺寸过大（可能是解压炸弹）"),
    "error.photo_not_image": ("not an image, or an unsupported format (accepted: {accepted})",
                              "不是图像，或格式不受支持（支持的格式：{accepted}）"),
    "error.photo_header": ("corrupt image header ({detail})", "图像文件头已损坏（{detail}）"),
    "error.photo_format": ("unsupported format {format} (accepted: {accepted})",
                           "不支持的格式 {format}（支持的格式：{accepted}）"),
    "error.photo_no_pixels": ("image has no pixels", "图像没有像素"),
    "error.photo_pixels": ("image is {width}x{height} pixels; the limit is {most} pixels",
                           "图像为 {width}x{height} 像素，上限为 {most} 像素"),
    "error.photo_corrupt": ("truncated or corrupt image data ({detail})",
                            "图像数据不完整或已损坏（{detail}）"),
    "error.photo_memory": ("image too large to decode in memory", "图像过大，无法在内存中解码"),
    # why an uploaded file was left out (the reason alone: the upload's report names the file)
    "error.upload_type": ("not a photo or zip file ({suffix})", "不是照片或 zip 文件（{suffix}）"),
    "error.upload_untyped": ("not a photo or zip file (no type)",
                             "不是照片或 zip 文件（没有文件扩展名）"),
    "error.upload_too_large": ("the upload would unpack to more than {size} in all",
                               "本次上传解压后总计将超过 {size}"),
    "error.zip_members": ("{count} files; at most {most} per zip file",
                          "含 {count} 个文件；每个 zip 文件最多 {most} 个"),
    "error.zip_too_large": ("more than 4 GB once unpacked", "解压后超过 4 GB"),
    "error.zip_unreadable": ("not a readable zip file ({detail})",
                             "不是可读取的 zip 文件（{detail}）"),
    "error.zip_metadata": ("archiver metadata, not a photo", "压缩软件生成的元数据，不是照片"),
    "error.hidden_file": ("a hidden file", "隐藏文件"),
    "error.not_photo_type": ("not a photo file type", "不是照片文件类型"),
    "error.member_too_large": ("larger than {most} MB", "大于 {most} MB"),
    "error.zip_bomb": ("claims to unpack {ratio} times larger, which no photo does (a zip bomb?)",
                       "声称解压后会增大 {ratio} 倍，照片不会如此（可能是 zip 炸弹）"),
    "error.member_unreadable": ("cannot be unpacked ({detail})", "无法解压（{detail}）"),
    # {hints}: the quality gate's hints, said in the reader's language (common._value); on the
    # page the way to add it anyway is the upload's checkbox, on the command line its flag
    "error.poor_reference": ("poor quality for a reference: {hints}",
                             "质量太差，不宜作为参考照片：{hints}"),
    "error.poor_reference_refused": ("poor quality for a reference: {hints} (to add it anyway: "
                                     "tick “Accept photos too small, blurred or dark”; it is "
                                     "then recorded in the audit trail)",
                                     "质量太差，不宜作为参考照片：{hints}（如仍要添加：勾选"
                                     "“接受过小、模糊或过暗的照片”，添加将记入审计记录）"),
    # signed packages
    "error.no_signing_key": ("no signing key for brand {brand!r} on this server: the "
                             "administrator puts it in the folder given to `ipr-vision serve "
                             "--signing-keys` as {brand}.key",
                             "本服务器没有品牌 {brand!r} 的签名密钥：请管理员将其命名为 "
                             "{brand}.key，"
                             "放入 `ipr-vision serve --signing-keys` 指定的文件夹"),
    "error.no_delta_base": ("no package {brand} #{since} to take a delta from (packages "
                            "written: {made})",
                            "没有可作为增量基础的数据包 {brand} #{since}"
                            "（已写出的数据包：{made}）"),
    "error.reference_file_missing": ("reference #{ref}'s photo file is missing ({path})",
                                     "参考 #{ref} 的照片文件缺失（{path}）"),
    "error.no_embedding": ("reference #{ref} has no embedding; export again without embeddings "
                           "or re-embed the gallery",
                           "参考 #{ref} 没有特征向量；请不带特征向量重新导出，"
                           "或为图库重新计算特征向量"),
    "error.photo_damaged": ("{path} no longer matches its sha256: the gallery's photo was "
                            "damaged; nothing was exported",
                            "{path} 与其 sha256 不再相符：图库中的照片已损坏；未导出任何内容"),
    "error.package_written_meanwhile": ("package {brand} #{sequence} was written by another "
                                        "process meanwhile; export again",
                                        "数据包 {brand} #{sequence} 已在此期间由另一进程写出；"
                                        "请重新导出"),
    "error.package_unreadable": ("{name} is not a readable package ({detail})",
                                 "{name} 不是可读取的数据包（{detail}）"),
    "error.package_unsigned": ("the package has no {member} (not a signed package)",
                               "数据包中没有 {member}（不是签名数据包）"),
    "error.package_brand": ("the package is for brand {brand!r}, not {expected!r}",
                            "该数据包属于品牌 {brand!r}，而不是 {expected!r}"),
    "error.key_untrusted": ("signed by key {fingerprint}…, which this gallery does not trust for "
                            "brand {brand!r} (ipr-vision keys trust)",
                            "签名密钥 {fingerprint}… 未被本图库信任用于品牌 {brand!r}"
                            "（ipr-vision keys trust）"),
    "error.key_revoked": ("signed by key {fingerprint}…, revoked for {brand} on {when} "
                          "({reason})",
                          "签名密钥 {fingerprint}… 已于 {when} 对 {brand} 撤销（{reason}）"),
    "error.key_revoked_silently": ("signed by key {fingerprint}…, revoked for {brand} on {when} "
                                   "(no reason given)",
                                   "签名密钥 {fingerprint}… 已于 {when} 对 {brand} 撤销"
                                   "（未说明原因）"),
    "error.key_revoked_for_good": ("key {fingerprint}… was revoked for {brand} on {when} and "
                                   "cannot be trusted again; the right holder makes a new key",
                                   "密钥 {fingerprint}… 已于 {when} 对 {brand} 撤销，不能再次信任；"
                                   "请权利人生成新密钥"),
    "error.package_signature": ("the signature does not match the manifest: the package was "
                                "altered after signing, or signed with another key",
                                "签名与清单不符：数据包在签名后被改动，或由其他密钥签名"),
    "error.manifest_contradicts": ("the manifest contradicts itself", "清单内容自相矛盾"),
    "error.package_extra": ("the package holds {member!r}, which its manifest does not list",
                            "数据包中含有清单未列出的 {member!r}"),
    "error.package_lacks": ("the package lacks {member!r}, which its manifest lists",
                            "数据包缺少清单中列出的 {member!r}"),
    "error.member_hash": ("{member} does not match its hash in the signed manifest",
                          "{member} 与签名清单中的哈希值不符"),
    "error.embeddings_shape": ("embeddings.f32 is not rows x dim float32 values",
                               "embeddings.f32 的内容不是按行数和维数排列的 float32 数值"),
    "error.embeddings_unit": ("the package's embeddings are not unit vectors",
                              "数据包中的特征向量不是单位向量"),
    "error.embeddings_photos": ("the package's embeddings do not match its photos (checked by "
                                "embedding some of them here)",
                                "数据包中的特征向量与其照片不符（已在本地对部分照片重新计算核对）"),
    "error.package_photo": ("{member} is not a usable photo ({reason})",
                            "{member} 不是可用的照片（{reason}）"),
    "error.package_forged": ("package {package} differs from the #{sequence} imported here on "
                             "{when} (a forged or replayed sequence number)",
                             "数据包 {package} 与 {when} 在此导入的 #{sequence} 不同（序号被伪造或"
                             "重放）"),
    "error.package_older": ("package {package} is older than #{last}, already imported (a "
                            "replayed package?)",
                            "数据包 {package} 早于已导入的 #{last}（是否为重放的数据包？）"),
    "error.package_gap": ("package {package} holds the changes since #{since}, but this "
                          "gallery's last package of the chain is #{last}: package #{missing} "
                          "is missing (import it first, or a full package)",
                          "数据包 {package} 包含自 #{since} 以来的更改，但本图库在该链上的"
                          "最后一个数据包是 #{last}：缺少数据包 #{missing}"
                          "（请先导入它，或导入完整数据包）"),
    "error.package_gap_first": ("package {package} holds the changes since #{since}, but this "
                                "gallery's last package of the chain is none: package "
                                "#{missing} is missing (import it first, or a full package)",
                                "数据包 {package} 包含自 #{since} 以来的更改，但本图库在该链上尚无"
                                "数据包：缺少数据包 #{missing}（请先导入它，或导入完整数据包）"),
    "error.package_fork": ("package {package} follows a #{last} other than the one imported "
                           "here (a different chain?)",
                           "数据包 {package} 接续的 #{last} 并非在此导入的那个"
                           "（是否属于另一条链？）"),
    "error.package_not_next": ("package {package} does not follow the #{last} imported here (a "
                               "different chain?)",
                               "数据包 {package} 并不接续在此导入的 #{last}（是否属于另一条链？）"),
    "error.packages_changed": ("another import changed {brand}'s packages meanwhile (try again)",
                               "另一次导入在此期间更改了 {brand} 的数据包（请重试）"),
    "error.package_imported_meanwhile": ("package {brand} #{sequence} was imported meanwhile "
                                         "by another process",
                                         "数据包 {brand} #{sequence} 已在此期间由另一进程导入"),
    # the database
    "error.storage_unreachable": ("the database server cannot be reached ({detail}); nothing "
                                  "was saved, try again",
                                  "无法连接数据库服务器（{detail}）；未保存任何内容，请重试"),
}
