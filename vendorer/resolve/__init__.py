"""Resolution for the target: candidates, the resolvelib provider, explanations."""
