from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("providers", views.ProviderViewSet, basename="provider")
router.register("engagements", views.EngagementViewSet, basename="engagement")
router.register("messages", views.MessageViewSet, basename="message")
router.register("exchanges", views.ExchangeViewSet, basename="exchange")
router.register("flags", views.FlagViewSet, basename="flag")
router.register("reviews", views.ReviewViewSet, basename="review")
router.register("absences", views.AbsenceViewSet, basename="absence")

app_name = "api"
urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]
