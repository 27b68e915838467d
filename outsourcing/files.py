"""Serving uploaded files: only through views that checked access, never cached."""

from __future__ import annotations

import secrets
from pathlib import PurePath

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404
from django.utils.cache import patch_cache_control


def private_file_response(file: FieldFile, *, filename: str, content_type: str) -> FileResponse:
    """Stream a stored upload as a download; a file missing from storage is a 404."""
    try:
        handle = file.storage.open(file.name or "", "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    patch_cache_control(response, private=True, no_store=True)
    return response


def stored_name(folder: str, workspace_id: int, filename: str) -> str:
    """Where an upload is stored: a random name that keeps only the extension.

    The stored name never comes from the user, so it cannot traverse or collide;
    one folder per workspace keeps a workspace's files together.
    """
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"{folder}/{workspace_id}/{secrets.token_hex(16)}{suffix}"
