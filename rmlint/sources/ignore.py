"""gitignore-style patterns (`exclude`, `extend-exclude`, `.gitignore`), matched as git matches them:
the last matching pattern wins, `!` re-includes, a trailing `/` matches folders only, a pattern with a
`/` before its end is anchored to its base folder, `**` spans folders. A small translator instead of a
library: the pre-commit hook pays for every import."""

import os
import re


def _translate(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if body.startswith("/**", i) and i + 3 == len(body):
            out.append("/.*")
            break
        if body.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = body.find("]", i + 2 if body[i + 1:i + 2] in ("!", "]") else i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                inner = body[i + 1:end].replace("\\", "\\\\")
                out.append("[" + ("^" + inner[1:] if inner.startswith("!") else inner) + "]")
                i = end
        elif char == "\\" and i + 1 < len(body):
            i += 1
            out.append(re.escape(body[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


class Patterns:
    """Patterns relative to one base folder; `match(relative posix path, is_dir)` -> True ignored,
    False re-included, None not mentioned."""

    def __init__(self, lines, base: str):
        self.base = base
        self.rules = []
        for line in lines:
            line = line.rstrip("\n").rstrip("\r")
            if not line.endswith("\\ "):
                line = line.rstrip(" ")
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            body = line[1:] if negate else line.removeprefix("\\")
            dir_only = body.endswith("/")
            body = body.rstrip("/")
            if not body:
                continue
            anchored = "/" in body
            regex = _translate(body.lstrip("/"))
            regex = ("^" if anchored else "^(?:.*/)?") + regex + "$"
            self.rules.append((re.compile(regex, re.S), negate, dir_only))

    def match(self, relative: str, is_dir: bool):
        verdict = None
        for regex, negate, dir_only in self.rules:
            if (not dir_only or is_dir) and regex.match(relative):
                verdict = not negate
        return verdict


def read_gitignore(folder: str) -> "Patterns | None":
    try:
        from .files import read_input
        lines = read_input(os.path.join(folder, ".gitignore"), 4 * 1024 * 1024).decode("utf-8", "replace").splitlines(True)
    except OSError:
        return None
    return Patterns(lines, folder)


def ignored(path: str, is_dir: bool, layers: list) -> bool:
    """Whether `path` (absolute) is ignored by the pattern layers, innermost last; a later layer
    overrides an earlier one, as a nested .gitignore overrides its parent's."""
    verdict = None
    for layer in layers:
        relative = os.path.relpath(path, layer.base).replace(os.sep, "/")
        if relative.startswith(".."):
            continue
        found = layer.match(relative, is_dir)
        if found is not None:
            verdict = found
    return bool(verdict)
