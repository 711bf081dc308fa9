"""mkdocs hook: writes the regulatory pack pages (HTI-1, traceability, basis) at build time.

The pages are never stored: each is ``twitchrules ruleset report --kind KIND --format md``
of the bundled ruleset (``twitchrules.verify.pack.build_pack`` rendered by
``twitchrules.ruleset.regulatory.render_pack``), so they cannot drift from the ruleset, its
hazard log or its tests. Set ``TWITCHRULES_DOCS_RULESET`` to document another ruleset folder.
"""

from __future__ import annotations

import os

from mkdocs.structure.files import File, Files

from twitchrules.ruleset.regulatory import render_pack
from twitchrules.verify.pack import build_pack

PAGES = {"regulatory-hti1.md": "hti1", "regulatory-trace.md": "trace", "regulatory-basis.md": "basis"}


def on_files(files: Files, config) -> Files:
    """Add the generated regulatory pages to the site's files (replacing any stale copy)."""
    ruleset = os.environ.get("TWITCHRULES_DOCS_RULESET") or None
    for page, kind in PAGES.items():
        stale = files.get_file_from_path(page)
        if stale is not None:
            files.remove(stale)
        content = render_pack(build_pack(kind, ruleset), "md")
        files.append(File.generated(config, page, content=content))
    return files
