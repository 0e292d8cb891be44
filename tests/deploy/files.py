"""Reading the deploy files as Docker Compose, Docker and Kubernetes would: compose with its
`${...}` interpolation from an env file, the Dockerfile's instructions, the k8s documents."""

import json
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
K8S_DIR = ROOT / "deploy" / "k8s"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a literal $.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's variable substitution, for the forms the compose file uses."""
    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        current = variables.get(name)
        missing = current is None or (current == "" and op is not None and op.startswith(":"))
        if op and op.endswith("?") and missing:
            raise KeyError(f"{name}: {arg}")
        if op and op.endswith("-") and missing:
            return arg
        return current or ""
    return _VARIABLE.sub(substitute, value)


def csloop_services(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The compose services that run a CSLoop process (`python -m <module> ...`)."""
    return {name: service for name, service in spec["services"].items()
            if service.get("command", [None])[0] == "python"}


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def subscriptions(environment: dict[str, str]) -> dict[str, list[str]]:
    return json.loads(environment["CSLOOP_EVENT_SUBSCRIPTIONS"])


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments) with continuations joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def exec_form(arguments: str) -> list[str]:
    """CMD/HEALTHCHECK CMD arguments in exec (JSON) form, as Docker reads them."""
    return json.loads(arguments)


def shell_words(arguments: str) -> list[str]:
    return shlex.split(arguments)


def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    documents = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        documents.extend((path, document) for document in yaml.safe_load_all(path.read_text()) if document)
    return documents
