"""Shell mistakes that kill or mangle a launch before the framework sees it, found in the text and in
the commands the reader made of it: CRLF line endings, a backslash followed by a space at the end of a
line, a command cut short (its next line, a flag or a Hydra override, runs as a command of its own), and
dashes or spaces pasted from a web page that the shell does not read as such."""

import re

_BACKSLASH_SPACE = re.compile(r"\\[ \t]+\r?$", re.M)
# a Hydra override (`a.b=1`, `+a.b=1`, `~a.b`) is no shell assignment (a name has no dots): alone it is a command
_OVERRIDE = re.compile(r"(\+\+|\+)?[A-Za-z_][\w-]*(\.[\w-]+)+=|~[A-Za-z_][\w-]*(\.[\w-]+)+$")
_PASTED = {"\u2013": "en-dash", "\u2014": "em-dash", "\u2212": "minus", "\u00a0": "no-break-space"}


# `<model name>`, `<your log dir>`: a placeholder left in a command; bash reads `<model` as input from a
# file named `model` and `>` as output into the next word (so the command does not run: no such file)
PLACEHOLDER = re.compile(r"<[^\s<>|;&()](?:[^<>\n|;&()]*[^\s<>|;&()])?>(?=[\s/\\\"';]|$)")


def placeholder_facts(placeholder: str, after_redirect: bool = False, line_ends: bool = False) -> dict:
    """The facts of a placeholder problem: the text, the file bash would read, and how bash fails on it
    (`after-redirect`: `<` after `>`; `line-end`: `>` with nothing after it; `word`: reads and writes files)."""
    form = "after-redirect" if after_redirect else "line-end" if line_ends else "word"
    return {"placeholder": placeholder, "file": placeholder[1:-1].split()[0], "form": form}


def redirect_target(text: str, i: int, n: int) -> tuple:
    """(end, placeholder match or None) of the redirection operator at `i` and its target word; a
    backslash-newline before or inside the target continues the line, as in bash."""
    while i < n and text[i] in "<>&|":
        i += 1
    while i < n and (text[i] in " \t" or text.startswith("\\\n", i)):
        i += 1 if text[i] != "\\" else 2
    placeholder = PLACEHOLDER.match(text, i, n)
    if placeholder:
        i = placeholder.end()
    while i < n and text[i] not in " \t\n;&|()<>":  # the target word
        if text[i] in "'\"":
            end = text.find(text[i], i + 1, n)
            i = n if end < 0 else end + 1
        elif text.startswith("\\\n", i):
            i += 2
        else:
            i += 1
    return i, placeholder


def failures(text: str, script) -> list:
    """(problem kind, its facts, offset) for each mistake; CRLF once per file, at its first line."""
    found = []
    crlf = text.find("\r\n")
    if crlf >= 0:
        lines = text.count("\r\n")
        found.append(("crlf", {"lines": lines}, text.rfind("\n", 0, crlf) + 1))
    for match in _BACKSLASH_SPACE.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if text[line_start:match.start()].lstrip().startswith("#"):
            continue
        found.append(("backslash-space", {}, match.start()))
    for command in script.commands:
        first = command.words[0]
        flag = first.text.startswith("-") and len(first.text) > 1
        if first.known and (flag or _OVERRIDE.match(first.text)) and not command.outer:
            found.append(("cut-short", {"word": first.text}, first.offset))
        for word in command.words:
            pasted = next((name for char, name in _PASTED.items() if char in word.text), None)
            if word.known and pasted and (word.text[0] in "\u2013\u2014\u2212" or "\u00a0" in word.text):
                found.append(("pasted", {"word": word.text, "character": pasted}, word.offset))
                break
    return found
