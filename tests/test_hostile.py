"""Hostile and broken stack files: exit 2 with one line per problem, never a traceback, never a secret.

The property tests feed generated documents and mutations of every shipped stack
through the stack-file reader and the spec in-process (cheap), and a bounded
sample through the whole `python -m preflight` (a plan costs seconds). Every
secret-looking value carries the same canary, which must never come out.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.runtime import marked
from components.spec import NAMESPACE, SpecError, parse
from components.stackfile import StackFileError
from preflight import engine, stackconfig
from preflight.__main__ import located, main
from tests.conftest import plan_spec

ROOT = Path(__file__).resolve().parent.parent
STACKS = stackconfig.stacks(ROOT)
CANARY = "ZQ8CANARYXV41"
CIPHERTEXT = f"v1:{CANARY}AAAA:{CANARY}BBBBCCCCDDDDEEEE"
SECRET_TEXTS = [
    f"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE{CANARY}AAAAB\n-----END OPENSSH PRIVATE KEY-----\n",
    f"ghp_{CANARY}abcdefghijklmnopqrstuvwx",
    f"AKIA{CANARY}XYZ",
    f"apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user: {{token: {CANARY}abc}}\n",
    f"https://admin:{CANARY}@pve1.example.com:8006/",
    f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ{CANARY}.c2ln",
]
COUNT = {"in_process": 0, "cli": 0}
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@functools.cache
def _shipped(name: str) -> tuple[str, dict[str, Any]]:
    text = (ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text()
    return text, yaml.safe_load(text)


def shipped(name: str) -> tuple[str, dict[str, Any]]:
    """A shipped stack's text and a fresh copy of its data, to mutate."""
    text, doc = _shipped(name)
    return text, copy.deepcopy(doc)


def dump(doc: Any) -> bytes:
    return yaml.dump(doc, Dumper=_DUMPER, allow_unicode=True, sort_keys=False).encode()


