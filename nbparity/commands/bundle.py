"""`nbparity bundle verify DIR`: re-check an evidence bundle's sha256 manifest."""

from __future__ import annotations

import json

import click


@click.group("bundle")
def command():
    """Evidence bundles written by `nbparity compare`."""


@command.command("verify")
@click.argument("directory", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def verify(directory, as_json):
    """Re-hash every file of DIR against its sha256.txt and check the bundle is complete. Intact (exit 0)
    only when the manifest is non-empty, lists every file the bundle's kind requires (see
    nbparity/bundle_kinds.py), every listed file is a regular file inside DIR (no symlink), metrics.json
    is readable and DIR is not a writer's temporary folder. Exit 1 with one line per reason (and the
    changed, missing and extra files); exit 2 when DIR is not a bundle at all (no or malformed
    sha256.txt)."""
    from nbparity.bundle import verify_bundle

    v = verify_bundle(directory)
    if as_json:
        click.echo(json.dumps(v.to_dict(), indent=2))
    else:
        for line in v.lines():
            click.echo(line, err=not v.ok)
    return v.exit_code
