"""The ``{{ cookiecutter.project_name }}`` command line: ``{{ cookiecutter.project_name }} start`` serves the app."""
from __future__ import annotations

import signal

import click

from {{ cookiecutter.project_name }} import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="{{ cookiecutter.project_name }}")
def cli() -> None:
    """{{ cookiecutter.description }}"""


@cli.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="{{ cookiecutter.project_name | upper }}_HOST",
    show_envvar=True, help="Host to listen on.",
)
@click.option(
    "--port", default=5000, show_default=True, type=click.IntRange(1, 65535),
    envvar="{{ cookiecutter.project_name | upper }}_PORT", show_envvar=True, help="Port to listen on.",
)
@click.option(
    "--app-path",
    type=click.Path(file_okay=False),
    help="Folder of the app's op store (default: {{ cookiecutter.project_name }}_local).",
)
def start(host: str, port: int, app_path: str | None) -> None:
    """Serve the project's pipelines over HTTP until stopped (Ctrl+C)."""
    from werkzeug.serving import make_server

    from {{ cookiecutter.project_name }}.app import create_app

    app = create_app(app_path)
    try:
        server = make_server(host, port, app, threaded=True)
    except SystemExit:  # werkzeug printed why (e.g. the port is in use)
        raise click.ClickException(f"cannot listen on {host}:{port}") from None

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    url = f"http://{host}:{server.server_port}"
    click.echo(f"Serving {{ cookiecutter.project_name }} on {url} (press Ctrl+C to stop)")
    try:
        server.serve_forever()  # returns on Ctrl+C or SIGTERM
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    click.echo("Stopped")


def main() -> None:
    """Entry point of the ``{{ cookiecutter.project_name }}`` console script."""
    cli(prog_name="{{ cookiecutter.project_name }}")


if __name__ == "__main__":
    main()
