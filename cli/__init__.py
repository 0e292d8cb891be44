"""The `csloop` command: run the suite, administer it, feed it data."""
