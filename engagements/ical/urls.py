from django.urls import path

from engagements.ical import views

app_name = "calendar"

urlpatterns: list = [
    path("", views.feed_page, name="feed"),
    path("new/", views.feed_create, name="create"),
    path("revoke/", views.feed_revoke, name="revoke"),
]
