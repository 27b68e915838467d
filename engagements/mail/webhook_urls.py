"""The inbound mail webhook's URLs (outside any login: the ESP posts here)."""

from __future__ import annotations

from django.urls import path

from engagements.mail import webhook
from outsourcing import limits

# Per workspace address and per sender: a flood is answered 429, which the services retry later.
limited = limits.limited(limits.MAIL_WEBHOOK)
postmark = limited(webhook.PostmarkInbound.as_view())
mailgun = limited(webhook.MailgunInbound.as_view())

urlpatterns: list = [
    path("<str:token>/postmark/", postmark, name="mail_webhook_postmark"),
    path("<str:token>/mailgun/", mailgun, name="mail_webhook_mailgun"),
    # Mailgun posts the message as it came (body-mime) only to an address ending in "mime"; that
    # one form field is held to DATA_UPLOAD_MAX_MEMORY_SIZE, so the page offers the parsed form above.
    path("<str:token>/mailgun/mime", mailgun, name="mail_webhook_mailgun_mime"),
]
