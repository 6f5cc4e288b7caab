"""The review report as one HTML file that can be filed on its own and printed.

Nothing outside the file is referenced: no ``file://`` font URLs, no absolute paths, no frames. Each SPECIMEN
document is inlined as a section; its print stylesheet (``templates/css/document.css``) is scoped to that section
(every selector prefixed with ``.specimen-doc``; ``@page`` and ``@font-face`` rules dropped), so the report's own
styles and the document's do not mix. Fonts are named, not embedded: ``@font-face`` rules point at the faces
installed on the reader's computer with ``local()`` (the full and PostScript names read from the declared font
files), and every family list ends with ``sans-serif``, so a computer without them shows the text in its own sans
serif (for Chinese, its own CJK font) — the words are the same, only the typeface differs from the PDF.

    scope_css("h1 { … } .sig { … }", ".specimen-doc")   # ".specimen-doc h1 { … } .specimen-doc .sig { … }"
    specimen_body(render_html(inp, "consent", roots))   # the <body> content, for inlining in a section
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from consentkit.render.fonts import Face, fonts_for, local_names

SPECIMEN_SCOPE = ".specimen-doc"
GENERIC_FAMILY = "sans-serif"  # the documented fallback when the declared faces are not installed

# In a report page the SPECIMEN stamp of each document is a banner at its top, not a fixed overlay of every page.
SPECIMEN_OVERRIDES = f"""
{SPECIMEN_SCOPE} {{ position: relative; font-size: 10pt; line-height: 1.5; }}
{SPECIMEN_SCOPE} .stamp {{ position: static; transform: none; width: auto; opacity: 1; font-size: 13pt;
  letter-spacing: 0.5mm; text-align: center; color: #a40000; border: 1.5pt solid #a40000; margin: 0 0 4mm 0;
  padding: 1mm; }}
{SPECIMEN_SCOPE} .stamp-band {{ display: none; }}
"""

_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def _blocks(css: str) -> list[tuple[str, str]]:
    """Top-level ``(prelude, body)`` pairs of a stylesheet (comments removed)."""
    css = _COMMENT.sub("", css)
    out: list[tuple[str, str]] = []
    pos = 0
    while True:
        start = css.find("{", pos)
        if start < 0:
            return out
        depth, end = 1, start + 1
        while depth and end < len(css):
            depth += {"{": 1, "}": -1}.get(css[end], 0)
            end += 1
        out.append((css[pos:start].strip(), css[start + 1 : end - 1]))
        pos = end


def _scoped_selector(selector: str, scope: str) -> str:
    selector = selector.strip()
    for root in ("html", "body", ":root"):
        if selector == root or selector.startswith(root + " "):
            return scope + selector[len(root) :]
    return f"{scope} {selector}"


def scope_css(css: str, scope: str) -> str:
    """``css`` with every rule limited to descendants of ``scope`` (``html``/``body`` become the scope itself);
    ``@page`` and ``@font-face`` rules are dropped, ``@media`` blocks scoped inside."""
    out = []
    for prelude, body in _blocks(css):
        if prelude.startswith(("@page", "@font-face")):
            continue
        if prelude.startswith("@media"):
            out.append(f"{prelude} {{\n{scope_css(body, scope)}}}")
            continue
        selectors = ", ".join(_scoped_selector(s, scope) for s in prelude.split(","))
        out.append(f"{selectors} {{{body}}}")
    return "\n".join(out) + "\n"


def local_font_faces(faces: Iterable[Face], families: Iterable[str]) -> str:
    """``@font-face`` rules naming installed faces with ``local()`` only (no file, no URL)."""
    wanted = set(families)
    rules = []
    for face in faces:
        if face.family not in wanted:
            continue
        names = [face.family, *local_names(face.path, face.family)]
        src = ", ".join(f'local("{n}")' for n in dict.fromkeys(names))
        rules.append(f'@font-face {{ font-family: "{face.family}"; font-weight: {face.weight}; src: {src}; }}')
    return "\n".join(rules) + "\n"


def family_list(roots: Sequence[Path], locales: Iterable[str]) -> str:
    """The families of ``locales``' stacks, first choice first, ending with the generic fallback."""
    fonts = fonts_for(roots)
    names: list[str] = []
    for loc in locales:
        names += [n for n in fonts.stack(loc) if n not in names]
    return ", ".join([*(f'"{n}"' for n in names), GENERIC_FAMILY])


def report_stylesheet(roots: Sequence[Path], report_css: str, document_css: str, locales: Sequence[str]) -> str:
    """Everything the HTML report's ``<style>`` holds: local font faces, the report's stylesheet, and the documents'
    stylesheet scoped to their sections."""
    fonts = fonts_for(roots)
    families = {n for loc in locales for n in fonts.stack(loc)}
    return (
        local_font_faces(fonts.faces, families)
        + report_css
        + "\n/* SPECIMEN documents: templates/css/document.css, scoped */\n"
        + scope_css(document_css, SPECIMEN_SCOPE)
        + SPECIMEN_OVERRIDES
    )


_BODY = re.compile(r"<body([^>]*)>(.*)</body>", re.DOTALL)
_CLASS = re.compile(r'class="([^"]*)"')
_FAMILY = re.compile(r'(style="font-family: [^"]*?)"')


def specimen_body(html: str) -> tuple[str, str]:
    """The ``<body>``'s class and content of a rendered document, each inline font list ending with the generic
    fallback."""
    found = _BODY.search(html)
    if found is None:
        return "", html
    klass = _CLASS.search(found.group(1))
    body = _FAMILY.sub(lambda m: f'{m.group(1)}, {GENERIC_FAMILY}"', found.group(2))
    return (klass.group(1) if klass else ""), body
