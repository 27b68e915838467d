"""``{% navigation %}``: the navigation bar every page draws, written in Python.

As template markup it cost about 0.6 ms of CPU on every page (some ninety tags and lookups);
here it is the same HTML, byte for byte (tests/outsourcing/test_navigation_html.py compares it
with the old markup), in about 0.25 ms. The text mirrors the old template's line by line,
blank lines included: they were where its tags stood.

What varies: the person (signed in or not, their workspaces and role), the current workspace,
the badges (``nav_counts``, engagements.context_processors), which link is active
(``request.path``), the language and the CSRF token.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaulttags import CsrfTokenNode
from django.urls import get_script_prefix, get_urlconf
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

# The links, resolved once per process as ``{% route %}`` resolves them.
from outsourcing.templatetags.tracker import resolved_route

register = template.Library()


def _t(message: str) -> SafeString:
    """``{% translate "message" %}``: our own msgids' translations are not escaped (as the tag does).

    Looked up once per language and process: some thirty of them on every page cost more than the rest.
    """
    return _translated(get_language(), message)


@lru_cache(maxsize=512)
def _translated(language: str | None, message: str) -> SafeString:
    # As {% translate "literal" %} writes it: a template's literal is safe, and so is its translation.
    return mark_safe(gettext(message))  # nosec B308 B703  # our catalog's text, never user text


@receiver(setting_changed)
def _forget_translations(*, setting: str, **kwargs: Any) -> None:
    """As Django forgets its catalogs when a test changes where they come from."""
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _translated.cache_clear()


def _include(name: str) -> str:
    """``{% include name %}`` of a partial of plain markup (an icon)."""
    return template.engines["django"].get_template(name).render()  # a SafeString, as any rendered template


def _lookup(obj: Any, key: str) -> Any:
    """``{{ obj.key }}`` of a dict (``nav_counts``): empty when absent."""
    try:
        return obj[key]
    except (KeyError, TypeError):
        return ""


def _active(on: bool) -> str:
    return " active" if on else ""


@register.simple_tag(takes_context=True)
def navigation(context: Context) -> SafeString:
    request = context["request"]
    user = context.get("user")
    workspace = context.get("workspace")
    membership = context.get("membership")
    path = request.path
    prefix, urlconf = get_script_prefix(), get_urlconf()
    slug = workspace.slug if workspace else ""

    def url(name: str, ws: str = "") -> str:
        return resolved_route(prefix, urlconf, name, ws)

    signed_in = bool(user and user.is_authenticated)
    out: list[str] = [
        format_html(
            '<nav class="navbar navbar-expand-xl bg-body-tertiary border-bottom mb-4" aria-label="{}">\n'
            '  <div class="container-xxl">\n'
            '    <a class="navbar-brand fw-semibold" href="{}">Outsourcing Tracker</a>\n'
            '    <button class="navbar-toggler" type="button" data-bs-toggle="collapse" data-bs-target="#main-nav"'
            ' aria-controls="main-nav" aria-expanded="false" aria-label="{}">\n'
            '      <span class="navbar-toggler-icon"></span>\n'
            "    </button>\n"
            '    <div class="collapse navbar-collapse" id="main-nav">\n'
            "      ",
            _t("Main navigation"),
            url("home"),
            _t("Toggle navigation"),
        )
    ]
    if signed_in and workspace:
        out.append(_workspace_links(context, url, slug, path, membership))
    else:
        out.append('\n      <div class="me-auto"></div>\n      ')
    out.append('\n      <ul class="navbar-nav align-items-xl-center">\n        ')
    if signed_in:
        out.append(_account_menus(context, url, user, workspace, membership, slug, path))
    else:
        out.append(
            format_html(
                '\n        <li class="nav-item"><a class="nav-link" href="{}">{}</a></li>\n'
                '        <li class="nav-item"><a class="nav-link" href="{}">{}</a></li>\n        ',
                url("account_login"),
                _t("Log in"),
                url("account_signup"),
                _t("Sign up"),
            )
        )
    out.append('\n        <li class="nav-item ms-xl-2">\n          ')
    out.append(_language_switcher(context, request))
    out.append("\n        </li>\n      </ul>\n    </div>\n  </div>\n</nav>")
    return mark_safe("".join(out))  # nosec B308 B703  # each piece was escaped above


def _workspace_links(context: Context, url: Any, slug: str, path: str, membership: Any) -> str:
    """The left of the bar, in a workspace: its pages, the mail menu and the search box."""
    counts = context.get("nav_counts")
    attention = _lookup(counts, "attention")
    engagements_url = url("engagements:list", slug)
    providers_url = url("providers:list", slug)
    attention_url = url("engagements:attention", slug)
    unsorted_url = url("mail:unsorted", slug)
    reliability_url = url("reliability:dashboard", slug)
    badge = (
        format_html(
            ' <span class="badge rounded-pill text-bg-danger">{}<span class="visually-hidden"> {}</span></span>',
            render_value_in_context(attention, context),
            _t("overdue"),
        )
        if attention
        else ""
    )
    can_edit = bool(membership and membership.can_edit)
    out: list[str] = [
        format_html(
            '\n      <ul class="navbar-nav me-auto">\n'
            "        \n        \n        \n        \n"
            '        <li class="nav-item"><a class="nav-link text-nowrap{}" href="{}" data-testid="nav-attention">'
            "{}{}</a></li>\n"
            '        <li class="nav-item"><a class="nav-link{}" href="{}">{}</a></li>\n'
            '        <li class="nav-item"><a class="nav-link{}" href="{}">{}</a></li>\n'
            "        \n"
            '        <li class="nav-item dropdown">\n'
            '          <button class="nav-link dropdown-toggle{}" data-bs-toggle="dropdown" aria-expanded="false"'
            ' data-testid="nav-mail">{}</button>\n'
            '          <ul class="dropdown-menu">\n'
            '            <li><a class="dropdown-item{}" href="{}" data-testid="nav-unsorted">{}</a></li>\n'
            "            ",
            _active(path == attention_url),
            attention_url,
            _t("Needs attention"),
            badge,
            _active(engagements_url in path and path != attention_url),
            engagements_url,
            _t("Engagements"),
            _active(providers_url in path),
            providers_url,
            _t("Providers"),
            _active("/mail/" in path),
            _t("Mail"),
            _active(path == unsorted_url),
            unsorted_url,
            _t("Unsorted mail"),
        )
    ]
    if can_edit:
        out.append(
            format_html(
                '<li><a class="dropdown-item" href="{}" data-testid="nav-mail-upload">{}</a></li>',
                url("mail:upload", slug),
                _t("Upload mail"),
            )
        )
    out.append("\n            ")
    if can_edit:
        out.append(
            format_html(
                '<li><a class="dropdown-item" href="{}" data-testid="nav-chat-import">{}</a></li>',
                url("chat:upload", slug),
                _t("Import a chat"),
            )
        )
    out.append("\n            ")
    if membership and membership.can_manage:
        out.append(
            format_html(
                '\n            <li><hr class="dropdown-divider"></li>\n'
                '            <li><a class="dropdown-item" href="{}" data-testid="nav-mailboxes">{}</a></li>\n'
                '            <li><a class="dropdown-item" href="{}" data-testid="nav-mail-webhook">{}</a></li>\n'
                '            <li><a class="dropdown-item" href="{}" data-testid="nav-mail-templates">{}</a></li>\n'
                "            ",
                url("mail:mailboxes", slug),
                _t("Mailboxes"),
                url("mail:webhook_settings", slug),
                _t("Receive mail by webhook"),
                url("mail:templates", slug),
                _t("Follow-up texts"),
            )
        )
    out.append(
        format_html(
            "\n          </ul>\n"
            "        </li>\n"
            "        \n"
            '        <li class="nav-item"><a class="nav-link{}" href="{}" data-testid="nav-reliability">{}</a></li>\n'
            "      </ul>\n"
            '      <form class="d-flex my-2 my-xl-0 me-xl-2" role="search" method="get" action="{}"'
            ' data-testid="nav-search">\n'
            '        <label class="visually-hidden" for="nav-search-q">{}</label>\n'
            '        <input class="form-control form-control-sm" type="search" id="nav-search-q" name="q"'
            ' maxlength="200" placeholder="{}" data-testid="nav-search-input">\n'
            "      </form>\n"
            "      ",
            _active(reliability_url in path),
            reliability_url,
            _t("Reliability"),
            url("search:results", slug),
            _t("Search the workspace"),
            _t("Search"),
        )
    )
    return "".join(out)


def _account_menus(
    context: Context, url: Any, user: Any, workspace: Any, membership: Any, slug: str, path: str
) -> str:
    """The right of the bar, signed in: the bell, the workspace switcher and the account menu."""
    out = ["\n        "]
    if workspace:
        notifications_url = url("notifications:list", slug)
        unread = _lookup(context.get("nav_counts"), "unread")
        out.append(
            format_html(
                "\n        \n"
                '        <li class="nav-item"><a class="nav-link text-nowrap{}" href="{}" title="{}"'
                ' data-testid="nav-notifications">{}<span class="ms-1 nav-icon-label">{}</span>{}</a></li>\n'
                "        ",
                _active(path == notifications_url),
                notifications_url,
                _t("Notifications"),
                _include("partials/icon_bell.svg"),
                _t("Notifications"),
                format_html(
                    ' <span class="badge rounded-pill text-bg-primary">{}<span class="visually-hidden"> {}</span></span>',
                    render_value_in_context(unread, context),
                    _t("unread"),
                )
                if unread
                else "",
            )
        )
    out.append(
        format_html(
            "\n"
            '        <li class="nav-item dropdown">\n'
            '          <button class="nav-link dropdown-toggle text-nowrap" data-bs-toggle="dropdown"'
            ' aria-expanded="false"{} data-testid="workspace-switcher">\n'
            '            <span class="nav-name text-truncate">{}</span>\n'
            "          </button>\n"
            '          <ul class="dropdown-menu dropdown-menu-end">\n'
            "            ",
            format_html(' title="{}"', workspace.name) if workspace else "",
            workspace.name if workspace else _t("Workspaces"),
        )
    )
    for m in context.get("user_memberships") or ():
        out.append(
            format_html(
                '\n            <li><a class="dropdown-item{}" href="{}">{} <small class="text-body-secondary">{}</small>'
                "</a></li>\n            ",
                _active(bool(workspace) and m.workspace_id == workspace.pk),
                url("workspace_home", m.workspace.slug),
                m.workspace.name,
                m.get_role_display(),
            )
        )
    out.append('\n            <li><hr class="dropdown-divider"></li>\n            ')
    if workspace:
        members_url = url("members", slug)
        out.append(
            format_html(
                '\n            <li><a class="dropdown-item{}" href="{}" data-testid="nav-members">{}</a></li>\n'
                '            <li><a class="dropdown-item" href="{}">{}</a></li>\n'
                '            <li><a class="dropdown-item" href="{}" data-testid="nav-calendar">{}</a></li>\n'
                "            {}\n"
                '            <li><a class="dropdown-item" href="{}" data-testid="nav-api-tokens">{}</a></li>\n'
                "            ",
                _active(members_url in path),
                members_url,
                _t("Members"),
                url("workspace_settings", slug),
                _t("Workspace settings"),
                url("calendar:feed", slug),
                _t("Calendar feed"),
                format_html(
                    '<li><a class="dropdown-item" href="{}" data-testid="nav-archive">{}</a></li>',
                    url("archive:index", slug),
                    _t("Export and import"),
                )
                if membership and membership.role == "owner"
                else "",
                url("api_tokens", slug),
                _t("API tokens"),
            )
        )
    out.append(
        format_html(
            '\n            <li><a class="dropdown-item" href="{}">{}</a></li>\n'
            "          </ul>\n"
            "        </li>\n"
            '        <li class="nav-item dropdown">\n'
            '          <button class="nav-link dropdown-toggle text-nowrap" data-bs-toggle="dropdown"'
            ' aria-expanded="false" title="{}" data-testid="account-menu">{}<span class="ms-1 nav-icon-label">{}</span>'
            "</button>\n"
            '          <ul class="dropdown-menu dropdown-menu-end">\n'
            '            <li><h6 class="dropdown-header text-truncate">{}</h6></li>\n'
            "            {}\n"
            '            <li><a class="dropdown-item" href="{}">{}</a></li>\n'
            '            <li><a class="dropdown-item" href="{}">{}</a></li>\n'
            '            <li><a class="dropdown-item" href="{}">{}</a></li>\n'
            '            <li><hr class="dropdown-divider"></li>\n'
            "            <li>\n"
            '              <form method="post" action="{}">{}\n'
            '                <button type="submit" class="dropdown-item">{}</button>\n'
            "              </form>\n"
            "            </li>\n"
            "          </ul>\n"
            "        </li>\n"
            "        ",
            url("workspace_new"),
            _t("New workspace"),
            user.email,
            _include("partials/icon_person.svg"),
            user.display_name,
            user.email,
            format_html(
                '<li><a class="dropdown-item" href="{}#profile-heading" data-testid="nav-profile">{}</a></li>',
                url("workspace_settings", slug),
                _t("Your name and profile"),
            )
            if workspace
            else "",
            url("account_email"),
            _t("E-mail addresses"),
            url("account_change_password"),
            _t("Change password"),
            url("mfa_index"),
            _t("Two-factor authentication"),
            url("account_logout"),
            CsrfTokenNode().render(context),
            _t("Log out"),
        )
    )
    return "".join(out)


def _language_switcher(context: Context, request: Any) -> str:
    """One button per language, the current one pressed: a POST to set_language, back to this page."""
    current = get_language()
    buttons = [
        format_html(
            '\n  <button type="submit" name="language" value="{}" class="btn btn-sm {}" lang="{}" title="{}"{}>{}</button>\n  ',
            code,
            "btn-secondary" if code == current else "btn-outline-secondary",
            code,
            str(name),  # a lazy translation (settings.LANGUAGES)
            mark_safe(' aria-current="true"') if code == current else "",  # nosec B308 B703  # a literal
            code.upper(),
        )
        for code, name in settings.LANGUAGES
    ]
    return format_html(
        '\n<form action="{}" method="post" class="d-flex gap-1" aria-label="{}">{}\n'
        '  <input name="next" type="hidden" value="{}">\n'
        "  {}\n"
        "</form>\n",
        resolved_route(get_script_prefix(), get_urlconf(), "set_language", ""),
        _t("Language"),
        CsrfTokenNode().render(context),
        request.get_full_path(),
        mark_safe("".join(buttons)),  # nosec B308 B703  # format_html wrote each
    )
