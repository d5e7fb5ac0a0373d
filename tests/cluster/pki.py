"""Per-run certificates and keys: a cluster CA, the API server's serving certificate, client certificates for the
components and users (Kubernetes reads the user from the CN and the groups from O), and the service-account key."""

from __future__ import annotations

import base64
import dataclasses
import pathlib
from typing import Any

import trustme
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The first address of the service range is the `kubernetes` Service; the serving certificate names it.
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"


@dataclasses.dataclass(frozen=True)
class ClientCert:
    user: str
    cert_path: pathlib.Path
    key_path: pathlib.Path


class Pki:
    """Writes everything into `directory` (a per-run temporary directory)."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._ca = trustme.CA(organization_name="meshctl-test")
        self.ca_path = directory / "ca.crt"
        self._ca.cert_pem.write_to_path(str(self.ca_path))
        self.ca_pem = self._ca.cert_pem.bytes()
        self.ca_key_path = directory / "ca.key"
        self._ca.private_key_pem.write_to_path(str(self.ca_key_path))
        serving = self._ca.issue_cert(
            "127.0.0.1",
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            KUBERNETES_SERVICE_IP,
            common_name="kube-apiserver",
        )
        self.serving_cert_path = directory / "apiserver.crt"
        self.serving_key_path = directory / "apiserver.key"
        serving.cert_chain_pems[0].write_to_path(str(self.serving_cert_path))
        serving.private_key_pem.write_to_path(str(self.serving_key_path))
        self.sa_key_path = directory / "sa.key"
        self.sa_pub_path = directory / "sa.pub"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.sa_key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.sa_pub_path.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        self._clients: dict[str, ClientCert] = {}

    def client(self, user: str, group: str | None = None) -> ClientCert:
        """A client certificate for `user` (CN) in `group` (O), made once per user."""
        if user in self._clients:
            return self._clients[user]
        # trustme wants an identity (a SAN); an e-mail-form one is inert for client authentication.
        leaf = self._ca.issue_cert(f"{_slug(user)}@users.meshctl.test", common_name=user, organization_name=group)
        cert = ClientCert(user, self.directory / f"{_slug(user)}.crt", self.directory / f"{_slug(user)}.key")
        leaf.cert_chain_pems[0].write_to_path(str(cert.cert_path))
        leaf.private_key_pem.write_to_path(str(cert.key_path))
        self._clients[user] = cert
        return cert

    def kubeconfig(self, server: str, cert: ClientCert, namespace: str = "default") -> dict[str, Any]:
        """A kubeconfig (context `test`) with the CA and the client certificate embedded."""
        return kubeconfig(
            server,
            self.ca_pem,
            cert.user,
            {
                "client-certificate-data": _b64(cert.cert_path.read_bytes()),
                "client-key-data": _b64(cert.key_path.read_bytes()),
            },
            namespace,
        )


def kubeconfig(server: str, ca_pem: bytes, user: str, credentials: dict[str, str], namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": user, "namespace": namespace}}],
        "current-context": "test",
        "preferences": {},
    }


def write_kubeconfig(path: pathlib.Path, config: dict[str, Any]) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _slug(user: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in user).strip("-")
