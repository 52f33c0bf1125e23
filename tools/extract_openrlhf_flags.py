"""Extract OpenRLHF's CLI flags, per entrypoint and release, into rmlint/data/openrlhf_flags.json.

Usage: python tools/extract_openrlhf_flags.py /path/to/OpenRLHF.git [openrlhf-X.Y.Z-*.whl ...] \
           > rmlint/data/openrlhf_flags.json

Reads every release tag's entrypoints with ``git show`` (``examples/<entrypoint>.py`` up to 0.3.5,
``openrlhf/cli/<entrypoint>.py`` from 0.3.6) and, for releases newer than the newest tag of the
checkout, the same files inside the release wheels given after it (``pip download --no-deps
openrlhf==X``). The ``parser.add_argument`` calls are walked with ``ast`` (nothing of OpenRLHF is
imported or run). For every flag it records its kind (bool switch, single value, list), value type,
choices, the releases that accept it (``spans`` of release indices when it was removed and came
back, else ``first``/``last``), and each release where its default changed. For every entrypoint
it records the releases where it could be run as a module (``openrlhf.cli.X``) and as a script
(``examples/X.py``).
"""

import ast
import json
import re
import subprocess
import sys
import zipfile

SCRIPT_DIR, MODULE_DIR = "examples/", "openrlhf/cli/"
NOT_ENTRYPOINTS = {"__init__"}


def version_key(tag):
    return tuple(int(n) for n in re.findall(r"\d+", tag))


def git(repo, *args, check=True):
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=check)


def tags(repo):
    out = git(repo, "tag").stdout.split()
    return sorted((t for t in out if re.fullmatch(r"v\d+\.\d+\.\d+(\.post\d+)?", t)), key=version_key)


def literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "int" and node.args:
            return literal(node.args[0])
        return "<expr>"


