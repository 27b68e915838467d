from typing import Any

from django.conf import settings
from django.urls import include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
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

REDOC_CSP: dict[str, Any] = {
    **settings.SECURE_CSP,
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "worker-src": [CSP.SELF, "blob:"],
}

app_name = "api"
urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
    path(
        "redoc/",
        # Redoc styles itself with <style> elements and runs its search in a blob: worker.
        csp_override(REDOC_CSP)(
            SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html")
        ),
        name="redoc",
    ),
]
