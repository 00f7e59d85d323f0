"""MkDocs hook: the reference pages are generated from the code at build time (the typed configs' field
help, every registry's entries, the record schema's docstring), so they cannot drift from it.

A page holds a marker ``<!-- reference: NAME -->``; the hook replaces it with the generated Markdown.
"""

from __future__ import annotations

import dataclasses
import re

MARKER = re.compile(r"<!-- reference: (\w+) -->")


def _fields(cls: type, section: str) -> str:
    from joulebench.config.schema import field_help

    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    rows = [f"| `{section}.{name}` | `{defaults[name]!r}` | {text} |" for name, text in field_help(cls).items()]
    return "| field | default | meaning |\n|---|---|---|\n" + "\n".join(r.replace("\n", " ") for r in rows)


def configuration() -> str:
    from joulebench.config.schema import MeasureConfig, TrainConfig

    return "## train\n\n" + _fields(TrainConfig, "train") + "\n\n## measure\n\n" + _fields(MeasureConfig, "measure")


def _reduction_parameters(plugin: object) -> str:
    config_cls = getattr(plugin, "config_cls", None)
    if config_cls is None or not dataclasses.is_dataclass(config_cls):
        return ""
    parts = []
    for f in dataclasses.fields(config_cls):
        default = "required" if f.default is dataclasses.MISSING else f"default `{f.default!r}`"
        parts.append(f"`{f.name}` ({default}): {f.metadata.get('help', '')}")
    return "<br>".join(parts)


def registries() -> str:
    from joulebench.plugins import all_registries

    parts = []
    for registry in all_registries():
        reductions = registry.kind == "reduction"
        header = "| name | what it does |" + (" parameters |" if reductions else "")
        rule = "|---|---|" + ("---|" if reductions else "")
        rows = []
        for key in registry.names():
            text = registry.describe(key).replace("\n", " ").replace("|", "\\|")
            extra = f" {_reduction_parameters(registry.get(key)).replace('|', chr(92) + '|')} |" if reductions else ""
            rows.append(f"| `{key}` | {text} |{extra}")
        parts.append(f"## {registry.plural}\n\n{header}\n{rule}\n" + "\n".join(rows))
    return "\n\n".join(parts)


def record() -> str:
    from joulebench.results import schema

    return f"Schema version {schema.SCHEMA_VERSION}.\n\n```text\n{schema.__doc__.strip()}\n```"


def readme() -> str:
    """The README as the site's home page: its links into docs/ made relative to the site."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    return text.replace("](docs/", "](")


GENERATORS = {"configuration": configuration, "registries": registries, "record": record, "readme": readme}


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 (MkDocs' hook signature)
    return MARKER.sub(lambda m: GENERATORS[m.group(1)](), markdown)
