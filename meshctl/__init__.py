"""meshctl: an installer for the Istio service mesh."""

__version__ = "0.1.0"

#: The Istio release whose objects meshctl renders and installs.
ISTIO_VERSION = "1.30.3"
#: The registry images come from unless a profile, file or flag says otherwise.
DEFAULT_HUB = "docker.io/istio"
