"""Operations in the deployment files: mTLS, NetworkPolicies, shutdown grace, connection budget, autoscaling.

Rendered with kustomize (inside kubectl) where kustomize applies, read as YAML where
Helm would (Helm is not installed: the values are checked for what the chart passes
through). Each checker also runs on a broken copy and must name the break.
"""

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from console.codec_api import codec_router
from tests.unit.test_deploy_files import (
    BASE_DIR,
    COMPOSE_FILE,
    ENV_EXAMPLE,
    HELM_VALUES,
    K8S_DIR,
    REPO,
    build_settings,
    configmap_named,
    filled_secrets,
    find,
    load_compose,
    read_env_file,
    render,
    validation_problems,
)

TEMPORAL_NS = "temporal"
DUBAN_NS = "duban"
CONFIG = BASE_DIR / "config.env"


# ---------------------------------------------------------------- a small NetworkPolicy evaluator


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics for matchLabels and In/NotIn/Exists (enough for our files)."""
    if selector is None:
        return False
    if not all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
    return True


def peer_matches(peer: dict[str, Any], policy_ns: str, ns: str, labels: dict[str, str], ip: bool) -> bool:
    """Whether one `from`/`to` entry admits a pod (namespace, labels), or an outside address when `ip`."""
    if "ipBlock" in peer:
        return ip
    if ip:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": ns}):
            return False
    elif ns != policy_ns:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], labels)


def allowed(
    policies: list[dict[str, Any]],
    direction: str,
    pod: tuple[str, dict[str, str]],
    peer: tuple[str, dict[str, str]] | None,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Whether traffic is allowed for `pod` in `direction` (Ingress/Egress) to or from `peer` (None: outside)."""
    ns, labels = pod
    kind = "ingress" if direction == "Ingress" else "egress"
    applying = [
        p for p in policies
        if p["metadata"].get("namespace", ns) == ns and selects(p["spec"]["podSelector"], labels)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]  # fmt: skip
    if not applying:
        return True  # no policy isolates the pod
    for policy in applying:
        for rule in policy["spec"].get(kind) or []:
            peers = rule.get("from" if kind == "ingress" else "to")
            ports = rule.get("ports")
            port_ok = ports is None or any(
                p.get("port") == port and p.get("protocol", "TCP") == protocol for p in ports
            )
            peer_ok = peers is None or any(
                peer_matches(entry, ns, *(peer or ("", {})), ip=peer is None) for entry in peers
            )
            if port_ok and peer_ok:
                return True
    return False


def egress_ports(policies: list[dict[str, Any]], pod: tuple[str, dict[str, str]]) -> set[tuple[str, int]]:
    """Every (protocol, port) the pod may open to anyone, from the rules that apply to it."""
    _, labels = pod
    ports: set[tuple[str, int]] = set()
    for p in policies:
        if selects(p["spec"]["podSelector"], labels) and "Egress" in p["spec"].get("policyTypes", []):
            for rule in p["spec"].get("egress") or []:
                for entry in rule.get("ports") or [{"port": "any", "protocol": "any"}]:
                    ports.add((entry.get("protocol", "TCP"), entry["port"]))
    return ports


def pod_of(rendered: list[dict[str, Any]], kind: str, name: str) -> tuple[str, dict[str, str]]:
    workload = find(rendered, kind, name)
    return workload["metadata"].get("namespace", DUBAN_NS), workload["spec"]["template"]["metadata"]["labels"]


FRONTEND = (TEMPORAL_NS, {"app.kubernetes.io/name": "temporal", "app.kubernetes.io/instance": "temporal",
                          "app.kubernetes.io/component": "frontend"})  # fmt: skip
HISTORY = (TEMPORAL_NS, {**FRONTEND[1], "app.kubernetes.io/component": "history"})
TEMPORAL_UI = (TEMPORAL_NS, {**FRONTEND[1], "app.kubernetes.io/component": "web"})


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render(BASE_DIR)


@pytest.fixture(scope="module")
def temporal_policies() -> list[dict[str, Any]]:
    return render(K8S_DIR / "temporal")


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))


def policies_of(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == "NetworkPolicy"]


