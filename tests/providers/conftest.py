"""Fixtures for the provider registry: a provider in alice's workspace, and real small files."""

from __future__ import annotations

import struct
import zlib
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from providers import services
from providers.models import Absence, Document, Provider

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
# The DOS header of a Windows executable: what a renamed .exe starts with.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes() -> bytes:
    """A valid one-pixel PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def pdf_upload(name: str = "contract.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@pytest.fixture
def provider(team) -> Provider:
    return services.provider_create(
        workspace=team.workspace,
        name="Ada Lovelace",
        company="Analytical Ltd",
        emails=["ada@example.net", "office@analytical.example"],
        skills=["seo", "Copy editing"],
        country="DE",
        time_zone="Europe/Berlin",
        languages=["en", "de"],
        rate_amount="45.00",
        rate_currency="EUR",
        website="https://analytical.example",
        profile_links=["https://www.upwork.com/freelancers/ada"],
        notes="Prefers e-mail.",
    )


@pytest.fixture
def absence(provider) -> Absence:
    return services.absence_add(provider=provider, starts_on=date(2026, 12, 21), ends_on=date(2026, 12, 22))


@pytest.fixture
def document(team, provider) -> Document:
    return services.document_upload(
        provider=provider, upload=pdf_upload("NDA Ada.pdf"), title="NDA", kind="nda", uploaded_by=team.alice
    )


@pytest.fixture
def charlies_provider(team) -> Provider:
    return services.provider_create(workspace=team.other_workspace, name="Charlie's contractor")
