from django.urls import path

from engagements import mail_views as views
from engagements.mail import compose_urls, mailbox_urls, template_urls, upload_urls

app_name = "mail"

urlpatterns: list = [
    path("unsorted/", views.unsorted_list, name="unsorted"),
    path("<int:pk>/sort/", views.inbound_sort, name="sort"),
    *compose_urls.urlpatterns,
    *mailbox_urls.urlpatterns,
    *upload_urls.urlpatterns,
    *template_urls.urlpatterns,
]
