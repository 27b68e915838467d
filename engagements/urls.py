from django.urls import path

from engagements import views

app_name = "engagements"

urlpatterns: list = [
    path("", views.index, name="list"),
]
