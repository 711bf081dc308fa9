"""Templates: the one Jinja2 environment every HTML page of twitchrules is rendered with.

Autoescaping is on for every template (``.html.j2``), so whatever a page shows (case values,
rule texts, a ruleset someone else wrote) is escaped; undefined names are errors. Pages are
self-contained: inline CSS (``report.css``), no scripts unless a page embeds its own, no
links out, and a Content-Security-Policy that lets nothing load.

May import: nothing of twitchrules (a leaf every stage may use).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2


@cache
def environment() -> jinja2.Environment:
    """The shared environment: package templates, autoescape, strict undefined names.

    Jinja2 is imported here, on the first page rendered, not when twitchrules is imported.
    """
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("twitchrules", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_page(template: str, **context: Any) -> str:
    """Render one page template (which extends ``base.html.j2``) with ``context``."""
    return environment().get_template(template).render(**context)
