"""The jobs floor: what runs the pipeline, above ingest/ and matching/.

`jobs.refresh` is the refresh runner and its step lists (the one place that knows the order of
the pipeline), `jobs.derive` the derived data published with each graph version, `jobs.tasks`
the jobs the CLI, the web app and notebooks share (init, load, refresh, staff edits), and
`jobs.evaluate_links` the link evaluation, which runs refreshes of its own.
"""
