"""The Textual terminal UI. Imported only by ``huisou tui`` (Textual is heavy).

Entry point: :func:`huisou.tui.app.create_app`, used by the CLI and the tests alike.
"""
