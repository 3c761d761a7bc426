"""Running candidates against tests, isolated and in parallel.

`executor.Executor` is the entry point; `judge` decides verdicts outside the candidate's
process; everything the fork servers load (`forkserver`, `harness`, `observe`, `values`, ...)
uses the standard library only. Nothing is imported here: the sandbox loads only when used.
"""
