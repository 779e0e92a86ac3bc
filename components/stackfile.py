"""Read a stack file as strictly as the Pulumi CLI does, and say in one line each what is wrong with it.

The CLI decodes stack files with go-yaml v3, which refuses a mapping key given
twice ("mapping key already defined at line N", gopkg.in/yaml.v3 decode.go);
PyYAML would silently keep the last one, so `orquestra:environment: prod`
followed by `orquestra:environment: dev` would plan dev. This reader composes
the YAML into nodes and builds plain values itself: duplicate keys, keys that
are not text, tags that are not plain data (`!!python/object`, `!!binary`,
`!!set`), non-finite numbers, merge keys, and documents that nest or alias
beyond reason are all problems, each naming the file, the line and the key.
Plain scalars resolve by the YAML 1.2 core schema (https://yaml.org/spec/1.2.2/
section 10.3.2), as go-yaml v3 does for untyped values: `yes` and `on` stay
text, and a date stays the text written.

Nothing here echoes a value that may be a credential: keys and tags are shown
only when they cannot be one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.syntax import may_be_secret

MAX_BYTES = 1 << 20
"""A stack file holds configuration, not data; a megabyte is far beyond any real one."""
MAX_DEPTH = 64
MAX_VALUES = 100_000
"""Values after aliases are expanded: `&a [*a, *a, ...]` chains grow exponentially."""
MAX_PROBLEMS = 50

_STR = "tag:yaml.org,2002:str"
_PLAIN = "tag:orquestra,plain"
_CORE = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    _STR,
    "tag:yaml.org,2002:timestamp",
}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

# YAML 1.2 core schema, section 10.3.2.
_NULL = re.compile(r"~|null|Null|NULL|")
_TRUE = re.compile(r"true|True|TRUE")
_FALSE = re.compile(r"false|False|FALSE")
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", re.ASCII)
_FLOAT = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)", re.ASCII
)

PathParts = tuple[str | int, ...]


class StackFileError(Exception):
    """Everything wrong with a stack file, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class StackFile:
    display: str
    """The file as problems name it (relative to the project)."""
    config: dict[str, Any]
    """The `config:` block, full keys (`orquestra:clusters`) to plain values; `{secure: ...}` leaves kept."""
    lines: dict[PathParts, int] = field(default_factory=dict)
    """The line of each key and list item, by path from the full key."""

    def line_of(self, parts: PathParts) -> int | None:
        """The line of the deepest key of `parts` the file wrote (a default has no line of its own)."""
        for n in range(len(parts), 0, -1):
            if parts[:n] in self.lines:
                return self.lines[parts[:n]]
        return None


def key_step(part: Any) -> str:
    """One step of a key path; keys that are not plain words are quoted so a path stays one line."""
    if isinstance(part, int) and not isinstance(part, bool):
        return f"[{part}]"
    text = str(part)
    return f".{text}" if re.fullmatch(r"[A-Za-z0-9_-]+", text) else f"[{json.dumps(text)}]"


def key_path(full_key: str, parts: PathParts) -> str:
    return full_key + "".join(key_step(p) for p in parts)


