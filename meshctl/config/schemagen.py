"""Generates ``istiooperator.schema.json``, the project's JSON Schema of the IstioOperator document.

Run ``python -m meshctl.config.schemagen`` after changing this file or the chart defaults in ``manifests/``
(a test fails while the shipped file is out of date). Not imported at run time.

How it is built:

- The IstioOperator structure, the component ``k8s`` settings and the Kubernetes types they use are written out
  here, strict (``additionalProperties: false``).
- ``values`` is inferred from the chart defaults (``manifests/values.yaml`` and every ``manifests/**/values.yaml``):
  every key the templates read gets the type of its default. Maps whose default is empty (``{}``) are free-form;
  keys named in :data:`_VALUE_OVERRIDES` get Kubernetes types (resources, tolerations, string maps, ...).
  Upstream keys the reference names but no template reads are added from :data:`_UPSTREAM_VALUES`.
- ``meshConfig`` (both ``spec.meshConfig`` and ``values.meshConfig``) lists the MeshConfig and ProxyConfig fields.
- Objects under ``values`` and ``meshConfig`` carry ``"x-meshctl-unknown": "warn"``: an unknown key there is an
  error only when it is a likely typo of a known one, otherwise a warning (``schemacheck.py`` registers the keyword
  with jsonschema).
- Keys the charts read but Istio 1.30's values schema lacks (:data:`_REJECTED_VALUES`) get ``not: {}``: any value
  there is an error, as in istioctl 1.30.
- Custom ``format`` values, checked by the format checker of ``schemacheck.py``: ``quantity``, ``dns1123-label``,
  ``dns1123-subdomain``, ``image-hub``, ``image-tag``, ``cidr-list``, ``port-list``.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from meshctl.config import loading, merging, resources
from meshctl.config.schema import SCHEMA_FILE
from meshctl.config.schema import UNKNOWN_KEYWORD as WARN

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
BOOL: Schema = {"type": "boolean"}
INT: Schema = {"type": "integer"}
NONNEG_INT: Schema = {"type": "integer", "minimum": 0}
NUMBER: Schema = {"type": "number"}
INT_OR_STRING: Schema = {"type": ["integer", "string"]}
ANY_OBJECT: Schema = {"type": "object"}
ANY_ARRAY: Schema = {"type": "array"}
STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
HUB: Schema = {"type": "string", "format": "image-hub"}
TAG: Schema = {"type": "string", "format": "image-tag"}
PORT: Schema = {"type": "integer", "minimum": 0, "maximum": 65535}


def ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def strict(properties: dict[str, Schema], description: str | None = None, **extra: Any) -> Schema:
    out: Schema = {"type": "object", "properties": properties, "additionalProperties": False, **extra}
    if description:
        out["description"] = description
    return out


def lenient(properties: dict[str, Schema], description: str | None = None) -> Schema:
    out: Schema = {"type": "object", "properties": properties, "additionalProperties": True, WARN: "warn"}
    if description:
        out["description"] = description
    return out


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes types used by k8s settings (only the fields that exist in Kubernetes; strict)

QUANTITY: Schema = {"type": ["string", "number"], "format": "quantity"}

K8S_DEFS: dict[str, Schema] = {
    "Quantity": QUANTITY,
    "ResourceRequirements": strict(
        {
            "limits": {"type": "object", "additionalProperties": ref("Quantity")},
            "requests": {"type": "object", "additionalProperties": ref("Quantity")},
            "claims": array(strict({"name": STRING, "request": STRING})),
        },
        "Container resources: requests and limits as quantities (100m, 128Mi, 2).",
    ),
    "Toleration": strict(
        {
            "key": STRING,
            "operator": {"type": "string", "enum": ["Exists", "Equal"]},
            "value": STRING,
            "effect": {"type": "string", "enum": ["", "NoSchedule", "PreferNoSchedule", "NoExecute"]},
            "tolerationSeconds": INT,
        }
    ),
    "EnvVar": strict(
        {
            "name": STRING,
            "value": STRING,
            "valueFrom": strict(
                {
                    "fieldRef": strict({"apiVersion": STRING, "fieldPath": STRING}),
                    "resourceFieldRef": strict({"containerName": STRING, "resource": STRING, "divisor": QUANTITY}),
                    "configMapKeyRef": strict({"name": STRING, "key": STRING, "optional": BOOL}),
                    "secretKeyRef": strict({"name": STRING, "key": STRING, "optional": BOOL}),
                }
            ),
        },
        required=["name"],
    ),
    "Probe": strict(
        {
            "exec": strict({"command": array(STRING)}),
            "httpGet": strict(
                {
                    "path": STRING,
                    "port": INT_OR_STRING,
                    "host": STRING,
                    "scheme": {"type": "string", "enum": ["HTTP", "HTTPS"]},
                    "httpHeaders": array(strict({"name": STRING, "value": STRING})),
                }
            ),
            "tcpSocket": strict({"port": INT_OR_STRING, "host": STRING}),
            "grpc": strict({"port": INT, "service": STRING}),
            "initialDelaySeconds": NONNEG_INT,
            "periodSeconds": NONNEG_INT,
            "timeoutSeconds": NONNEG_INT,
            "successThreshold": NONNEG_INT,
            "failureThreshold": NONNEG_INT,
            "terminationGracePeriodSeconds": INT,
        }
    ),
    "PodSecurityContext": strict(
        {
            "runAsUser": INT,
            "runAsGroup": INT,
            "runAsNonRoot": BOOL,
            "fsGroup": INT,
            "fsGroupChangePolicy": STRING,
            "supplementalGroups": array(INT),
            "supplementalGroupsPolicy": STRING,
            "seccompProfile": strict({"type": STRING, "localhostProfile": STRING}),
            "appArmorProfile": strict({"type": STRING, "localhostProfile": STRING}),
            "seLinuxOptions": strict({"user": STRING, "role": STRING, "type": STRING, "level": STRING}),
            "seLinuxChangePolicy": STRING,
            "sysctls": array(strict({"name": STRING, "value": STRING})),
            "windowsOptions": ANY_OBJECT,
        }
    ),
    "ServicePort": strict(
        {
            "name": STRING,
            "port": PORT,
            "targetPort": INT_OR_STRING,
            "nodePort": PORT,
            "protocol": {"type": "string", "enum": ["TCP", "UDP", "SCTP"]},
            "appProtocol": STRING,
        }
    ),
    "ServiceSpec": strict(
        {
            "type": {"type": "string", "enum": ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]},
            "ports": array(ref("ServicePort")),
            "selector": STRING_MAP,
            "clusterIP": STRING,
            "clusterIPs": array(STRING),
            "externalIPs": array(STRING),
            "externalName": STRING,
            "externalTrafficPolicy": {"type": "string", "enum": ["", "Cluster", "Local"]},
            "internalTrafficPolicy": {"type": "string", "enum": ["", "Cluster", "Local"]},
            "healthCheckNodePort": PORT,
            "loadBalancerIP": STRING,
            "loadBalancerSourceRanges": array(STRING),
            "loadBalancerClass": STRING,
            "allocateLoadBalancerNodePorts": BOOL,
            "ipFamilies": array(STRING),
            "ipFamilyPolicy": STRING,
            "publishNotReadyAddresses": BOOL,
            "sessionAffinity": {"type": "string", "enum": ["None", "ClientIP"]},
            "sessionAffinityConfig": ANY_OBJECT,
            "trafficDistribution": STRING,
        }
    ),
    "Affinity": strict({"nodeAffinity": ANY_OBJECT, "podAffinity": ANY_OBJECT, "podAntiAffinity": ANY_OBJECT}),
    "DeploymentStrategy": strict(
        {
            "type": {"type": "string", "enum": ["RollingUpdate", "Recreate"]},
            "rollingUpdate": strict({"maxSurge": INT_OR_STRING, "maxUnavailable": INT_OR_STRING}),
        }
    ),
    "HorizontalPodAutoscalerSpec": strict(
        {
            "minReplicas": NONNEG_INT,
            "maxReplicas": NONNEG_INT,
            "metrics": array(ANY_OBJECT),
            "behavior": ANY_OBJECT,
            "scaleTargetRef": strict({"apiVersion": STRING, "kind": STRING, "name": STRING}),
        }
    ),
    "PodDisruptionBudgetSpec": strict(
        {
            "minAvailable": INT_OR_STRING,
            "maxUnavailable": INT_OR_STRING,
            "selector": ANY_OBJECT,
            "unhealthyPodEvictionPolicy": {"type": "string", "enum": ["IfHealthyBudget", "AlwaysAllow"]},
        }
    ),
    "Overlay": strict(
        {
            "kind": STRING,
            "name": STRING,
            "apiVersion": STRING,
            "patches": array(
                strict(
                    {
                        "path": {"type": "string", "description": "Path grammar of --set, relative to the object."},
                        "value": {"description": "New value; omit it (or null) to delete the addressed node."},
                    },
                    required=["path"],
                )
            ),
        },
        "Patches applied to an object of this component by kind and name.",
        required=["kind", "name"],
    ),
    "K8sSettings": strict(
        {
            "affinity": ref("Affinity"),
            "env": array(ref("EnvVar")),
            "hpaSpec": ref("HorizontalPodAutoscalerSpec"),
            "imagePullPolicy": {"type": "string", "enum": ["Always", "IfNotPresent", "Never"]},
            "nodeSelector": STRING_MAP,
            "podAnnotations": STRING_MAP,
            "podDisruptionBudget": ref("PodDisruptionBudgetSpec"),
            "priorityClassName": STRING,
            "readinessProbe": ref("Probe"),
            "replicaCount": NONNEG_INT,
            "resources": ref("ResourceRequirements"),
            "securityContext": ref("PodSecurityContext"),
            "service": ref("ServiceSpec"),
            "serviceAnnotations": STRING_MAP,
            "strategy": ref("DeploymentStrategy"),
            "tolerations": array(ref("Toleration")),
            "overlays": array(ref("Overlay")),
            "volumes": {"type": "array", "description": "Accepted as istioctl does, and not applied."},
            "volumeMounts": {"type": "array", "description": "Accepted as istioctl does, and not applied."},
        },
        "Kubernetes settings of a component's objects (rendering.md §4).",
    ),
}

COMPONENT_FIELDS: dict[str, Schema] = {
    "enabled": BOOL,
    "namespace": {"type": "string", "format": "dns1123-label"},
    "hub": HUB,
    "tag": TAG,
    "k8s": ref("K8sSettings"),
}

ISTIO_DEFS: dict[str, Schema] = {
    "Component": strict(COMPONENT_FIELDS, "A component: enabled when present unless enabled is false."),
    "GatewayComponent": strict(
        {
            "name": {"type": "string", "format": "dns1123-subdomain"},
            "label": STRING_MAP,
            **COMPONENT_FIELDS,
        },
        "An ingress or egress gateway.",
    ),
    "Components": strict(
        {
            "base": ref("Component"),
            "pilot": ref("Component"),
            "cni": ref("Component"),
            "ztunnel": ref("Component"),
            "istiodRemote": ref("Component"),
            "ingressGateways": array(ref("GatewayComponent")),
            "egressGateways": array(ref("GatewayComponent")),
        }
    ),
    "AddonComponents": strict(
        {name: ref("Component") for name in ("prometheus", "grafana", "kiali", "tracing")},
        "Observability add-ons (meshctl extension, from Istio 1.6/1.7).",
    ),
}

# ---------------------------------------------------------------------------------------------------------------
# MeshConfig and ProxyConfig (field names of istio.mesh.v1alpha1; nested messages kept open where deep)

_DURATION: Schema = {"type": "string", "description": "A duration such as 10s or 1m."}

PROXY_CONFIG = lenient(
    {
        "proxyMetadata": STRING_MAP,
        "holdApplicationUntilProxyStarts": BOOL,
        "concurrency": INT,
        "discoveryAddress": STRING,
        "drainDuration": _DURATION,
        "terminationDrainDuration": _DURATION,
        "parentShutdownDuration": _DURATION,
        "configPath": STRING,
        "binaryPath": STRING,
        "serviceCluster": STRING,
        "availabilityZone": STRING,
        "statusPort": PORT,
        "proxyAdminPort": PORT,
        "statNameLength": INT,
        "interceptionMode": {"type": "string", "enum": ["REDIRECT", "TPROXY", "NONE"]},
        "controlPlaneAuthPolicy": STRING,
        "customConfigFile": STRING,
        "proxyBootstrapTemplatePath": STRING,
        "tracing": ANY_OBJECT,
        "tracingServiceName": STRING,
        "envoyAccessLogService": ANY_OBJECT,
        "envoyMetricsService": ANY_OBJECT,
        "proxyStatsMatcher": lenient(
            {"inclusionPrefixes": array(STRING), "inclusionSuffixes": array(STRING), "inclusionRegexps": array(STRING)}
        ),
        "extraStatTags": array(STRING),
        "gatewayTopology": lenient(
            {
                "numTrustedProxies": INT,
                "forwardClientCertDetails": STRING,
                "proxyProtocol": ANY_OBJECT,
                "shouldUseXForwardedForHeader": BOOL,
            }
        ),
        "image": lenient({"imageType": STRING}),
        "privateKeyProvider": ANY_OBJECT,
        "proxyHeaders": ANY_OBJECT,
        "caCertificatesPem": array(STRING),
        "fileFlushInterval": _DURATION,
        "fileFlushMinSizeKb": INT,
        "runtimeValues": STRING_MAP,
        "readinessProbe": ANY_OBJECT,
        "meshId": STRING,
        "clusterName": STRING,
    },
    "ProxyConfig: defaults for every proxy (meshConfig.defaultConfig).",
)

MESH_CONFIG = lenient(
    {
        "accessLogFile": STRING,
        "accessLogFormat": STRING,
        "accessLogEncoding": {"type": "string", "enum": ["TEXT", "JSON"]},
        "enableTracing": BOOL,
        "enableEnvoyAccessLogService": BOOL,
        "disableEnvoyListenerLog": BOOL,
        "defaultConfig": PROXY_CONFIG,
        "defaultProviders": lenient(
            {"tracing": array(STRING), "metrics": array(STRING), "accessLogging": array(STRING)}
        ),
        "extensionProviders": array(ANY_OBJECT),
        "enablePrometheusMerge": BOOL,
        "enableAutoMtls": BOOL,
        "trustDomain": STRING,
        "trustDomainAliases": array(STRING),
        "rootNamespace": STRING,
        "ingressClass": STRING,
        "ingressService": STRING,
        "ingressSelector": STRING,
        "ingressControllerMode": {"type": "string", "enum": ["UNSPECIFIED", "OFF", "DEFAULT", "STRICT"]},
        "outboundTrafficPolicy": lenient({"mode": {"type": "string", "enum": ["REGISTRY_ONLY", "ALLOW_ANY"]}}),
        "inboundTrafficPolicy": lenient({"mode": STRING}),
        "localityLbSetting": ANY_OBJECT,
        "dnsRefreshRate": _DURATION,
        "connectTimeout": _DURATION,
        "protocolDetectionTimeout": _DURATION,
        "tcpKeepalive": ANY_OBJECT,
        "h2UpgradePolicy": {"type": "string", "enum": ["DO_NOT_UPGRADE", "UPGRADE"]},
        "inboundClusterStatName": STRING,
        "outboundClusterStatName": STRING,
        "certificates": array(ANY_OBJECT),
        "caCertificates": array(ANY_OBJECT),
        "discoverySelectors": array(ANY_OBJECT),
        "pathNormalization": lenient({"normalization": STRING}),
        "serviceSettings": array(ANY_OBJECT),
        "serviceScopeConfigs": array(ANY_OBJECT),
        "defaultHttpRetryPolicy": ANY_OBJECT,
        "meshMTLS": ANY_OBJECT,
        "tlsDefaults": ANY_OBJECT,
        "verifyCertificateAtClient": BOOL,
        "defaultServiceExportTo": array(STRING),
        "defaultVirtualServiceExportTo": array(STRING),
        "defaultDestinationRuleExportTo": array(STRING),
        "configSources": array(ANY_OBJECT),
        "proxyListenPort": PORT,
        "proxyInboundListenPort": PORT,
        "proxyHttpPort": PORT,
        "enableAutoSni": BOOL,
        "serviceEntryExportTo": array(STRING),
        "thriftConfig": ANY_OBJECT,
    },
    "MeshConfig: the mesh-wide settings written to the istio ConfigMap.",
)

# ---------------------------------------------------------------------------------------------------------------
# values: inferred from the chart defaults, with Kubernetes types by key name

_VALUE_OVERRIDES: dict[str, Schema] = {
    "resources": ref("ResourceRequirements"),
    "tolerations": array(ref("Toleration")),
    "defaultTolerations": array(ref("Toleration")),
    "affinity": ANY_OBJECT,
    "nodeSelector": STRING_MAP,
    "defaultNodeSelector": STRING_MAP,
    "podAnnotations": STRING_MAP,
    "podLabels": STRING_MAP,
    "deploymentLabels": STRING_MAP,
    "deploymentAnnotations": STRING_MAP,
    "daemonSetLabels": STRING_MAP,
    "serviceAnnotations": STRING_MAP,
    "serviceAccountAnnotations": STRING_MAP,
    "annotations": STRING_MAP,
    "labels": STRING_MAP,
    "injectedAnnotations": STRING_MAP,
    "proxyMetadata": STRING_MAP,
    "env": STRING_MAP,
    "securityContext": ANY_OBJECT,
    "podSecurityContext": ANY_OBJECT,
    "seccompProfile": ANY_OBJECT,
    "seLinuxOptions": ANY_OBJECT,
    "lifecycle": ANY_OBJECT,
    "autoscaleBehavior": ANY_OBJECT,
    "rollingMaxSurge": INT_OR_STRING,
    "rollingMaxUnavailable": INT_OR_STRING,
    "maxUnavailable": INT_OR_STRING,
    "minAvailable": INT_OR_STRING,
    "hub": HUB,
    "tag": TAG,
    "meshConfig": ref("MeshConfig"),
    "includeIPRanges": {"type": "string", "format": "cidr-list"},
    "excludeIPRanges": {"type": "string", "format": "cidr-list"},
    "includeInboundPorts": {"type": "string", "format": "port-list"},
    "excludeInboundPorts": {"type": "string", "format": "port-list"},
    "includeOutboundPorts": {"type": "string", "format": "port-list"},
    "excludeOutboundPorts": {"type": "string", "format": "port-list"},
}

# Keys whose override applies only at a given position (dotted path inside values).
_PATH_OVERRIDES: dict[str, Schema] = {
    "gateways.istio-ingressgateway.ports": array(ref("ServicePort")),
    "gateways.istio-egressgateway.ports": array(ref("ServicePort")),
    "revision": {"type": "string", "format": "dns1123-label"},
    "global.istioNamespace": {"type": "string", "format": "dns1123-label"},
}

# Keys the charts read (with their defaults) that Istio 1.30's IstioOperator values schema does not have, so
# istioctl 1.30 refuses them in spec.values: so does meshctl (``--force`` or ``unvalidatedValues`` get them through).
_REJECTED_VALUES: dict[str, str] = {
    "cni.ambient.enablementSelectors": "the chart default is used",
    "cni.ambient.shareHostNetworkNamespace": "compatibilityVersion 1.25 sets it",
    "cni.ambient.enableAmbientDetectionRetry": "the chart default is used",
    "global.readerServiceAccount": "the reader ServiceAccount is always istio-reader-service-account",
}


def rejected(path: str) -> Schema:
    """The schema of a key Istio 1.30's values schema does not have: any value is an error saying so."""
    reason = _REJECTED_VALUES[path]
    return {
        "not": {},
        "description": f"not an Istio 1.30 IstioOperator value (istioctl 1.30 refuses it too; {reason})",
    }


