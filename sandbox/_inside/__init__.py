"""Programs that run inside the sandbox container, not on the host.

They are sent to the container as source text (`bootstrap.py` as the container's command, `harness.py`
as the program of a marking run) and run with the image's Python 3.11 and its standard library only.
"""

from importlib import resources

BOOTSTRAP_SOURCE = resources.files(__name__).joinpath("bootstrap.py").read_text(encoding="utf-8")
HARNESS_SOURCE = resources.files(__name__).joinpath("harness.py").read_text(encoding="utf-8")

__all__ = ["BOOTSTRAP_SOURCE", "HARNESS_SOURCE"]
