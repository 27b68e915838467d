"""Extension point for the provider page.

``providers`` knows nothing of the apps that build on it. An app that has
something to show on a provider's page (engagements, their timeline) registers
a panel here from its ``AppConfig.ready``; the page renders every panel.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from providers.models import Provider

Panel = Callable[[HttpRequest, Provider], SafeString]

_panels: list[Panel] = []


def register(panel: Panel) -> Panel:
    if panel not in _panels:
        _panels.append(panel)
    return panel


def render_panels(request: HttpRequest, provider: Provider) -> list[SafeString]:
    return [panel(request, provider) for panel in _panels]
