"""The provider SDKs imported with their annotations postponed (PEP 563), from bytecode kept per machine.

Pulumi's generated provider SDKs annotate every argument and property of thousands of
classes (`Optional[pulumi.Input[Sequence[pulumi.Input['ContainerArgs']]]]`), and
Python evaluates each of those expressions when the class body runs: that is most of
what importing `pulumi_kubernetes.core.v1` costs (0.75 s of CPU here, 0.38 s with the
annotations postponed), and the same for every cloud SDK a stack loads. The SDKs read
their annotations back only through `typing.get_type_hints` and
`inspect.get_annotations`, which evaluate postponed strings in the module's own
namespace, as they do for programs that use `from __future__ import annotations`: the
modules define the same classes and functions, and a plan is the same
(`tests/test_sdkimport.py` compares every shipped stack's `--json` plan both ways).

The bytecode comes from compiling a module's source with the `annotations` future
flag, which costs more than the import saves, so it is never done during a plan: a
module not yet in the cache loads from the SDK's own `.pyc` as usual, and when a plan
is over, a detached low-priority process (`python -m preflight.sdkimport --compile`)
compiles what was missed, for the next run. A cached file carries CPython's own
`.pyc` header (magic number, the source's mtime and size), so a different Python or an
upgraded SDK is compiled again rather than trusted. `ORQUESTRA_EAGER_SDK=1` turns it
all off; only `python -m preflight` and the bench install it, never the test harness.

The same finder defers two modules `pulumi/__init__.py` imports for every program and
a plan never uses (`DEFERRED`): they run on first attribute access instead.
"""

from __future__ import annotations
import __future__

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import json
import marshal
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import CodeType, ModuleType

from preflight import caches

EAGER_ENV = "ORQUESTRA_EAGER_SDK"
DEFERRED = frozenset({"pulumi.automation", "pulumi.dynamic"})
"""Imported by `pulumi/__init__.py` for every program, used by none of a plan's: run on first use instead
(`importlib.util.LazyLoader`), which spares the Automation API's and dill's imports (~0.1 s)."""
_FLAGS = __future__.annotations.compiler_flag
_PROJECT_DIR = Path(__file__).resolve().parent.parent

_loaded: list[str] = []
_missed: list[str] = []
_children: list[subprocess.Popen[bytes]] = []


def cache_dir() -> Path:
    """Per Python implementation and version, beside the other per-user caches of preflight."""
    return caches.root() / "bytecode" / str(sys.implementation.cache_tag)


def _cached(source: str) -> Path:
    return cache_dir() / f"{hashlib.sha256(source.encode()).hexdigest()[:32]}.pyc"


def _header(source: str) -> bytes:
    """CPython's timestamp-based `.pyc` header (PEP 552, flags 0): stale when the source's mtime or size moves."""
    st = os.stat(source)
    return (
        importlib.util.MAGIC_NUMBER
        + (0).to_bytes(4, "little")
        + (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
        + (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    )


class _PostponedLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname: str) -> CodeType | None:
        source = self.get_filename(fullname)
        try:
            header = _header(source)
            data = _cached(source).read_bytes()
            if data[: len(header)] == header:
                code = marshal.loads(memoryview(data)[len(header) :])
                if isinstance(code, CodeType):
                    _loaded.append(source)
                    return code
        except (OSError, ValueError, EOFError, TypeError):
            pass
        _missed.append(source)
        return super().get_code(fullname)


class _ProviderFinder:
    """Finds provider SDK modules as the path finder does, and loads them through `_PostponedLoader`.

    A meta path finder by its `find_spec` alone: `importlib.abc` would import `importlib.resources` first.

    A provider SDK is a `pulumi_*` package whose `pulumi-plugin.json` says `"resource": true`
    (what Pulumi's code generator writes for a resource provider; `pulumi_policy` says false).
    """

    def __init__(self) -> None:
        self._providers: dict[str, bool] = {}

    def _is_provider(self, top: str, locations: Iterable[str]) -> bool:
        if top not in self._providers:
            found = False
            for location in locations:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    found = json.loads((Path(location) / "pulumi-plugin.json").read_text()).get("resource") is True
            self._providers[top] = found
        return self._providers[top]

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in DEFERRED:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is not None and spec.loader is not None:
                spec.loader = importlib.util.LazyLoader(spec.loader)
            return spec
        top = fullname.partition(".")[0]
        if not top.startswith("pulumi_") or self._providers.get(top) is False:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader or spec.origin is None:
            return spec
        parent = sys.modules.get(top)
        locations = spec.submodule_search_locations if top == fullname else getattr(parent, "__path__", ())
        if not self._is_provider(top, locations or ()):
            return spec
        spec.loader = _PostponedLoader(fullname, spec.origin)
        return spec


def install() -> None:
    """Load provider SDKs imported from now on through the cache (no-op with ORQUESTRA_EAGER_SDK=1, or twice)."""
    if os.environ.get(EAGER_ENV) == "1" or any(isinstance(f, _ProviderFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _ProviderFinder())


def loaded() -> list[str]:
    """Source paths of the modules loaded with postponed annotations, in import order."""
    return list(_loaded)


def missed() -> list[str]:
    """Source paths of the provider modules loaded from the SDK's own bytecode, for want of a cached file."""
    return list(_missed)


def compile_into_cache(sources: Iterable[str]) -> int:
    """Compile each source with postponed annotations into the cache; returns how many were written.

    Each file is written under a name of its own and moved into place, so a concurrent
    plan reads a whole file or none.
    """
    written = 0
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for source in dict.fromkeys(sources):
        try:
            header = _header(source)
            code = compile(Path(source).read_bytes(), source, "exec", flags=_FLAGS, dont_inherit=True)
            with caches.replacing(_cached(source), "wb") as f:
                f.write(header + marshal.dumps(code))
            written += 1
        except (OSError, SyntaxError, ValueError):
            continue
    return written


def finish(*, wait: bool = False) -> None:
    """Compile what this run missed: in a detached process the run does not wait for, or here when `wait`."""
    if not _missed:
        return
    if wait:
        compile_into_cache(_missed)
        _missed.clear()
        return
    with contextlib.suppress(OSError):
        child = subprocess.Popen(
            [sys.executable, "-m", "preflight.sdkimport", "--compile"],
            cwd=_PROJECT_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert child.stdin is not None
        child.stdin.write("\n".join(dict.fromkeys(_missed)).encode())
        child.stdin.close()
        _children.append(child)  # never waited for: it outlives this process, in a session of its own
    _missed.clear()


def warm(argv: Sequence[str]) -> int:
    """Plan as `python -m preflight ARGV` would, then compile what it loaded from the SDKs' own bytecode.

    For runs that must not race a detached compiler: the bench, before it times a stack.
    """
    install()
    import io

    from preflight.__main__ import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    finish(wait=True)
    return code


def _compile_from_stdin() -> int:
    """The detached half of `finish`: one compiler per machine at a time, at low priority."""
    import fcntl

    with contextlib.suppress(OSError):
        os.nice(10)
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return 0  # another run is compiling; what it leaves missing is sent again by a later run
        compile_into_cache(line for line in sys.stdin.read().splitlines() if line)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--compile"]:
        sys.exit(_compile_from_stdin())
    if sys.argv[1:2] == ["--warm"]:
        sys.exit(warm(sys.argv[2:]))
    sys.exit(
        "usage: python -m preflight.sdkimport --warm [STACK] [preflight options]  (plan, then fill the cache)\n"
        "       python -m preflight.sdkimport --compile  (source paths on stdin; run by python -m preflight)"
    )
