"""Rendering: effective configuration to ordered Kubernetes objects (pure and deterministic)."""
