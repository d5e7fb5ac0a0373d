"""A real Kubernetes control plane as local processes: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and KWOK (fake nodes), on free 127.0.0.1 ports, with per-run certificates and a temporary data
directory. Nothing leaves 127.0.0.0/8: the API server's "cluster" egress goes to a refusing proxy (egress.py), and
`audit` records every socket endpoint of the processes for the run."""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import pathlib
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from tests.cluster import build, egress, kwok, netaudit, pki, rest

ADMIN_USER = "meshctl-test-admin"
HOST = "127.0.0.1"

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the process that started it dies, however it dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Process:
    """One control-plane program, its output in `log_path`."""

    def __init__(self, name: str, argv: list[str], log_path: pathlib.Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> Process:
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,  # a Ctrl-C reaches only the Python side, which stops everything in order
                preexec_fn=_die_with_parent,
            )
        return self

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def check(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with code {self._proc.returncode}:\n{self.tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = map(int, pathlib.Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now, all different, below the kernel's ephemeral range: the components bind them
    seconds later, by which time an outgoing connection (which takes its local port from that range) could have
    taken a port chosen there."""
    low, _ = _ephemeral_range()
    pool = list(range(10_000, low)) if low > 11_000 else []
    random.shuffle(pool)
    ports: list[int] = []
    with contextlib.ExitStack() as stack:
        for port in itertools.chain(pool, itertools.repeat(0)):
            if len(ports) == count:
                break
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            ports.append(sock.getsockname()[1])
    return ports


class RealCluster:
    """`with RealCluster(nodes=2) as c:` — a running control plane; `c.kubeconfig_path` is an admin kubeconfig.

    `binaries`: the built programs (default: built now if missing, progress on stderr). `startup_timeout` bounds
    the wait for every component. `keep_workdir` leaves data and logs behind for a post-mortem.
    """

    def __init__(
        self,
        *,
        nodes: int = 2,
        kubeconfig_path: str | os.PathLike[str] | None = None,
        binaries: build.Binaries | None = None,
        startup_timeout: float = 180.0,
        keep_workdir: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self.nodes = nodes
        self._binaries = binaries
        self.startup_timeout = startup_timeout
        self.keep_workdir = keep_workdir
        self._say = progress or (lambda _line: None)
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix="meshctl-cluster-"))
        self.kubeconfig_path = pathlib.Path(kubeconfig_path) if kubeconfig_path else self.workdir / "kubeconfig"
        self.processes: dict[str, Process] = {}
        self.pki: pki.Pki | None = None
        self.egress = egress.EgressProxy(self.workdir)
        self.audit = netaudit.SocketAudit(self.process_ids)
        self.port = 0
        self._admin: rest.Rest | None = None
        self.node_names = [f"kwok-node-{i}" for i in range(nodes)]
        self._started = False

    # --- properties ----------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    @property
    def ca_path(self) -> pathlib.Path:
        assert self.pki is not None, "the cluster is not started"
        return self.pki.ca_path

    @property
    def admin(self) -> rest.Rest:
        """A REST client with the admin's client certificate."""
        assert self._admin is not None, "the cluster is not started"
        return self._admin

    def process_ids(self) -> list[tuple[str, int]]:
        return [(name, p.pid) for name, p in self.processes.items() if p.pid is not None and p.running()]

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def __enter__(self) -> RealCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> RealCluster:
        started = time.monotonic()
        try:
            binaries = self._binaries or build.ensure_binaries(self._say)
            self._start(binaries)
        except BaseException:
            self.stop()
            raise
        self._started = True
        self._say(f"cluster ready at {self.url} in {time.monotonic() - started:.1f} s")
        return self

    def _start(self, binaries: build.Binaries) -> None:
        work = self.workdir
        self.pki = p = pki.Pki(work / "pki")
        self.egress.start()
        etcd_port, peer_port, self.port, kcm_port, scheduler_port = free_ports(5)
        deadline = time.monotonic() + self.startup_timeout

        self._say("starting etcd")
        self._run("etcd", binaries, self._etcd_args(etcd_port, peer_port))
        self._wait(deadline, "etcd", lambda: _http_ok(f"http://{HOST}:{etcd_port}/health"))

        self._say("starting kube-apiserver")
        self._run("kube-apiserver", binaries, self._apiserver_args(etcd_port))
        admin_cert = p.client(ADMIN_USER, "system:masters")
        self._admin = rest.Rest(HOST, self.port, rest.ssl_context(p.ca_path, admin_cert.cert_path, admin_cert.key_path))
        self._wait(deadline, "kube-apiserver /readyz", self._ready)

        self._say("starting kube-controller-manager, kube-scheduler and kwok")
        kcm = self._component_kubeconfig("kube-controller-manager", "system:kube-controller-manager")
        scheduler = self._component_kubeconfig("kube-scheduler", "system:kube-scheduler")
        kwok_kubeconfig = self._component_kubeconfig("kwok", "meshctl-test-kwok", group="system:masters")
        self._run("kube-controller-manager", binaries, self._kcm_args(kcm, kcm_port))
        self._run("kube-scheduler", binaries, self._scheduler_args(scheduler, scheduler_port))
        kwok_config = kwok.write_configuration(work / "kwok.yaml", binaries.kwok_stages)
        kwok_home = work / "kwok-home"  # KWOK also reads ~/.kwok/kwok.yaml: give it an empty home
        kwok_home.mkdir()
        self._run(
            "kwok",
            binaries,
            [f"--kubeconfig={kwok_kubeconfig}", f"--config={kwok_config}"],
            env=dict(os.environ, HOME=str(kwok_home)),
        )
        for name in self.node_names:
            self.admin.create("nodes", kwok.node(name))

        self._wait(deadline, "kube-controller-manager /healthz", lambda: _https_ok(kcm_port))
        self._wait(deadline, "kube-scheduler /healthz", lambda: _https_ok(scheduler_port))
        self._wait(deadline, f"{self.nodes} Ready nodes", self._nodes_ready)
        self._wait(
            deadline,
            "the default ServiceAccount (service account controller)",
            lambda: self.admin.get("serviceaccounts", "default", "default") is not None,
        )
        # The root-CA publisher writes kube-root-ca.crt into every namespace soon after start: waited for, so that no
        # test's before/after comparison (tests/cluster/fixtures.py) mistakes the late ones for its own.
        self._wait(
            deadline,
            "kube-root-ca.crt in the initial namespaces (root-CA publisher)",
            lambda: all(
                self.admin.get("configmaps", "kube-root-ca.crt", ns) is not None
                for ns in ("default", "kube-system", "kube-public", "kube-node-lease")
            ),
        )
        self.write_kubeconfig(self.kubeconfig_path)
        self.audit.start()

    def stop(self) -> None:
        """Stop every process (newest first), the egress proxy and the audit; remove the data directory."""
        self.audit.stop()
        if self._admin is not None:
            self._admin.close()
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.egress.stop()
        self._started = False
        if not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def restart_apiserver(self, timeout: float = 60.0) -> None:
        """Stop kube-apiserver and start it again on the same port with the same flags; etcd keeps the state, as in
        a control-plane upgrade or a crash. Returns once /readyz answers 200 again. Connections and watches drop;
        the controllers and KWOK reconnect on their own."""
        process = self.processes["kube-apiserver"]
        process.stop()
        process.start()
        self.admin.close()
        self._wait(time.monotonic() + timeout, "kube-apiserver /readyz after a restart", self._ready)

    def _ready(self) -> bool:
        return bool(self.admin.request("GET", "/readyz")[0] == 200)

    def check(self) -> None:
        """Raise if a component has exited."""
        for process in self.processes.values():
            process.check()

    # --- users -----------------------------------------------------------------------------------------------------

    def kubeconfig(
        self, user: str = ADMIN_USER, group: str | None = None, namespace: str = "default"
    ) -> dict[str, Any]:
        """A kubeconfig for `user` (a client certificate; the admin is in system:masters)."""
        assert self.pki is not None, "the cluster is not started"
        if user == ADMIN_USER:
            group = "system:masters"
        return self.pki.kubeconfig(self.url, self.pki.client(user, group), namespace)

    def write_kubeconfig(
        self, path: str | os.PathLike[str], user: str = ADMIN_USER, group: str | None = None, namespace: str = "default"
    ) -> pathlib.Path:
        return pki.write_kubeconfig(pathlib.Path(path), self.kubeconfig(user, group, namespace))

    def client(self, user: str, group: str | None = None) -> rest.Rest:
        """A REST client authenticated as `user` (client certificate)."""
        assert self.pki is not None, "the cluster is not started"
        cert = self.pki.client(user, group)
        return rest.Rest(HOST, self.port, rest.ssl_context(self.pki.ca_path, cert.cert_path, cert.key_path))

    # --- internals -----------------------------------------------------------------------------------------------

    def _run(self, name: str, binaries: build.Binaries, args: list[str], env: dict[str, str] | None = None) -> Process:
        process = Process(name, [str(binaries[name]), *args], self.workdir / f"{name}.log", env)
        self.processes[name] = process
        return process.start()

    def _wait(self, deadline: float, what: str, check: Callable[[], Any]) -> None:
        def ready() -> Any:
            self.check()
            return check()

        try:
            rest.poll(ready, max(0.0, deadline - time.monotonic()), what, interval=0.1)
        except TimeoutError as exc:
            logs = "\n".join(f"--- {p.name} ({p.log_path}) ---\n{p.tail()}" for p in self.processes.values())
            raise TimeoutError(f"{exc}\n{logs}") from None

    def _nodes_ready(self) -> bool:
        nodes = self.admin.list("nodes")
        ready = [
            n
            for n in nodes
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
        ]
        return len(ready) >= self.nodes

    def _component_kubeconfig(self, name: str, user: str, group: str | None = None) -> pathlib.Path:
        assert self.pki is not None
        config = self.pki.kubeconfig(self.url, self.pki.client(user, group))
        return pki.write_kubeconfig(self.workdir / f"{name}.kubeconfig", config)

    def _etcd_args(self, client_port: int, peer_port: int) -> list[str]:
        peer = f"http://{HOST}:{peer_port}"
        client = f"http://{HOST}:{client_port}"
        return [
            "--name=meshctl-test",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=meshctl-test={peer}",
            "--unsafe-no-fsync=true",  # test data: durability is not worth the disk syncs
            "--log-level=warn",
        ]

    def _apiserver_args(self, etcd_port: int) -> list[str]:
        assert self.pki is not None
        p = self.pki
        egress_config = self.egress.write_config(self.workdir / "egress-selector.yaml")
        return [
            f"--etcd-servers=http://{HOST}:{etcd_port}",
            f"--bind-address={HOST}",
            f"--advertise-address={HOST}",
            f"--secure-port={self.port}",
            f"--tls-cert-file={p.serving_cert_path}",
            f"--tls-private-key-file={p.serving_key_path}",
            f"--client-ca-file={p.ca_path}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={p.sa_pub_path}",
            f"--service-account-signing-key-file={p.sa_key_path}",
            f"--service-cluster-ip-range={pki.SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            # The default set of admission plugins plus NodeRestriction, as kubeadm configures a cluster.
            "--enable-admission-plugins=NodeRestriction",
            f"--egress-selector-config-file={egress_config}",
            # The `kubernetes` Service gets no Endpoints: its only address here would be loopback, which Endpoints
            # reject; nothing in the tests dials the Service.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
            "--profiling=false",
        ]

    def _kcm_args(self, kubeconfig: pathlib.Path, port: int) -> list[str]:
        assert self.pki is not None
        p = self.pki
        return [
            *self._component_args(kubeconfig, port, "kcm-certs"),
            "--controllers=*",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={p.sa_key_path}",
            f"--root-ca-file={p.ca_path}",
            f"--cluster-signing-cert-file={p.ca_path}",
            f"--cluster-signing-key-file={p.ca_key_path}",
            "--cluster-name=meshctl-test",
            "--profiling=false",
        ]

    def _scheduler_args(self, kubeconfig: pathlib.Path, port: int) -> list[str]:
        return [*self._component_args(kubeconfig, port, "scheduler-certs"), "--profiling=false"]

    def _component_args(self, kubeconfig: pathlib.Path, port: int, cert_dir: str) -> list[str]:
        """What kube-controller-manager and kube-scheduler share: their kubeconfig for everything, /healthz on
        127.0.0.1 with a self-signed certificate, no leader election (one of each)."""
        return [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={HOST}",
            f"--secure-port={port}",
            f"--cert-dir={self.workdir / cert_dir}",
            "--leader-elect=false",
        ]


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def _https_ok(port: int) -> bool:
    """The component's /healthz (its self-signed serving certificate is not checked: loopback only)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(f"https://{HOST}:{port}/healthz", timeout=2, context=context) as response:
        return bool(response.status == 200)
