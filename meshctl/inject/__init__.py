"""Manual sidecar injection (``kube-inject``), pure: workload manifests in, injected manifests out."""
