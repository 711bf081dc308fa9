"""mkdocs hook: writes the rules reference page from the bundled ruleset at build time.

The page ``rules-reference.md`` is never stored: it is rendered by
``twitchrules.ruleset.audit.render_markdown`` (the same text as ``twitchrules ruleset audit
--format md``) each time the site is built, so it cannot drift from the ruleset.
Set ``TWITCHRULES_DOCS_RULESET`` to document another ruleset file or folder.
"""

from __future__ import annotations

import os

from mkdocs.structure.files import File, Files

from twitchrules.ruleset import load_ruleset
from twitchrules.ruleset.audit import render_markdown

PAGE = "rules-reference.md"


def on_files(files: Files, config) -> Files:
    """Add the generated rules reference to the site's files (replacing any stale copy)."""
    ruleset = load_ruleset(os.environ.get("TWITCHRULES_DOCS_RULESET") or None)
    stale = files.get_file_from_path(PAGE)
    if stale is not None:
        files.remove(stale)
    files.append(File.generated(config, PAGE, content=render_markdown(ruleset)))
    return files
