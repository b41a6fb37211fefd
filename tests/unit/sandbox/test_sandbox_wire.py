"""The run wire types refuse bad uploads with the field named, on decode and on construction."""

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.wire.run import (
    MAX_CODE_CHARS,
    MAX_FILE_CHARS,
    MAX_FILES,
    RunFile,
    RunRequest,
    RunResult,
    file_name_problem,
)


def decode(body: dict[str, object]) -> RunRequest:
    return msgspec.json.decode(msgspec.json.encode(body), type=RunRequest)


def test_minimal_request_decodes_with_defaults() -> None:
    request = decode({"code": "print(1)"})
    assert request == RunRequest(code="print(1)", stdin="", files=[])


BAD_NAMES = ["../x", "/etc/passwd", "a/b", "a\\b", "..", ".", ".hidden", "a\x00b", "", "main.py", "-rf"]


@pytest.mark.parametrize("name", [*BAD_NAMES, "x" * 65, "a b", "x\n"])
def test_dangerous_file_names_are_refused_naming_the_field(name: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=r"files\[0\]"):
        decode({"code": "", "files": [{"name": name, "content": "x"}]})
    with pytest.raises(ValueError, match="name"):
        RunFile(name=name, content="x")


@pytest.mark.parametrize("name", ["data.txt", "numbers.csv", "helper.py", "A_1-b.txt"])
def test_plain_file_names_are_accepted(name: str) -> None:
    assert file_name_problem(name) is None
    assert decode({"code": "", "files": [{"name": name, "content": "x"}]}).files[0].name == name


def test_too_many_files_is_refused() -> None:
    files = [{"name": f"f{i}.txt", "content": ""} for i in range(MAX_FILES + 1)]
    with pytest.raises(msgspec.ValidationError, match=r"\$\.files"):
        decode({"code": "", "files": files})


def test_oversized_code_and_file_are_refused_naming_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.code"):
        decode({"code": "x" * (MAX_CODE_CHARS + 1)})
    with pytest.raises(msgspec.ValidationError, match=r"\$\.files\[0\]\.content"):
        decode({"code": "", "files": [{"name": "a.txt", "content": "x" * (MAX_FILE_CHARS + 1)}]})
    with pytest.raises(ValueError, match="`code`"):
        RunRequest(code="x" * (MAX_CODE_CHARS + 1))


def test_duplicate_file_names_are_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="more than once"):
        decode({"code": "", "files": [{"name": "a.txt"}, {"name": "a.txt"}]})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        decode({"code": "", "image": "ubuntu"})


def test_result_round_trips_through_json() -> None:
    result = RunResult(status="timeout", exit_code=None, stdout="a", stdout_truncated=True, message="slow")
    assert msgspec.json.decode(msgspec.json.encode(result), type=RunResult) == result


@given(st.text(max_size=80))
def test_any_accepted_name_is_a_plain_name_in_the_work_folder(name: str) -> None:
    if file_name_problem(name) is None:
        assert "/" not in name
        assert "\x00" not in name
        assert ".." not in name
        assert not name.startswith(".")
        assert name != "main.py"