def _text(node, env):
    """A flag name: a string literal, or an f-string over a loop variable (`f"--{prefix}.adam.lr"`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name) \
                    and value.value.id in env:
                parts.append(env[value.value.id])
            else:
                return None
        return "".join(parts)
    return None


def _calls(node, env):
    """add_argument calls with the loop-variable bindings they run under (`for prefix in [...]`)."""
    if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
        try:
            values = ast.literal_eval(node.iter)
        except (ValueError, SyntaxError, TypeError):
            values = None
        if isinstance(values, (list, tuple)) and all(isinstance(v, str) for v in values):
            for value in values:
                for child in node.body:
                    yield from _calls(child, {**env, node.target.id: value})
            return
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
        yield node, env
    for child in ast.iter_child_nodes(node):
        yield from _calls(child, env)


def flags_of(source):
    flags = {}
    for node, env in _calls(ast.parse(source), {}):
        names = [t for t in (_text(a, env) for a in node.args) if t and t.startswith("-")]
        kw = {k.arg: k.value for k in node.keywords}
        action = literal(kw["action"]) if "action" in kw else None
        nargs = literal(kw["nargs"]) if "nargs" in kw else None
        typ = getattr(kw.get("type"), "id", None)
        if action in ("store_true", "store_false"):
            kind, default = "bool", action == "store_false"
            if "default" in kw:
                default = literal(kw["default"])
        else:
            kind = "list" if nargs in ("*", "+") else "value"
            default = literal(kw["default"]) if "default" in kw else None
        info = {"kind": kind, "type": typ or ("bool" if kind == "bool" else "str"), "default": default}
        if "choices" in kw:
            info["choices"] = literal(kw["choices"])
        if isinstance(nargs, int):
            info["nargs"] = nargs
        for name in names:
            flags[name] = info
    return flags


def tag_sources(repo, tag):
    """{(entrypoint, 'script'|'module'): source} of one release tag."""
    found = {}
    for folder, form in ((SCRIPT_DIR, "script"), (MODULE_DIR, "module")):
        listing = git(repo, "ls-tree", "--name-only", f"{tag}:{folder}", check=False).stdout.split()
        for name in listing:
            entrypoint = name[:-3]
            if name.endswith(".py") and entrypoint not in NOT_ENTRYPOINTS:
                text = git(repo, "show", f"{tag}:{folder}{name}").stdout
                if "add_argument" in text:
                    found[(entrypoint, form)] = text
    return found


def wheel_sources(path):
    """(version, {(entrypoint, 'module'): source}) of a release wheel (wheels hold no examples/)."""
    version = re.match(r"openrlhf-([^-]+)-", path.rsplit("/", 1)[-1]).group(1)
    found = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            match = re.search(r"(?:^|/)openrlhf/cli/([a-z_0-9]+)\.py$", name)
            if match and match.group(1) not in NOT_ENTRYPOINTS:
                text = archive.read(name).decode()
                if "add_argument" in text:
                    found[(match.group(1), "module")] = text
    return version, found


def _add_span(spans, index):
    if spans and spans[-1][1] == index - 1:
        spans[-1][1] = index
    else:
        spans.append([index, index])


def build(releases):
    """releases: [(version, {(entrypoint, form): source})] in release order."""
    versions = [v for v, _ in releases]
    flags, programs = {}, {}
    for index, (version, sources) in enumerate(releases):
        per_entrypoint = {}
        for (entrypoint, form), source in sorted(sources.items()):
            _add_span(programs.setdefault(entrypoint, {}).setdefault(form, []), index)
            if form == "module" or (entrypoint, "module") not in sources:
                per_entrypoint[entrypoint] = flags_of(source)
        for entrypoint, found in per_entrypoint.items():
            for name, info in found.items():
                entry = flags.setdefault(entrypoint, {}).setdefault(name, {"spans": [], "defaults": []})
                _add_span(entry["spans"], index)
                entry["kind"], entry["type"] = info["kind"], info["type"]
                for key in ("nargs", "choices"):
                    if key in info:
                        entry[key] = info[key]
                if not entry["defaults"] or entry["defaults"][-1][1] != info["default"]:
                    entry["defaults"].append([version, info["default"]])
    for entry in (e for table in flags.values() for e in table.values()):
        spans = entry.pop("spans")
        entry["first"], entry["last"] = versions[spans[0][0]], versions[spans[-1][1]]
        if len(spans) > 1:
            entry["spans"] = [[versions[a], versions[b]] for a, b in spans]
    programs = {ep: {form: [[versions[a], versions[b]] for a, b in spans] for form, spans in forms.items()}
                for ep, forms in programs.items()}
    return {"source": "OpenRLHF/OpenRLHF release tags (examples/*.py up to 0.3.5, openrlhf/cli/*.py after) "
                      "and release wheels newer than the newest tag",
            "generated_by": "tools/extract_openrlhf_flags.py",
            "versions": versions, "programs": programs, "entrypoints": flags}


def dump(table, out):
    """One line per flag: compact, and a release's changes still read as a small diff."""
    out.write("{\n")
    head = [k for k in table if k != "entrypoints"]
    for key in head:
        out.write(f" {json.dumps(key)}: {json.dumps(table[key], sort_keys=True)},\n")
    out.write(' "entrypoints": {\n')
    entrypoints = sorted(table["entrypoints"])
    for i, entrypoint in enumerate(entrypoints):
        out.write(f"  {json.dumps(entrypoint)}: {{\n")
        names = sorted(table["entrypoints"][entrypoint])
        for j, name in enumerate(names):
            comma = "," if j < len(names) - 1 else ""
            out.write(f"   {json.dumps(name)}: {json.dumps(table['entrypoints'][entrypoint][name], sort_keys=True)}{comma}\n")
        out.write("  }" + ("," if i < len(entrypoints) - 1 else "") + "\n")
    out.write(" }\n}\n")


def main(repo, wheels):
    releases = [(tag[1:], tag_sources(repo, tag)) for tag in tags(repo)]
    newest = version_key(releases[-1][0])
    for path in sorted(wheels, key=lambda p: version_key(p.rsplit("/", 1)[-1].split("-")[1])):
        version, sources = wheel_sources(path)
        if version_key(version) > newest:
            releases.append((version, sources))
    dump(build(releases), sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
