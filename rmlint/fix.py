"""`rmlint check --fix`: edits that cannot change what the user meant, made in place on the text so
formatting, comments and key order stay as written (JSON and YAML keys are renamed where they
stand; a new key goes in beside its siblings with their indentation; a shell flag's value is
replaced in its word).

The edits are found while linting, from the text the finding's subject was read from, and carried
by the finding (as ruff attaches a Fix to a diagnostic): --fix, --diff and the "N fixable" line
neither read a file again nor rebuild its facts.

A rule's YAML says which edit its findings carry (`fix_edit`, one of EDITS), how safe it is
(`fix_safety`: "safe" for --fix, "unsafe" for --fix --unsafe-fixes) and the words that list an edit
(`fix_title`, a template of the edit's facts, EDITS' values). The edits:
  rename-deprecated-key  a deprecated DeepSpeed key renamed to its replacement (only where DeepSpeed
                         maps the value unchanged);
  rename-unknown-key, rename-ignored-key  a key misspelled beyond doubt (one close candidate, not
                         already present);
  add-gather-on-save     `stage3_gather_16bit_weights_on_model_save: true` added to a ZeRO-3 config the
                         HF Trainer saves, when the key is not written at all;
  zero-stage-3-to-2      a launch's `--zero_stage 3` made 2 (QLoRA under ZeRO-3).
"""

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from .finding import Edit
from .sources.document import _LineIndex

GATHER = "stage3_gather_16bit_weights_on_model_save"
GATHER_NAMES = {GATHER, "gather_16bit_weights_on_model_save", "stage3_gather_fp16_weights_on_model_save"}
RENAMED = ("path", "new")     # the key renamed (its dotted path) and its new name
# the edits a rule's `fix_edit` may name (edits_for) -> the facts of each edit its `fix_title` may word
EDITS = {"rename-deprecated-key": RENAMED, "rename-unknown-key": RENAMED, "rename-ignored-key": RENAMED,
         "add-gather-on-save": ("key",), "zero-stage-3-to-2": ("flag",)}


def _offset(index: _LineIndex, line: int, column: int) -> int:
    return index.starts[line - 1] + column - 1


def _beyond_doubt(key: str, hint: str, siblings) -> bool:
    """One candidate, very close, and not a key the block already has."""
    if not hint or hint in siblings:
        return False
    from .suggest import CERTAIN, suggest
    return suggest(key, [hint, *siblings], CERTAIN) == hint


def _block(data, path: tuple):
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _key_span(text: str, start: int) -> tuple:
    """(start, end) of the key token beginning at `start`: a quoted string or a plain YAML scalar."""
    if text[start] in "\"'":
        quote, end = text[start], start + 1
        while end < len(text) and text[end] != quote:
            end += 2 if text[end] == "\\" else 1
        return start, end + 1
    match = re.compile(r"[^:\n]*?(?=\s*:)").match(text, start)
    return start, start + len(match.group(0)) if match else start


def _rename(text: str, index, document, item: dict, new: str) -> tuple | None:
    path = tuple(item["path"].split("."))
    where = document.positions.get(path)
    if where is None or any(twice == path for twice, _ in document.duplicates):
        return None     # set twice with values that may differ: which one is meant is the user's call
    start, end = _key_span(text, _offset(index, *where))
    quoted = text[start] in "\"'"
    return start, end, json.dumps(new) if quoted else new, {"path": item["path"], "new": new}


def _add_gather(text: str, index, document, json_like: bool) -> tuple | None:
    zero = document.data.get("zero_optimization")
    if not isinstance(zero, dict) or GATHER_NAMES & set(zero) or not zero:
        return None
    first = next(iter(zero))
    line, column = document.positions[("zero_optimization", first)]
    at = _offset(index, line, column)
    line_start = index.starts[line - 1]
    own_line = not text[line_start:at].strip()
    if json_like:
        entry = f'"{GATHER}": true,'
        new = entry + "\n" + text[line_start:at] if own_line else entry + " "
    else:
        if not own_line:   # a flow mapping: left alone
            return None
        new = f"{GATHER}: true\n" + text[line_start:at]
    return at, at, new, {"key": GATHER}