_STEP = re.compile(r'\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def parse_key_path(text: str) -> PathParts | None:
    """`orquestra:clusters[0].nodePools[1]` back into its parts (the inverse of `key_path`), or None."""
    head = re.match(r"[A-Za-z0-9_.-]+:[A-Za-z0-9_-]+", text)
    if head is None:
        return None
    parts: list[str | int] = [head.group(0)]
    pos = head.end()
    while pos < len(text):
        step = _STEP.match(text, pos)
        if step is None:
            return None
        word, index, quoted = step.groups()
        parts.append(word if word is not None else int(index) if index is not None else json.loads(quoted))
        pos = step.end()
    return tuple(parts)


def secure_paths(value: Any, at: PathParts = ()) -> Iterator[PathParts]:
    """The paths of `{secure: ...}` leaves in a config value."""
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            yield at
            return
        for k, v in value.items():
            yield from secure_paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from secure_paths(v, (*at, i))


# libyaml when PyYAML was built with it (ten times faster); its composer recurses in C, so a document's
# nesting is measured from the parser's events, which come from an explicit stack, before composing.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """Composes nodes only; an untagged plain scalar keeps a marker so it is resolved here, by YAML 1.2."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)


def _cut(where: str) -> str:
    """A key path cut short enough to read: a pathological key or nesting would make it the whole line."""
    return where if len(where) <= 120 else where[:117] + "..."


def _shown(text: str) -> str:
    if may_be_secret(text[:400]) or not text[:40].isprintable():
        return "[redacted]"
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


class _Reader:
    def __init__(self, display: str, project: str) -> None:
        self.display = display
        self.project = project
        self.problems: list[str] = []
        self.lines: dict[PathParts, int] = {}
        self.values = 0
        self.too_deep = False

    def problem(self, line: int | None, message: str) -> None:
        where = f"{self.display}:{line}" if line else self.display
        self.problems.append(f"{where}: {message}")

    def at(self, node: yaml.Node, where: str, value: str, allowed: str) -> None:
        self.problem(node.start_mark.line + 1, f"{_cut(where)}: {value}; allowed: {allowed}")

    def key(self, node: yaml.Node, where: str) -> str | None:
        """A mapping key as text, or None (with a problem) for anything else."""
        if isinstance(node, yaml.ScalarNode) and node.tag in (_PLAIN, _STR):
            if node.tag == _PLAIN and node.value == "<<":
                self.at(node, where, "a YAML merge key (<<)", "the keys written out (merge keys are not read here)")
                return None
            value = self.scalar(node, where)
            if isinstance(value, str):
                return value
            kind = "null" if value is None else "true/false" if isinstance(value, bool) else "a number"
            shown = "" if value is None or isinstance(value, bool) else f" ({node.value[:20]})"
            self.at(node, where, f"a key that is {kind}{shown}", 'keys that are text (quote it: "1")')
            return None
        self.at(node, where, "a key that is not text", "keys that are text")
        return None

    def scalar(self, node: yaml.ScalarNode, where: str) -> Any:
        text = node.value
        if node.tag == _PLAIN:
            if _NULL.fullmatch(text):
                return None
            if _TRUE.fullmatch(text):
                return True
            if _FALSE.fullmatch(text):
                return False
            if _INT.fullmatch(text):
                return self.integer(node, where, text)
            if _FLOAT.fullmatch(text):
                return self.finite(node, where, float(text.lower().replace(".inf", "inf").replace(".nan", "nan")))
            return text
        if node.tag in (_STR, "tag:yaml.org,2002:timestamp"):
            return text
        try:
            if node.tag == "tag:yaml.org,2002:int":
                return self.integer(node, where, text)
            if node.tag == "tag:yaml.org,2002:float":
                return self.finite(node, where, float(text))
        except ValueError:
            self.at(node, where, f"{_shown(text)} tagged {node.tag.rsplit(':', 1)[-1]}", "a value of that type")
            return None
        if node.tag == "tag:yaml.org,2002:bool" and text in ("true", "True", "TRUE", "false", "False", "FALSE"):
            return text.lower() == "true"
        if node.tag == "tag:yaml.org,2002:null":
            return None
        self.unsupported(node, where)
        return None

    def integer(self, node: yaml.Node, where: str, text: str) -> int | None:
        if len(text) > 40:
            # No key takes such a number, and Python refuses to read one of over 4300 digits.
            self.at(node, where, f"a number of {len(text)} digits", "a number of at most 40 digits")
            return None
        return int(text, 0) if text.lower().startswith(("0o", "0x")) else int(text)

    def finite(self, node: yaml.Node, where: str, number: float) -> float | None:
        if math.isfinite(number):
            return number
        self.at(node, where, "a number that is not finite", "a finite number")
        return None

    def unsupported(self, node: yaml.Node, where: str) -> None:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        shown = tag if len(tag) <= 40 and not may_be_secret(tag) else "a tag"
        self.at(
            node, where, f"a value tagged {shown}", "plain YAML: text, a number, true/false, null, a list or a mapping"
        )

    def value(self, node: yaml.Node, full_key: str, parts: PathParts, depth: int) -> Any:
        where = key_path(full_key, parts)
        self.values += 1
        if self.values > MAX_VALUES:
            if self.values == MAX_VALUES + 1:
                self.at(node, where, f"more than {MAX_VALUES} values once aliases are expanded", "a smaller document")
            return None
        if depth > MAX_DEPTH:
            if not self.too_deep:
                self.at(node, where, f"values nested deeper than {MAX_DEPTH} levels", "a shallower document")
            self.too_deep = True
            return None
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in _CORE and node.tag != _PLAIN:
                self.unsupported(node, where)
                return None
            return self.scalar(node, where)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self.unsupported(node, where)
                return None
            out = []
            for i, item in enumerate(node.value):
                self.lines.setdefault((full_key, *parts, i), item.start_mark.line + 1)
                out.append(self.value(item, full_key, (*parts, i), depth + 1))
            return out
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                self.unsupported(node, where)
                return None
            return self.mapping(node, full_key, parts, depth)
        self.unsupported(node, where)
        return None

    def mapping(self, node: yaml.MappingNode, full_key: str, parts: PathParts, depth: int) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, key_path(full_key, parts))
            if key is None:
                continue
            line = key_node.start_mark.line + 1
            if key in first:
                self.problem(
                    line,
                    f"{_cut(key_path(full_key, (*parts, key))) if not may_be_secret(key[:400]) else '[redacted key]'}: "
                    f"given again (first at line {first[key]}); allowed: each key once",
                )
                continue
            first[key] = line
            self.lines.setdefault((full_key, *parts, key), line)
            out[key] = self.value(value_node, full_key, (*parts, key), depth + 1)
        if set(out) == {"secure"} and not isinstance(out["secure"], str):
            self.at(
                node,
                key_path(full_key, parts),
                "a secure value that is not text",
                "ciphertext written by pulumi config set --secret",
            )
            return None
        return out

    def config(self, root: yaml.Node | None) -> dict[str, Any]:
        if root is None:
            return {}
        if not isinstance(root, yaml.MappingNode) or root.tag != _MAP:
            kind = "a list" if isinstance(root, yaml.SequenceNode) else "not a mapping"
            self.problem(root.start_mark.line + 1, f"the file is {kind}; allowed: a mapping with a config: key")
            return {}
        config_node = None
        seen: dict[str, int] = {}
        for key_node, value_node in root.value:
            key = self.key(key_node, "the file")
            if key is None:
                continue
            if key in seen:
                self.problem(
                    key_node.start_mark.line + 1,
                    f"{_shown(key)}: given again (first at line {seen[key]}); allowed: each key once",
                )
                continue
            seen[key] = key_node.start_mark.line + 1
            if key == "config":
                config_node = value_node
        if config_node is None or (
            isinstance(config_node, yaml.ScalarNode)
            and config_node.tag == _PLAIN
            and _NULL.fullmatch(config_node.value)
        ):
            return {}
        if not isinstance(config_node, yaml.MappingNode) or config_node.tag != _MAP:
            self.at(config_node, "config", "not a mapping", "a mapping of namespace:key to its value")
            return {}
        out: dict[str, Any] = {}
        for key_node, value_node in config_node.value:
            key = self.key(key_node, "config")
            if key is None:
                continue
            full = key if ":" in key else f"{self.project}:{key}"
            line = key_node.start_mark.line + 1
            if full in out:
                shown = _cut(full) if not may_be_secret(full[:400]) else "[redacted key]"
                self.problem(
                    line, f"{shown}: given again (first at line {self.lines[(full,)]}); allowed: each key once"
                )
                continue
            self.lines[(full,)] = line
            out[full] = self.value(value_node, full, (), 1)
        return out


