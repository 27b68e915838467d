from django.urls import path

from engagements.search import views

app_name = "search"

urlpatterns = [path("", views.search, name="results")]
