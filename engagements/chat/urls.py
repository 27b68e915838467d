from django.urls import path

from engagements.chat import views

app_name = "chat"

urlpatterns: list = [
    path("", views.upload, name="upload"),
    path("<int:pk>/", views.mapping, name="mapping"),
]