class TestNetworkPolicies:
    def test_they_render_and_validate(
        self, rendered: list[dict[str, Any]], temporal_policies: list[dict[str, Any]]
    ) -> None:
        """duban's base and the Temporal namespace's policies render with kustomize and pass strict validation."""
        assert len(policies_of(rendered)) >= 3
        assert {p["metadata"]["namespace"] for p in temporal_policies} == {TEMPORAL_NS}
        assert validation_problems(policies_of(rendered) + temporal_policies) == []

    def test_duban_pods_reach_only_dns_temporal_smtp_postgresql_and_https(self, rendered: list[dict[str, Any]]) -> None:
        """Default deny, then per component exactly the egress the issue lists (worker ⊇ console ⊇ job)."""
        policies = policies_of(rendered)
        worker = pod_of(rendered, "Deployment", "duban-worker")
        console = pod_of(rendered, "Deployment", "duban-console")
        job = pod_of(rendered, "Job", "duban-register-namespace")
        dns_temporal = {("UDP", 53), ("TCP", 53), ("TCP", 7233)}
        assert egress_ports(policies, worker) == dns_temporal | {("TCP", p) for p in (25, 465, 587, 5432, 443)}
        assert egress_ports(policies, console) == dns_temporal | {("TCP", 5432), ("TCP", 443)}
        assert egress_ports(policies, job) == dns_temporal
        for pod in (worker, console, job):
            assert allowed(policies, "Egress", pod, FRONTEND, 7233)
            assert not allowed(policies, "Egress", pod, HISTORY, 7234), "only the frontend, not Temporal's insides"
            assert not allowed(policies, "Egress", pod, None, 8080)
            assert not allowed(policies, "Egress", pod, (DUBAN_NS, {"app.kubernetes.io/name": "x"}), 7233)
        assert allowed(policies, "Egress", worker, None, 587)
        assert not allowed(policies, "Egress", console, None, 587), "the console sends no mail"
        # A pod nobody named (e.g. a debug pod someone starts in the namespace) is isolated too.
        stray = (DUBAN_NS, {"run": "debug"})
        assert not allowed(policies, "Egress", stray, FRONTEND, 7233)
        assert not allowed(policies, "Ingress", worker, (DUBAN_NS, {"run": "debug"}), 9400)

    def test_only_duban_and_the_release_reach_the_frontend(self, temporal_policies: list[dict[str, Any]]) -> None:
        """7233 on the frontend from duban's pods and Temporal's own (UI, system worker), from nowhere else."""
        duban_worker = (DUBAN_NS, {"app.kubernetes.io/name": "duban", "app.kubernetes.io/component": "worker"})
        assert allowed(temporal_policies, "Ingress", FRONTEND, duban_worker, 7233)
        assert allowed(temporal_policies, "Ingress", FRONTEND, TEMPORAL_UI, 7233)
        assert allowed(temporal_policies, "Ingress", FRONTEND, HISTORY, 6933)
        keda = ("keda", {"app": "keda-operator"})
        assert allowed(temporal_policies, "Ingress", FRONTEND, keda, 7233)
        assert not allowed(temporal_policies, "Ingress", FRONTEND, ("keda", {"app": "other"}), 7233)
        for stranger in [
            ("default", {"app": "anything"}),
            ("default", {"app.kubernetes.io/name": "duban"}),  # duban's labels in another namespace
            (DUBAN_NS, {"run": "debug"}),
        ]:
            assert not allowed(temporal_policies, "Ingress", FRONTEND, stranger, 7233), stranger
            assert not allowed(temporal_policies, "Ingress", HISTORY, stranger, 7234), stranger
        assert not allowed(temporal_policies, "Ingress", HISTORY, duban_worker, 7234)

    def test_a_missing_default_deny_or_a_wide_rule_is_caught(
        self, rendered: list[dict[str, Any]], temporal_policies: list[dict[str, Any]]
    ) -> None:
        """The evaluator notices when the deny-all goes or the frontend rule loses its namespace selector."""
        policies = [p for p in policies_of(rendered) if p["metadata"]["name"] != "duban-default-deny"]
        stray = (DUBAN_NS, {"run": "debug"})
        assert allowed(policies, "Egress", stray, FRONTEND, 7233)
        wide = copy.deepcopy(temporal_policies)
        frontend = next(p for p in wide if p["metadata"]["name"] == "temporal-frontend")
        del frontend["spec"]["ingress"][0]["from"][0]["namespaceSelector"]
        frontend["spec"]["ingress"][0]["from"][0] = {"namespaceSelector": {}}
        assert allowed(wide, "Ingress", FRONTEND, ("default", {"app": "anything"}), 7233)


