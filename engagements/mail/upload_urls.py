"""URLs of the mail upload pages (included by engagements.mail_urls)."""

from __future__ import annotations

from django.urls import path

from engagements.mail import upload_views, webhook_views

urlpatterns: list = [
    path("upload/", upload_views.upload, name="upload"),
    path("upload/<int:pk>/", upload_views.upload_status, name="upload_status"),
    path("upload/<int:pk>/retry/", upload_views.upload_retry, name="upload_retry"),
    path("webhook/", webhook_views.webhook_settings, name="webhook_settings"),
]
