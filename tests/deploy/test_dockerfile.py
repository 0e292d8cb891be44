"""The Dockerfile builds what compose runs: the pinned project without test extras, run as a
non-root user, with the same command, port and health check."""

import shutil
import subprocess
from pathlib import PurePosixPath

import pytest

from gateway.web import vendor
from tests.deploy import files


def _final_stage() -> list[tuple[str, str]]:
    return files.dockerfile_stages()[-1]


def _arguments(stage: list[tuple[str, str]], instruction: str) -> list[str]:
    return [arguments for name, arguments in stage if name == instruction]


class TestDockerfile:
    def test_the_runtime_image_is_python_311_slim_and_runs_as_a_non_root_user(self) -> None:
        stage = _final_stage()
        assert _arguments(stage, "FROM") == ["python:3.11-slim"]
        user = _arguments(stage, "USER")[-1]
        assert user not in ("root", "0")

    def test_the_project_is_pip_installed_without_test_extras(self) -> None:
        installs = [words for stage in files.dockerfile_stages() for arguments in _arguments(stage, "RUN")
                    for command in arguments.split("&&")
                    if (words := files.shell_words(command))[:2] == ["/opt/venv/bin/pip", "install"]]
        project = [words for words in installs if words[-1] == "."]
        assert project == [["/opt/venv/bin/pip", "install", "."]]
        assert not any("test" in word for words in installs for word in words)
        copied = " ".join(_arguments(files.dockerfile_stages()[-2], "COPY"))
        assert "pyproject.toml" in copied

    def test_the_default_command_is_the_gateway_as_compose_runs_it(self) -> None:
        cmd = files.exec_form(_arguments(_final_stage(), "CMD")[-1])
        assert cmd == files.compose()["services"]["gateway"]["command"]

    def test_every_compose_process_runs_a_module_the_image_installs_on_the_port_it_exposes_and_checks(self) -> None:
        stage = _final_stage()
        exposed = _arguments(stage, "EXPOSE")
        healthcheck = _arguments(stage, "HEALTHCHECK")[-1]
        check = files.exec_form(healthcheck[healthcheck.index("CMD") + 3:].strip())
        compose = files.compose()
        for name, service in files.csloop_services(compose).items():
            port = files.option(service["command"], "--port")
            assert exposed == [port]
            assert service["image"] == compose["services"]["gateway"]["image"]
            assert service["build"]["dockerfile"] == files.DOCKERFILE.name
            assert service["healthcheck"]["test"] == ["CMD", *check], name
        assert f"http://127.0.0.1:{exposed[0]}/readyz" in " ".join(check)

    def test_browser_libraries_land_where_the_installed_gateway_serves_them_from(self) -> None:
        copies = [files.shell_words(arguments) for arguments in _arguments(_final_stage(), "COPY")
                  if "node_modules" in arguments]
        site_packages = PurePosixPath("/opt/venv/lib/python3.11/site-packages")
        served = PurePosixPath(vendor.UI_MODULES.relative_to(vendor.UI_MODULES.parent.parent).as_posix())
        packages = set()
        for copy in copies:
            source, destination = copy[-2:]
            package = PurePosixPath(source).relative_to("/ui/node_modules")
            assert PurePosixPath(destination) == site_packages / served / package
            packages.add(package.parts[0])
        assert packages == {"echarts", "swagger-ui-dist", "redoc"}
        assert (files.ROOT / "ui" / "package-lock.json").exists()

    def test_dockerignore_lets_in_only_what_the_build_copies(self) -> None:
        allowed = [line[1:].rstrip("/") for line in files.DOCKERIGNORE.read_text().splitlines() if line.startswith("!")]
        assert sorted(allowed) == sorted(["pyproject.toml", "shared", "gateway", "cli", "services", "clients/python",
                                          "ui/package.json", "ui/package-lock.json", "ui/.npmrc"])
        copied = {word.rstrip("/").removeprefix("./") for stage in files.dockerfile_stages()
                  for arguments in _arguments(stage, "COPY") if not arguments.startswith("--from")
                  for word in files.shell_words(arguments)[:-1]}
        assert copied <= set(allowed) | {"package.json", "package-lock.json"}

    def test_hadolint_finds_nothing(self) -> None:
        hadolint = shutil.which("hadolint")
        if hadolint is None:
            pytest.skip("hadolint is not installed")
        result = subprocess.run([hadolint, str(files.DOCKERFILE)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout
