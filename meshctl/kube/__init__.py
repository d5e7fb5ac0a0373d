"""The only package that talks to Kubernetes (imports the client lazily)."""