# Upstream keys the reference names that no template reads (or that translation sets); merged under the inferred
# tree. Leaf values are example defaults for inference.
_UPSTREAM_VALUES: dict[str, Any] = {
    "profile": "",
    "compatibilityVersion": "",
    "revision": "",
    "defaultRevision": "",
    "ownerName": "",
    "global": {
        "hub": "",
        "tag": "",
        "variant": "",
        "platform": "",
        "istioNamespace": "",
        "configValidation": True,
        "operatorManageWebhooks": False,
        "omitSidecarInjectorConfigMap": False,
        "enableReaderRBAC": True,
        "resourceScope": "",
        "remotePilotAddress": "",
        "network": "",
        "meshID": "",
        "multiCluster": {"enabled": False, "clusterName": ""},
        "proxy": {
            "includeIPRanges": "",
            "excludeIPRanges": "",
            "includeInboundPorts": "",
            "excludeInboundPorts": "",
            "includeOutboundPorts": "",
            "excludeOutboundPorts": "",
            "privileged": False,
            "env": {},
        },
    },
    "pilot": {"enabled": True, "cni": {"enabled": False, "provider": ""}, "env": {}, "autoscaleEnabled": True},
    "cni": {"enabled": False, "ambient": {"enabled": False}},
    "ztunnel": {"resourceName": ""},
    "gateways": {
        "istio-ingressgateway": {"enabled": True, "runAsRoot": False, "autoscaleEnabled": True, "ports": []},
        "istio-egressgateway": {"enabled": False, "runAsRoot": False, "autoscaleEnabled": True, "ports": []},
    },
    "istiodRemote": {"enabled": False},
    "telemetry": {"enabled": True},
    "experimental": {"stableValidationPolicy": False},
    "sidecarInjectorWebhook": {"injectedAnnotations": {}},
    "prometheus": {"enabled": False, "hub": "", "tag": ""},
    "grafana": {"enabled": False, "hub": "", "tag": ""},
    "kiali": {"enabled": False, "hub": "", "tag": ""},
    "tracing": {"enabled": False, "hub": "", "tag": ""},
}


