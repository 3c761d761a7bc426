"""The HumanEval pass@k bench: compare strategies on real problems with their tests."""
