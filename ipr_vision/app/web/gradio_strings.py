"""Gradio's own words on our pages (upload boxes, the camera, table and image buttons, the
footer), in English and Chinese, kept in the language the page is in.

Why a table and a script rather than Gradio's locale alone: Gradio 6.31 picks the language
of its built-in strings once, from the browser (``navigator.language``, when the page loads),
and each component takes its strings when it is created, so changing Gradio's locale later
(its own Settings panel does) leaves an upload box saying "Drop File Here". Some strings have
no translation key at all ("Click to Access Webcam", "Copy table data"), and ``common.complete``
has a key but no text in any language (screen readers read the raw key out). And our
language is chosen in the page (the switch, or the login page), not by the browser. So:

- :func:`gradio_i18n` gives Gradio, through ``gr.I18n`` (its documented way to add
  translations), the keyed strings it has no Chinese or no text for, so a Chinese browser
  shows them in Chinese from the first paint;
- :data:`LANGUAGE_SCRIPT`, put in the page's head, swaps every known Gradio string for its
  twin in the page's language as the page is drawn, and again when the language switch
  moves. It never touches our own texts (Markdown, HTML, tables, captions, options), which
  the server writes in the page's language. It also sets ``<html lang>`` (the font a browser
  picks for Chinese, screen readers, and the CSS that shows each bilingual message in the
  page's language: :func:`.common.bilingual`), and keeps the choice in a cookie that the
  login page and the next visit read (:func:`.auth.language_of`).

A Gradio string missing here stays in the browser's language: the Chinese browser test
(``tests/web/test_web_chinese.py``) fails on any such English string left on a page.
"""

from __future__ import annotations

import json
from typing import Any

#: The cookie that keeps the page's language ("en" or "zh") between visits.
LANGUAGE_COOKIE = "ipr-vision-lang"
#: The element id of the page's language switch (a radio of "en" and "zh"), which the script
#: follows the moment it is clicked: through a Gradio event it would wait its turn in the
#: queue behind the relabelling of the last switch (seconds on a busy server).
SWITCH_ID = "lang"

#: Gradio's keyed strings our pages show, by key, in English and Chinese (Gradio's own
#: Chinese where it has one, so a Chinese browser's first paint and the swap agree).
KEYED: dict[str, tuple[str, str]] = {
    "common.complete": ("Done", "完成"),
    "common.download_all": ("Download All", "全部下载"),
    "common.clear": ("Clear", "清除"),
    "common.download": ("Download", "下载"),
    "common.error": ("Error", "错误"),
    "common.loading": ("Loading", "加载中"),
    "common.remove": ("Remove", "移除"),
    "common.share": ("Share", "分享"),
    "common.built_with_gradio": ("Built with Gradio", "使用 Gradio 构建"),
    "errors.use_via_api": ("Use via API", "通过 API 使用"),
    "file.uploading": ("Uploading...", "正在上传..."),
    "upload_text.click_to_upload": ("Click to Upload", "点击上传"),
    "upload_text.drop_file": ("Drop File Here", "将文件拖放到此处"),
    "upload_text.drop_image": ("Drop Image Here", "将图像拖放到此处"),
}

#: Strings Gradio 6.31 writes in English whatever the locale (no translation key), and
#: keyed strings as the page shows them composed ("- or -").
UNKEYED: tuple[tuple[str, str], ...] = (
    ("- or -", "- 或 -"),
    ("Click to Access Webcam", "点击打开摄像头"),
    ("grant webcam access", "允许访问摄像头"),
    ("Click to upload or drop files", "点击上传或拖放文件"),
    ("Copy table data", "复制表格数据"),
    ("Copied to clipboard", "已复制到剪贴板"),
    ("Fullscreen", "全屏"),
    ("Exit fullscreen", "退出全屏"),
    ("Table actions", "表格操作"),
    ("Reset to default value", "恢复默认值"),
    ("Empty value", "空"),
    ("Gradio footer navigation", "Gradio 页脚导航"),
)


def gradio_i18n() -> Any:
    """Gradio's ``gr.I18n`` with the keyed strings, for ``mount_gradio_app(i18n=...)``."""
    import gradio as gr

    return gr.I18n(en={key: en for key, (en, _) in KEYED.items()},
                   **{"zh-CN": {key: zh for key, (_, zh) in KEYED.items()}})


def pairs() -> list[tuple[str, str]]:
    """Every Gradio string the script swaps, as (English, Chinese)."""
    return [*KEYED.values(), *UNKEYED]


#: Keeps Gradio's strings in the page's language; a click on the switch moves it, and so does
#: ``window.iprVisionLanguage(code)`` (the app calls it with the language it starts in). Until
#: then the page's language is the cookie's, else the browser's, the rule the server follows
#: with Accept-Language (:func:`.auth.language_of`).
LANGUAGE_SCRIPT = """<script>
(() => {
  const PAIRS = __PAIRS__, COOKIE = "__COOKIE__", SWITCH = "#__SWITCH__ input[type=radio]";
  const into = {en: new Map(), zh: new Map()};
  for (const [en, zh] of PAIRS) { into.zh.set(en, zh); into.en.set(zh, en); }
  const ATTRIBUTES = ["title", "aria-label", "placeholder"];
  // Our own texts, written by the server in the page's language, are left alone.
  const OURS = ".prose, .gradio-html, table, [role=listbox], [role=option], .caption-label";
  const saved = document.cookie.split("; ").find(c => c.startsWith(COOKIE + "="));
  let lang = saved ? saved.split("=")[1]
    : (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
  const swapped = value => {
    const key = value.trim(), to = into[lang] && into[lang].get(key);
    return to === undefined ? null : value.replace(key, to);
  };
  const fixElement = element => {
    for (const name of ATTRIBUTES) {
      const value = element.getAttribute(name), to = value && swapped(value);
      if (to) element.setAttribute(name, to);
    }
  };
  const fix = root => {
    const start = root.nodeType === Node.TEXT_NODE ? root.parentElement : root;
    if (!start || start.nodeType !== Node.ELEMENT_NODE || start.closest(OURS)) return;
    if (root.nodeType === Node.TEXT_NODE) {
      const to = swapped(root.nodeValue);
      if (to !== null) root.nodeValue = to;
      return;
    }
    fixElement(root);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT,
      {acceptNode: node => node.nodeType === Node.ELEMENT_NODE && node.matches(OURS)
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.ELEMENT_NODE) { fixElement(node); continue; }
      const to = swapped(node.nodeValue);
      if (to !== null) node.nodeValue = to;
    }
  };
  new MutationObserver(records => {
    for (const record of records) {
      if (record.type === "childList") record.addedNodes.forEach(fix);
      else fix(record.target);
    }
  }).observe(document.documentElement, {subtree: true, childList: true, characterData: true,
                                        attributes: true, attributeFilter: ATTRIBUTES});
  window.iprVisionLanguage = code => {
    lang = code === "zh" ? "zh" : "en";
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.cookie = `${COOKIE}=${lang}; path=/; max-age=31536000; samesite=lax`;
    fix(document.body);
  };
  document.addEventListener("change", event => {
    if (event.target.matches && event.target.matches(SWITCH) && event.target.checked)
      window.iprVisionLanguage(event.target.value);
  }, true);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  if (document.body) fix(document.body);
})();
</script>""".replace("__PAIRS__", json.dumps(pairs(), ensure_ascii=False)).replace(
    "__COOKIE__", LANGUAGE_COOKIE).replace("__SWITCH__", SWITCH_ID)
