"""Project settings: `[tool.rmlint]` in pyproject.toml or `.rmlint.yaml`, found from the current
folder upwards (the nearest wins, as with ruff), merged with the command line.

    [tool.rmlint]
    select = ["RM2", "RM6"]            # default: every rule
    extend-select = ["fp32-training"]  # rule ids (or id prefixes) and rule names
    ignore = ["ignored-deepspeed-key"]
    strict = true                      # warnings fail too
    rule-packs = ["lint/rules"]        # folders of extra rules, same YAML + CEL format
    [tool.rmlint.per-file-ignores]
    "legacy/*.sh" = ["mixed-cli-generations"]
    [tool.rmlint.severity]
    value-head-looks-untrained = "error"
    [tool.rmlint.versions]             # the releases the training runs with (else: installed, pinned)
    deepspeed = "0.16.4"
    [tool.rmlint.openrlhf]
    extra-flags = ["--my_fork_flag"]   # flags a fork of OpenRLHF adds: accepted, not checked
"""

from .suggest import suggest
import os
from dataclasses import dataclass, field

SETTINGS = ("select", "extend-select", "ignore", "per-file-ignores", "severity", "strict", "rule-packs",
            "deepspeed-schema", "exclude", "extend-exclude", "respect-gitignore", "force-exclude",
            "versions", "hub", "hub-timeout", "openrlhf")
OPENRLHF_SETTINGS = ("extra-flags",)
# folders and files a walk never reads (gitignore patterns); `exclude` replaces them, `extend-exclude` adds
DEFAULT_EXCLUDE = (".*", "node_modules", "__pycache__", "site-packages", "venv", "*.egg-info")
SCHEMAS = ("snapshot", "installed")   # DeepSpeed's keys from rmlint's snapshot, or from the installed DeepSpeed
# the usage error of "installed" where DeepSpeed cannot be imported ({error}: the import's own words)
EXACT_UNAVAILABLE = "exact DeepSpeed validation needs deepspeed installed (pip install 'rmlint[deepspeed]'): {error}"
CONFIG_FILES = (".rmlint.yaml", ".rmlint.yml", "pyproject.toml")
SEVERITIES = ("error", "warning", "info")


class ConfigError(Exception):
    """A settings file rmlint cannot use (exit code 2), naming the file and the setting."""


# what a path that is not a regular file is (sources/files.py's enum), and what rmlint read it as (Refused's `what`)
_FILE_KINDS = {"fifo": "a FIFO", "character-device": "a character device", "block-device": "a block device",
               "socket": "a socket", "folder": "a folder"}
_READ_AS = {"settings": "settings files", "rule-file": "rule files"}


def refused_text(err) -> str:
    """Why rmlint will not read one of its own settings or rule files (a sources.files.Refused: a kind and
    facts), worded for the usage error; the configs and scripts it checks are worded by the unreadable-input
    rule's YAML instead."""
    kind, facts = err.kind, err.facts
    if kind == "refused-symlink-outside":
        return f"a symlink to {facts['target']}, outside {facts['folder']}; not followed"
    if kind == "refused-not-a-regular-file":
        return f"not a regular file ({_FILE_KINDS.get(facts['file_kind'], 'not a regular file')}); not read"
    if kind == "refused-too-big":
        return f"file is {facts['size']}; rmlint reads {_READ_AS.get(facts['what'], 'such files')} up to {facts['limit']}"
    return f"file grew past {facts['limit']} while it was read"


