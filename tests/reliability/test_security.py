"""quality.md's security checks on both backends: credentials and Secret data never appear in any output at any
verbosity, and TLS verification is on (a kubeconfig's insecure-skip-tls-verify is honoured only with a warning).
The rendered workloads' security contexts are audited in tests/unit/test_security_posture.py (exceptions in
docs/security.md)."""

from __future__ import annotations

import base64
import pathlib
from typing import Any

import trustme
import yaml

from tests.integration import install_helpers as h
from tests.integration.conftest import Backend
from tests.reliability import consistency as c

VERBOSITIES = ("", "-v", "-vv", "-vvv")


def _run(kubeconfig: pathlib.Path, *args: str) -> c.Outcome:
    args = tuple(a for a in args if a)
    result = h.run_unchecked(*args, "--kubeconfig", str(kubeconfig))
    return c.Outcome(result.exit_code, result.stdout + result.stderr)


def _secrets_of(config: dict[str, Any]) -> list[str]:
    """The credentials a kubeconfig holds: tokens, and the lines of client keys (PEM bodies, inline or in files)."""
    found = []
    for user in config["users"]:
        spec = user["user"]
        if spec.get("token"):
            found.append(spec["token"])
        key = spec.get("client-key-data")
        pem = base64.b64decode(key).decode() if key else ""
        if spec.get("client-key"):
            pem = pathlib.Path(spec["client-key"]).read_text()
        found += [line for line in pem.splitlines() if line and not line.startswith("-----")]
    return found


def test_no_token_client_key_or_secret_data_in_any_output_at_any_verbosity(
    backend: Backend, request: Any, tmp_path: pathlib.Path
) -> None:
    kubeconfigs = [backend.kubeconfig]
    if backend.name == "real":  # straight to kube-apiserver with a client certificate and key
        kubeconfigs.append(request.getfixturevalue("realcluster").direct_kubeconfig_path)
    secrets = [s for path in kubeconfigs for s in _secrets_of(yaml.safe_load(path.read_text()))]
    assert len(secrets) >= (1 if backend.name == "apiserver" else 2)
    outputs = [_run(backend.kubeconfig, "install", "-y", "--no-wait", verbosity) for verbosity in VERBOSITIES]
    assert all(o.exit_code == 0 for o in outputs), outputs
    assert "request body:" in outputs[-1].stderr  # -vvv shows bodies ...
    assert "<redacted>" in outputs[-1].stderr  # ... with the inventory Secrets' data masked
    # The inventory Secrets' data (meshctl's own record, with the effective configuration) is Secret data too.
    inventory_data = [
        value
        for secret in backend.objects.list("secrets", c.ISTIO)
        if secret.get("type") == "meshctl.io/installation"
        for value in secret["data"].values()
    ]
    assert inventory_data
    for kubeconfig in kubeconfigs:
        for args in (
            ("verify-install",),
            ("version", "--remote"),
            ("upgrade", "--dry-run", "--set", "profile=minimal"),
            ("uninstall", "--revision", "default", "--dry-run"),
            ("install", "-y", "--no-wait", "--set", "profile=minimal"),
        ):
            outputs.append(_run(kubeconfig, *args, "-vvv"))
    outputs.append(_run(backend.kubeconfig, "install", "-y", "--no-wait", "-vvv", "--set", "nosuch.key=1"))  # an error
    assert outputs[-1].exit_code == 3
    assert [o.exit_code for o in outputs[len(VERBOSITIES) : -1]] == [0] * (len(outputs) - len(VERBOSITIES) - 1)
    for outcome in outputs:
        for secret in [*secrets, *inventory_data]:
            assert secret not in outcome.stderr, f"a credential or Secret data in the output: {secret[:8]}…"


def test_tls_is_verified_and_skipping_it_is_honoured_only_with_a_warning(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    config = yaml.safe_load(backend.kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    # A kubeconfig that trusts another CA: the server's certificate is refused, at once (no retries).
    stranger = tmp_path / "stranger.kubeconfig"
    cluster["certificate-authority-data"] = base64.b64encode(trustme.CA().cert_pem.bytes()).decode()
    cluster.pop("certificate-authority", None)
    stranger.write_text(yaml.safe_dump(config))
    refused = _run(stranger, "version", "--remote")
    assert refused.exit_code == 4, refused.stderr
    assert "hint: the server's certificate is not trusted by the kubeconfig's certificate-authority" in refused.stderr
    # insecure-skip-tls-verify: honoured, with a warning naming the server.
    del cluster["certificate-authority-data"]
    cluster["insecure-skip-tls-verify"] = True
    insecure = tmp_path / "insecure.kubeconfig"
    insecure.write_text(yaml.safe_dump(config))
    skipped = _run(insecure, "version", "--remote")
    assert skipped.exit_code == 0, skipped.stderr
    assert (
        f"warning: the kubeconfig sets insecure-skip-tls-verify for cluster {cluster['server']}: "
        "the server's certificate is not verified"
    ) in skipped.stderr
