"""The `csloop` command (typer)."""

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli import demo
from cli.client import CSLoopError
from cli.importer import import_customers
from cli.topology import database_url, internal_secret, url_of
from cli.up import Suite, private_data_dir, run_until_signalled

app = typer.Typer(help="CSLoop: customer satisfaction for a car manufacturer's network.", no_args_is_help=True)
admin = typer.Typer(help="Administration that needs direct access to the data directory.", no_args_is_help=True)
importer = typer.Typer(help="Bulk imports through the API.", no_args_is_help=True)
app.add_typer(admin, name="admin")
kpi = typer.Typer(help="KPI figures.", no_args_is_help=True)
app.add_typer(importer, name="import")
app.add_typer(kpi, name="kpi")
console = Console(stderr=True)

DataDir = Annotated[Path, typer.Option("--data-dir", help="Where the SQLite files, logs and secrets live.")]


@app.command()
def up(
    data_dir: DataDir = Path("data"),
    port_base: Annotated[int, typer.Option("--port-base", help="Gateway port; services take the next four.")] = 8000,
    no_demo: Annotated[bool, typer.Option("--no-demo", help="Do not seed the demo network.")] = False,
    allow_private_webhooks: Annotated[bool, typer.Option(
        "--allow-private-webhooks",
        help="Let webhooks target loopback and private addresses (a receiver on this machine); "
             "CSLOOP_WEBHOOKS_ALLOWED_TARGETS=host:port allows one receiver instead.")] = False,
    allow_superuser: Annotated[bool, typer.Option(
        "--allow-superuser",
        help="Start even when CSLOOP_DATABASE_URL names a PostgreSQL superuser (row-level security off).")] = False,
) -> None:
    """Run the whole suite on this machine until Ctrl-C."""
    suite = Suite(data_dir=data_dir, port_base=port_base, allow_private_webhooks=allow_private_webhooks,
                  allow_superuser=allow_superuser)
    gateway_url = url_of(suite.components[0], port_base)
    credentials = None if no_demo else _demo_credentials(suite)
    suite.start()
    try:
        suite.wait_ready()
        if credentials and not credentials.get("seeded"):
            counts = demo.seed(gateway_url, credentials["api_key"])
            credentials["dashboard_user"] = demo.create_demo_user(gateway_url, credentials["api_key"])
            credentials["seeded"] = True
            demo.save_credentials(data_dir, credentials)
            console.print(f"seeded the demo network: {counts}")
    except BaseException:
        suite.stop()
        raise
    _print_urls(suite, credentials)
    raise typer.Exit(run_until_signalled(suite))


def _demo_credentials(suite: Suite) -> dict:
    private_data_dir(suite.data_dir)
    if saved := demo.saved_credentials(suite.data_dir):
        return saved
    from gateway.identity.bootstrap import bootstrap

    code, name = demo.MANUFACTURER
    credentials = asyncio.run(bootstrap(suite.database_url(suite.components[0]), code, name))
    demo.save_credentials(suite.data_dir, credentials)
    return credentials


def _print_urls(suite: Suite, credentials: dict | None) -> None:
    table = Table(title="CSLoop is running (Ctrl-C stops it)")
    table.add_column("process")
    table.add_column("url")
    for component in suite.components:
        table.add_row(component.name, url_of(component, suite.port_base))
    console.print(table)
    console.print(f"API docs: {url_of(suite.components[0], suite.port_base)}/docs")
    if credentials:
        console.print(f"demo manufacturer {credentials['org_code']}, API key: [bold]{credentials['api_key']}[/bold]")
        if user := credentials.get("dashboard_user"):
            console.print(f"dashboard: {url_of(suite.components[0], suite.port_base)}/ui  user [bold]{user['username']}[/bold]"
                          f"  password [bold]{user['password']}[/bold]")
    sys.stderr.flush()


@admin.command("bootstrap")
def admin_bootstrap(
    code: Annotated[str, typer.Option("--code", help="The manufacturer's org code, e.g. FTMS.")],
    name: Annotated[str, typer.Option("--name", help="The manufacturer's name.")],
    data_dir: DataDir = Path("data"),
    gateway_database_url: Annotated[str | None, typer.Option(
        "--database-url", help="The gateway's own database, as its process is given it (containers); "
                               "default: derived from --data-dir and CSLOOP_DATABASE_URL like `csloop up`.")] = None,
) -> None:
    """Create the manufacturer organisation and its first admin key; prints one JSON line."""
    from gateway.identity.bootstrap import BootstrapRefused, bootstrap
    from cli.topology import COMPONENTS

    if gateway_database_url is None:
        private_data_dir(data_dir)
        gateway_database_url = database_url(COMPONENTS[0], data_dir)
    try:
        result = asyncio.run(bootstrap(gateway_database_url, code, name))
    except BootstrapRefused as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(result))


@importer.command("customers")
def import_customers_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row, or .jsonl")],
    dealer: Annotated[str, typer.Option("--dealer", help="The dealer code the customers belong to.")],
    url: Annotated[str, typer.Option("--url", help="The gateway URL.")] = "http://127.0.0.1:8000",
    key: Annotated[str, typer.Option("--key", envvar="CSLOOP_API_KEY", help="An API key with customers:write.")] = "",
) -> None:
    """Stream customers into CSLoop; prints the counts and every row error."""
    try:
        result = import_customers(file, dealer, url, key)
    except CSLoopError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"created {result['created']}, updated {result['updated']}, failed {result['failed']}")
    if result["errors"]:
        errors = Table("row", "field", "message")
        for error in result["errors"]:
            errors.add_row(str(error["row"]), error["field"], error["message"])
        console.print(errors)
    typer.echo(json.dumps({k: result[k] for k in ("created", "updated", "failed")}))
    if result["failed"]:
        raise typer.Exit(2)


@kpi.command("rebuild")
def kpi_rebuild(
    data_dir: DataDir = Path("data"),
    url: Annotated[str, typer.Option("--url", help="The KPI service.")] = "http://127.0.0.1:8004",
) -> None:
    """Recompute KPI facts and rollups from the customer, survey and complaint services."""
    import httpx

    from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal

    token = mint_internal_token(system_principal(), internal_secret(data_dir), ttl_seconds=3600)
    answer = httpx.post(f"{url}/internal/kpi/rebuild", headers={INTERNAL_HEADER: token}, timeout=3600)
    if answer.status_code != 200:
        console.print(f"[red]rebuild failed: {answer.status_code} {answer.text}")
        raise typer.Exit(1)
    console.print(f"rebuilt from: {answer.json()['rebuilt']}")