@dataclass(eq=False)
class Settings:
    """What a settings file and the command line ask for: selection, exclusion, versions, strictness."""
    select: list | None = None                    # None: every rule
    extend_select: list = field(default_factory=list)
    ignore: list = field(default_factory=list)
    per_file_ignores: dict = field(default_factory=dict)   # glob -> [selector]
    severity: dict = field(default_factory=dict)           # selector -> severity
    strict: bool = False
    rule_packs: list = field(default_factory=list)         # absolute folders
    deepspeed_schema: str | None = None                    # None: "installed" when deepspeed is already imported
    exclude: list = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extend_exclude: list = field(default_factory=list)
    respect_gitignore: bool = True
    force_exclude: bool = False                            # exclusion applies to paths given explicitly too
    versions: dict = field(default_factory=dict)           # package -> version, from [tool.rmlint.versions]
    installed_versions: bool = True                        # read the installed distributions' versions
    hub: bool = False                                      # read hub ids not in the local cache from the Hub
    hub_timeout: float = 10.0                              # seconds per Hub request
    openrlhf_extra_flags: list = field(default_factory=list)   # a fork's own flags (`--x`), accepted as given
    source: str = ""                                       # the settings file, "" for none
    root: str = field(default_factory=os.getcwd)           # paths in per-file-ignores are relative to it

    def to_dict(self) -> dict:
        return {"source": self.source or None, "root": self.root, "select": self.select,
                "extend-select": self.extend_select, "ignore": self.ignore,
                "per-file-ignores": self.per_file_ignores, "severity": self.severity, "strict": self.strict,
                "rule-packs": self.rule_packs, "deepspeed-schema": self.deepspeed_schema or "snapshot",
                "exclude": self.exclude, "extend-exclude": self.extend_exclude,
                "respect-gitignore": self.respect_gitignore, "force-exclude": self.force_exclude,
                "versions": dict(self.versions), "hub": self.hub, "hub-timeout": self.hub_timeout,
                "openrlhf": {"extra-flags": self.openrlhf_extra_flags}}


def discover(start: str | None = None) -> str | None:
    """The nearest .rmlint.yaml, or pyproject.toml with a [tool.rmlint] table, from `start` upwards."""
    folder = os.path.abspath(start or os.getcwd())
    while True:
        for name in CONFIG_FILES:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and (name != "pyproject.toml" or _has_tool_table(path)):
                return path
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


MAX_SETTINGS = 4 * 1024 * 1024


def _has_tool_table(path: str) -> bool:
    from .sources.files import read_input
    try:
        return b"[tool.rmlint" in read_input(path, MAX_SETTINGS)
    except OSError:
        return False


def _read(path: str) -> dict:
    from .sources.files import Refused, read_input
    try:
        data = read_input(path, MAX_SETTINGS, what="settings")
        if path.endswith(".toml"):
            import tomllib
            table = tomllib.loads(data.decode("utf-8")).get("tool", {}).get("rmlint", {})
        else:
            import yaml
            table = yaml.safe_load(data.decode("utf-8")) or {}
    except Exception as err:   # OSError, UnicodeDecodeError, TOMLDecodeError, yaml.YAMLError: all a bad settings file
        raise ConfigError(f"{path}: cannot read: {refused_text(err) if isinstance(err, Refused) else err}") from None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: the settings must be a mapping")
    return table


def _strings(path: str, key: str, value) -> list:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: `{key}` must be a list of strings")
    return value


