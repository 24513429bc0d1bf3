"""Grafana's settings, resolved the way Grafana resolves them (grafana/grafana pkg/setting/setting.go,
loadConfiguration; https://grafana.com/docs/grafana/latest/setup-grafana/configure-grafana/):

1. <homepath>/conf/defaults.ini (missing: Grafana refuses to start);
2. `cfg:default.<section>.<key>=<value>` arguments (what the Debian unit passes for the paths);
3. the --config file (named but unreadable: Grafana refuses to start), whose non-empty values win;
4. GF_<SECTION>_<KEY> environment variables, for keys that exist (section and key upper-cased, '.' and '-' as '_');
5. `cfg:<section>.<key>=<value>` arguments;
6. variable expansion in every value: `${VAR}` from the environment, then `$__file{path}` (the file's content,
   whitespace trimmed; an unreadable file stops Grafana) (pkg/setting/expanders.go).

Grafana's binary reads no `GF_..._FILE` / `__FILE` variables: that convention belongs to its Docker image's entry
script (packaging/docker/run.sh). Under systemd they are ignored, and the stand-in ignores them too (saying so).
"""
import os
import re
import socket
from dataclasses import dataclass

DEFAULT_SECTION = "DEFAULT"  # go-ini's name for keys before any section header
_EXPANSION = re.compile(r"\$(|__\w+){([^}]+)}")
_TRUE = {"1", "t", "T", "true", "TRUE", "True", "y", "Y", "yes", "YES", "Yes", "on", "ON", "On"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False", "n", "N", "no", "NO", "No", "off", "OFF", "Off"}


class ConfigError(Exception):
    """A configuration Grafana would refuse to start with."""


def _ini_value(raw):
    """A value as go-ini reads it: quoted values verbatim, otherwise cut at the first ';' or '#' (an inline
    comment) -- why Grafana's sample.ini asks for triple quotes around a password holding either."""
    value = raw.strip()
    for quote in ('"""', "`", '"', "'"):
        if len(value) >= 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
            return value[len(quote):-len(quote)]
    for i, ch in enumerate(value):
        if ch in ";#":
            return value[:i].strip()
    return value


def read_ini(path):
    """{section: {key: value}} from an INI file; raises OSError when unreadable, ConfigError when malformed."""
    sections = {DEFAULT_SECTION: {}}
    current = sections[DEFAULT_SECTION]
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            text = line.strip()
            if not text or text[0] in ";#":
                continue
            if text.startswith("["):
                if not text.endswith("]") or len(text) < 3:
                    raise ConfigError(f'failed to parse "{path}": line {number}: unclosed section: {text}')
                current = sections.setdefault(text[1:-1].strip(), {})
                continue
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f'failed to parse "{path}": line {number}: key-value delimiter not found: {text}')
            current[key.strip()] = _ini_value(value)
    return sections


def env_key(section, key):
    """GF_<SECTION>_<KEY>, as pkg/setting/setting.go EnvKey builds it."""
    section_part = section.replace(".", "_").replace("-", "_").upper()
    return f"GF_{section_part}_{key.replace('.', '_').upper()}"


def _command_line_properties(args):
    props = {}
    for arg in args:
        if not arg.startswith("cfg:"):
            continue
        parts = arg[len("cfg:"):].split("=")
        if len(parts) != 2:
            raise ConfigError(f"Invalid command line argument: {arg}")
        props[parts[0]] = parts[1]
    return props