def project(root: Path, text: bytes | str) -> Path:
    """A project dir that runs the real program on one stack file, `Pulumi.fuzz.yaml`."""
    (root / "stacks").mkdir(parents=True, exist_ok=True)
    if not (root / "Pulumi.yaml").exists():
        (root / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
        (root / "__main__.py").symlink_to(ROOT / "__main__.py")
    data = text.encode() if isinstance(text, str) else text
    (root / "stacks" / "Pulumi.fuzz.yaml").write_bytes(data)
    return root


def problem_lines(root: Path) -> list[str]:
    """What preflight says before planning: stack-file problems, or spec problems located in the file."""
    try:
        config = stackconfig.load(root, "fuzz")
    except StackFileError as exc:
        return exc.problems
    try:
        parse({k: marked(v) for k, v in config.namespace(NAMESPACE).items()})
    except SpecError as err:
        return located(err.problems, config.source)
    return []


def run_cli(root: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["fuzz", "--project-dir", str(root), *extra])
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------- examples from the issue

BROKEN: list[tuple[str, bytes, str]] = [
    (
        "tab",
        b"config:\n\torquestra:environment: prod\n",
        "stacks/Pulumi.fuzz.yaml:2:1: invalid YAML: while scanning for the next token, found character",
    ),
    ("unclosed bracket", b"config:\n  orquestra:clusters: [1, 2\n", "stacks/Pulumi.fuzz.yaml:3:1: invalid YAML"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "stacks/Pulumi.fuzz.yaml:1: not UTF-8 text"),
    ("control character", b"config:\n  orquestra:environment: \x00\n", "stacks/Pulumi.fuzz.yaml:2: invalid YAML"),
    (
        "python object",
        b"config:\n  orquestra:environment: !!python/object/apply:os.system [reboot]\n",
        "stacks/Pulumi.fuzz.yaml:2: orquestra:environment: a value tagged !!python/object/apply:os.system",
    ),
    ("file is a list", b"- config\n", "stacks/Pulumi.fuzz.yaml:1: the file is a list"),
    ("config is a list", b"config: [a, b]\n", "stacks/Pulumi.fuzz.yaml:1: config: not a mapping"),
    (
        "integer key",
        b"config:\n  orquestra:clusters:\n    - {name: a, target: existing, 1: x}\n",
        "stacks/Pulumi.fuzz.yaml:3: orquestra:clusters[0]: a key that is a number (1)",
    ),
    (
        "null key",
        b"config:\n  orquestra:clusters:\n    - {name: a, target: existing, ~: x}\n",
        "stacks/Pulumi.fuzz.yaml:3: orquestra:clusters[0]: a key that is null",
    ),
    (
        "set",
        b"config:\n  orquestra:clusters: !!set {a, b}\n",
        "stacks/Pulumi.fuzz.yaml:2: orquestra:clusters: a value tagged !!set",
    ),
    (
        "binary name",
        b"config:\n  orquestra:clusters:\n    - name: !!binary aGVsbG8=\n",
        "stacks/Pulumi.fuzz.yaml:3: orquestra:clusters[0].name: a value tagged !!binary",
    ),
    (
        "duplicate key",
        b"config:\n  orquestra:environment: prod\n  orquestra:environment: dev\n",
        "stacks/Pulumi.fuzz.yaml:3: orquestra:environment: given again (first at line 2); allowed: each key once",
    ),
    (
        "duplicate nested key",
        b"config:\n  orquestra:clusters:\n    - name: a\n      name: b\n",
        "stacks/Pulumi.fuzz.yaml:4: orquestra:clusters[0].name: given again (first at line 3)",
    ),
    (
        "alias bomb",
        b"config:\n  orquestra:a: &a [x, x, x, x, x, x, x, x, x]\n"
        + b"".join(
            f"  orquestra:{c}: &{c} [{', '.join(['*' + p] * 9)}]\n".encode()
            for p, c in zip("abcdefg", "bcdefgh", strict=True)
        ),
        "more than 100000 values once aliases are expanded",
    ),
    (
        "deep nesting",
        b"config:\n  orquestra:a: " + b"[" * 200_000 + b"]" * 200_000 + b"\n",
        "stacks/Pulumi.fuzz.yaml:2: values nested deeper than 64 levels; allowed: fewer",
    ),
    ("two documents", b"config: {}\n---\nconfig: {}\n", "stacks/Pulumi.fuzz.yaml:2:1: invalid YAML"),
]


@pytest.mark.parametrize(("text", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_broken_stack_file_exits_2_with_one_line_per_problem(tmp_path: Path, text: bytes, expected: str) -> None:
    root = project(tmp_path, text)
    code, out, err = run_cli(root)
    assert code == 2
    lines = err.splitlines()
    assert lines and any(expected in line for line in lines), lines
    assert all(line.startswith("stacks/Pulumi.fuzz.yaml") for line in lines), lines
    assert "Traceback" not in out + err


def test_the_last_of_two_duplicate_keys_does_not_win(tmp_path: Path) -> None:
    root = project(tmp_path, (ROOT / "stacks" / "Pulumi.prod-do.yaml").read_text() + "  orquestra:environment: dev\n")
    code, _, err = run_cli(root)
    assert code == 2
    assert "orquestra:environment: given again (first at line" in err


def test_a_broken_stack_file_gives_no_traceback_from_the_real_cli(tmp_path: Path) -> None:
    root = project(tmp_path, b"config:\n  orquestra:clusters:\n    - name: !!python/object:os.system x\n\t- y\n")
    result = subprocess.run(
        [sys.executable, "-m", "preflight", "fuzz", "--project-dir", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.startswith("stacks/Pulumi.fuzz.yaml:")


@pytest.mark.parametrize(
    ("option", "value", "why"),
    [
        ("--json", "{missing}/plan.json", "does not exist"),
        ("--json", "{dir}", "is a directory"),
        ("--diagram", "/etc/hostname/plan.mmd", "does not exist"),
        ("--diagram", "{dir}/" + "x" * 300, "longer than 255 bytes"),
    ],
)
def test_an_unwritable_output_path_is_refused_before_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str, value: str, why: str
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("planned although the output cannot be written")

    monkeypatch.setattr(engine, "run", never)
    path = value.format(missing=tmp_path / "missing", dir=tmp_path)
    code, _, err = run_cli(project(tmp_path / "p", (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()), option, path)
    assert code == 2
    assert err.startswith(f"preflight: {option} ") and why in err


def test_an_unknown_stack_name_cannot_reach_outside_the_stacks_directory(tmp_path: Path) -> None:
    code = main(["../../etc/passwd"])
    assert code == 2


# ------------------------------------------------------------------------ properties

KEYS = st.sampled_from(
    [
        "name",
        "target",
        "region",
        "nodePools",
        "labels",
        "taints",
        "zones",
        "instanceTypes",
        "apiAccess",
        "publicCidrs",
        "kubeconfigPath",
        "context",
        "env",
        "image",
        "expose",
        "healthPath",
        "tags",
        "machines",
        "endpoint",
        "acceptedRisks",
    ]
)
HOSTILE = st.sampled_from(
    [
        *SECRET_TEXTS,
        {"secure": CIPHERTEXT},
        "0.0.0.0/1",
        ["0.0.0.0/1", "128.0.0.0/1"],
        ["::/1", "8000::/1"],
        "ghcr.io/stefanprodan/podinfo:6.9.2\n",
        "1.\u0663\u0665",
        "\uff11\uff12",
        "$(reboot)",
        "`id`; rm -rf /",
        "../../etc/passwd",
        "a" * 3000,
        "a." * 10000,
        "",
        " ",
        "\u202eevil",
        "x\ty",
        "*",
        "arn:aws:iam::123456789012:role/*",
        "arn:aws:kms:*",
        "root",
        "Free",
        "single",
        "eu-west-1c",
        ["eu-west-1c"],
        "europe-west1-d",
        ["3"],
        "m6i.large",
        "10.0.0.0/8",
        "192.168.10.10",
        "cluster-autoscaler",
        "0",
        "0Mi",
        -1,
        0,
        2**70,
        1e308,
        True,
        None,
        [],
        {},
        [{"rule": "single-zone", "reason": "x"}],
    ]
)
VALUES = st.recursive(
    st.one_of(HOSTILE, st.text(max_size=12), st.integers(-5, 10**6), st.booleans(), st.none()),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.one_of(KEYS, st.text(max_size=6)), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*at, i))


def _mutate(doc: dict[str, Any], draw: st.DrawFn) -> dict[str, Any]:
    """One edit at a random place of a stack's config: a hostile value, a deleted, added or renamed key."""
    paths = [p for p in _paths(doc["config"]) if p]
    if not paths:
        # Earlier edits of this document deleted every key: nothing is left to edit.
        return doc
    path = draw(st.sampled_from(paths))
    *head, last = path
    parent: Any = doc["config"]
    for step in head:
        parent = parent[step]
    op = draw(st.sampled_from(["replace", "delete", "add", "rename"]))
    # Copies: the sampled constants are shared between examples, and a later edit may reach inside one.
    if op == "replace" or isinstance(parent, list):
        parent[last] = copy.deepcopy(draw(VALUES))
    elif op == "delete":
        del parent[last]
    elif op == "add":
        parent[draw(KEYS)] = copy.deepcopy(draw(VALUES))
    else:
        parent[draw(st.one_of(KEYS, st.sampled_from(SECRET_TEXTS)))] = parent.pop(last)
    return doc


TEXT_EDITS = [
    lambda lines, i, r: [*lines[:i], "\t" + lines[i], *lines[i + 1 :]],
    lambda lines, i, r: [*lines[: i + 1], lines[i], *lines[i + 1 :]],
    lambda lines, i, r: [*lines[:i], lines[i][: r.randrange(len(lines[i]) + 1)]],
    lambda lines, i, r: [*lines[:i], lines[i] + " !!python/object/apply:os.system [id]", *lines[i + 1 :]],
    lambda lines, i, r: [*lines[:i], lines[i].split(":")[0] + ": !!binary aGVsbG8=", *lines[i + 1 :]],
    lambda lines, i, r: [*lines[:i], lines[i].split(":")[0] + ": 2024-01-01", *lines[i + 1 :]],
    lambda lines, i, r: [*lines[:i], lines[i].split(":")[0] + ": !!set {a, b}", *lines[i + 1 :]],
    lambda lines, i, r: [*lines[:i], lines[i].split(":")[0] + ": .nan", *lines[i + 1 :]],
    lambda lines, i, r: [*lines[:i], lines[i].split(":")[0] + ": " + "9" * 5000, *lines[i + 1 :]],
    lambda lines, i, r: [*lines[:i], " " * (len(lines[i]) - len(lines[i].lstrip())) + "1: x", *lines[i:]],
    lambda lines, i, r: [*lines[:i], lines[i].split(":")[0] + ": &x [*x]", *lines[i + 1 :]],
    lambda lines, i, r: [*lines[:i], lines[i] + f"  # {SECRET_TEXTS[1]}", *lines[i + 1 :]],
]


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """A shipped stack mutated as data or as text, or a document generated from nothing."""
    kind = draw(st.sampled_from(["data", "data", "text", "bytes", "generated"]))
    text, doc = shipped(draw(st.sampled_from(STACKS)))
    if kind == "generated":
        config = draw(
            st.dictionaries(
                st.sampled_from(
                    ["orquestra:environment", "orquestra:clusters", "orquestra:workloads", "orquestra:x", "aws:region"]
                ),
                VALUES,
                max_size=4,
            )
        )
        return dump({"config": config})
    if kind == "data":
        for _ in range(draw(st.integers(1, 3))):
            doc = _mutate(doc, draw)
        return dump(doc)
    rnd = random.Random(draw(st.integers(0, 2**32)))
    if kind == "text":
        lines = text.splitlines()
        i = rnd.randrange(len(lines))
        return "\n".join(draw(st.sampled_from(TEXT_EDITS))(lines, i, rnd)).encode() + b"\n"
    data = bytearray(text.encode())
    for _ in range(draw(st.integers(1, 4))):
        data[rnd.randrange(len(data))] = draw(st.integers(0, 255))
    return bytes(data)


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert CANARY not in text, text
        assert "Traceback" not in text


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(documents())
def _loader_and_spec(text: bytes) -> None:
    COUNT["in_process"] += 1
    root = project(_WORKDIR["in_process"], text)
    lines = problem_lines(root)
    for line in lines:
        assert "\n" not in line and line.startswith(("stacks/Pulumi.fuzz.yaml", "orquestra:")), line
    _no_secret(*lines)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(["dev", "prod-do", "staging-aws"]), st.data())
def _whole_cli(stack: str, data: st.DataObject) -> None:
    COUNT["cli"] += 1
    doc = _mutate(shipped(stack)[1], data.draw)
    root = project(_WORKDIR["cli"], dump(doc))
    plan, diagram = root / "plan.json", root / "plan.mmd"
    for path in (plan, diagram):
        path.unlink(missing_ok=True)
    code, out, err = run_cli(root, "--json", str(plan), "--diagram", str(diagram))
    assert code in {0, 2, 3, 4}, (code, err)
    written = [p.read_text() for p in (plan, diagram) if p.exists()]
    _no_secret(out, err, *written)
    if code == 0:
        assert json.loads(written[0])["stack"] == "fuzz"


_WORKDIR: dict[str, Path] = {}


def _count(kind: str, run: Any, what: str, root: Path, capsys: pytest.CaptureFixture[str]) -> int:
    """Run one property in `root` and print how many cases it ran (hypothesis says nothing when all pass)."""
    _WORKDIR[kind], COUNT[kind] = root, 0
    run()
    with capsys.disabled():
        print(f"\n  hostile stack files: {COUNT[kind]} {what}")
    return COUNT[kind]


def test_hostile_documents_through_the_reader_and_the_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _count("in_process", _loader_and_spec, "documents through the reader and the spec", tmp_path, capsys) >= 100


def test_hostile_stacks_through_the_whole_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _count("cli", _whole_cli, "mutated stacks through python -m preflight", tmp_path, capsys) >= 4


def test_the_canary_is_one_the_checks_would_see(tmp_path: Path) -> None:
    """The property tests prove something only if a leak of the canary would show."""
    root = project(tmp_path, f"config:\n  orquestra:clusters: {CANARY}\n")
    assert any(CANARY in line for line in problem_lines(root))


# --------------------------------------------------------------------------- secrets

KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"


def _lab(**workload: Any) -> dict[str, Any]:
    return {
        "clusters": [{"name": "lab", "target": "existing", "kubeconfig": KUBECONFIG}],
        "workloads": [{"name": "web", "image": "ghcr.io/acme/web:1.0.0", "clusters": ["lab"], **workload}],
    }


def _env_of(plan: engine.Plan) -> list[dict[str, Any]]:
    deployment = plan.one("kubernetes:apps/v1:Deployment", "lab-web-deployment")
    return deployment.plain["spec"]["template"]["spec"]["containers"][0]["env"]


def test_a_secure_env_value_becomes_a_secret_the_container_reads_by_reference() -> None:
    plan = plan_spec(_lab(env={"DB_PASSWORD": {"secure": CIPHERTEXT}, "MODE": "prod"}))
    assert plan.ok, plan.errors
    secret = plan.one("kubernetes:core/v1:Secret", "lab-web-env")
    assert secret.plain["metadata"] == {
        "name": "web-env",
        "namespace": "web",
        "labels": {"app.kubernetes.io/name": "web", "app.kubernetes.io/managed-by": "orquestra"},
    }
    assert isinstance(secret.inputs["stringData"], engine.Secret)
    assert _env_of(plan) == [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "web-env", "key": "DB_PASSWORD"}}},
        {"name": "MODE", "value": "prod"},
    ]
    assert secret.urn in plan.one("kubernetes:apps/v1:Deployment", "lab-web-deployment").dependencies
    assert CANARY not in json.dumps(plan.to_json())


def test_a_decrypted_env_value_from_the_cli_stays_secret() -> None:
    """Under the CLI the value arrives decrypted and only `orquestra:workloads` is flagged secret."""
    value = "hunter2-plain-after-decryption"
    orquestra = {"environment": "dev", **_lab(env={"DB_PASSWORD": value})}
    config = stackconfig.StackConfig(
        "orquestra",
        "no-such-stack-file",
        {f"orquestra:{k}": v for k, v in orquestra.items()},
        ["orquestra:workloads"],
    )
    plan = engine.run(config)
    assert plan.ok, plan.errors
    assert _env_of(plan)[0]["valueFrom"]["secretKeyRef"] == {"name": "web-env", "key": "DB_PASSWORD"}
    assert engine.reveal(plan.one("kubernetes:core/v1:Secret", "lab-web-env").inputs["stringData"]) == {
        "DB_PASSWORD": value
    }
    assert value not in json.dumps(plan.to_json())


def test_the_stack_file_says_which_leaves_of_a_secret_key_were_secure(tmp_path: Path) -> None:
    from components.runtime import stack_file_secrets

    root = project(
        tmp_path,
        "config:\n  orquestra:workloads:\n    - name: web\n      env:\n"
        f"        A: plain\n        B: {{secure: {CIPHERTEXT}}}\n",
    )
    assert stack_file_secrets(root, "fuzz", "orquestra:workloads") == [(0, "env", "B")]
    assert stack_file_secrets(root, "other", "orquestra:workloads") == []


def _doks() -> dict[str, Any]:
    return {
        "environment": "dev",
        "clusters": [
            {
                "name": "doks",
                "target": "digitalocean",
                "region": "fra1",
                "apiAccess": {"publicCidrs": ["203.0.113.0/24"]},
            }
        ],
        "workloads": [{"name": "web", "image": "ghcr.io/acme/web:1.0.0", "clusters": ["doks"]}],
    }


@pytest.mark.parametrize("path", ["clusters[0].region", "clusters[0].name", "workloads[0].image", "workloads[0].port"])
def test_a_secure_value_where_no_secret_goes_is_refused_without_showing_it(path: str) -> None:
    config = _doks()
    section, key = path.split("[0].")
    config[section][0][key] = marked(stackconfig.UNKNOWN_SECRET)
    with pytest.raises(SpecError) as info:
        parse(config)
    assert any(
        line.startswith(f"orquestra:{path}: [secret]; allowed: a plain value: this key takes no secret")
        for line in info.value.problems
    ), info.value.problems


@pytest.mark.parametrize("secret", SECRET_TEXTS)
@pytest.mark.parametrize(
    "place",
    [
        ("clusters", 0, "region"),
        ("clusters", 0, "name"),
        ("clusters", 0, "tags", "team"),
        ("clusters", 0, "nodePools", 0, "labels", "tier"),
        ("clusters", 0, "platform", "certManager", "acmeEmail"),
        ("workloads", 0, "image"),
        ("workloads", 0, "env", "API_KEY"),
        ("workloads", 0, "expose", "host"),
        ("environment",),
    ],
)
def test_a_key_or_token_put_in_any_field_is_never_echoed(secret: str, place: tuple[Any, ...]) -> None:
    config = _doks()
    config["clusters"][0]["nodePools"] = [{"name": "general", "instanceTypes": ["s-2vcpu-4gb"]}]
    config["workloads"][0]["expose"] = {}
    parent: Any = config
    for step in place[:-1]:
        parent = parent.setdefault(step, {}) if isinstance(parent, dict) else parent[step]
    parent[place[-1]] = secret
    with pytest.raises(SpecError) as info:
        parse(config)
    text = "\n".join(info.value.problems)
    assert CANARY not in text
    assert any("[redacted: looks like a key or token]" in line for line in info.value.problems), text


def test_a_huge_value_or_key_is_refused_in_a_short_line() -> None:
    huge = "a." * 50_000
    cluster = {"name": "x", "target": "existing", "kubeconfigPath": "/k", "context": huge, huge: 1}
    with pytest.raises(SpecError) as info:
        parse(
            {"clusters": [cluster], "workloads": [{"name": "w", "image": huge, "clusters": ["x"], "env": {"A": huge}}]}
        )
    lines = info.value.problems
    assert "orquestra:clusters[0]: a key of 100000 characters; allowed: at most 16384" in lines
    assert any(line.startswith("orquestra:workloads[0].env.A: 'a.a.a.") for line in lines)
    assert all(len(line) < 400 for line in lines), [len(line) for line in lines]
