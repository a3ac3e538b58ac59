"""Fraud model: training (Spark MLlib), a versioned registry, scoring and alert explanations."""
