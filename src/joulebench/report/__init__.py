"""Reports built from result records only (never runs a model): Markdown, HTML, PNG plots."""
