"""Grafana's public dashboards (https://grafana.com/docs/grafana/latest/developers/http_api/dashboard_public/;
grafana/grafana pkg/services/publicdashboards: api/api.go, api/query.go, service/service.go, models/errors.go).
The API exists only while [public_dashboards] enabled is true (the routes are not registered otherwise: 404).

Signed in:
- GET    /api/dashboards/public-dashboards                       the list, with each dashboard's title
- GET    /api/dashboards/uid/<uid>/public-dashboards             this dashboard's, or 404 publicdashboards.notFound
- POST   /api/dashboards/uid/<uid>/public-dashboards             create: 404 if the dashboard does not exist, 400
         publicdashboards.dashboardIsPublic if it already has one, uid / accessToken generated when not given and
         refused when taken, isEnabled / annotationsEnabled / timeSelectionEnabled false unless given, share "public"
- PATCH  /api/dashboards/uid/<uid>/public-dashboards/<pd uid>    change those flags
- DELETE /api/dashboards/uid/<uid>/public-dashboards/<pd uid>
Anyone, no login:
- GET /api/public/dashboards/<accessToken>   the dashboard, its query expressions removed (service.go sanitizeData),
  its time picker hidden unless timeSelectionEnabled; 400 for a token that is not a UUID, 404 for an unknown one,
  403 "Dashboard paused" when not enabled;
- GET /public-dashboards/<accessToken>       Grafana's page (the app shell for any token: the browser then calls the
  API above, so the page itself holds no title).
Not modelled: POST /api/public/dashboards/<token>/panels/<id>/query (Grafana runs the panel's query against the
data source) answers 501 once the token is checked.
"""
import re
import secrets
import string
import uuid
from datetime import datetime, timezone

from provisioning import valid_uid

SHARE_TYPES = ("public", "email")


def _error(status, message_id, message):
    return status, {"message": message, "messageId": message_id, "statusCode": status, "traceID": ""}


def _now():
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def _short_uid():
    """Like Grafana's util.GenerateShortUID: 14 characters, a letter first."""
    alphabet = string.ascii_lowercase + string.digits
    return secrets.choice(string.ascii_lowercase) + "".join(secrets.choice(alphabet) for _ in range(13))


def valid_access_token(token):
    """Grafana accepts what google/uuid Parse accepts (validation.go IsValidAccessToken)."""
    try:
        uuid.UUID(token)
        return True
    except ValueError:
        return False


def _dto(body):
    """The request body as PublicDashboardDTO, or an error (what web.Bind refuses)."""
    if not isinstance(body, dict):
        return None, _error(400, "publicdashboards.badRequest", "bad request data")
    for key in ("uid", "accessToken", "share"):
        if body.get(key) is not None and not isinstance(body[key], str):
            return None, _error(400, "publicdashboards.badRequest", f"bad request data: {key} must be a string")
    for key in ("isEnabled", "annotationsEnabled", "timeSelectionEnabled"):
        if body.get(key) is not None and not isinstance(body[key], bool):
            return None, _error(400, "publicdashboards.badRequest", f"bad request data: {key} must be a boolean")
    if body.get("share") and body["share"] not in SHARE_TYPES:
        return None, _error(400, "publicdashboards.invalidShareType", "Invalid share type")
    return body, None


def _sanitized(dashboard_json, time_selection_enabled):
    data = dict(dashboard_json)
    data["timepicker"] = {**(data.get("timepicker") or {}), "hidden": not time_selection_enabled}

    def clean(panels):
        out = []
        for panel in panels or []:
            panel = dict(panel)
            if panel.get("type") == "row" and panel.get("collapsed"):
                panel["panels"] = clean(panel.get("panels"))
            panel["targets"] = [{k: v for k, v in t.items() if k not in ("expr", "query", "rawSql")} for t in panel.get("targets") or []]
            out.append(panel)
        return out

    data["panels"] = clean(data.get("panels"))
    return data


