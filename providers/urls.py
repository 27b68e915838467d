from django.urls import path

from providers import views

app_name = "providers"

urlpatterns: list = [
    path("", views.index, name="list"),
]