def load(path: str) -> Settings:
    table = _read(path)
    where = path if path.endswith((".yaml", ".yml")) else f"{path} [tool.rmlint]"
    for key in table:
        if key not in SETTINGS:
            close = suggest(key, SETTINGS)
            hint = f"; did you mean `{close}`?" if close else f" (known: {', '.join(SETTINGS)})"
            raise ConfigError(f"{where}: unknown setting `{key}`{hint}")
    root = os.path.dirname(os.path.abspath(path))
    settings = Settings(source=path, root=root)
    if "select" in table:
        settings.select = _strings(where, "select", table["select"])
    settings.extend_select = _strings(where, "extend-select", table.get("extend-select", []))
    settings.ignore = _strings(where, "ignore", table.get("ignore", []))
    for key in ("per-file-ignores", "severity"):
        if not isinstance(table.get(key, {}), dict):
            raise ConfigError(f"{where}: `{key}` must be a table of pattern = [rules]" if key == "per-file-ignores"
                              else f"{where}: `severity` must be a table of rule = \"error\" | \"warning\" | \"info\"")
    settings.per_file_ignores = {str(glob): _strings(where, f"per-file-ignores.{glob}", rules)
                                 for glob, rules in table.get("per-file-ignores", {}).items()}
    for rule, level in table.get("severity", {}).items():
        if level not in SEVERITIES:
            raise ConfigError(f"{where}: severity of `{rule}` must be one of {', '.join(SEVERITIES)}, not {level!r}")
        settings.severity[str(rule)] = level
    for key in ("strict", "respect-gitignore", "force-exclude", "hub"):
        if not isinstance(table.get(key, False), bool):
            raise ConfigError(f"{where}: `{key}` must be true or false")
    timeout = table.get("hub-timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 600:
        raise ConfigError(f"{where}: `hub-timeout` must be a number of seconds between 0 and 600")
    settings.hub, settings.hub_timeout = table.get("hub", False), float(timeout)
    settings.strict = table.get("strict", False)
    settings.respect_gitignore = table.get("respect-gitignore", True)
    settings.force_exclude = table.get("force-exclude", False)
    if "exclude" in table:
        settings.exclude = _strings(where, "exclude", table["exclude"])
    settings.extend_exclude = _strings(where, "extend-exclude", table.get("extend-exclude", []))
    schema = table.get("deepspeed-schema", None)
    if schema is not None and schema not in SCHEMAS:
        raise ConfigError(f"{where}: `deepspeed-schema` must be one of {', '.join(SCHEMAS)}, not {schema!r}")
    settings.deepspeed_schema = schema
    settings.versions = _versions(where, table.get("versions", {}))
    settings.openrlhf_extra_flags = _openrlhf(where, table.get("openrlhf", {}))
    settings.rule_packs = [os.path.normpath(os.path.join(root, p)) for p in _strings(where, "rule-packs",
                                                                                     table.get("rule-packs", []))]
    for pack in settings.rule_packs:
        if not os.path.isdir(pack):
            raise ConfigError(f"{where}: rule pack folder {pack} does not exist")
    return settings


def _versions(where: str, table) -> dict:
    from .versions import PACKAGES
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: `versions` must be a table of package = \"version\"")
    for package, version in table.items():
        if package not in PACKAGES:
            close = suggest(package, PACKAGES)
            hint = f"; did you mean `{close}`?" if close else f" (known: {', '.join(PACKAGES)})"
            raise ConfigError(f"{where}: unknown package `versions.{package}`{hint}")
        if not isinstance(version, str) or not version[:1].isdigit():
            raise ConfigError(f"{where}: `versions.{package}` must be a version string such as \"0.16.4\", not {version!r}")
    return {str(k): v for k, v in table.items()}


def _openrlhf(where: str, table) -> list:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: `openrlhf` must be a table (extra-flags = [...])")
    for key in table:
        if key not in OPENRLHF_SETTINGS:
            raise ConfigError(f"{where}: unknown setting `openrlhf.{key}` (known: {', '.join(OPENRLHF_SETTINGS)})")
    flags = _strings(where, "openrlhf.extra-flags", table.get("extra-flags", []))
    bad = [f for f in flags if not f.startswith("--") or len(f) < 3 or any(c.isspace() for c in f)]
    if bad:
        raise ConfigError(f"{where}: `openrlhf.extra-flags` holds flags written as `--name`, not {bad[0]!r}")
    return flags


def resolve(config: str | None = None, start: str | None = None) -> Settings:
    """Settings from `config` if given, else from the nearest settings file, else the defaults."""
    if config is not None and not os.path.isfile(config):
        raise ConfigError(f"{config}: no such settings file")
    path = config or discover(start)
    return load(path) if path else Settings()
