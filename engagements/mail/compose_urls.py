"""URLs of the mail compose pages (included by engagements.mail_urls)."""

from __future__ import annotations

from django.urls import path

from engagements.mail import compose_views as views

urlpatterns: list = [
    path("engagements/<int:pk>/compose/", views.compose, name="compose"),
]
