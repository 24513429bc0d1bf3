"""What Grafana keeps in its database (grafana.db under paths.data), kept here in one JSON file beside it:

- the admin user, created at the first start only, with [security] admin_user / admin_password / admin_email: later
  changes to those settings do not change it ("Set once on first-run",
  https://grafana.com/docs/grafana/latest/setup-grafana/configure-grafana/#admin_password); the password is stored
  as Grafana stores it, PBKDF2-HMAC-SHA256 with 10 000 iterations and a 10-character salt (pkg/util/encoding.go
  EncodePassword);
- public dashboards, which survive restarts.
A data directory that cannot be written stops Grafana (its SQLite database cannot be opened); the stand-in too.
Login attempts (pkg/services/loginattempt: five failures for a user name within five minutes block it) and sessions
live in memory here; Grafana keeps them in its database.
"""
import hashlib
import hmac
import json
import os
import secrets
import string
import threading
import time

STATE_FILE = "grafana-standin.json"
LOGIN_ATTEMPTS_WINDOW = 5 * 60


class StoreError(Exception):
    """The database cannot be opened or written."""


def _hash_password(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 10_000, 50).hex()


class Store:
    def __init__(self, data_path):
        self.path = os.path.join(data_path, STATE_FILE)
        self.lock = threading.Lock()
        self.failures = {}
        self.sessions = {}
        try:
            os.makedirs(data_path, exist_ok=True)
            if os.path.exists(self.path):
                with open(self.path, encoding="utf-8") as handle:
                    self.state = json.load(handle)
            else:
                self.state = {"users": [], "publicDashboards": []}
                self._save()
        except (OSError, ValueError) as error:
            raise StoreError(f"failed to open the database at {self.path}: {error}") from error

    def _save(self):
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.state, handle, indent=2)
        os.replace(temporary, self.path)

    def save(self):
        try:
            self._save()
        except OSError as error:
            raise StoreError(f"failed to write the database at {self.path}: {error}") from error

    # Users -------------------------------------------------------------------------------------------------------

    def ensure_admin(self, login, password, email):
        """Creates the admin user when there is no user yet; True when it did."""
        with self.lock:
            if self.state["users"]:
                return False
            salt = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(10))
            self.state["users"].append({"id": 1, "login": login, "email": email, "salt": salt, "password": _hash_password(password, salt),
                                        "isGrafanaAdmin": True, "orgRole": "Admin"})
            self.save()
            return True

    def user_by_login(self, login):
        for user in self.state["users"]:
            if login in (user["login"], user["email"]):
                return user
        return None

    def blocked(self, login, max_attempts):
        with self.lock:
            recent = [t for t in self.failures.get(login.lower(), []) if t > time.time() - LOGIN_ATTEMPTS_WINDOW]
            self.failures[login.lower()] = recent
            return len(recent) >= max_attempts

    def check_password(self, login, password):
        """The user, or None (then the failure counts against that login)."""
        user = self.user_by_login(login)
        if user and hmac.compare_digest(user["password"], _hash_password(password, user["salt"])):
            with self.lock:
                self.failures.pop(login.lower(), None)
            return user
        with self.lock:
            self.failures.setdefault(login.lower(), []).append(time.time())
        return None

    def new_session(self, user):
        token = secrets.token_hex(16)
        with self.lock:
            self.sessions[token] = user["id"]
        return token

    def session_user(self, token):
        user_id = self.sessions.get(token)
        return next((u for u in self.state["users"] if u["id"] == user_id), None)

    def end_session(self, token):
        with self.lock:
            self.sessions.pop(token, None)

    # Public dashboards ---------------------------------------------------------------------------------------------

    def public_dashboards(self):
        return list(self.state["publicDashboards"])

    def add_public_dashboard(self, record):
        with self.lock:
            self.state["publicDashboards"].append(record)
            self.save()

    def update_public_dashboard(self, uid, changes):
        with self.lock:
            for record in self.state["publicDashboards"]:
                if record["uid"] == uid:
                    record.update(changes)
                    self.save()
                    return record
        return None

    def delete_public_dashboard(self, uid):
        with self.lock:
            before = len(self.state["publicDashboards"])
            self.state["publicDashboards"] = [r for r in self.state["publicDashboards"] if r["uid"] != uid]
            self.save()
            return len(self.state["publicDashboards"]) < before