class TestMutualTls:
    def test_every_duban_pod_dials_temporal_with_its_client_certificate(
        self, rendered: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """TLS on, the three files inside the (required) Secret's mount, for worker, console and the Job."""
        config = configmap_named(rendered, "duban-config")["data"]
        settings = build_settings({**config, **filled_secrets()}, monkeypatch)
        t = settings.temporal
        assert t.tls and t.tls_ca_cert and t.tls_client_cert and t.tls_client_key
        for kind, name in [("Deployment", "duban-worker"), ("Deployment", "duban-console"),
                           ("Job", "duban-register-namespace")]:  # fmt: skip
            pod = find(rendered, kind, name)["spec"]["template"]["spec"]
            volume = next(v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "duban-temporal-tls")
            assert not volume["secret"].get("optional", False), f"{name}: mTLS material must not be optional"
            mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
            for path in (t.tls_ca_cert, t.tls_client_cert, t.tls_client_key):
                assert str(path).startswith(mount["mountPath"] + "/"), f"{name}: {path} outside {mount['mountPath']}"
        job = find(rendered, "Job", "duban-register-namespace")["spec"]["template"]["spec"]["containers"][0]
        job_env = {e["name"]: e.get("value") for e in job["env"]}
        assert job_env["TEMPORAL_TLS_CLIENT_CERT_PATH"] == str(t.tls_client_cert)
        assert job_env["TEMPORAL_TLS_SERVER_CA_CERT_PATH"] == str(t.tls_ca_cert)

    def test_the_frontend_requires_client_certificates_and_every_client_has_one(self, values: dict[str, Any]) -> None:
        """Helm values: requireClientAuth, internode mTLS, the UI's and admin-tools' certificates, all mounted."""
        server = values["server"]
        tls = server["config"]["tls"]
        assert tls["frontend"]["server"]["requireClientAuth"] is True
        assert tls["internode"]["server"]["requireClientAuth"] is True
        mounts = {m["mountPath"]: m["name"] for m in server["additionalVolumeMounts"]}
        secrets = {v["name"]: v["secret"]["secretName"] for v in server["additionalVolumes"]}
        files = [tls["frontend"]["server"]["certFile"], tls["frontend"]["server"]["keyFile"],
                 *tls["frontend"]["server"]["clientCaFiles"], tls["internode"]["server"]["certFile"],
                 tls["systemWorker"]["certFile"]]  # fmt: skip
        for path in files:
            assert any(path.startswith(m + "/") for m in mounts), f"{path} is not in a mounted Secret"
        config = read_env_file(CONFIG)
        frontend_host = config["DUBAN_TEMPORAL__ADDRESS"].rsplit(":", 1)[0]
        assert tls["frontend"]["client"]["serverName"] == frontend_host
        for part in ("web", "admintools"):
            env = {e["name"]: e["value"] for e in values[part]["additionalEnv"]}
            part_mounts = [m["mountPath"] for m in values[part]["additionalVolumeMounts"]]
            cert = env.get("TEMPORAL_TLS_CERT")
            assert cert and any(cert.startswith(m + "/") for m in part_mounts), f"{part} presents no client certificate"
        cert_secrets = {d["spec"]["secretName"] for d in self._certificates()}
        used = set(secrets.values()) | {v["secret"]["secretName"] for part in ("web", "admintools")
                                        for v in values[part]["additionalVolumes"]}  # fmt: skip
        # Every TLS Secret the release mounts is issued by the cert-manager files, except the database's CA.
        assert used - cert_secrets == {"temporal-postgres-ca"}

    @staticmethod
    def _certificates() -> list[dict[str, Any]]:
        docs = render(K8S_DIR / "cert-manager")
        return [d for d in docs if d["kind"] == "Certificate"]

    def test_cert_manager_issues_the_names_and_uses_the_clients_need(self) -> None:
        """The frontend certificate carries the address duban dials; client certificates allow client auth."""
        certs = {d["spec"]["secretName"]: d for d in self._certificates()}
        frontend_host = read_env_file(CONFIG)["DUBAN_TEMPORAL__ADDRESS"].rsplit(":", 1)[0]
        assert frontend_host in certs["temporal-frontend-tls"]["spec"]["dnsNames"]
        assert "server auth" in certs["temporal-frontend-tls"]["spec"]["usages"]
        for client in ("duban-temporal-tls", "temporal-ui-tls", "temporal-internode-tls"):
            assert "client auth" in certs[client]["spec"]["usages"], client
        assert certs["duban-temporal-tls"]["metadata"]["namespace"] == DUBAN_NS

    def test_postgresql_is_reached_over_verified_tls(self, values: dict[str, Any]) -> None:
        """Both stores: TLS on, host verification on, the CA file inside a mounted Secret."""
        mounts = [m["mountPath"] for m in values["server"]["additionalVolumeMounts"]]
        admin_mounts = [m["mountPath"] for m in values["admintools"]["additionalVolumeMounts"]]
        for name, store in values["server"]["config"]["persistence"]["datastores"].items():
            tls = store["sql"]["tls"]
            assert tls["enabled"] is True and tls["enableHostVerification"] is True, name
            assert tls["serverName"] == store["sql"]["connectAddr"].rsplit(":", 1)[0]
            # The server and the schema job (admin-tools' mounts) both need the CA.
            for where in (mounts, admin_mounts):
                assert any(tls["caFile"].startswith(m + "/") for m in where), f"{name}: CA not mounted"


# ---------------------------------------------------------------- graceful shutdown


def grace_problems(grace_seconds: float, env: dict[str, str], where: str) -> list[str]:
    """The kill must come after the SDK's graceful shutdown plus the message in hand (one SMTP timeout)."""
    sdk = float(env["DUBAN_TEMPORAL__GRACEFUL_SHUTDOWN_SECONDS"])
    smtp = float(env["DUBAN_SMTP__TIMEOUT_SECONDS"])
    if grace_seconds <= sdk + smtp:
        return [
            f"{where}: grace {grace_seconds:.0f}s is not longer than "
            f"graceful shutdown {sdk:.0f}s + SMTP timeout {smtp:.0f}s"
        ]
    return []


def compose_seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", text)
    assert match, text
    return float(match.group(1)) * (60 if match.group(2) == "m" else 1)


class TestShutdownGrace:
    def test_the_pod_and_the_container_outlast_the_sdk_timeout(self, rendered: list[dict[str, Any]]) -> None:
        """Kubernetes' terminationGracePeriodSeconds and compose's stop_grace_period exceed the SDK timeout + SMTP."""
        config = configmap_named(rendered, "duban-config")["data"]
        pod = find(rendered, "Deployment", "duban-worker")["spec"]["template"]["spec"]
        assert grace_problems(pod["terminationGracePeriodSeconds"], config, "k8s worker") == []
        env = read_env_file(ENV_EXAMPLE)
        worker = load_compose()["services"]["duban-worker"]
        assert grace_problems(compose_seconds(worker["stop_grace_period"]), env, "compose worker") == []

    def test_the_old_sixty_seconds_would_be_caught(self) -> None:
        """60 s (the value before) against 30 s + 30 s: reported."""
        env = read_env_file(CONFIG)
        assert grace_problems(60, env, "k8s worker") != []


# ---------------------------------------------------------------- PostgreSQL connection budget

# What else connects: superuser_reserved_connections (3), the schema job and admin-tools (~4),
# pg_dump / monitoring / an operator's psql (~10), duban's own records database pools (~20).
OTHER_CONNECTIONS = 40
HELM_PG_MAX_CONNECTIONS = 200  # what values.yaml and docs/operations.md ask the database for


def budget(pools: int, per_pool: tuple[int, int], max_connections: int) -> list[str]:
    used = pools * sum(per_pool) + OTHER_CONNECTIONS
    return [] if used <= max_connections else [f"{used} connections planned, max_connections is {max_connections}"]


class TestConnectionBudget:
    def test_the_helm_pools_fit_the_stated_max_connections(self, values: dict[str, Any]) -> None:
        """8 server pods × (main + visibility pool) + the rest stays under 200; the docs state the same figure."""
        stores = values["server"]["config"]["persistence"]["datastores"]
        pods = values["server"]["replicaCount"] * 4  # frontend, history, matching, worker
        pools = (stores["default"]["sql"]["maxConns"], stores["visibility"]["sql"]["maxConns"])
        assert budget(pods, pools, HELM_PG_MAX_CONNECTIONS) == []
        assert budget(pods, (20, 10), HELM_PG_MAX_CONNECTIONS) != [], "the old pools (240) must not fit"
        assert f"max_connections = {HELM_PG_MAX_CONNECTIONS}" in HELM_VALUES.read_text(encoding="utf-8")
        assert "max_connections" in (REPO / "docs" / "operations.md").read_text(encoding="utf-8")

    def test_the_compose_pools_fit_the_database_they_configure(self) -> None:
        """One Temporal process, four services, each with both pools; PostgreSQL's max_connections set to match."""
        services = load_compose()["services"]
        command = services["postgresql"]["command"]
        max_connections = int(next(a.split("=")[1] for a in command if a.startswith("max_connections=")))
        env = services["temporal"]["environment"]
        pools = (int(env["SQL_MAX_CONNS"]), int(env["SQL_VIS_MAX_CONNS"]))
        assert budget(4, pools, max_connections) == []


# ---------------------------------------------------------------- compose TLS


class TestComposeTls:
    def test_every_client_of_the_frontend_uses_a_certificate_and_the_frontend_demands_one(self) -> None:
        """Server: requireClientAuth and TLS to PostgreSQL; duban, UI, register and schema job: certificates mounted."""
        services = load_compose()["services"]

        def mounted(service: str, path: str) -> bool:
            return any(
                isinstance(v, str) and v.startswith("./certs:") and path.startswith(v.split(":")[1] + "/")
                for v in services[service].get("volumes", [])
            )

        server = services["temporal"]["environment"]
        assert server["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] == "true"
        assert server["SQL_TLS_ENABLED"] == "true" and server["SQL_HOST_VERIFICATION"] == "true"
        for key in ("TEMPORAL_TLS_FRONTEND_CERT", "TEMPORAL_TLS_CLIENT1_CA_CERT", "SQL_CA"):
            assert mounted("temporal", server[key]), key
        for name in ("duban-worker", "duban-console"):
            env = services[name]["environment"]
            assert env["DUBAN_TEMPORAL__TLS"] == "true"
            for key in (
                "DUBAN_TEMPORAL__TLS_CA_CERT",
                "DUBAN_TEMPORAL__TLS_CLIENT_CERT",
                "DUBAN_TEMPORAL__TLS_CLIENT_KEY",
            ):
                assert mounted(name, env[key]), (name, key)
        assert mounted("temporal-ui", services["temporal-ui"]["environment"]["TEMPORAL_TLS_CERT"])
        assert mounted(
            "temporal-register", services["temporal-register"]["environment"]["TEMPORAL_TLS_CLIENT_CERT_PATH"]
        )
        assert mounted("temporal-schema", services["temporal-schema"]["environment"]["SQL_TLS_CA_FILE"])
        assert "ssl=on" in services["postgresql"]["command"]
        assert (COMPOSE_FILE.parent / "certs" / "README.md").exists()
        for key in ("ca.key", "client.key", "temporal.key", "postgres.key"):
            ignored = subprocess.run(
                ["git", "check-ignore", "--quiet", str(COMPOSE_FILE.parent / "certs" / key)], cwd=REPO, check=False
            )
            assert ignored.returncode == 0, f"deploy/compose/certs/{key} would be committed"

    def test_the_certificate_files_compose_names_are_the_ones_the_generator_writes(self, tmp_path: Path) -> None:
        """Every ./certs file a service points at is written by `python -m workers.tls_certs`."""
        from workers.tls_certs import write_compose_set

        written = set(write_compose_set(tmp_path))
        text = COMPOSE_FILE.read_text(encoding="utf-8")
        named = set(re.findall(r"/(?:etc/temporal/tls|etc/duban/temporal-tls|etc/postgresql/tls)/([\w.]+)", text))
        assert named and named <= written, named - written


# ---------------------------------------------------------------- autoscaling on backlog


class TestKedaComponent:
    def test_the_component_replaces_the_cpu_hpa_with_a_backlog_scaler(self, tmp_path: Path) -> None:
        """Base + component: no HPA, a ScaledObject on duban's task queue with mTLS auth and CPU beside it."""
        tree = tmp_path / "k8s"
        shutil.copytree(K8S_DIR, tree)
        overlay = tree / "overlay"
        overlay.mkdir()
        (overlay / "kustomization.yaml").write_text("resources: [../base]\ncomponents: [../keda]\n", encoding="utf-8")
        docs = render(overlay)
        assert not [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
        scaled = find(docs, "ScaledObject", "duban-worker")
        assert scaled["metadata"]["namespace"] == DUBAN_NS
        assert scaled["spec"]["scaleTargetRef"]["name"] == find(docs, "Deployment", "duban-worker")["metadata"]["name"]
        config = configmap_named(docs, "duban-config")["data"]
        temporal = next(t for t in scaled["spec"]["triggers"] if t["type"] == "temporal")
        meta = temporal["metadata"]
        assert meta["endpoint"] == config["DUBAN_TEMPORAL__ADDRESS"]
        assert meta["namespace"] == config["DUBAN_TEMPORAL__NAMESPACE"]
        assert meta["taskQueue"] == config["DUBAN_TEMPORAL__TASK_QUEUE"]
        assert int(meta["targetQueueSize"]) > 0
        assert {t["type"] for t in scaled["spec"]["triggers"]} == {"temporal", "cpu"}
        auth = find(docs, "TriggerAuthentication", temporal["authenticationRef"]["name"])
        assert {r["parameter"]: r["name"] for r in auth["spec"]["secretTargetRef"]} == {
            "ca": "duban-temporal-tls",
            "cert": "duban-temporal-tls",
            "key": "duban-temporal-tls",
        }
        hpa = yaml.safe_load((BASE_DIR / "worker-hpa.yaml").read_text(encoding="utf-8"))
        assert scaled["spec"]["minReplicaCount"] == hpa["spec"]["minReplicas"]
        assert scaled["spec"]["maxReplicaCount"] == hpa["spec"]["maxReplicas"]


# ---------------------------------------------------------------- the codec's CORS for the documented UI


class TestCodecOrigin:
    def test_the_ui_origin_in_the_config_is_granted_by_the_console(
        self, rendered: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The console built from the rendered ConfigMap answers the preflight of the UI origin it names."""
        config = configmap_named(rendered, "duban-config")["data"]
        settings = build_settings({**config, **filled_secrets()}, monkeypatch)
        assert settings.temporal.ui_origins, "config.env names no UI origin"
        app = FastAPI()
        app.include_router(codec_router(settings))
        with TestClient(app) as client:
            for origin in settings.temporal.ui_origins:
                r = client.options("/codec/decode", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
                assert r.headers.get("access-control-allow-origin") == origin
            r = client.options("/codec/decode", headers={"Origin": "https://elsewhere.example"})
            assert "access-control-allow-origin" not in r.headers
        guide = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
        assert all(origin in guide for origin in settings.temporal.ui_origins), "operations.md must name the origin"


# ---------------------------------------------------------------- worker memory against the measured cache cost


def mebibytes(quantity: str) -> float:
    match = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
    assert match, quantity
    return float(match.group(1)) * (1024 if match.group(2) == "Gi" else 1)


class TestWorkerMemory:
    def test_the_pod_limit_holds_the_cache_it_is_configured_for(self, rendered: list[dict[str, Any]]) -> None:
        """limit ≥ idle worker + cache × measured MiB per cached 100-unit cycle (bench/results/cache.json)."""
        import json

        measured = json.loads((REPO / "bench" / "results" / "cache.json").read_text(encoding="utf-8"))["cache"]
        row = next(r for r in measured if r["units"] == 100)
        config = configmap_named(rendered, "duban-config")["data"]
        cache = int(config["DUBAN_TEMPORAL__MAX_CACHED_WORKFLOWS"])
        container = find(rendered, "Deployment", "duban-worker")["spec"]["template"]["spec"]["containers"][0]
        limit = mebibytes(container["resources"]["limits"]["memory"])
        needed = row["idle_rss_mb"] + cache * row["mb_per_cached_cycle"]
        assert needed <= limit, f"{cache} cached 100-unit cycles need ~{needed:.0f} MiB, the limit is {limit:.0f}"
        assert row["idle_rss_mb"] + 1000 * row["mb_per_cached_cycle"] > mebibytes("1536Mi"), (
            "the old setting (cache 1000, limit 1536Mi) must fail this check"
        )
