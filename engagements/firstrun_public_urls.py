from django.urls import path

from engagements import firstrun_views as views

# Outside any workspace: it makes one.
urlpatterns: list = [
    path("", views.sample_open, name="sample_workspace"),
]
