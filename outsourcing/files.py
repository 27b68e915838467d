"""Serving uploaded files: only through views that checked access, never cached."""

from __future__ import annotations

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
