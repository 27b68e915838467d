from django.urls import path

from engagements.tables import views

app_name = "tables"

urlpatterns: list = [
    path("", views.upload, name="upload"),
    path("<int:pk>/", views.mapping, name="mapping"),
]
