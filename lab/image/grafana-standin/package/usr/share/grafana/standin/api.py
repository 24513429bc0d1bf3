"""Grafana's HTTP server as the pool and its operator use it (grafana/grafana pkg/api/api.go registers the routes):
which routes exist, who may call them, and what they answer. Each answer cites its Grafana doc page.
"""
import base64
import binascii
import json
import re
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from provisioning import slugify
from public_dashboards import PublicDashboards

SESSION_COOKIE = "grafana_session"
_SHELL = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Grafana</title></head>
<body>
<!-- pool-ops lab stand-in for Grafana: Grafana serves its single-page app here, which renders in the browser from
     the HTTP API; the stand-in serves the shell only. -->
<div id="reactRoot">{note}</div>
</body>
</html>
"""


def _shell(note):
    return _SHELL.format(note=note).encode()


class App:
    """Routes a request to its handler; pure apart from the store."""

    def __init__(self, settings, store, folders, provisioned, datasources, version, commit, log):
        self.settings = settings
        self.store = store
        self.version = version
        self.commit = commit
        self.log = log
        self.datasources = datasources
        self.folders = folders
        started = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        self.dashboards = {}
        for entry in provisioned:
            body = dict(entry["json"], id=entry["id"], uid=entry["uid"], version=1)
            self.dashboards[entry["uid"]] = {**entry, "slug": slugify(entry["title"]), "created": started, "body": body,
                                             "tags": [t for t in entry["json"].get("tags") or [] if isinstance(t, str)]}
        self.public = PublicDashboards(store, self.dashboards, lambda user: user["id"])
        routes = [
            ("GET", r"/api/health", self.health, False),
            ("GET", r"/login", self.login_page, False),
            ("POST", r"/login", self.login, False),
            ("GET", r"/logout", self.logout, False),
            ("GET", r"/signup", self.signup_page, False),
            ("POST", r"/api/user/signup", self.signup, False),
            ("POST", r"/api/user/signup/step2", self.signup, False),
            ("GET", r"/api/user", self.current_user, True),
            ("GET", r"/api/search", self.search, True),
            ("GET", r"/api/dashboards/uid/(?P<uid>[^/]+)", self.dashboard, True),
            ("GET", r"/api/datasources", self.list_datasources, True),
            ("GET", r"/api/datasources/uid/(?P<uid>[^/]+)", self.datasource, True),
        ]
        if settings.public_dashboards_enabled:
            routes += [
                ("GET", r"/api/dashboards/public-dashboards", lambda r: self.public.list(r["query"]), True),
                ("GET", r"/api/dashboards/uid/(?P<uid>[^/]+)/public-dashboards", lambda r: self.public.get(r["uid"]), True),
                ("POST", r"/api/dashboards/uid/(?P<uid>[^/]+)/public-dashboards", lambda r: self.public.create(r["uid"], r["json"], r["user"]), True),
                ("PATCH", r"/api/dashboards/uid/(?P<uid>[^/]+)/public-dashboards/(?P<pd>[^/]+)",
                 lambda r: self.public.update(r["uid"], r["pd"], r["json"], r["user"]), True),
                ("DELETE", r"/api/dashboards/uid/(?P<uid>[^/]+)/public-dashboards/(?P<pd>[^/]+)", lambda r: self.public.delete(r["uid"], r["pd"]), True),
                ("GET", r"/api/public/dashboards/(?P<token>[^/]+)", lambda r: self.public.view(r["token"]), False),
                ("POST", r"/api/public/dashboards/(?P<token>[^/]+)/panels/(?P<panel>[^/]+)/query",
                 lambda r: self.public.query(r["token"], r["panel"]), False),
                ("GET", r"/public-dashboards/(?P<token>[^/]+)", lambda r: (200, _shell("public dashboard")), False),
            ]
        # Pages a signed-in user opens: the app shell; signed out, Grafana redirects to its login page.
        routes += [("GET", pattern, lambda r: (200, _shell("signed in")), True) for pattern in (r"", r"/d/[^/]+(/[^/]+)?", r"/dashboards(/.*)?", r"/explore")]
        # Grafana's router takes a path with or without its trailing slash.
        self.routes = [(method, re.compile(f"^{pattern}/?$"), handler, signed_in) for method, pattern, handler, signed_in in routes]

    # Authentication (https://grafana.com/docs/grafana/latest/developers/http_api/authentication/) ----------------

    def identify(self, headers):
        """(user, None), (None, refusal message) or (None, None) when the request carries no credentials."""
        authorization = headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            try:
                login, _, password = base64.b64decode(authorization[6:], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None, "Invalid Basic Auth Header"
            return self.password_login(login, password)
        if authorization.startswith("Bearer "):
            return None, "Invalid API key"  # service accounts and API keys are not modelled: no token is valid
        for part in headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE:
                user = self.store.session_user(value)
                return (user, None) if user else (None, "Unauthorized")
        return None, None

    def password_login(self, login, password):
        """Grafana's password check, with its brute-force protection (pkg/services/loginattempt)."""
        if self.settings.brute_force_protection and self.store.blocked(login, self.settings.max_login_attempts):
            self.log("warn", "login blocked: too many consecutive incorrect login attempts", logger="authn.service", user=login)
            return None, "Invalid username or password"
        user = self.store.check_password(login, password)
        if user is None:
            self.log("info", "Failed to authenticate request", logger="authn.service", client="auth.client.basic", user=login)
            return None, "Invalid username or password"
        return user, None

    # Handlers --------------------------------------------------------------------------------------------------------

    def health(self, request):
        # https://grafana.com/docs/grafana/latest/developers/http_api/other/#health-api
        return 200, {"commit": self.commit, "database": "ok", "version": self.version}

    def login_page(self, request):
        user, _ = self.identify(request["headers"])
        if user:
            return 302, None, {"Location": "/"}
        return 200, _shell("login")

    def login(self, request):
        # POST /login {"user", "password"}: a session cookie (https://grafana.com/docs/grafana/latest/setup-grafana/configure-security/configure-authentication/)
        body = request["json"]
        if not isinstance(body, dict) or not isinstance(body.get("user"), str) or not isinstance(body.get("password"), str):
            return 400, {"message": "bad login data"}
        user, refusal = self.password_login(body["user"], body["password"])
        if user is None:
            return 401, {"message": refusal}
        token = self.store.new_session(user)
        return 200, {"message": "Logged in", "redirectUrl": "/"}, {"Set-Cookie": f"{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"}

    def logout(self, request):
        for part in request["headers"].get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE:
                self.store.end_session(value)
        return 302, None, {"Location": "/login", "Set-Cookie": f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"}

    def signup_page(self, request):
        return 200, _shell("sign-up is disabled")

    def signup(self, request):
        # [users] allow_sign_up = false (the stand-in starts only so): pkg/api/signup.go answers 401.
        return 401, {"message": "User signup is disabled"}

    def current_user(self, request):
        user = request["user"]
        return 200, {"id": user["id"], "login": user["login"], "email": user["email"], "isGrafanaAdmin": user["isGrafanaAdmin"], "orgId": 1}

    def search(self, request):
        # https://grafana.com/docs/grafana/latest/developers/http_api/folder_dashboard_search/
        query = request["query"]
        text = (query.get("query") or [""])[0].lower()
        types = query.get("type") or []
        uids = [u for value in query.get("dashboardUIDs", []) for u in value.split(",") if u]
        tags = query.get("tag") or []
        try:
            limit = int((query.get("limit") or ["1000"])[0])
        except ValueError:
            return 400, {"message": "limit must be a number"}
        hits = []
        if (not types or "dash-folder" in types) and not uids and not tags:
            for folder in sorted(self.folders.values(), key=lambda f: f["title"].lower()):
                if text in folder["title"].lower():
                    slug = slugify(folder["title"])
                    hits.append({"id": folder["id"], "uid": folder["uid"], "orgId": 1, "title": folder["title"], "uri": f"db/{slug}",
                                 "url": f"/dashboards/f/{folder['uid']}/{slug}", "slug": "", "type": "dash-folder", "tags": [],
                                 "isStarred": False, "sortMeta": 0})
        if not types or "dash-db" in types:
            for d in sorted(self.dashboards.values(), key=lambda d: d["title"].lower()):
                if text not in d["title"].lower() or (uids and d["uid"] not in uids) or not all(t in d["tags"] for t in tags):
                    continue
                hit = {"id": d["id"], "uid": d["uid"], "orgId": 1, "title": d["title"], "uri": f"db/{d['slug']}",
                       "url": f"/d/{d['uid']}/{d['slug']}", "slug": "", "type": "dash-db", "tags": d["tags"], "isStarred": False, "sortMeta": 0}
                if d["folder"]:
                    hit.update(folderId=d["folder"]["id"], folderUid=d["folder"]["uid"], folderTitle=d["folder"]["title"],
                               folderUrl=f"/dashboards/f/{d['folder']['uid']}/{slugify(d['folder']['title'])}")
                hits.append(hit)
        return 200, hits[:limit]

    def dashboard(self, request):
        # https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/#get-dashboard-by-uid
        d = self.dashboards.get(request["uid"])
        if d is None:
            return 404, {"message": "Dashboard not found"}
        folder = d["folder"] or {}
        meta = {"type": "db", "canSave": True, "canEdit": True, "canAdmin": True, "canStar": True, "canDelete": True,
                "slug": d["slug"], "url": f"/d/{d['uid']}/{d['slug']}", "created": d["created"], "updated": d["created"], "version": 1,
                "isFolder": False, "folderId": folder.get("id", 0), "folderUid": folder.get("uid", ""),
                "folderTitle": folder.get("title", "General"), "provisioned": True, "provisionedExternalId": d["relative"]}
        return 200, {"dashboard": d["body"], "meta": meta}

    def list_datasources(self, request):
        # https://grafana.com/docs/grafana/latest/developers/http_api/data_source/
        return 200, self.datasources

    def datasource(self, request):
        found = next((d for d in self.datasources if d["uid"] == request["uid"]), None)
        return (200, found) if found else (404, {"message": "Data source not found"})

    # Dispatch --------------------------------------------------------------------------------------------------------

    def handle(self, method, target, headers, body):
        """(status, headers, body bytes) for one request."""
        parts = urlsplit(target)
        path = parts.path if parts.path != "/" else ""
        lookup = "GET" if method == "HEAD" else method
        for route_method, pattern, handler, signed_in in self.routes:
            match = pattern.match(path)
            if not match or route_method != lookup:
                continue
            request = {"headers": headers, "query": parse_qs(parts.query), "json": None, "user": None, **match.groupdict()}
            if signed_in:
                user, refusal = self.identify(headers)
                if user is None:
                    if not path.startswith("/api/"):
                        return 302, {"Location": "/login"}, b""
                    return 401, {"Content-Type": "application/json"}, json.dumps({"message": refusal or "Unauthorized"}).encode()
                request["user"] = user
            if body:
                try:
                    request["json"] = json.loads(body)
                except ValueError:
                    return 400, {"Content-Type": "application/json"}, json.dumps({"message": "bad request data"}).encode()
            answer = handler(request)
            status, payload = answer[0], answer[1]
            extra = answer[2] if len(answer) > 2 else {}
            if isinstance(payload, bytes):
                return status, {"Content-Type": "text/html; charset=UTF-8", **extra}, payload
            if payload is None and status in (301, 302):
                return status, extra, b""
            return status, {"Content-Type": "application/json", **extra}, json.dumps(payload).encode()
        if path.startswith("/api/"):
            return 404, {"Content-Type": "application/json"}, json.dumps({"message": "Not found"}).encode()
        return 404, {"Content-Type": "text/html; charset=UTF-8"}, _shell("page not found")


def serve(app, address, port):
    """A threading HTTP server for `app` (not started); raises OSError when the port cannot be bound."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "Grafana"

        def _answer(self):
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = app.handle(self.command, self.path, self.headers, body)
            except Exception as error:  # noqa: BLE001 -- one bad request must not take the server down
                app.log("error", "Request failed", logger="context", path=self.path, error=repr(error))
                status, headers, payload = 500, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}'
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_HEAD = do_POST = do_PATCH = do_DELETE = do_PUT = _answer

        def log_message(self, format, *args):  # Grafana logs no request lines by default (router_logging = false)
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    return Server((address or "0.0.0.0", port), Handler)
