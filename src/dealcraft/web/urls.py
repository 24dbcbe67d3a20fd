"""Web pages: sign-in, the deal list and the health check, then each page's own package."""

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView

from . import views
from .auth_views import SignInView

app_name = "web"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="web:deal-list", permanent=False), name="home"),
    path("login/", SignInView.as_view(), name="login"),
    # Django's LogoutView accepts POST only, so a link or an image cannot sign anyone out.
    path("logout/", auth_views.LogoutView.as_view(next_page=reverse_lazy("web:login")),
         name="logout"),
    path("deals/", views.deal_list, name="deal-list"),
    path("password/", views.password_change, name="password-change"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("dealcraft.web.board.urls")),
    path("", include("dealcraft.web.deal.urls")),
    path("", include("dealcraft.web.today.urls")),
    path("", include("dealcraft.web.team.urls")),
    path("", include("dealcraft.web.processview.urls")),
    path("", include("dealcraft.web.workspaces.urls")),
    path("", include("dealcraft.web.tokens.urls")),
    path("", include("dealcraft.web.webhooks.urls")),
    path("", include("dealcraft.web.exports.urls")),
    path("", include("dealcraft.web.imports.urls")),
    path("", include("dealcraft.web.forecast.urls")),
    path("", include("dealcraft.web.reports.urls")),
]
