"""The answer page's address, outside any workspace: the signed token is the only credential."""

from django.urls import path

from engagements.answers import views

urlpatterns: list = [
    path("<str:token>/", views.answer_page, name="answer"),
]