def _yaml_problem(display: str, text: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        return f"{display}:{line}: invalid YAML: a control character (0x{code:02x}) is not allowed"
    context = getattr(exc, "context", None)
    problem = str(getattr(exc, "problem", None) or "not valid YAML")
    if context:
        problem = f"{context}, {problem}"
    if may_be_secret(problem):
        problem = "not valid YAML"
    if mark is None:
        return f"{display}: invalid YAML: {problem}"
    lines = text.splitlines()
    at = lines[mark.line][mark.column : mark.column + 1] if mark.line < len(lines) else ""
    hint = " (YAML indents with spaces, never tabs)" if at == "\t" else ""
    return f"{display}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {problem}{hint}"


def read(path: Path, display: str, project: str) -> StackFile:
    """The `config:` block of a stack file; StackFileError names every problem found, one line each."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StackFileError([f"{display}: cannot be read ({exc.strerror or type(exc).__name__})"]) from None
    return parse_bytes(data, display, project)


def parse_bytes(data: bytes, display: str, project: str) -> StackFile:
    if len(data) > MAX_BYTES:
        raise StackFileError([f"{display}: {len(data)} bytes; allowed: a stack file of at most {MAX_BYTES} bytes"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise StackFileError(
            [f"{display}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); allowed: a UTF-8 YAML file"]
        ) from None
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH + 2:
                    at = f"{display}:{event.start_mark.line + 1}" if event.start_mark else display
                    raise StackFileError([f"{at}: values nested deeper than {MAX_DEPTH} levels; allowed: fewer"])
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise StackFileError([_yaml_problem(display, text, exc)]) from None
    except RecursionError:
        raise StackFileError(
            [f"{display}: invalid YAML: nested too deeply to read; allowed: at most {MAX_DEPTH} levels"]
        ) from None
    reader = _Reader(display, project)
    config = reader.config(root)
    if len(reader.problems) > MAX_PROBLEMS:
        more = len(reader.problems) - MAX_PROBLEMS
        reader.problems[MAX_PROBLEMS:] = [f"{display}: ... and {more} more problem(s) of the same kinds"]
    if reader.problems:
        raise StackFileError(reader.problems)
    return StackFile(display=display, config=config, lines=reader.lines)
