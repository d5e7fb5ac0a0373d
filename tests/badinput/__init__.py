"""Bad input through the CLI: the enforced error catalogue and property tests of the cluster commands' inputs."""
