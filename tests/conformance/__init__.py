"""Differential conformance: the same request scenarios against the test API server and the real kube-apiserver."""