class PublicDashboards:
    def __init__(self, store, dashboards, user_id_of):
        self.store = store
        self.dashboards = dashboards  # uid -> provisioned dashboard
        self.user_id_of = user_id_of

    def _of_dashboard(self, dashboard_uid):
        return next((r for r in self.store.public_dashboards() if r["dashboardUid"] == dashboard_uid), None)

    def list(self, query):
        records = []
        search = (query.get("query") or [""])[0].lower()
        for record in self.store.public_dashboards():
            dashboard = self.dashboards.get(record["dashboardUid"])
            if dashboard and search in dashboard["title"].lower():
                records.append({"uid": record["uid"], "accessToken": record["accessToken"], "title": dashboard["title"],
                                "slug": dashboard["slug"], "dashboardUid": record["dashboardUid"], "isEnabled": record["isEnabled"]})
        records.sort(key=lambda r: r["title"])
        return 200, {"publicDashboards": records, "totalCount": len(records), "page": 1, "perPage": 1000}

    def get(self, dashboard_uid):
        if not valid_uid(dashboard_uid):
            return _error(400, "publicdashboards.identifierNotSet", "No Uid for dashboard specified")
        record = self._of_dashboard(dashboard_uid)
        if record is None:
            return _error(404, "publicdashboards.notFound", "Dashboard not found")
        return 200, record

    def create(self, dashboard_uid, body, user):
        if not valid_uid(dashboard_uid):
            return _error(400, "publicdashboards.invalidUid", "Invalid Uid")
        dto, error = _dto(body)
        if error:
            return error
        if dashboard_uid not in self.dashboards:
            return _error(404, "publicdashboards.dashboardNotFound", "Dashboard not found")
        if self._of_dashboard(dashboard_uid):
            return _error(400, "publicdashboards.dashboardIsPublic", "Dashboard is already public")
        existing = self.store.public_dashboards()
        uid = dto.get("uid") or _short_uid()
        if any(r["uid"] == uid for r in existing):
            return _error(400, "publicdashboards.uidExists", "Dashboard Uid already exists")
        token = dto.get("accessToken") or uuid.uuid4().hex
        if any(r["accessToken"] == token for r in existing):
            return _error(400, "publicdashboards.accessTokenExists", "Dashboard Access Token already exists")
        now = _now()
        record = {
            "uid": uid, "dashboardUid": dashboard_uid, "accessToken": token,
            "createdBy": self.user_id_of(user), "updatedBy": self.user_id_of(user), "createdAt": now, "updatedAt": now,
            "timeSelectionEnabled": bool(dto.get("timeSelectionEnabled", False)), "isEnabled": bool(dto.get("isEnabled", False)),
            "annotationsEnabled": bool(dto.get("annotationsEnabled", False)), "share": dto.get("share") or "public",
        }
        self.store.add_public_dashboard(record)
        return 200, record

    def update(self, dashboard_uid, uid, body, user):
        if not valid_uid(dashboard_uid) or not valid_uid(uid):
            return _error(400, "publicdashboards.invalidUid", "Invalid Uid")
        dto, error = _dto(body)
        if error:
            return error
        if dashboard_uid not in self.dashboards:
            return _error(404, "publicdashboards.dashboardNotFound", "Dashboard not found")
        record = next((r for r in self.store.public_dashboards() if r["uid"] == uid), None)
        if record is None:
            return _error(404, "publicdashboards.notFound", "Dashboard not found")
        if record["dashboardUid"] != dashboard_uid:
            return _error(400, "publicdashboards.invalidUid", "Invalid Uid")
        changes = {k: dto[k] for k in ("timeSelectionEnabled", "isEnabled", "annotationsEnabled") if dto.get(k) is not None}
        if dto.get("share"):
            changes["share"] = dto["share"]
        changes.update({"updatedBy": self.user_id_of(user), "updatedAt": _now()})
        return 200, self.store.update_public_dashboard(uid, changes)

    def delete(self, dashboard_uid, uid):
        if not valid_uid(uid):
            return _error(400, "publicdashboards.invalidUid", "Invalid Uid")
        record = next((r for r in self.store.public_dashboards() if r["uid"] == uid), None)
        if record is None:
            return _error(404, "publicdashboards.notFound", "Dashboard not found")
        if record["dashboardUid"] != dashboard_uid:
            return _error(400, "publicdashboards.invalidUid", "Invalid Uid")
        self.store.delete_public_dashboard(uid)
        return 200, None

    def _enabled_by_token(self, token):
        """(record, dashboard, None) or (None, None, error) for a visitor's access token."""
        if not valid_access_token(token):
            return None, None, _error(400, "publicdashboards.invalidAccessToken", "Invalid access token")
        record = next((r for r in self.store.public_dashboards() if r["accessToken"] == token), None)
        if record is None:
            return None, None, _error(404, "publicdashboards.notFound", "Dashboard not found")
        dashboard = self.dashboards.get(record["dashboardUid"])
        if dashboard is None:
            return None, None, _error(404, "publicdashboards.dashboardNotFound", "Dashboard not found")
        if not record["isEnabled"]:
            return None, None, _error(403, "publicdashboards.notEnabled", "Dashboard paused")
        if record["share"] == "email":
            # Sharing with named people needs Grafana Enterprise: in OSS the dashboard is not found.
            return None, None, _error(404, "publicdashboards.notFound", "Dashboard not found")
        return record, dashboard, None

    def view(self, token):
        record, dashboard, error = self._enabled_by_token(token)
        if error:
            return error
        meta = {"slug": dashboard["slug"], "type": "db", "canStar": False, "canSave": False, "canEdit": False, "canAdmin": False,
                "canDelete": False, "created": dashboard["created"], "updated": dashboard["created"], "version": 1, "isFolder": False,
                "folderUid": (dashboard["folder"] or {}).get("uid", ""), "publicDashboardEnabled": True}
        return 200, {"dashboard": _sanitized(dashboard["body"], record["timeSelectionEnabled"]), "meta": meta}

    def query(self, token, panel_id):
        _, _, error = self._enabled_by_token(token)
        if error:
            return error
        if not re.fullmatch(r"-?\d+", panel_id):
            return _error(400, "publicdashboards.invalidPanelId", "Invalid panel id")
        return 501, {"message": "the lab's Grafana stand-in does not run panel queries (Grafana would query the data source)"}
