"""Scope is a wall, not a habit: no statement is built and no session is used outside the
database's own homes.

Repository modules (`repository.py`, `repository_*.py`, a `repository/` package) hold every
SQL statement, each filtered by the principal's org path unless it is a named method that
says why (shared/scope.py). Migrations define the schema; a handful of `shared/` modules are
the database plumbing (engine and sessions, outbox, consumer, idempotency, row-level
security, paging). Everywhere else, a statement built with `select(`, `update(`, `delete(`,
`insert(` or `text(`, or a session's `.execute`, `.get`, `.add`, `.scalar*` (and the other
calls that read or write through it), is a query that may forget the scope: this test fails
on it. A session is a name or attribute called `session` (or `_session`), or a name
annotated `AsyncSession`/`AsyncConnection`, so `dict.get` is not one; reaching for another
object's `.session` (`repo.session`) is refused too, as it is how a use case would get one.
The walk is the same whatever the database: it holds on SQLite, where nothing else does,
and on PostgreSQL, where row-level security stands behind it.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The source that runs in production: every Python file outside these folders.
SKIPPED_DIRS = {"tests", "bench", "ui", "node_modules", ".venv", "__pycache__", ".git"}

STATEMENTS = {"select", "update", "delete", "insert", "text"}
SESSION_CALLS = {"execute", "get", "add", "add_all", "scalar", "scalars", "stream", "stream_scalars", "flush",
                 "delete", "merge", "refresh", "connection", "run_sync"}
SESSION_NAMES = {"session", "_session"}
SESSION_TYPES = {"AsyncSession", "AsyncConnection", "Session", "Connection"}

# The database plumbing in shared/: it is given a session by its caller, or owns one.
PLUMBING = {
    "shared/db.py", "shared/outbox.py", "shared/consumer.py", "shared/idempotency.py", "shared/rls.py",
    "shared/migrations.py", "shared/scope.py",
    "shared/retention.py",  # prunes the outbox and processed-event bookkeeping, no business rows
    "shared/pagination.py",  # keyset_page runs the repository's scoped statement, page by page
}
# Models may write a partial index's condition as SQL text; that is schema, not a query.
SCHEMA_TEXT = "models.py"


def is_repository(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] == "repository.py" or parts[-1].startswith("repository_") or "repository" in parts[:-1]


def is_database_home(path: str) -> bool:
    return is_repository(path) or "migrations" in path.split("/") or path in PLUMBING


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _sqlalchemy_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(statement constructors imported from sqlalchemy, names bound to sqlalchemy modules)."""
    constructors: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            for alias in node.names:
                if alias.name in STATEMENTS:
                    constructors.add(alias.asname or alias.name)
                elif alias.name in ("postgresql", "sqlite", "mysql", "sql", "dialects"):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    modules.add(alias.asname or alias.name.split(".")[0])
    return constructors, modules


