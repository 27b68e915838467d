"""HTML in mail: made safe to show, and read as text when a message has no plain-text part."""

from __future__ import annotations

import re
from html import unescape

import nh3

from engagements.mail.common import (
    BLANK_LINES,
    WHITESPACE,
    clean_text,
    collapse,
)

# --- HTML ----------------------------------------------------------------------------------------------

_ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "ins",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}
# Dropped with everything inside them; any other unknown tag is dropped but its text kept.
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "title", "noscript", "template", "iframe", "object", "svg"}
)
_LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_LINK_REL = "noopener noreferrer nofollow"
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_IMG_ATTRIBUTE = re.compile(r'\b(src|alt|width|height)="([^"]*)"', re.IGNORECASE)


def sanitise_html(html: str) -> str:
    """HTML safe to show under a strict CSP: no scripts, styles, event handlers or style attributes.

    Remote images would report the reader to the sender (and the CSP blocks them anyway), so each
    becomes a link to the image, labelled with its alt text; tracking pixels and embedded (cid:,
    data:) images are dropped.
    """
    if not html.strip():
        return ""
    first = nh3.clean(
        _limit_nesting(html),
        tags=set(_ALLOWED_TAGS | {"img"}),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={**_ALLOWED_ATTRIBUTES, "img": {"src", "alt", "width", "height"}},
        attribute_filter=_no_angle_brackets,
        url_schemes=set(_LINK_SCHEMES),
        url_relative="deny",
        link_rel=_LINK_REL,
        strip_comments=True,
    )
    # Second pass with the final allowlist: whatever the image rewrite produced is cleaned again.
    return display_html(_IMG_TAG.sub(_image_as_link, first))


def display_html(html: str) -> str:
    """Clean stored HTML with the final allowlist (again at display: the stored copy is not trusted blindly)."""
    return nh3.clean(
        html,
        tags=set(_ALLOWED_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={key: set(value) for key, value in _ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(_LINK_SCHEMES),
        url_relative="deny",
        link_rel=_LINK_REL,
        strip_comments=True,
    ).strip()


def _no_angle_brackets(tag: str, attribute: str, value: str) -> str:
    # Keeps the serialised <img> tag free of ">" so the rewrite below can find where it ends.
    return value.replace("<", "").replace(">", "") if tag == "img" else value


def _image_as_link(match: re.Match[str]) -> str:
    attributes = {name.lower(): value for name, value in _IMG_ATTRIBUTE.findall(match.group(0))}
    src, alt = attributes.get("src", ""), attributes.get("alt", "").strip()
    if attributes.get("width") in ("0", "1") or attributes.get("height") in ("0", "1"):
        return ""
    if not src.lower().startswith(("http://", "https://")):
        return alt
    # The values are already escaped for an attribute, which is also safe as text.
    return f'<a href="{src}">{alt or src}</a>'


# Tags that end a line when an HTML body is read as text (table cells only add a space).
_TEXT_BLOCKS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "br",
        "caption",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)
_TEXT_TAG = re.compile(r"<(/?)([a-z][a-z0-9]*)>")
# Deeper quotes are still quotes; a longer "> > > …" prefix only repeats itself on every line.
_MAX_QUOTE_MARKS = 10


def html_to_text(html: str) -> str:
    """The readable text of an HTML body (for HTML-only mail): no markup, scripts or styles.

    nh3 first reduces the HTML to bare block tags (well-formed, no attributes, no comments), which a
    single scan then turns into lines, blockquotes into "> " lines the reply splitter recognises.
    """
    if not html.strip():
        return ""
    bare = nh3.clean(
        _limit_nesting(html),
        tags=set(_TEXT_BLOCKS | {"td", "th"}),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={},
        link_rel=None,
        strip_comments=True,
    )
    lines: list[str] = []
    current: list[str] = []
    quoting = preformatted = 0

    def end_line() -> None:
        line = "".join(current)
        line = line.rstrip() if preformatted else collapse(line)
        lines.append(("> " * min(quoting, _MAX_QUOTE_MARKS) + line).rstrip())
        current.clear()

    def add_text(chunk: str) -> None:
        if not chunk:
            return
        chunk = unescape(chunk)
        if not preformatted:
            current.append(WHITESPACE.sub(" ", chunk))
            return
        first, *rest = chunk.split("\n")
        current.append(first)
        for line in rest:
            end_line()
            current.append(line)

    position = 0
    for match in _TEXT_TAG.finditer(bare):
        add_text(bare[position : match.start()])
        position = match.end()
        closing, tag = match.group(1) == "/", match.group(2)
        if tag in ("td", "th"):
            current.append("" if closing else " ")
            continue
        end_line()
        if tag == "blockquote":
            quoting = max(0, quoting - 1) if closing else quoting + 1
        elif tag == "pre":
            preformatted = max(0, preformatted - 1) if closing else preformatted + 1
        elif tag == "li" and not closing:
            current.append("- ")
    add_text(bare[position:])
    end_line()
    return clean_text(BLANK_LINES.sub("\n\n", "\n".join(lines)).strip())


_TAG_START = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)")
_ANY_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^<>]*?(/?)>")
# Tags that never hold others, or that the next one of their kind closes (so never nest in themselves).
_FLAT_TAGS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "p",
        "li",
        "dt",
        "dd",
        "tr",
        "td",
        "th",
        "option",
    ]
)
# Real mail nests a few dozen levels; beyond this the HTML parser's work grows with depth squared.
MAX_HTML_DEPTH = 256


def _limit_nesting(html: str) -> str:
    """Drop the tags that would open deeper than ``MAX_HTML_DEPTH`` (their text stays).

    A rough count (unclosed ``<p>`` counts as open), which only ever removes markup: nh3 still
    decides what is safe.
    """
    if _max_depth(html) <= MAX_HTML_DEPTH:
        return html
    depth = 0

    def keep_or_drop(match: re.Match[str]) -> str:
        nonlocal depth
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if name in _FLAT_TAGS or self_closing:
            return match.group(0)
        if closing:
            dropped = depth > MAX_HTML_DEPTH
            depth = max(0, depth - 1)
            return "" if dropped else match.group(0)
        depth += 1
        return "" if depth > MAX_HTML_DEPTH else match.group(0)

    return _ANY_TAG.sub(keep_or_drop, html)


def _max_depth(html: str) -> int:
    """How deep the tags of ``html`` nest, counted as roughly as ``_limit_nesting`` does (but cheaply)."""
    depth = deepest = 0
    for closing, name in _TAG_START.findall(html):
        if closing:
            depth = max(0, depth - 1)
        elif name.lower() not in _FLAT_TAGS:
            depth += 1
            deepest = max(deepest, depth)
    return deepest
