"""Configuration: IstioOperator input, profiles, layering, the path grammar and validation (pure, no cluster)."""
