"""The latent explorer: a local web page to move in a trained model's latent space.

``latent-atlas explore RUN_DIR`` (``explorer.app.serve``); the model side is
:class:`~latentatlas.explorer.session.ExplorerSession`, usable without a web framework.
"""

from .session import Control, ExplorerSession, to_png

__all__ = ["Control", "ExplorerSession", "to_png"]
