"""docker-compose.yml: valid per the compose-spec schema, and saying what the suite needs."""

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from cli.topology import built_components, subscriptions
from tests.deploy import files

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def _check_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True, timeout=120)


class TestComposeSchema:
    def test_compose_file_validates_against_the_compose_spec(self) -> None:
        result = _check_compose_schema(files.COMPOSE_FILE)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_the_schema_check_rejects_a_misspelt_key(self, tmp_path: Path) -> None:
        spec = files.compose()
        spec["services"]["gateway"]["helthcheck"] = spec["services"]["gateway"].pop("healthcheck")
        broken = tmp_path / "docker-compose.yml"
        broken.write_text(yaml.safe_dump(spec))
        assert _check_compose_schema(broken).returncode != 0


class TestComposeServices:
    def test_every_built_process_has_a_compose_service_running_its_module(self) -> None:
        services = files.csloop_services(files.compose())
        assert sorted(services) == sorted(c.name for c in built_components())
        for component in built_components():
            assert services[component.name]["command"][:3] == ["python", "-m", component.module]

    def test_each_process_listens_where_the_others_are_told_it_is(self) -> None:
        services = files.csloop_services(files.compose())
        for name, service in services.items():
            argv = service["command"]
            assert files.option(argv, "--host") == "0.0.0.0"  # reachable from other containers
            assert "--migrate" in argv
            environment = service["environment"]
            assert environment["CSLOOP_PUBLIC_URL"] == f"http://{name}:{files.option(argv, '--port')}"
            if name != "gateway":
                assert environment[f"CSLOOP_{name.upper()}_URL"] == environment["CSLOOP_PUBLIC_URL"]

    def test_event_subscriptions_match_the_topology(self) -> None:
        components = built_components()
        expected = subscriptions(components, 0)
        names_by_url = {f"http://127.0.0.1:{c.offset}": c.name for c in components}
        for name, service in files.csloop_services(files.compose()).items():
            table = files.subscriptions(service["environment"])
            assert {prefix: sorted(url.removeprefix("http://").split(":")[0] for url in urls)
                    for prefix, urls in table.items()} == \
                   {prefix: sorted(names_by_url[url] for url in urls) for prefix, urls in expected.items()}, name

    def test_each_service_has_its_own_postgresql_database(self) -> None:
        spec = files.compose()
        databases = {name: service["environment"]["CSLOOP_DATABASE_URL"].rsplit("/", 1)[1]
                     for name, service in files.csloop_services(spec).items()}
        assert databases == {name: f"csloop_{name}" for name in databases}
        init = (files.ROOT / "deploy" / "postgres" / "init-databases.sh").read_text()
        for database in databases.values():
            assert f"CREATE DATABASE {database} OWNER csloop_app;" in init
        assert spec["services"]["postgres"]["image"].startswith("postgres:15")

    def test_services_log_in_as_a_plain_role_that_row_level_security_binds(self) -> None:
        spec = files.compose()
        init = (files.ROOT / "deploy" / "postgres" / "init-databases.sh").read_text()
        assert "CREATE ROLE csloop_app LOGIN NOSUPERUSER NOBYPASSRLS" in init
        assert spec["services"]["postgres"]["environment"]["POSTGRES_USER"] != "csloop_app"
        for name, service in files.csloop_services(spec).items():
            assert service["environment"]["CSLOOP_DATABASE_URL"].startswith("postgresql+asyncpg://csloop_app:"), name

    def test_processes_wait_for_healthy_dependencies_and_report_their_own_health(self) -> None:
        spec = files.compose()
        services = files.csloop_services(spec)
        for name, service in services.items():
            assert "/readyz" in " ".join(service["healthcheck"]["test"])
            assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert {dependency for dependency, how in services["gateway"]["depends_on"].items()
                if how == {"condition": "service_healthy"}} == set(spec["services"]) - {"gateway", "nats"}
        assert spec["services"]["gateway"]["ports"] == ["8000:8000"]

    def test_nats_runs_jetstream_and_no_process_uses_it_yet(self) -> None:
        spec = files.compose()
        assert "-js" in spec["services"]["nats"]["command"]
        assert "healthcheck" in spec["services"]["nats"]
        for service in files.csloop_services(spec).values():
            assert "CSLOOP_EVENT_TRANSPORT" not in service["environment"]

    def test_redis_holds_the_gateways_rate_limits_and_nothing_on_disk(self) -> None:
        spec = files.compose()
        redis = spec["services"]["redis"]
        gateway = spec["services"]["gateway"]
        url = urlsplit(gateway["environment"]["CSLOOP_REDIS_URL"])
        assert (url.scheme, url.hostname, url.port) == ("redis", "redis", 6379)
        assert gateway["depends_on"]["redis"] == {"condition": "service_healthy"}
        assert redis["command"][0] == "redis-server"
        assert files.option(redis["command"], "--save") == "" and files.option(redis["command"], "--appendonly") == "no"
        assert "volumes" not in redis and "ports" not in redis  # nothing kept, nothing published
        assert "redis-cli" in redis["healthcheck"]["test"]
        k8s_redis = next(document for _, document in files.k8s_documents()
                         if document["kind"] == "Deployment" and document["metadata"]["name"] == "redis")
        assert redis["image"] == k8s_redis["spec"]["template"]["spec"]["containers"][0]["image"]

    def test_secrets_come_from_the_env_file_and_none_is_committed(self) -> None:
        spec = files.compose()
        example = files.env_file()
        for name, service in files.csloop_services(spec).items():
            environment = service["environment"]
            assert environment["CSLOOP_INTERNAL_SECRET"].startswith("${CSLOOP_INTERNAL_SECRET:?")
            assert "${CSLOOP_APP_DB_PASSWORD}" in environment["CSLOOP_DATABASE_URL"]
            assert environment["CSLOOP_ENVIRONMENT"] == "production"  # refuses the development secret
        assert all(value.startswith(("replace-me", "http")) for value in example.values())
        with pytest.raises(KeyError, match="CSLOOP_INTERNAL_SECRET"):
            files.interpolate(spec["services"]["gateway"]["environment"]["CSLOOP_INTERNAL_SECRET"], {})
        assert ".env" in (files.ROOT / ".gitignore").read_text().splitlines()
