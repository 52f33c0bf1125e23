"""Extract OpenRLHF's CLI flags, per entrypoint and release, into rmlint/data/openrlhf_flags.json.

Usage: python tools/extract_openrlhf_flags.py /path/to/OpenRLHF.git > rmlint/data/openrlhf_flags.json

Reads each release tag's ``openrlhf/cli/<entrypoint>.py`` with ``git show`` and walks the
``parser.add_argument`` calls with ``ast`` (nothing of OpenRLHF is imported or run). For
every flag it records its kind (bool switch, single value, list), value type, choices, the
first and last release that accept it, and each release where its default changed.
"""

import ast
import json
import re
import subprocess
import sys

ENTRYPOINTS = ["train_rm", "train_sft", "train_dpo", "train_ppo_ray", "train_ppo", "serve_rm",
               "train_kto", "train_prm", "train_kd", "lora_combiner"]
FIRST_CLI_TAG = (0, 3, 6)  # entrypoints moved from examples/ to openrlhf/cli/ here


def version_key(tag):
    nums = re.findall(r"\d+", tag)
    return tuple(int(n) for n in nums)


def tags(repo):
    out = subprocess.run(["git", "-C", repo, "tag"], capture_output=True, text=True, check=True).stdout.split()
    release = [t for t in out if re.fullmatch(r"v\d+\.\d+\.\d+(\.post\d+)?", t)]
    return sorted((t for t in release if version_key(t)[:3] >= FIRST_CLI_TAG), key=version_key)


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


def main(repo):
    all_tags = tags(repo)
    table = {}
    for tag in all_tags:
        version = tag[1:]
        for ep in ENTRYPOINTS:
            shown = subprocess.run(["git", "-C", repo, "show", f"{tag}:openrlhf/cli/{ep}.py"],
                                   capture_output=True, text=True)
            if shown.returncode != 0:
                continue
            for name, info in flags_of(shown.stdout).items():
                entry = table.setdefault(ep, {}).setdefault(name, {
                    "kind": info["kind"], "type": info["type"], "first": version, "defaults": []})
                entry["last"] = version
                entry["kind"], entry["type"] = info["kind"], info["type"]
                if "nargs" in info:
                    entry["nargs"] = info["nargs"]
                if "choices" in info:
                    entry["choices"] = info["choices"]
                if not entry["defaults"] or entry["defaults"][-1][1] != info["default"]:
                    entry["defaults"].append([version, info["default"]])
    versions = [t[1:] for t in all_tags]
    json.dump({"source": "OpenRLHF/OpenRLHF release tags, openrlhf/cli/*.py",
               "versions": versions, "entrypoints": table}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
