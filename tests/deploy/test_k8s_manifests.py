"""deploy/k8s/: valid Kubernetes objects (kubernetes-validate, strict) that run what compose runs."""

import json

import kubernetes_validate
import pytest
import yaml

from cli.topology import built_components
from tests.deploy import files

# The oldest Kubernetes release still common in managed clusters, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.28.0", kubernetes_validate.latest_version())


def _objects(kind: str) -> dict[str, dict]:
    return {document["metadata"]["name"]: document for _, document in files.k8s_documents() if document["kind"] == kind}


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
    def test_each_process_has_a_deployment_service_and_autoscaler(self) -> None:
        names = {c.name for c in built_components()}
        assert set(_objects("Deployment")) == names
        assert set(_objects("Service")) == names
        autoscalers = _objects("HorizontalPodAutoscaler")
        assert set(autoscalers) == names
        for name, autoscaler in autoscalers.items():
            assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
            assert 2 <= autoscaler["spec"]["minReplicas"] < autoscaler["spec"]["maxReplicas"]

    def test_deployments_run_the_compose_commands_with_probes_and_resources(self) -> None:
        compose = files.csloop_services(files.compose())
        for name, deployment in _objects("Deployment").items():
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
        config = _objects("ConfigMap")["csloop-config"]["data"]
        for name, service in _objects("Service").items():
            assert service["spec"]["ports"][0]["port"] == 8000
            if name != "gateway":
                assert config[f"CSLOOP_{name.upper()}_URL"] == f"http://{name}:8000"

    def test_configmap_tells_the_processes_what_compose_tells_them(self) -> None:
        config = _objects("ConfigMap")["csloop-config"]["data"]
        compose_env = files.compose()["services"]["gateway"]["environment"]
        assert json.loads(config["CSLOOP_EVENT_SUBSCRIPTIONS"]) == files.subscriptions(compose_env)
        for key in ("CSLOOP_ENVIRONMENT", "CSLOOP_GATEWAY_URL", "CSLOOP_CUSTOMER_URL", "CSLOOP_SURVEY_URL",
                    "CSLOOP_COMPLAINT_URL", "CSLOOP_KPI_URL"):
            assert config[key] == compose_env[key], key
        assert "CSLOOP_EVENT_TRANSPORT" not in config

    def test_the_secret_holds_placeholders_only(self) -> None:
        secret = _objects("Secret")["csloop-secrets"]
        values = secret["stringData"]
        assert set(values) == {"internal-secret", "webhooks-secret-keys", "integrity-secret"} | {f"{c.name}-database-url" for c in built_components()}
        assert all("REPLACE-ME" in value for value in values.values())
