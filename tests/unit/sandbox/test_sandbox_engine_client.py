"""Engine URLs: a tcp:// engine speaks TLS when the usual Docker TLS variables say so."""

from pathlib import Path

from sandbox._engine import make_api_client


def test_tcp_engine_without_tls_variables_is_plain_http() -> None:
    api = make_api_client("tcp://10.1.2.3:2375", environ={})
    try:
        assert api.base_url == "http://10.1.2.3:2375"
    finally:
        api.close()


def test_tcp_engine_with_tls_variables_uses_https_and_the_client_certificate(tmp_path: Path) -> None:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("placeholder")
    environ = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}
    api = make_api_client("tcp://10.1.2.3:2376", environ=environ)
    try:
        assert api.base_url == "https://10.1.2.3:2376"
        assert api.cert == (str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))
        assert api.verify == str(tmp_path / "ca.pem")
    finally:
        api.close()


def test_unix_engine_ignores_tls_variables(tmp_path: Path) -> None:
    api = make_api_client("unix:///var/run/docker.sock", environ={"DOCKER_TLS_VERIFY": "1"})
    try:
        assert api.base_url == "http+docker://localhost"
    finally:
        api.close()