def _annotated_sessions(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            annotation, name = node.annotation, node.arg
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            annotation, name = node.annotation, node.target.id
        else:
            continue
        words = {getattr(part, "id", getattr(part, "attr", None)) for part in ast.walk(annotation)}
        words |= {word for part in ast.walk(annotation) if isinstance(part, ast.Constant) and isinstance(part.value, str)
                  for word in part.value.replace("[", " ").replace("]", " ").replace("|", " ").split()}
        if words & SESSION_TYPES:
            names.add(name)
    return names


def _is_session(node: ast.expr, annotated: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in SESSION_NAMES or node.id in annotated
    return isinstance(node, ast.Attribute) and node.attr in SESSION_NAMES


def violations(source: str, path: str) -> list[Violation]:
    """What `source` (the file at `path`, relative to the project root) does with the database
    that only a database home may do."""
    if is_database_home(path):
        return []
    tree = ast.parse(source, path)
    constructors, modules = _sqlalchemy_names(tree)
    annotated = _annotated_sessions(tree)
    found: list[Violation] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and (func.id in constructors or func.id in STATEMENTS):
                if not (func.id == "text" and path.endswith(SCHEMA_TEXT)):
                    found.append(Violation(path, node.lineno, f"builds a statement: {func.id}("))
            elif isinstance(func, ast.Attribute):
                if func.attr in STATEMENTS and isinstance(func.value, ast.Name) and func.value.id in modules:
                    found.append(Violation(path, node.lineno, f"builds a statement: {func.value.id}.{func.attr}("))
                elif func.attr in SESSION_CALLS and _is_session(func.value, annotated):
                    found.append(Violation(path, node.lineno, f"uses a session: .{func.attr}("))
        elif (isinstance(node, ast.Attribute) and node.attr in SESSION_NAMES
              and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
            found.append(Violation(path, node.lineno, f"reaches for another object's session: .{node.attr}"))
    return sorted(set(found), key=lambda v: v.line)


def unexplained_crossings(source: str, path: str) -> list[Violation]:
    """In a repository module, the statements not built by the base's scoped `select`,
    `update`, `delete` (so they may cross the tree) whose method does not say why: a method
    docstring, or the docstring of a class that acts for the system as a whole (not a
    ScopedRepository: the token door, the dispatcher's queue, the KPI fact store)."""
    tree = ast.parse(source, path)
    constructors, modules = _sqlalchemy_names(tree)
    found: list[Violation] = []

    def builds(node: ast.AST) -> ast.Call | None:
        for call in ast.walk(node):
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            if isinstance(func, ast.Name) and func.id in constructors:
                return call
            if (isinstance(func, ast.Attribute) and func.attr in STATEMENTS and isinstance(func.value, ast.Name)
                    and func.value.id in modules | {"dialect"}):
                return call
            if isinstance(func, ast.Attribute) and func.attr == "get" and _is_session(func.value, set()):
                return call  # by primary key, past any filter
        return None

    def visit(body: list[ast.stmt], owner: ast.ClassDef | None) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (call := builds(node)):
                scoped = owner is not None and any(getattr(base, "id", None) == "ScopedRepository" for base in owner.bases)
                explained = ast.get_docstring(node) or (owner is not None and not scoped and ast.get_docstring(owner))
                if not explained:
                    found.append(Violation(path, call.lineno, f"{node.name}() builds an unscoped statement without saying why"))

    visit(tree.body, None)
    return found


def source_files() -> list[Path]:
    return sorted(path for path in ROOT.rglob("*.py")
                  if not SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts[:-1]))


def test_no_statement_or_session_outside_repositories_migrations_and_plumbing() -> None:
    found = [str(v) for path in source_files()
             for v in violations(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())]
    assert found == [], "SQL outside the database homes (see shared/scope.py):\n" + "\n".join(found)


def test_a_repository_statement_that_may_cross_the_tree_says_why() -> None:
    found = [str(v) for path in source_files() if is_repository(path.relative_to(ROOT).as_posix())
             for v in unexplained_crossings(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())]
    assert found == [], "Use the base's scoped statements, or say why the method crosses the tree:\n" + "\n".join(found)


def test_the_walk_sees_the_services_and_the_gateway() -> None:
    paths = {path.relative_to(ROOT).as_posix() for path in source_files()}
    assert {"services/customer/customers.py", "services/survey/consumers.py", "services/kpi/consumers.py",
            "services/complaint/jobs.py", "gateway/app.py"} <= paths


# --- the checker itself, on planted code -------------------------------------------------------

USE_CASE = "services/customer/customers.py"


def _whats(source: str, path: str = USE_CASE) -> list[str]:
    return [v.what for v in violations(source, path)]


@pytest.mark.parametrize("source, what", [
    ("from sqlalchemy import select\nasync def f(repo):\n    return select(Customer)\n", "builds a statement: select("),
    ("from sqlalchemy import update as u\nu(Customer)\n", "builds a statement: u("),
    ("import sqlalchemy as sa\nsa.delete(Customer)\n", "builds a statement: sa.delete("),
    ("from sqlalchemy.dialects import postgresql\npostgresql.insert(Customer)\n", "builds a statement: postgresql.insert("),
    ("from sqlalchemy import text\ntext('SELECT 1')\n", "builds a statement: text("),
    ("async def f(session, event):\n    await session.get(Consent, 1)\n", "uses a session: .get("),
    ("async def f(session):\n    session.add(row)\n", "uses a session: .add("),
    ("async def f(db: AsyncSession):\n    await db.execute(q)\n", "uses a session: .execute("),
    ("async def f(db: 'AsyncSession'):\n    await db.scalars(q)\n", "uses a session: .scalars("),
    ("class W:\n    async def f(self):\n        await self.session.scalar(q)\n", "uses a session: .scalar("),
    ("async def f(repo):\n    await repo.session.flush()\n", "uses a session: .flush("),
    ("async def f(repo):\n    await events.created(repo.session, row)\n", "reaches for another object's session: .session"),
])
def test_a_planted_violation_is_found(source: str, what: str) -> None:
    assert what in _whats(source)


@pytest.mark.parametrize("source", [
    "def f(headers: dict):\n    headers.update({'a': 1})\n    return headers.get('a')\n",
    "def f(items: list):\n    items.insert(0, 1)\n    items.delete = None\n",
    "async def f(repo):\n    await repo.publish(event)\n    return await repo.get_visible(Customer, 1)\n",
    "async def f(sessions):\n    async with sessions() as session, session.begin():\n        await run(Repo(session))\n",
    "async def f(session):\n    await session.commit()\n",
])
def test_ordinary_code_passes(source: str) -> None:
    assert _whats(source) == []


@pytest.mark.parametrize("path", [
    "services/customer/repository.py", "services/customer/repository_bulk.py", "gateway/integrations/webhooks/repository.py",
    "services/kpi/repository/facts.py", "services/survey/migrations/versions/0001_survey_initial.py",
    "shared/outbox.py", "shared/db.py",
])
def test_database_homes_may_build_statements(path: str) -> None:
    assert _whats("from sqlalchemy import select\nasync def f(session):\n    await session.execute(select(X))\n",
                  path) == []


def test_a_model_may_write_an_index_condition_as_text_but_not_a_query() -> None:
    source = "from sqlalchemy import select, text\nIndex('i', postgresql_where=text('a IS NOT NULL'))\nselect(X)\n"
    assert _whats(source, "services/customer/models.py") == ["builds a statement: select("]


def test_a_file_named_like_plumbing_elsewhere_is_not_plumbing() -> None:
    assert _whats("from sqlalchemy import text\ntext('SELECT 1')\n", "services/customer/db.py") != []


REPO = "services/customer/repository.py"


def test_an_unexplained_crossing_in_a_scoped_repository_is_found() -> None:
    source = ("from sqlalchemy import select\nclass R(ScopedRepository):\n"
              "    \"\"\"Every query of R.\"\"\"\n"
              "    async def f(self):\n        return await self.session.scalar(select(X))\n"
              "    async def g(self):\n        return await self.session.get(X, 1)\n")
    assert [v.what for v in unexplained_crossings(source, REPO)] == [
        "f() builds an unscoped statement without saying why", "g() builds an unscoped statement without saying why"]


def test_a_scoped_or_explained_statement_passes() -> None:
    source = ("from sqlalchemy import select\nclass R(ScopedRepository):\n"
              "    async def f(self):\n        return await self.session.scalar(self.select(X))\n"
              "    async def g(self):\n        \"\"\"Codes are unique across the tree.\"\"\"\n"
              "        return await self.session.scalar(select(X))\n"
              "class Queue:\n    \"\"\"The dispatcher acts for the system.\"\"\"\n"
              "    async def h(self):\n        return await self.session.scalar(select(X))\n")
    assert unexplained_crossings(source, REPO) == []
