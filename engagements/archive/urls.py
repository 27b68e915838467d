from django.urls import path

from engagements.archive import views

app_name = "archive"

urlpatterns: list = [
    path("", views.index, name="index"),
    path("export/", views.export, name="export"),
    path("import/", views.import_archive, name="import"),
    path("<int:pk>/", views.status, name="status"),
    path("<int:pk>/download/", views.download, name="download"),
    path("<int:pk>/delete/", views.delete, name="delete"),
]
