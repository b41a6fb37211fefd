"""Programs that run inside the sandbox container, not on the host.

`bootstrap.py` is sent to the container as source text (the container's command) and runs with the
image's Python 3.11 and its standard library only. The marking shim that runs beside the pupil's code
in a check is `shared/lessons/probe_shim.py`, sent in each check job.
"""

from importlib import resources

BOOTSTRAP_SOURCE = resources.files(__name__).joinpath("bootstrap.py").read_text(encoding="utf-8")

__all__ = ["BOOTSTRAP_SOURCE"]
