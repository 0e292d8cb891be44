"""The `csloop` command (typer)."""

import asyncio
import json
import sys
from datetime import UTC, datetime
from importlib.metadata import version as distribution_version
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from csloop_sdk.errors import error_for
from rich.table import Table

from cli import demo, demo_evaluation
from cli.errors import EXIT_CODES_HELP, ROWS_FAILED, CommandFailed, OneLineErrors
from cli.importer import (
    CUSTOMER_COLUMNS, CUSTOMER_REQUIRED, FACT_COLUMNS, FACT_KEYS, ImportResult, import_customers, import_facts,
)
from cli.topology import COMPONENTS, SECRET_FILE, database_url, existing_internal_secret, url_of
from cli.up import Suite, private_data_dir, run_until_signalled

# Errors are one line (cli/errors.py); a traceback only with --debug, and then a plain one
# (typer's pretty traceback would print local variables, API keys among them).
app = typer.Typer(cls=OneLineErrors, help="CSLoop: customer satisfaction for a car manufacturer's network.",
                  epilog=EXIT_CODES_HELP, no_args_is_help=True, pretty_exceptions_enable=False)
admin = typer.Typer(help="Administration that needs direct access to the data directory.", no_args_is_help=True)
importer = typer.Typer(help="Bulk imports through the API.", no_args_is_help=True)
app.add_typer(admin, name="admin")
kpi = typer.Typer(help="KPI figures.", no_args_is_help=True)
app.add_typer(importer, name="import")
app.add_typer(kpi, name="kpi")
console = Console(stderr=True)

DataDir = Annotated[Path, typer.Option("--data-dir", help="Where the SQLite files, logs and secrets live.")]
PortBase = Annotated[int, typer.Option("--port-base", envvar="CSLOOP_PORT_BASE",
                                       help="Gateway port; services take the next four.")]
GatewayUrl = Annotated[str, typer.Option("--url", envvar="CSLOOP_URL", help="The gateway URL.")]
ApiKey = Annotated[str, typer.Option("--key", envvar="CSLOOP_API_KEY", help="An API key (csk_...).")]


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"csloop {distribution_version('csloop')}")
        raise typer.Exit()


@app.callback()
def main(
    _version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                           help="Print the installed version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", envvar="CSLOOP_DEBUG",
                                        help="On an error, show the traceback instead of one line.")] = False,
) -> None:
    """CSLoop: customer satisfaction for a car manufacturer's network."""
    # `debug` is read where errors are caught (cli/errors.py, from the context's parameters).


@app.command()
def up(
    data_dir: DataDir = Path("data"),
    port_base: PortBase = 8000,
    no_demo: Annotated[bool, typer.Option("--no-demo", help="Do not seed the demo network.")] = False,
    allow_private_webhooks: Annotated[bool, typer.Option(
        "--allow-private-webhooks",
        help="Let webhooks target loopback and private addresses (a receiver on this machine); "
             "CSLOOP_WEBHOOKS_ALLOWED_TARGETS=host:port allows one receiver instead.")] = False,
    allow_superuser: Annotated[bool, typer.Option(
        "--allow-superuser",
        help="Start even when CSLOOP_DATABASE_URL names a PostgreSQL superuser (row-level security off).")] = False,
    replicas: Annotated[int, typer.Option(
        "--replicas", min=1,
        help="Processes per service and gateway; above 1 needs a PostgreSQL CSLOOP_DATABASE_URL and "
             "CSLOOP_EVENT_TRANSPORT=nats. Replica r listens at the port base + 10 r + its offset.")] = 1,
) -> None:
    """Run the whole suite on this machine until Ctrl-C; refuses to start when a port it needs is taken."""
    suite = Suite(data_dir=data_dir, port_base=port_base, allow_private_webhooks=allow_private_webhooks,
                  allow_superuser=allow_superuser, replicas=replicas)
    suite.refuse_replicas_without_shared_state()
    suite.refuse_busy_ports()
    gateway_url = url_of(suite.components[0], port_base)
    credentials = None if no_demo else _demo_credentials(suite)
    suite.start()
    try:
        suite.wait_ready()
        if credentials and not credentials.get("seeded"):
            seeded_at = datetime.now(UTC)
            [customer] = [component for component in suite.components if component.name == "customer"]
            counts = demo.seed(gateway_url, credentials["api_key"], customer_database_url=suite.database_url(customer),
                               now=seeded_at)
            credentials["evaluation_period"] = demo_evaluation.previous_quarter(seeded_at)
            credentials |= demo.create_demo_users(gateway_url, credentials["api_key"])
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
    for instance in suite.instances():
        table.add_row(instance.name, suite.url(instance))
    console.print(table)
    console.print(f"API docs: {url_of(suite.components[0], suite.port_base)}/docs")
    if credentials:
        console.print(f"demo manufacturer {credentials['org_code']}, API key: [bold]{credentials['api_key']}[/bold]")
        if user := credentials.get("dashboard_user"):
            console.print(f"dashboard: {url_of(suite.components[0], suite.port_base)}/ui  user [bold]{user['username']}[/bold]"
                          f"  password [bold]{user['password']}[/bold]")
        if period := credentials.get("evaluation_period"):
            console.print(f"dealer evaluation ({period}, published): {url_of(suite.components[0], suite.port_base)}"
                          f"/v1/evaluations?scheme={demo_evaluation.SCHEME_CODE}&period={period}  (the API key above)")
        if user := credentials.get("desk_user"):
            console.print(f"desk: {url_of(suite.components[0], suite.port_base)}/ui/desk  user [bold]{user['username']}[/bold]"
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

    if gateway_database_url is None:
        private_data_dir(data_dir)
        gateway_database_url = database_url(COMPONENTS[0], data_dir)
    try:
        result = asyncio.run(bootstrap(gateway_database_url, code, name))
    except BootstrapRefused as exc:
        raise CommandFailed(str(exc)) from exc
    typer.echo(json.dumps(result))


def _delimiter(given: str | None) -> str | None:
    """`--delimiter`: one character, or its name (a tab is awkward to type)."""
    if given is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}.get(given.lower(), given)
    if len(named) != 1:
        raise typer.BadParameter(f"one character, or tab/comma/semicolon, not {given!r}", param_hint="--delimiter")
    return named


