"""The pass@k bench: compare strategies on HumanEval, HumanEval+, MBPP+ and LiveCodeBench."""
