"""URLs of the mail mailbox pages (included by engagements.mail_urls)."""

from __future__ import annotations

from django.urls import path

from engagements.mail import mailbox_views as views

urlpatterns: list = [
    path("mailboxes/", views.mailbox_list, name="mailboxes"),
    path("mailboxes/new/", views.mailbox_create, name="mailbox_create"),
    path("mailboxes/<int:pk>/edit/", views.mailbox_edit, name="mailbox_edit"),
    path("mailboxes/<int:pk>/delete/", views.mailbox_delete, name="mailbox_delete"),
    path("mailboxes/<int:pk>/test/", views.mailbox_test, name="mailbox_test"),
    path("mailboxes/<int:pk>/poll/", views.mailbox_poll, name="mailbox_poll"),
]
