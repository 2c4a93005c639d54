"""The ``chariots`` command: scaffold a project, serve the op store and pipelines, run workers.

Every command parses its options, calls the library and prints the result; a bad option or
configuration ends with ``Error: <what is wrong and how to fix it>`` and exit status 1 or 2,
never a traceback.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

import click

from chariots._cli_database import echo_migration_steps as _echo_migration_steps
from chariots._cli_database import missing_driver as _missing_driver
from chariots._cli_database import safe_url as _safe_url
from chariots._template import check_template_context, generate_project, template_directory
from chariots.errors import ChariotsError, TemplateError

if TYPE_CHECKING:
    from chariots.config import ChariotsConfig
    from chariots.pipelines import Pipeline

__all__ = ["cli", "main", "generate_project", "check_template_context", "template_directory"]

_CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _ChariotsGroup(click.Group):
    """A click group turning Chariots errors (a bad config, a missing extra ...) into clean messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChariotsError as error:
            raise click.ClickException(str(error)) from error


def _version() -> str:
    from chariots import __version__

    return __version__


@click.group(cls=_ChariotsGroup, context_settings=_CONTEXT_SETTINGS)
@click.version_option(_version(), "-V", "--version", prog_name="chariots")
def cli() -> None:
    """Chariots: versioned machine-learning pipelines served as Flask micro-services.

    \b
    chariots new                        create a project (with the iris example by default)
    chariots db-upgrade -c config.yaml  create or upgrade the op store's tables
    chariots op-store -c config.yaml    serve the op store
    chariots pipelines -c config.yaml -p my_project.pipelines:pipelines
                                        serve pipelines
    chariots workers -c config.yaml     run a worker for asynchronous calls
    chariots sign-store -c config.yaml --yes
                                        sign the states a store kept from before signing

    Run `chariots COMMAND --help` for the options of a command.
    """


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point of ``chariots``.

    :param argv: the arguments (``sys.argv[1:]`` when None)
    """
    cli.main(args=list(argv) if argv is not None else None, prog_name="chariots")


# --------------------------------------------------------------------------- helpers
def _load_config(config_file: Optional[str]) -> "ChariotsConfig":
    from chariots.config import ChariotsConfig

    return ChariotsConfig(config_file)


_config_option = click.option(
    "-c", "--config", "config_file", metavar="FILE", type=click.Path(dir_okay=False),
    help="YAML config file with the op_store, pipelines and pipelines_workers sections.",
)


def _host_option(what: str):
    return click.option("--host", metavar="HOST", help=f"Host to listen on (overrides the config's {what}).")


def _port_option(what: str):
    return click.option(
        "--port", metavar="PORT", type=click.IntRange(1, 65535),
        help=f"Port to listen on (overrides the config's {what}).",
    )


def _checked_token(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    """A token option: None when neither given nor set, never empty (an empty token is no "auth off")."""
    envvar = param.envvar if isinstance(param.envvar, str) else None
    if value is None and envvar is not None and envvar in os.environ:  # click takes an empty variable for none
        raise click.BadParameter(f"the environment variable {envvar} is set but empty: give it the token, or unset "
                                 "it to serve without auth", ctx, param)
    if value is not None and not value.strip():
        raise click.BadParameter("is empty: give the token (any non-empty string clients send as 'Authorization: "
                                 "Bearer <token>'), or leave the option out", ctx, param)
    return value


def _auth_option(envvar: str):
    return click.option(
        "--auth-token", envvar=envvar, metavar="TOKEN", default=None, callback=_checked_token,
        help=f"Require 'Authorization: Bearer TOKEN' on every request but health checks (env: {envvar}).",
    )


_OP_STORE_TOKEN = "CHARIOTS_OP_STORE_AUTH_TOKEN"


def _serving_options(threads: Optional[int] = 4) -> Callable[[Callable], Callable]:
    """--workers, --threads and --timeout of the production server (gunicorn)."""
    def add(command: Callable) -> Callable:
        for name, default, text in reversed([
            ("--workers", 1, "Worker processes (each builds its own app; all follow each load)."),
            ("--threads", threads, "Threads of each worker process (a connection that sends nothing holds one "
                                   "for at most 5 s, then waits without one and is dropped)."
                                   + ("" if threads else " [default: 4; a batched pipeline's: one per row of its "
                                                         "batch, up to 64]")),
            ("--timeout", 60, "Seconds after which a stalled request's worker is restarted."),
        ]):
            command = click.option(name, type=click.IntRange(1), default=default, show_default=True,
                                   help=text)(command)
        return command

    return add


#: the op store's threads: every request is short I/O, and idle connections must not starve the rest
_OP_STORE_THREADS = 64


def _serve(app_factory: Callable[[], Any], host: str, port: int, what: str, serving: Dict[str, int],
           auth_token: Optional[str]) -> None:
    from chariots._logging import configure
    from chariots._serve import serve_with_gunicorn, warn_if_open
    from chariots.errors import ConfigError

    configure()  # CHARIOTS_LOG_FORMAT, when set, formats the warning as the servers' lines
    warn_if_open(what, host, port, auth_token)  # a server other machines reach without a token
    try:
        serve_with_gunicorn(app_factory, host, port, what, echo=click.echo, **serving)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _import_pipelines(references: Sequence[str]) -> List["Pipeline"]:
    from chariots._serve import import_pipelines
    from chariots.errors import ConfigError

    try:
        return import_pipelines(references)
    except ConfigError as error:
        raise click.BadParameter(str(error), param_hint="'--pipelines'") from None


# --------------------------------------------------------------------------- new
def _parse_extra_context(
    ctx: click.Context, param: click.Parameter, values: Tuple[str, ...]
) -> Dict[str, str]:
    context: Dict[str, str] = {}
    for value in values:
        key, equal, item = value.partition("=")
        if not equal or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE, e.g. project_name=my_project")
        context[key.strip()] = item
    try:
        check_template_context(context)
    except TemplateError as error:
        raise click.BadParameter(str(error)) from None
    return context


@cli.command(context_settings=_CONTEXT_SETTINGS, short_help="Create a project from the Chariots template.")
@click.option("--no-input", is_flag=True, help="Do not prompt: use the defaults and --extra-context.")
@click.option(
    "-o", "--output-dir", default=".", show_default=True, metavar="DIR", type=click.Path(file_okay=False),
    help="Folder to create the project in.",
)
@click.option(
    "-e", "--extra-context", "extra_context", multiple=True, metavar="KEY=VALUE",
    callback=_parse_extra_context,
    help="Set a template variable (repeatable), e.g. -e project_name=flowers -e use_iris_example=n.",
)
@click.option("-f", "--overwrite-if-exists", is_flag=True, help="Write into an existing project folder.")
def new(no_input: bool, output_dir: str, extra_context: Dict[str, str], overwrite_if_exists: bool) -> None:
    """Create a Chariots project from the Chariots template.

    Asks for the project name, author, description and whether to include the iris example
    (the defaults are shown in brackets), then creates the project folder in --output-dir.

    \b
    Variables: project_name, author, email, description, version, license, use_iris_example.
    """
    try:
        project = generate_project(
            output_dir, extra_context, no_input=no_input, overwrite_if_exists=overwrite_if_exists
        )
    except EOFError:
        raise click.ClickException(
            "no answer to the template's questions (standard input is closed): "
            "run `chariots new --no-input` to use the defaults and --extra-context values"
        ) from None
    name = os.path.basename(project)
    click.echo(f"Created the Chariots project {name} in {project}")
    click.echo(f"Next: cd {project} && pip install -e . && {name} start")


# --------------------------------------------------------------------------- servers
@cli.command("op-store", context_settings=_CONTEXT_SETTINGS, short_help="Serve an op store.")
@_config_option
@_host_option("op_store.server_host")
@_port_option("op_store.server_port")
@_auth_option(_OP_STORE_TOKEN)
@_serving_options(threads=_OP_STORE_THREADS)
def op_store(
    config_file: Optional[str], host: Optional[str], port: Optional[int], auth_token: Optional[str], **serving: int
) -> None:
    """Start an op store server from the op_store section of a config file.

    The server creates or upgrades its database tables when it starts. The section needs
    saver_type and saver_kwargs, and usually op_store_db_url (an in-memory SQLite database
    otherwise), e.g.

    \b
    op_store:
      saver_type: file-saver
      saver_kwargs: {root_path: /srv/chariots/ops}
      op_store_db_url: sqlite:////srv/chariots/op_store.db
      server_host: 127.0.0.1
      server_port: 5001
    """
    if config_file is None:
        raise click.UsageError("--config is required: the op store needs its saver and database settings")
    config = _load_config(config_file).op_store_config
    from chariots._serve import op_store_app

    config.get_saver()  # a missing or wrong saver fails here, not in every worker
    _serve(lambda: op_store_app(config, auth_token), host or config.host, port or config.port, "op store", serving,
           auth_token)


@cli.command(context_settings=_CONTEXT_SETTINGS, short_help="Serve pipelines.")
@_config_option
@click.option(
    "-p", "--pipelines", "pipeline_references", multiple=True, required=True, metavar="MODULE:ATTRIBUTE",
    help="The pipelines to serve: a Pipeline or a list of Pipelines, e.g. my_project.pipelines:pipelines "
    "(repeatable; the current folder is importable).",
)
@_host_option("pipelines.server_host")
@_port_option("pipelines.server_port")
@_auth_option("CHARIOTS_PIPELINES_AUTH_TOKEN")
@click.option(
    "--op-store-auth-token", envvar=_OP_STORE_TOKEN, metavar="TOKEN", default=None, callback=_checked_token,
    help=f"The op store's token, when it requires one (env: {_OP_STORE_TOKEN}).",
)
@_serving_options(threads=None)  # 4, or for batched pipelines one per row of a batch (up to 64)
def pipelines(
    config_file: Optional[str],
    pipeline_references: Tuple[str, ...],
    host: Optional[str],
    port: Optional[int],
    auth_token: Optional[str],
    op_store_auth_token: Optional[str],
    **serving: int,
) -> None:
    """Start a pipelines server for the given pipelines.

    The config's pipelines section sets the runner, host and port; with an op_store section
    the server loads and saves through that op store, and with a pipelines_workers section it
    sends calls to workers. Without --config, the server has no op store and no workers.
    """
    config = _load_config(config_file)
    config.pipelines_config.pipelines.extend(_import_pipelines(pipeline_references))
    config.pipelines_config.check()  # e.g. two pipelines of the same name
    server_kwargs = {"auth_token": auth_token} if auth_token is not None else {}
    pipelines_config = config.pipelines_config
    serving["pipelines"] = pipelines_config.pipelines  # a batched one gets threads enough for its calls to meet

    def build() -> Any:
        from chariots.errors import AuthenticationError, ConfigError

        try:
            return config.get_pipelines_server(op_store_auth_token=op_store_auth_token, **server_kwargs)
        except AuthenticationError as error:  # a configuration error, not an op store to wait for
            raise ConfigError(
                f"the op store refused this server's token (401): give `chariots pipelines` the op store's token "
                f"with --op-store-auth-token or {_OP_STORE_TOKEN} ({error})"
            ) from None

    _serve(build, host or pipelines_config.host, port or pipelines_config.port, "pipelines server", serving,
           auth_token)


@cli.command(context_settings=_CONTEXT_SETTINGS, short_help="Run a worker for asynchronous calls.")
@_config_option
@click.option("--burst", is_flag=True, help="Stop once the queue is empty instead of waiting for jobs.")
@click.option(
    "--preload", "preload", multiple=True, metavar="MODULE",
    help="Import MODULE before the first job, e.g. my_project.pipelines (repeatable). Each job's op "
    "modules are also imported once by the worker, not by every job.",
)
@click.option(
    "--abandoned-job-timeout", type=click.FloatRange(min=3), default=None, metavar="SECONDS",
    help="A job of this worker that sent no heartbeat for SECONDS (its worker died) reads failed "
    "(default: the pool's, 60).",
)
@click.option(
    "--op-store-auth-token", envvar=_OP_STORE_TOKEN, metavar="TOKEN", default=None, callback=_checked_token,
    help=f"The op store's token, for the jobs that load and save models (env: {_OP_STORE_TOKEN}).",
)
def workers(
    config_file: Optional[str], burst: bool, preload: Tuple[str, ...], abandoned_job_timeout: Optional[float],
    op_store_auth_token: Optional[str],
) -> None:
    """Run a worker from the pipelines_workers section of a config file.

    The worker takes pipeline calls from the queue until stopped (Ctrl+C), and waits for
    Redis when it goes away. The modules of the pipelines' ops must be importable: run it
    from your project's folder. Jobs and the models they load are checked with the config's
    op_store.secret_key (and old_secret_keys) when it sets one, and the op store is called
    with --op-store-auth-token: a worker needs no other setting.
    """
    if config_file is None:
        raise click.UsageError("--config is required: the worker needs the pipelines_workers section")
    config = _load_config(config_file)
    pool = config.get_pipelines_worker_pool()
    from chariots.workers import RQWorkerPool, run_worker

    if not isinstance(pool, RQWorkerPool):
        raise click.ClickException(f"`chariots workers` cannot run workers of a {type(pool).__name__}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    keys = config.job_keys()
    from chariots._serve import give_jobs_the_worker_settings

    give_jobs_the_worker_settings(config.op_store_config, op_store_auth_token)
    run_worker(
        pool.redis, burst=burst, preload=[*pool.preload, *preload],
        abandoned_job_timeout=abandoned_job_timeout or pool.abandoned_job_timeout, echo=click.echo,
        secret_key=keys["secret_key"], old_secret_keys=keys["old_secret_keys"],
    )


# --------------------------------------------------------------------------- database
def _upgrade(db_url: str, revision: str) -> None:
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from chariots.op_store.migrations import upgrade_database

    click.echo(f"Upgrading the op store database {_safe_url(db_url)} to revision {revision}")
    try:
        with _echo_migration_steps():
            upgrade_database(db_url, revision)
    except ImportError as error:  # the URL's database driver is not installed
        raise _missing_driver(error, db_url) from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise click.ClickException(f"cannot upgrade the op store database {_safe_url(db_url)}: {reason}") from None
    except CommandError as error:
        raise click.ClickException(f"cannot upgrade the op store database {_safe_url(db_url)}: {error}") from None


@cli.command(
    "db-upgrade", context_settings=_CONTEXT_SETTINGS, short_help="Create or upgrade the op store's tables."
)
@_config_option
@click.option(
    "--db-url", metavar="URL", help="SQLAlchemy URL of the database (overrides op_store.op_store_db_url)."
)
@click.option("--revision", default="head", show_default=True, help="Schema revision to upgrade to.")
def db_upgrade(config_file: Optional[str], db_url: Optional[str], revision: str) -> None:
    """Create or upgrade the tables of an op store database.

    Safe to run again on an up-to-date database. Give --db-url, or a --config whose op_store
    section has op_store_db_url.
    """
    if db_url is None:
        if config_file is None:
            raise click.UsageError("give --db-url URL or --config FILE (with op_store.op_store_db_url)")
        db_url = _load_config(config_file).op_store_config.op_store_db_url
        if db_url is None:
            raise click.ClickException(f"config file {config_file!r} has no op_store.op_store_db_url")
    else:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(db_url)
        except ArgumentError:
            raise click.BadParameter(
                f"{_safe_url(db_url)!r} is not a SQLAlchemy URL, e.g. sqlite:////tmp/op_store.db or "
                "postgresql+psycopg://user:password@host:5432/database (its user and password are not shown)",
                param_hint="'--db-url'",
            ) from None
    _upgrade(db_url, revision)
    click.echo(f"Op store database {_safe_url(db_url)} is at revision {revision}")


@cli.command(
    "sign-store", context_settings=_CONTEXT_SETTINGS,
    short_help="Sign the states a store kept from before signing.",
)
@_config_option
@click.option("--yes", is_flag=True, help="Sign them (without it, only list what would be signed).")
def sign_store(config_file: Optional[str], yes: bool) -> None:
    """Sign, under the configured key (op_store.secret_key, else CHARIOTS_SECRET_KEY, else the
    existing file CHARIOTS_SECRET_KEY_FILE names; it never makes one), the states an unsigning
    release wrote to an op store: those recorded before signing was enabled on it that carry no
    signature. A state written later without a signature was written without the key: it is
    listed, never signed. Signing vouches for them (every process holding the key will unpickle
    them): run it once, right after upgrading, op store stopped, and read the list first.
    """
    if config_file is None:
        raise click.UsageError("--config is required: sign-store needs the op store's saver and database")
    store = _load_config(config_file).op_store_config
    if store.op_store_db_url is None:
        raise click.ClickException(f"config file {config_file!r} has no op_store.op_store_db_url: the states "
                                   "to sign are the ones its database records")
    from chariots.op_store import sign_store as sign

    report = sign(store.get_saver(), store.op_store_db_url, store.secret_key, store.old_secret_keys, dry_run=not yes)
    for line in report.lines():
        click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
