"""The feed's own address, outside any workspace: calendar programs log in to nothing, the token is all."""

from django.urls import path

from engagements.ical import views

urlpatterns: list = [
    path("<str:token>.ics", views.feed_ics, name="calendar_ics"),
]
