"""deploy/ cannot drift from the hub: every YAML file parses, probes and ports match the app, and every
environment variable a deploy file gives the hub is one the hub reads."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
import yaml
from starlette.routing import Route

from hub import ROOT
from hub.app import create_app
from hub.settings import Settings
from hub.telemetry.tracing import OTEL_VARIABLES

DEPLOY = ROOT / "deploy"
YAML_FILES = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
PORT = Settings().port


class _Recorder(dict):
    """A mapping that remembers which names ``Settings.from_env`` asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.asked.add(key)
        return super().__getitem__(key)


def hub_variables() -> set[str]:
    recorder = _Recorder()
    Settings.from_env(recorder)
    return recorder.asked | OTEL_VARIABLES


def _docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _k8s(kind: str) -> list[dict]:
    return [d for p in (DEPLOY / "k8s").glob("*.yaml") for d in _docs(p) if d.get("kind") == kind]


def _hub_container() -> dict:
    [deployment] = _k8s("Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _compose() -> dict:
    [compose] = _docs(DEPLOY / "compose.yaml")
    return compose


def _hub_services(compose: dict) -> Iterator[tuple[str, dict]]:
    for name, service in compose["services"].items():
        if service.get("image", "").startswith("talent-data-hub"):
            yield name, service


def test_there_are_deploy_files() -> None:
    names = {p.relative_to(DEPLOY).as_posix() for p in YAML_FILES}
    assert {"compose.yaml", "otel-collector.yaml", "k8s/deployment.yaml", "k8s/service.yaml", "k8s/hpa.yaml",
            "k8s/configmap.yaml", "k8s/secret.example.yaml", "k8s/pdb.yaml"} <= names
    assert (DEPLOY / "Dockerfile").exists() and (DEPLOY / "README.md").exists()


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_every_yaml_file_parses(path: Path) -> None:
    docs = _docs(path)
    assert docs and all(isinstance(d, dict) for d in docs)
    if path.parent.name == "k8s":
        for d in docs:
            assert {"apiVersion", "kind", "metadata"} <= set(d), path.name


def test_probes_and_ports_match_the_app() -> None:
    app = create_app(replace(Settings(), database_url="postgresql://unused@localhost/unused"))
    paths = {r.path for r in app.routes if isinstance(r, Route)}
    container = _hub_container()
    [port] = container["ports"]
    assert port["containerPort"] == PORT
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", "/healthz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path and path in paths
        assert get["port"] in (port["name"], PORT)
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "/metrics" in paths
    [deployment] = _k8s("Deployment")
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(PORT)
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True


def test_service_hpa_and_pdb_point_at_the_deployment() -> None:
    [deployment] = _k8s("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    [service] = _k8s("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    [port] = _hub_container()["ports"]
    assert service["spec"]["ports"][0]["targetPort"] in (port["name"], PORT)
    [hpa] = _k8s("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": deployment["metadata"]["name"]}
    assert hpa["spec"]["minReplicas"] >= 2
    [pdb] = _k8s("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    [config] = _k8s("ConfigMap")
    [secret] = _k8s("Secret")
    refs = {e.get("configMapRef", e.get("secretRef", {})).get("name") for e in _hub_container()["envFrom"]}
    assert refs == {config["metadata"]["name"], secret["metadata"]["name"]}
    assert config["data"]["HUB_PORT"] == str(PORT)


def _k8s_env_names() -> set[str]:
    container = _hub_container()
    names = set(_k8s("ConfigMap")[0]["data"]) | set(_k8s("Secret")[0]["stringData"])
    explicit = {e["name"] for e in container.get("env", [])}
    # Downward-API helpers that only feed other variables' values ($(POD_NAME)) are not the hub's.
    referenced = {m for e in container.get("env", []) for m in re.findall(r"\$\((\w+)\)", e.get("value", ""))}
    helpers = {n for n in explicit & referenced
               if all("value" not in e for e in container["env"] if e["name"] == n)}
    for job in _k8s("Job"):
        explicit |= {e["name"] for c in job["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
    return names | (explicit - helpers)


def _compose_env_names() -> set[str]:
    return {k for _, service in _hub_services(_compose()) for k in service.get("environment", {})}


def _dockerfile_env_names() -> set[str]:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    names = set()
    for line in text.splitlines():
        if line.startswith("ENV "):
            names |= set(re.findall(r"([A-Z][A-Z0-9_]*)=", line))
    return {n for n in names if not n.startswith(("PYTHON", "PIP_"))}


@pytest.mark.parametrize("source", ["k8s", "compose", "Dockerfile"])
def test_every_env_name_is_one_the_hub_reads(source: str) -> None:
    names = {"k8s": _k8s_env_names, "compose": _compose_env_names, "Dockerfile": _dockerfile_env_names}[source]()
    assert names, source
    unknown = names - hub_variables()
    assert not unknown, f"{source} sets variables the hub does not read: {sorted(unknown)}"


def test_compose_wires_the_hubs_proxy_and_collector() -> None:
    compose = _compose()
    services = compose["services"]
    hubs = dict(_hub_services(compose))
    replicas = {n: s for n, s in hubs.items() if n not in ("migrate", "audit-key")}  # one-shot jobs
    assert len(replicas) == 2
    # the replicas sign audit checkpoints with the key the one-shot job made into its volume
    for service in replicas.values():
        key = service["environment"]["HUB_AUDIT_SIGNING_KEY"]
        assert any(m.endswith(":ro") and key.startswith(m.split(":")[1]) for m in service["volumes"])
        assert services["audit-key"]["environment"]["HUB_AUDIT_SIGNING_KEY"] == key
    collector = _docs(DEPLOY / "otel-collector.yaml")[0]
    http_port = urlsplit("http://" + collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]).port
    for name, service in replicas.items():
        env = service["environment"]
        assert env["HUB_PORT"] == str(PORT) and env["DATABASE_URL"].startswith("postgresql://")
        endpoint = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert endpoint.hostname in services and endpoint.port == http_port
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
    # The collector sends traces to the Jaeger service; the proxy balances over both replicas.
    pipeline = collector["service"]["pipelines"]["traces"]
    exporter = collector["exporters"][pipeline["exporters"][0]]
    assert urlsplit("grpc://" + exporter["endpoint"]).hostname in services
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert set(re.findall(r"server (\S+):(\d+)", nginx)) == {(n, str(PORT)) for n in replicas}
    assert "location = /metrics" in nginx
    prometheus = _docs(DEPLOY / "prometheus.yml")[0]
    targets = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
    assert sorted(targets) == sorted(f"{n}:{PORT}" for n in replicas)


def test_the_dockerfile_runs_the_hub_unprivileged() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert re.findall(r"^EXPOSE (\d+)", text, re.M) == [str(PORT)]
    cmd = re.search(r"^CMD (\[.*\])", text, re.M).group(1)
    assert '"serve"' in cmd and '"0.0.0.0"' in cmd and f'"{PORT}"' in cmd
    for folder in ("hub", "resolvers", "sql", "graphql"):  # .sql/.graphql are read beside the package
        assert re.search(rf"^COPY {folder} ", text, re.M), folder
