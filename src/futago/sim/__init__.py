"""The behaviour runtime, physics and hybrid models, what-if scenarios, ensembles and validation reports."""
