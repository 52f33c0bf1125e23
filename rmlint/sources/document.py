"""Structured documents (JSON, YAML) with the line:col of every key, for precise findings."""

import bisect
import json
import re
from dataclasses import dataclass, field

from ..finding import Location, SourceError

MAX_DEPTH = 64          # real configs nest 4-5 levels; deeper input is hostile or generated
MAX_VALUES = 200_000    # bounds YAML alias expansion ("billion laughs")

KeyPath = tuple


@dataclass(eq=False)
class Document:
    """A config file as read: its data, where each key is written, the keys written twice, its text."""
    path: str
    data: object
    positions: dict = field(default_factory=dict)      # KeyPath -> (line, column)
    duplicates: list = field(default_factory=list)     # [(KeyPath, (line, column))]
    text: str = ""

    def locate(self, keypath: KeyPath) -> Location:
        """Where a key path is written; its nearest written ancestor when it is not."""
        keypath = tuple(keypath)
        while keypath:
            if keypath in self.positions:
                return Location(self.path, *self.positions[keypath])
            keypath = keypath[:-1]
        return Location(self.path, 1, 1)


class _LineIndex:
    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def _scan_json_positions(text: str, path: str):
    """Map key paths to positions by walking the tokens of (already valid) JSON."""
    index = _LineIndex(text)
    positions, duplicates = {}, []
    stack = []      # frames: [kind, keypath, next_key_or_index, seen_keys]
    keypath: tuple = ()
    expect_key = False
    for match in _JSON_TOKEN.finditer(text):
        token, start = match.group(), match.start()
        frame = stack[-1] if stack else None
        if token in "{[":
            if frame and frame[0] == "[":
                positions.setdefault(frame[1] + (frame[2],), index.position(start))
            child = frame_path(frame)
            stack.append(["{", child, None, set()] if token == "{" else ["[", child, 0, None])
            if len(stack) > MAX_DEPTH:
                raise SourceError(Location(path, *index.position(start)), problem=("too-deep", {"limit": MAX_DEPTH}))
            expect_key = token == "{"
        elif token in "}]":
            stack.pop()
            expect_key = False
        elif token == ",":
            if frame[0] == "{":
                expect_key = True
            else:
                frame[2] += 1
        elif token == ":":
            continue
        elif frame and frame[0] == "{" and expect_key:
            key = json.loads(token)
            where = index.position(start)
            if key in frame[3]:
                duplicates.append((frame[1] + (key,), where))
            frame[3].add(key)
            frame[2] = key
            positions[frame[1] + (key,)] = where
            expect_key = False
        elif frame and frame[0] == "[":
            positions.setdefault(frame[1] + (frame[2],), index.position(start))
    return positions, duplicates


def frame_path(frame) -> tuple:
    if frame is None:
        return ()
    return frame[1] + (frame[2],)


def load_json(text: str, path: str) -> Document:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SourceError(Location(path, err.lineno, err.colno), problem=("invalid-json", {"detail": err.msg}))
    except RecursionError:
        raise SourceError(Location(path), problem=("json-too-deep", {"limit": MAX_DEPTH}))
    positions, duplicates = _scan_json_positions(text, path)
    return Document(path, data, positions, duplicates, text)


def _yaml_loader():
    import yaml
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, path: str) -> Document:
    import yaml
    try:
        nodes = list(yaml.compose_all(str(text), Loader=_yaml_loader()))   # the C loader takes a str, not a subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        raise SourceError(where, problem=("invalid-yaml", {"detail": err.problem or err.context}))
    except (yaml.YAMLError, RecursionError) as err:
        raise SourceError(Location(path), problem=("invalid-yaml", {"detail": type(err).__name__}))
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise SourceError(Location(path, mark.line + 1, 1), problem=("several-yaml-documents", {}))
    document = Document(path, None, text=text)
    if nodes and nodes[0] is not None:
        document.data = _YamlBuilder(document).build(nodes[0])
    return document


class _YamlBuilder:
    """Turn composed nodes into Python values, recording key positions and bounding expansion."""

    def __init__(self, document: Document):
        import yaml
        self.document = document
        self.constructor = yaml.constructor.SafeConstructor()
        self.budget = MAX_VALUES

    def build(self, node, keypath: tuple = ()):
        import yaml
        self.budget -= 1
        if self.budget < 0:
            raise SourceError(Location(self.document.path, node.start_mark.line + 1, node.start_mark.column + 1),
                              problem=("yaml-too-many-values", {"limit": MAX_VALUES}))
        if len(keypath) > MAX_DEPTH:
            raise SourceError(Location(self.document.path, node.start_mark.line + 1, node.start_mark.column + 1),
                              problem=("too-deep", {"limit": MAX_DEPTH}))
        if isinstance(node, yaml.MappingNode):
            result = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, keypath) if not isinstance(key_node, yaml.ScalarNode) \
                    else self._scalar(key_node)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    key = str(key)
                where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in result:
                    self.document.duplicates.append((keypath + (key,), where))
                self.document.positions[keypath + (key,)] = where
                result[key] = self.build(value_node, keypath + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for number, item in enumerate(node.value):
                self.document.positions.setdefault(keypath + (number,),
                                                   (item.start_mark.line + 1, item.start_mark.column + 1))
                items.append(self.build(item, keypath + (number,)))
            return items
        return self._scalar(node)

    def _scalar(self, node):
        import yaml
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError:
            return node.value
        except (ValueError, OverflowError):
            return node.value


def read_config(path: str) -> Document:
    """A JSON or YAML file another config names, parsed by its content (JSON when it opens with `{`)."""
    from .text import read_text
    text = read_text(path)
    return load_json(text, path) if text.lstrip().startswith("{") else load_yaml(text, path)
