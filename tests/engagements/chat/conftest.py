"""Fixtures for chat imports: alice's workspace, a provider "Anna Design" and an engagement with her."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engagements.chat.parsers import read_export
from tests.factories import EngagementFactory, ProviderFactory

FIXTURES = Path(__file__).parent / "fixtures"
BERLIN = ZoneInfo("Europe/Berlin")
ANDROID_EN = "WhatsApp Chat with Anna Design.txt"


def chat_of(name: str = ANDROID_EN):
    (chat,) = read_export((FIXTURES / name).read_bytes(), name, zone=BERLIN)
    return chat


@pytest.fixture
def anna(team):
    return ProviderFactory(workspace=team.workspace, name="Anna Design")


@pytest.fixture
def landing(team, anna):
    return EngagementFactory(workspace=team.workspace, provider=anna, owner=team.alice, title="Landing page")