@lru_cache(maxsize=8)
def _index(text: str) -> _LineIndex:
    return _LineIndex(text)


def edits_for(kind: str, rule: str, safe: bool, source, item: dict | None, where, title) -> list:
    """The edits (of `kind`, EDITS) that fix one finding of `rule` at `where`, made on `source`, the
    Document its subject was read from, each listed as `title(its facts)` words it; none when the finding
    is not in that file or the edit is not beyond doubt."""
    return [Edit(start, end, new, rule, safe, title(facts), source)
            for start, end, new, facts in filter(None, _edits(kind, source, item, where))]


def _edits(kind: str, source, item: dict | None, where) -> list:
    """(start, end, new text, the edit's facts) of each edit."""
    text = source.text
    if where.path != source.path or not text:
        return []
    if kind == "zero-stage-3-to-2":
        return _stage_edits(text, where.line)
    from .inputs import is_deepspeed_config
    if not is_deepspeed_config(source.data):
        return []
    index = _index(text)
    if kind == "add-gather-on-save":
        return [_add_gather(text, index, source, text.lstrip().startswith("{"))]
    if not item or "path" not in item:
        return []
    parent = _block(source.data, tuple(item["path"].split("."))[:-1])
    if kind == "rename-deprecated-key":
        new = item["new"] if item.get("renamable") and item.get("new") and item["new"] not in parent else None
    else:   # rename-unknown-key, rename-ignored-key
        hint = item.get("suggestion", "")
        new = hint if _beyond_doubt(item.get("key", ""), hint, [k for k in parent if k != item.get("key")]) else None
    return [_rename(text, index, source, item, new)] if new else []


_STAGE = re.compile(r"(--(?:ds\.)?zero_stage)(=|\s+)(['\"]?)3\3(?=\s|$)")


def _stage_edits(text: str, line: int) -> list:
    """QLoRA under ZeRO-3 (zero-stage-3-to-2): the stage flag's value 3 -> 2, in its own word, on the
    finding's line."""
    index = _index(text)
    if not 0 < line <= len(index.starts):
        return []
    line_start = index.starts[line - 1]
    line_end = text.find("\n", line_start)
    edits = []
    for match in _STAGE.finditer(text, line_start, len(text) if line_end < 0 else line_end):
        digit = match.end() - 1 - len(match.group(3))
        edits.append((digit, digit + 1, "2", {"flag": match.group(1)}))
    return edits


def apply(text: str, edits: list) -> tuple:
    """(new text, edits applied): non-overlapping edits; one that overlaps an earlier one is left for a rerun."""
    taken, chosen = [], []
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if any(edit.start < end and start < edit.end or (edit.start == edit.end == start) for start, end in taken):
            continue
        taken.append((edit.start, edit.end))
        chosen.append(edit)
    for edit in sorted(chosen, key=lambda e: e.start, reverse=True):
        text = text[:edit.start] + edit.text + text[edit.end:]
    return text, chosen


def fixers(rules, unsafe: bool) -> set:
    """The ids of the rules given whose findings' edits are applied (unsafe ones only with `unsafe`)."""
    return {r.id for r in rules if r.fix_edit and (unsafe or r.fix_safety == "safe")}


@dataclass
class Change:
    path: str
    before: str
    after: str
    edits: list
    bom: bool = False       # the file starts with a UTF-8 byte order mark, which is written back


def plan(result, policy, unsafe: bool) -> list:
    """The Change each file with fixable findings would get, from the edits the findings carry
    (nothing is read or written here)."""
    fixing = fixers(policy.rules, unsafe)
    by_path = {}
    for finding in result.findings:
        if finding.rule in fixing and finding.edits and not finding.path.startswith("<"):
            source, edits = by_path.setdefault(finding.path, (finding.edits[0].source, []))
            edits += [e for e in finding.edits if e.source is source]
    changes = []
    for path, (source, edits) in sorted(by_path.items()):
        before = source.text
        after, applied = apply(before, list(dict.fromkeys(edits)))
        if applied and after != before and _still_parses(path, after):
            changes.append(Change(path, before, after, applied, bool(getattr(before, "bom", False))))
    return changes


