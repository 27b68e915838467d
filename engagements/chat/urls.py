from django.urls import path

from engagements.chat import views

app_name = "chat"

urlpatterns: list = [
    path("", views.upload, name="upload"),
    path("<int:pk>/", views.mapping, name="mapping"),
    path("<int:pk>/status/", views.status, name="status"),
    path("<int:pk>/retry/", views.retry, name="retry"),
]
