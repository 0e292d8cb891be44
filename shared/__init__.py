"""Code that at least two parts of CSLoop use: the gateway and the services."""