def _still_parses(path: str, text: str) -> bool:
    """A fix never leaves a file broken: the result must parse as the same kind of file."""
    from .finding import SourceError
    from .inputs import kind_of
    from .sources.document import load_json, load_yaml
    kind = kind_of(path, text)
    try:
        if kind == "json":
            load_json(text, path)
        elif kind == "yaml":
            load_yaml(text, path)
    except SourceError:
        return False
    return True


def fixable(result, policy, unsafe: bool = False) -> frozenset:
    """The findings `--fix` (with `unsafe`: `--fix --unsafe-fixes`) would fix: those whose edits it applies."""
    applied = {(change.path, edit) for change in plan(result, policy, unsafe) for edit in change.edits}
    return frozenset(f for f in result.findings if any((f.path, edit) in applied for edit in f.edits))


def counts(result, policy) -> tuple:
    """(fixable now, fixable with --unsafe-fixes) finding counts, for the summary."""
    edits = [e for change in plan(result, policy, True) for e in change.edits]
    safe = sum(1 for e in edits if e.safe)   # safe and unsafe edits never touch the same file kind
    return safe, len(edits) - safe


def diff(change: Change) -> str:
    import difflib as textdiff
    return "".join(textdiff.unified_diff(change.before.splitlines(keepends=True), change.after.splitlines(keepends=True),
                                         fromfile=f"a/{os.path.normpath(change.path)}",
                                         tofile=f"b/{os.path.normpath(change.path)}"))


def checked_roots(paths) -> list:
    """The folders a run may write in: each folder named, and the folder of each file named."""
    return [os.path.realpath(p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p)))
            for p in map(str, paths) if p != "-"]


def write(change: Change, roots: list) -> dict | None:
    """Write one change atomically (a temporary file beside it, fsync, os.replace), keeping mode and
    BOM; None when written, else why not (`reason`: outside, not-writable, not-regular, no-temporary,
    write-failed, with the OS `error`). Never a file outside `roots` (as resolved through symlinks),
    never a file the user cannot write: those fixes are reported instead."""
    from .sources.files import inside
    target = os.path.realpath(change.path)
    if not any(inside(target, root) for root in roots):
        return {"reason": "outside", "target": target, "folders": len(roots)}
    if not os.access(target, os.W_OK):
        return {"reason": "not-writable"}
    import stat
    import tempfile
    data = (b"\xef\xbb\xbf" if change.bom else b"") + change.after.encode("utf-8")
    try:
        info = os.stat(target)
        if not stat.S_ISREG(info.st_mode):
            return {"reason": "not-regular"}
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.",
                                             suffix=".rmlint-fix")
    except OSError as err:
        return {"reason": "no-temporary", "error": str(err.strerror or err)}
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), stat.S_IMODE(info.st_mode))
            if os.geteuid() == 0:   # root fixing someone's file: it stays theirs
                os.fchown(out.fileno(), info.st_uid, info.st_gid)
        os.replace(temporary, target)
    except OSError as err:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return {"reason": "write-failed", "error": str(err.strerror or err)}
    _sync_folder(os.path.dirname(target))
    from .sources.files import wrote
    wrote(target, data)
    return None


def _sync_folder(folder: str):
    """The rename itself on disk (POSIX: fsync the folder); best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_all(changes: list, roots: list) -> tuple:
    """(changes written, `fix-not-written` findings of those that were not): one failure stops no other file."""
    written, refused = [], []
    for change in changes:
        reason = write(change, roots)
        if reason is None:
            written.append(change)
        else:
            refused.append(not_written(change, reason))
    return written, refused


def not_written(change: Change, reason: dict):
    """The finding for a fix that was not written, at its first edit."""
    from .finding import Location
    from .problems import finding as problem
    first = min(change.edits, key=lambda e: e.start)
    line = change.before.count("\n", 0, first.start) + 1
    column = first.start - (change.before.rfind("\n", 0, first.start) + 1) + 1
    return problem("fix-not-written", Location(change.path, line, column), fixes=[e.what for e in change.edits],
                   **reason)
