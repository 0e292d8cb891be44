"""deploy/k8s/: valid Kubernetes objects (kubernetes-validate, strict) that run what compose runs,
in replicas that survive a drain: disruption budgets, readiness that fails while a pod drains,
autoscalers on CPU, and the Redis the gateways share their rate limits in."""

import json
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from cli.topology import built_components
from shared.serve import GRACEFUL_SHUTDOWN_SECONDS
from shared.settings import CommonSettings
from tests.deploy import files

# The oldest Kubernetes release still common in managed clusters, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.28.0", kubernetes_validate.latest_version())


def _objects(kind: str) -> dict[str, dict]:
    return {document["metadata"]["name"]: document for _, document in files.k8s_documents() if document["kind"] == kind}


def _processes(kind: str) -> dict[str, dict]:
    """The objects of `kind` that belong to a CSLoop process (not to Redis)."""
    names = {c.name for c in built_components()}
    return {name: document for name, document in _objects(kind).items() if name in names}


def _config() -> dict[str, str]:
    return _objects("ConfigMap")["csloop-config"]["data"]


def _selects(selector: dict, labels: dict) -> bool:
    return selector.keys() == {"matchLabels"} and selector["matchLabels"].items() <= labels.items()


def _container(deployment: dict) -> dict:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container


class TestManifestsValidate:
    @pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
    def test_every_manifest_validates_strictly(self, version: str) -> None:
        documents = files.k8s_documents()
        assert len(documents) >= 3 + 3 * len(built_components())
        for path, document in documents:
            try:
                kubernetes_validate.validate(document, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{path.name} {document['kind']}/{document['metadata']['name']}: {exc}")

    def test_the_validator_rejects_a_misspelt_probe_field(self) -> None:
        deployment = yaml.safe_load(yaml.safe_dump(_objects("Deployment")["gateway"]))
        _container(deployment)["readinessProbe"]["httpGet"]["pth"] = "/readyz"
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


class TestManifestsRunTheSuite:
    def test_each_process_has_a_deployment_service_and_autoscaler_on_cpu(self) -> None:
        names = {c.name for c in built_components()}
        assert set(_objects("Deployment")) == names | {"redis"}
        assert set(_objects("Service")) == names | {"redis"}
        autoscalers = _objects("HorizontalPodAutoscaler")
        assert set(autoscalers) == names
        for name, autoscaler in autoscalers.items():
            assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
            assert 2 <= autoscaler["spec"]["minReplicas"] < autoscaler["spec"]["maxReplicas"]
            assert [metric["resource"]["name"] for metric in autoscaler["spec"]["metrics"]
                    if metric["type"] == "Resource"] == ["cpu"], name

    def test_deployments_run_the_compose_commands_with_probes_and_resources(self) -> None:
        compose = files.csloop_services(files.compose())
        for name, deployment in _processes("Deployment").items():
            container = _container(deployment)
            assert container["command"] == compose[name]["command"]
            assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
            assert {"cpu", "memory"} <= set(container["resources"]["requests"])  # the autoscaler needs CPU requests
            assert "memory" in container["resources"]["limits"]
            assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
            env = {item["name"]: item for item in container["env"]}
            assert env["CSLOOP_PUBLIC_URL"]["value"] == f"http://{name}:8000"
            assert env["CSLOOP_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "csloop-secrets", "key": f"{name}-database-url"}
            assert env["CSLOOP_INTERNAL_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "internal-secret"

    def test_services_answer_where_the_configmap_says(self) -> None:
        config = _config()
        for name, service in _processes("Service").items():
            assert service["spec"]["ports"][0]["port"] == 8000
            if name != "gateway":
                assert config[f"CSLOOP_{name.upper()}_URL"] == f"http://{name}:8000"

    def test_configmap_tells_the_processes_what_compose_tells_them(self) -> None:
        config = _config()
        compose_env = files.compose()["services"]["gateway"]["environment"]
        assert json.loads(config["CSLOOP_EVENT_SUBSCRIPTIONS"]) == files.subscriptions(compose_env)
        for key in ("CSLOOP_ENVIRONMENT", "CSLOOP_GATEWAY_URL", "CSLOOP_CUSTOMER_URL", "CSLOOP_SURVEY_URL",
                    "CSLOOP_COMPLAINT_URL", "CSLOOP_KPI_URL", "CSLOOP_REDIS_URL"):
            assert config[key] == compose_env[key], key

    def test_events_travel_on_nats_so_replicas_share_a_durable_consumer(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for key, value in _config().items():
            monkeypatch.setenv(key, value)
        settings = CommonSettings(internal_secret="not-the-development-secret")
        assert settings.event_transport == "nats"
        assert urlsplit(settings.nats_url).scheme == "nats"
        assert settings.nats_stream_replicas == 3  # one copy per server of the three-server cluster

    def test_the_secret_holds_placeholders_only(self) -> None:
        secret = _objects("Secret")["csloop-secrets"]
        values = secret["stringData"]
        assert set(values) == {"internal-secret", "webhooks-secret-keys", "integrity-secret"} | {f"{c.name}-database-url" for c in built_components()}
        assert all("REPLACE-ME" in value for value in values.values())


class TestManifestsSurviveDisruption:
    def test_each_process_runs_replicas_and_a_budget_keeps_one_serving(self) -> None:
        budgets = _objects("PodDisruptionBudget")
        assert set(budgets) == {c.name for c in built_components()}  # not Redis: one replica, a budget would block drains
        for name, deployment in _processes("Deployment").items():
            replicas = deployment["spec"]["replicas"]
            assert replicas >= 2, name
            assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name
            budget = budgets[name]
            assert budget["metadata"]["namespace"] == deployment["metadata"]["namespace"]
            assert _selects(budget["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"]), name
            assert 1 <= budget["spec"]["minAvailable"] < replicas, name  # < replicas: a drain can evict one
            spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
            assert "kubernetes.io/hostname" in {constraint["topologyKey"] for constraint in spread}, name

    def test_a_stopping_pod_drains_within_its_grace_period(self) -> None:
        drain_seconds = float(_config()["CSLOOP_DRAIN_SECONDS"])
        assert drain_seconds > 0
        for name, deployment in _processes("Deployment").items():
            pod = deployment["spec"]["template"]["spec"]
            container = _container(deployment)
            readiness = container["readinessProbe"]
            # The probe sees the draining 503 before the process stops listening...
            assert readiness["periodSeconds"] * readiness["failureThreshold"] <= drain_seconds, name
            # ...and Kubernetes waits for the drain, uvicorn's graceful shutdown and the app's own.
            assert pod["terminationGracePeriodSeconds"] >= drain_seconds + GRACEFUL_SHUTDOWN_SECONDS + 5, name
            assert "preStop" not in container.get("lifecycle", {}), name  # the process drains itself
            assert {"configMapRef": {"name": "csloop-config"}} in container["envFrom"], name


class TestRedisHoldsTheGatewaysRateLimits:
    def test_the_gateways_redis_url_names_the_redis_service(self) -> None:
        url = urlsplit(_config()["CSLOOP_REDIS_URL"])
        service = _objects("Service")["redis"]
        assert url.scheme == "redis"
        assert (url.hostname, url.port) == ("redis", service["spec"]["ports"][0]["port"])
        assert _selects({"matchLabels": service["spec"]["selector"]},
                        _objects("Deployment")["redis"]["spec"]["template"]["metadata"]["labels"])
        assert {"configMapRef": {"name": "csloop-config"}} in _container(_objects("Deployment")["gateway"])["envFrom"]

    def test_redis_keeps_nothing_on_disk_and_admits_only_the_gateway(self) -> None:
        deployment = _objects("Deployment")["redis"]
        command = _container(deployment)["command"]
        assert command[0] == "redis-server"
        assert files.option(command, "--save") == "" and files.option(command, "--appendonly") == "no"
        assert "volumeClaimTemplates" not in deployment["spec"]
        assert all("persistentVolumeClaim" not in volume for volume in deployment["spec"]["template"]["spec"]["volumes"])
        [policy] = _objects("NetworkPolicy").values()
        assert _selects(policy["spec"]["podSelector"], deployment["spec"]["template"]["metadata"]["labels"])
        [rule] = policy["spec"]["ingress"]
        gateway_labels = _objects("Deployment")["gateway"]["spec"]["template"]["metadata"]["labels"]
        assert [_selects(peer["podSelector"], gateway_labels) for peer in rule["from"]] == [True]
