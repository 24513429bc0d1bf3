"""Provisioning, read at start as Grafana reads it
(https://grafana.com/docs/grafana/latest/administration/provisioning/; grafana/grafana
pkg/services/provisioning/dashboards/config_reader.go and file_reader.go, pkg/services/provisioning/datasources/
config_reader.go):

- every *.yaml / *.yml file in <provisioning>/dashboards and <provisioning>/datasources is read; a file that does
  not parse, or a provider or data source that is invalid, stops Grafana ("Datasource provisioning error", "Failed
  to create provisioner"); an empty file (the package's all-comment samples) provisions nothing;
- a dashboard provider of `type: file` (the default) loads every *.json under `options.path`, recursively; a path
  that does not exist is logged and provisions nothing (Grafana starts without those dashboards);
- a dashboard file that is not JSON, has no title, or whose uid has characters other than letters, digits, '-' and
  '_' or is longer than 40, is logged and skipped; one without a uid gets one (stable here, by its path);
- `folder` names the folder the provider's dashboards go in (the General folder when empty);
  `options.foldersFromFilesStructure` makes sub-directories folders;
- only one data source per organisation may be `isDefault`.
Not modelled (refused with a clear message rather than ignored): providers for another organisation than 1, any
provider type but `file`. Environment variables in provisioning files are not expanded.
"""
import hashlib
import json
import os
import re

import yaml

MAX_UID_LENGTH = 40
_UID = re.compile(r"^[a-zA-Z0-9\-_]*$")


class ProvisioningError(Exception):
    """Provisioning Grafana would refuse to start with."""


def valid_uid(uid):
    return isinstance(uid, str) and uid != "" and len(uid) <= MAX_UID_LENGTH and _UID.match(uid) is not None


def slugify(title):
    """Grafana's URL slug of a title (pkg/infra/slugify), for ASCII titles: lower case, runs of other characters
    as one '-'."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _yaml_files(directory):
    if not os.path.isdir(directory):
        return []
    return sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith((".yaml", ".yml")))


def _read_yaml(path, kind):
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        raise ProvisioningError(f"{kind} provisioning: could not parse {path}: {error}") from error
    if document is None:
        return None
    if not isinstance(document, dict):
        raise ProvisioningError(f"{kind} provisioning: {path}: expected a mapping with apiVersion")
    return document


def _org(entry, path, what):
    org = entry.get("orgId", 1)
    if org not in (1, None):
        raise ProvisioningError(f"{path}: {what} is for organisation {org}; the lab's Grafana stand-in models only organisation 1")


def load_datasources(provisioning_path):
    """The provisioned data sources, in file order."""
    datasources = []
    for path in _yaml_files(os.path.join(provisioning_path, "datasources")):
        document = _read_yaml(path, "Datasource")
        if document is None:
            continue
        for entry in document.get("datasources") or []:
            if not isinstance(entry, dict) or not entry.get("name"):
                raise ProvisioningError(f"Datasource provisioning error: {path}: a data source without a name")
            _org(entry, path, f"data source {entry['name']!r}")
            uid = entry.get("uid") or hashlib.sha1(entry["name"].encode()).hexdigest()[:14]
            if not valid_uid(uid):
                raise ProvisioningError(f"Datasource provisioning error: {path}: invalid uid {uid!r}")
            datasources.append({
                "id": len(datasources) + 1, "uid": uid, "orgId": 1, "name": entry["name"], "type": entry.get("type", ""),
                "access": entry.get("access", "proxy"), "url": entry.get("url", ""), "isDefault": bool(entry.get("isDefault", False)),
                "jsonData": entry.get("jsonData") or {}, "readOnly": not entry.get("editable", False),
            })
    defaults = [d["name"] for d in datasources if d["isDefault"]]
    if len(defaults) > 1:
        raise ProvisioningError("Datasource provisioning error: datasource.yaml config is invalid. Only one datasource per "
                                f"organization can be marked as default (marked: {', '.join(defaults)})")
    return datasources


def _providers(provisioning_path):
    for path in _yaml_files(os.path.join(provisioning_path, "dashboards")):
        document = _read_yaml(path, "Dashboard")
        if document is None:
            continue
        for provider in document.get("providers") or []:
            if not isinstance(provider, dict):
                raise ProvisioningError(f"Failed to create provisioner: {path}: a provider is not a mapping")
            name = provider.get("name") or ""
            kind = provider.get("type") or "file"
            if kind != "file":
                raise ProvisioningError(f"Failed to create provisioner: {path}: provider {name!r} has type {kind!r}; only 'file' exists")
            _org(provider, path, f"provider {name!r}")
            options = provider.get("options") or {}
            if not options.get("path"):
                raise ProvisioningError(f"Failed to create provisioner: {path}: provider {name!r} has no options.path")
            yield name, provider, options


def load_dashboards(provisioning_path, log):
    """(folders, dashboards) provisioned from files: folders {uid: {...}}, dashboards in load order."""
    folders, found = {}, []

    def folder_for(title, uid=None):
        if not title:
            return None
        uid = uid or hashlib.sha1(title.encode()).hexdigest()[:14]
        folders.setdefault(uid, {"uid": uid, "title": title, "id": 1000 + len(folders)})
        return folders[uid]

    for name, provider, options in _providers(provisioning_path):
        root = options["path"]
        if not os.path.isdir(root):
            log("error", "Cannot read directory", logger="provisioning.dashboard", provider=name, path=root)
            continue
        for directory, subdirs, files in os.walk(root):
            subdirs.sort()
            for file_name in sorted(f for f in files if f.endswith(".json")):
                path = os.path.join(directory, file_name)
                relative = os.path.relpath(path, root)
                try:
                    with open(path, encoding="utf-8") as handle:
                        dashboard = json.load(handle)
                except (OSError, ValueError) as error:
                    log("error", "failed to load dashboard from file", logger="provisioning.dashboard", file=path, error=str(error))
                    continue
                if not isinstance(dashboard, dict) or not str(dashboard.get("title") or "").strip():
                    log("error", "failed to save dashboard: Dashboard title cannot be empty", logger="provisioning.dashboard", file=path)
                    continue
                uid = dashboard.get("uid") or hashlib.sha1(f"{name}:{relative}".encode()).hexdigest()[:14]
                if not valid_uid(uid):
                    log("error", "failed to save dashboard: invalid uid (letters, digits, '-' and '_', at most 40)", logger="provisioning.dashboard", file=path, uid=uid)
                    continue
                if options.get("foldersFromFilesStructure") and os.path.dirname(relative):
                    folder = folder_for(os.path.dirname(relative).split(os.sep)[0])
                else:
                    folder = folder_for(provider.get("folder") or "", provider.get("folderUid"))
                found.append({"uid": uid, "title": dashboard["title"], "json": dashboard, "file": path, "relative": relative,
                              "provider": name, "folder": folder, "allowUiUpdates": bool(provider.get("allowUiUpdates", False))})
    by_uid = {}
    for entry in found:
        by_uid.setdefault(entry["uid"], []).append(entry)
    dashboards = []
    for entry in found:
        if len(by_uid[entry["uid"]]) > 1:
            # Stricter than Grafana, which keeps one of them: the same uid twice is a provisioning bug.
            log("error", "the same UID is used more than once: none of these dashboards is provisioned", logger="provisioning.dashboard",
                uid=entry["uid"], file=entry["file"])
            continue
        entry["id"] = len(dashboards) + 1
        dashboards.append(entry)
    return folders, dashboards
