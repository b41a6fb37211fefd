"""The seccomp profile is the repository's own, passed with every container (not the daemon's default)."""

import json
from pathlib import Path

import sandbox
from sandbox import SandboxLimits
from sandbox._engine import Engine


def test_every_container_is_created_with_the_pinned_seccomp_profile() -> None:
    pinned = json.loads((Path(sandbox.__file__).parent / "image" / "seccomp.json").read_text())
    engine = Engine("unix:///nonexistent.sock", SandboxLimits(), "instance")

    options = engine.host_config()["SecurityOpt"]

    passed = [option.removeprefix("seccomp=") for option in options if option.startswith("seccomp=")]
    assert [json.loads(profile) for profile in passed] == [pinned]
    assert "no-new-privileges" in options
    assert pinned["defaultAction"] == "SCMP_ACT_ERRNO"
