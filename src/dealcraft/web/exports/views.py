"""Export downloads: what the signed-in user may see, limited by the board's filters.

`/exports/<kind>/?format=csv|xlsx` with the pipeline board's filter parameters (owner, team,
expected close, amounts, forecast category) and `status` (open, won, lost). The board links
here with its current filters and `status=open`; the deal list with no filter at all.
"""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dealcraft.errors import InvalidInput
from dealcraft.people.models import User
from dealcraft.transfer.kinds import KINDS
from dealcraft.transfer.responses import export_response
from dealcraft.transfer.services import DealScope, start_export
from dealcraft.web.board.forms import BoardFilters
from dealcraft.web.board.queries import close_range


def scope_from(params: dict[str, str]) -> DealScope:
    """The deals an export covers, from the board's filter parameters and `status`."""
    values = BoardFilters(params).valid()
    start, end = close_range(values, timezone.localdate())
    return DealScope(status=params.get("status", ""), owner_id=values.get("owner"),
                     team_id=values.get("team"), close_from=start, close_to=end,
                     amount_min=values.get("amount_min"), amount_max=values.get("amount_max"),
                     forecast=values.get("forecast", ""))


@never_cache
@require_GET
@login_required
def download(request: HttpRequest, kind: str) -> HttpResponseBase:
    if kind not in KINDS:
        raise Http404("There is no such export.")
    params = {key: request.GET.get(key, "") for key in request.GET}
    try:
        export = start_export(acting_user=cast(User, request.user), kind=kind,
                              fmt=params.get("format", "csv"), via="web",
                              scope=scope_from(params))
    except InvalidInput as exc:
        return HttpResponse(f"Cannot export: {exc.message}.\n", status=400,
                            content_type="text/plain; charset=utf-8")
    return export_response(export, params.get("format", "csv"))
