"""The PlanSearch language server (installed as `plansearch_lsp`).

It is a thin LSP front end over the engine's event API (`plansearch.search.Search`).
"""

from plansearch import __version__

__all__ = ["__version__"]
