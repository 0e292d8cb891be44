"""Security regressions: one module per behaviour that a hostile integrator tried (issue 10)."""