@importer.command("customers", help=(
    "Stream customers into CSLoop (upsert by dealer and external_id); prints the counts, and every row error "
    "with its Excel row number (the header is row 1) and external_id.\n\n"
    f"Columns (a header row, any order): {', '.join(CUSTOMER_COLUMNS)}. Required: {' and '.join(CUSTOMER_REQUIRED)}. "
    "birth_date is YYYY-MM-DD; consent_* take true/false, 1/0, yes/no; an empty cell never clears a stored value. "
    "A .jsonl file holds one JSON object per line with the same keys.\n\n"
    "The encoding (UTF-8 with or without BOM, GBK/GB18030, UTF-16) and the separator (comma, semicolon, tab) "
    "are detected; --encoding and --delimiter override them.\n\n"
    "Exits 3 when the import ran but some rows failed."))
def import_customers_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row, or .jsonl")],
    dealer: Annotated[str, typer.Option("--dealer", help="The dealer code the customers belong to.")],
    key: ApiKey,
    url: GatewayUrl = "http://127.0.0.1:8000",
    encoding: Annotated[str | None, typer.Option("--encoding", help="The file's encoding, e.g. gbk, utf-8.")] = None,
    delimiter: Annotated[str | None, typer.Option(
        "--delimiter", callback=_delimiter, help="The separator: ',', ';' or 'tab'.")] = None,
) -> None:
    _report(import_customers(file, dealer, url, key, encoding=encoding, delimiter=delimiter, console=console))


def _report(result: ImportResult) -> None:
    console.print(f"created {result.created}, updated {result.updated}, failed {result.failed}")
    for error in result.errors:
        console.print(error.describe(), markup=False, highlight=False)
    if result.failed > len(result.errors):
        console.print(f"({result.failed - len(result.errors)} more failed rows not listed by the server)")
    typer.echo(json.dumps(result.counts()))
    if result.failed:
        raise typer.Exit(ROWS_FAILED)


def _fact_import_command(kind: str, what: str, notes: str) -> None:
    @importer.command(kind, help=(
        f"Stream {what} into CSLoop (upsert by dealer and {FACT_KEYS[kind]}); prints the counts, and every row "
        f"error with its Excel row number (the header is row 1) and {FACT_KEYS[kind]}.\n\n"
        f"Columns (a header row, any order): {', '.join(FACT_COLUMNS[kind])}. {notes} Times are ISO 8601 with "
        "an offset; an empty cell never clears a stored value. A .jsonl file holds one JSON object per line with "
        "the same keys.\n\nEncoding and separator are detected as for `import customers` (--encoding, "
        "--delimiter override them). Exits 3 when the import ran but some rows failed."))
    def command(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row, or .jsonl")],
        dealer: Annotated[str, typer.Option("--dealer", help=f"The dealer code the {what} belong to.")],
        key: ApiKey,
        url: GatewayUrl = "http://127.0.0.1:8000",
        encoding: Annotated[str | None, typer.Option("--encoding", help="The file's encoding, e.g. gbk, utf-8.")] = None,
        delimiter: Annotated[str | None, typer.Option(
            "--delimiter", callback=_delimiter, help="The separator: ',', ';' or 'tab'.")] = None,
    ) -> None:
        _report(import_facts(kind, file, dealer, url, key, encoding=encoding, delimiter=delimiter, console=console))


_fact_import_command("vehicles", "vehicles", "Required: vin. The owner is owner_customer_id or owner_external_id.")
_fact_import_command("deliveries", "deliveries", "Required: vin, delivered_at, and the buyer as customer_id or "
                     "customer_external_id. Only a new delivery invites the buyer to the SSI survey.")
_fact_import_command("visits", "repair orders", "Required: ro_number, vin; on a new RO also visit_type and the "
                     "customer (customer_id or customer_external_id). symptom_codes and op_codes are ';'-separated.")


@kpi.command("rebuild")
def kpi_rebuild(
    data_dir: DataDir = Path("data"),
    port_base: PortBase = 8000,
) -> None:
    """Recompute KPI facts and rollups from the customer, survey and complaint services of the
    suite `csloop up --data-dir ... --port-base ...` runs (the KPI service is at the port base + 4)."""
    import httpx

    from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal

    secret = existing_internal_secret(data_dir)
    if secret is None:
        raise CommandFailed(f"no internal secret at {data_dir / SECRET_FILE} (nor CSLOOP_INTERNAL_SECRET): "
                            f"give the --data-dir the suite was started with")
    kpi_url = url_of(next(c for c in COMPONENTS if c.name == "kpi"), port_base)
    token = mint_internal_token(system_principal(), secret, ttl_seconds=3600)
    answer = httpx.post(f"{kpi_url}/internal/kpi/rebuild", headers={INTERNAL_HEADER: token}, timeout=3600)
    if answer.status_code == 401:  # a secret, but not the running suite's
        raise CommandFailed(f"the KPI service at {kpi_url} refused a token signed with the secret of {data_dir}: "
                            f"give the --data-dir (or CSLOOP_INTERNAL_SECRET) of the suite at port base {port_base}")
    if answer.status_code != 200:
        raise error_for(answer)
    console.print(f"rebuilt from: {answer.json()['rebuilt']}")