def infer(value: Any, path: str) -> Schema:
    """The schema of a chart default: its type; maps recurse (empty ones are free-form)."""
    key = path.rsplit(".", 1)[-1]
    if path in _REJECTED_VALUES:
        return rejected(path)
    if path in _PATH_OVERRIDES:
        return copy.deepcopy(_PATH_OVERRIDES[path])
    if key in _VALUE_OVERRIDES:
        return copy.deepcopy(_VALUE_OVERRIDES[key])
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            return array(STRING)
        return {"type": "array"}
    if isinstance(value, dict):
        if not value:
            return {"type": "object"}
        return lenient({k: infer(v, f"{path}.{k}" if path else k) for k, v in sorted(value.items())})
    return {}


def chart_value_files(root: Path) -> list[Path]:
    """The chart default files: ``values.yaml`` at the top and in every component directory."""
    return sorted(root.rglob("values.yaml"))


def chart_defaults(root: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in chart_value_files(root):
        data = loading.load_yaml_file(path)
        if isinstance(data, dict):
            merged = merging.merge(merged, data)
    return merged


def build(manifests_root: Path | None = None) -> Schema:
    """The whole schema document."""
    root = manifests_root or resources.manifests_dir()
    values_tree = merging.merge(_UPSTREAM_VALUES, chart_defaults(root))
    for path in _REJECTED_VALUES:  # present in the tree, so that inference meets them
        node = values_tree
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node.setdefault(last, None)
    mesh_config = copy.deepcopy(MESH_CONFIG)
    chart_mesh = values_tree.get("meshConfig")
    if isinstance(chart_mesh, dict):  # chart defaults the MeshConfig list above lacks
        inferred = infer({k: v for k, v in chart_mesh.items() if k != "defaultConfig"}, "meshConfig.x")
        for key, sub in inferred.get("properties", {}).items():
            mesh_config["properties"].setdefault(key, sub)
    values_schema = infer(values_tree, "")
    values_schema["description"] = (
        "Chart values the templates read (upstream Helm names). Unknown keys: an error when close to a known key, "
        "otherwise a warning; they are passed through."
    )
    spec = strict(
        {
            "profile": {"type": "string", "description": "Built-in profile (or one in installPackagePath/profiles)."},
            "installPackagePath": {"type": "string", "description": "Same as --manifests DIR."},
            "hub": HUB,
            "tag": TAG,
            "namespace": {
                "type": "string",
                "description": "Accepted; the Istio namespace is values.global.istioNamespace.",
            },
            "revision": {"type": "string", "format": "dns1123-label"},
            "compatibilityVersion": {"type": "string"},
            "meshConfig": ref("MeshConfig"),
            "components": ref("Components"),
            "addonComponents": ref("AddonComponents"),
            "values": ref("Values"),
            "unvalidatedValues": {"type": "object", "description": "Merged into values after validation, unchecked."},
        }
    )
    defs: dict[str, Schema] = {
        "IstioOperatorSpec": spec,
        **ISTIO_DEFS,
        **K8S_DEFS,
        "MeshConfig": mesh_config,
        "ProxyConfig": PROXY_CONFIG,
        "Values": values_schema,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/meshctl/meshctl/schemas/istiooperator.schema.json",
        "title": "IstioOperator (meshctl)",
        "description": "The IstioOperator document meshctl accepts (install.istio.io/v1alpha1).",
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string", "enum": ["install.istio.io/v1alpha1"]},
            "kind": {"type": "string", "enum": ["IstioOperator"]},
            "metadata": strict(
                {
                    "name": {"type": "string", "format": "dns1123-subdomain"},
                    "namespace": {"type": "string", "format": "dns1123-label"},
                    "labels": STRING_MAP,
                    "annotations": STRING_MAP,
                }
            ),
            "spec": ref("IstioOperatorSpec"),
        },
        "additionalProperties": False,
        "$defs": defs,
    }


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def main() -> int:
    SCHEMA_FILE.write_text(render(build()), encoding="utf-8")
    sys.stdout.write(f"wrote {SCHEMA_FILE}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