def _expand(value, environ):
    def env(match):
        if match.group(1) != "":
            return match.group(0)
        name = match.group(2)
        if name == "HOSTNAME" and not environ.get(name):
            return socket.gethostname()
        return environ.get(name, "")

    def file(match):
        if match.group(1) != "__file":
            return match.group(0)
        try:
            with open(match.group(2), encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as error:
            raise ConfigError(f"got error while expanding with expander 'file': {error}") from error

    return _EXPANSION.sub(file, _EXPANSION.sub(env, value))


def resolve(home_path, config_file, args, environ):
    """(raw settings {section: {key: value}}, notes about variables that changed nothing)."""
    defaults = os.path.join(home_path, "conf", "defaults.ini")
    if not os.path.exists(defaults):
        raise ConfigError("Grafana-server Init Failed: Could not find config defaults, make sure homepath command "
                          "line parameter is set or working directory is homepath")
    raw = read_ini(defaults)
    props = _command_line_properties(args)
    for section, keys in raw.items():
        for key in keys:
            if f"default.{section}.{key}" in props:
                keys[key] = props[f"default.{section}.{key}"]
    if config_file:
        try:
            user = read_ini(config_file)
        except OSError as error:
            raise ConfigError(f'failed to parse "{config_file}": {error.strerror}') from error
        for section, keys in user.items():
            for key, value in keys.items():
                if value != "":
                    raw.setdefault(section, {})[key] = value
    known = set()
    for section, keys in raw.items():
        for key in keys:
            name = env_key(section, key)
            known.add(name)
            if environ.get(name):
                keys[key] = environ[name]
    for section, keys in raw.items():
        prefix = "" if section == DEFAULT_SECTION else f"{section}."
        for key in keys:
            if f"{prefix}{key}" in props:
                keys[key] = props[f"{prefix}{key}"]
    for keys in raw.values():
        for key, value in keys.items():
            keys[key] = _expand(value, environ)
    notes = []
    for name in sorted(n for n in environ if n.startswith("GF_") and n not in known):
        if name.endswith("__FILE"):
            notes.append(f"{name} is ignored: Grafana reads no *__FILE variables (only its Docker image's run.sh "
                         f"does); set the setting to $__file{{<path>}} instead")
        else:
            notes.append(f"{name} names no setting this stand-in models; it changes nothing here")
    return raw, notes


def _bool(raw, section, key, notes):
    """A boolean as go-ini's MustBool reads it: an unparsable value falls back to the default, silently in Grafana
    (noted here)."""
    value = raw[section][key]
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    default = BOOL_DEFAULTS[(section, key)]
    notes.append(f"[{section}] {key} = {value!r} is not a boolean: the default ({str(default).lower()}) applies")
    return default


BOOL_DEFAULTS = {
    ("security", "disable_brute_force_login_protection"): False,
    ("users", "allow_sign_up"): False,
    ("auth.anonymous", "enabled"): False,
    ("auth.basic", "enabled"): True,
    ("public_dashboards", "enabled"): True,
}


@dataclass(frozen=True)
class Settings:
    home_path: str
    data_path: str
    logs_path: str
    provisioning_path: str
    http_addr: str
    http_port: int
    admin_user: str
    admin_password: str
    admin_email: str
    brute_force_protection: bool
    max_login_attempts: int
    public_dashboards_enabled: bool


# Settings whose other value changes behaviour this stand-in does not model: it refuses to start rather than
# pretend (a real Grafana would start and behave differently).
NOT_MODELLED = {
    ("users", "allow_sign_up"): True,
    ("auth.anonymous", "enabled"): True,
    ("auth.basic", "enabled"): False,
}


def load_settings(home_path, config_file, args, environ):
    """(Settings, notes); raises ConfigError where Grafana would not start, or where the stand-in cannot model."""
    raw, notes = resolve(home_path, config_file, args, environ)

    def path(key):
        value = raw["paths"][key]
        return value if os.path.isabs(value) else os.path.join(home_path, value)

    if raw["server"]["protocol"] != "http":
        raise ConfigError(f"the lab's Grafana stand-in serves only protocol = http (got {raw['server']['protocol']!r})")
    for (section, key), refused in NOT_MODELLED.items():
        if _bool(raw, section, key, notes) == refused:
            raise ConfigError(f"the lab's Grafana stand-in does not model [{section}] {key} = "
                              f"{raw[section][key]} ({env_key(section, key)}): refusing to start")
    try:
        port = int(raw["server"]["http_port"])
        attempts = int(raw["security"]["brute_force_login_protection_max_attempts"])
    except ValueError as error:
        raise ConfigError(f"invalid number in configuration: {error}") from error
    settings = Settings(
        home_path=home_path,
        data_path=path("data"),
        logs_path=path("logs"),
        provisioning_path=path("provisioning"),
        http_addr=raw["server"]["http_addr"],
        http_port=port,
        admin_user=raw["security"]["admin_user"],
        admin_password=raw["security"]["admin_password"],
        admin_email=raw["security"]["admin_email"],
        brute_force_protection=not _bool(raw, "security", "disable_brute_force_login_protection", notes),
        max_login_attempts=attempts,
        public_dashboards_enabled=_bool(raw, "public_dashboards", "enabled", notes),
    )
    return settings, notes
