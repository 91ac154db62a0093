"""Evaluations on public benchmarks with each benchmark's own protocol: ``futago eval NAME PATH``."""
