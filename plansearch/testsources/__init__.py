"""Where the tests that rank candidates come from, and collecting them for a problem.

`examples` (docstring and statement examples), `workspace` (pytest tests in the user's
files, an explicit tests file), `statements` (a competition statement's samples),
`generated` (tests the model writes, never trusted) and `collect` (all of them, combined).
"""
