from django.urls import path

from engagements.reliability import views

app_name = "reliability"

urlpatterns: list = [
    path("", views.dashboard, name="dashboard"),
    path("providers/", views.leaderboard, name="leaderboard"),
    path("providers/<int:pk>/", views.scorecard, name="scorecard"),
    path("compare/", views.compare, name="compare"),
]
