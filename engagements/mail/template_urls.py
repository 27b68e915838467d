"""URLs of the follow-up text pages (included by engagements.mail_urls)."""

from __future__ import annotations

from django.urls import path

from engagements.mail import template_views as views

urlpatterns: list = [
    path("templates/", views.template_list, name="templates"),
    path("templates/edit/", views.template_edit, name="template_edit"),
    path("templates/preview/", views.template_preview, name="template_preview"),
    path("templates/reset/", views.template_reset, name="template_reset"),
]
