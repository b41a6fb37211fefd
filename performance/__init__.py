"""The load and stress suite (issue 10): Locust behaviour, a headless runner and the results it keeps.

`performance/run.py --help` says how to run it; docs/performance.md ("Load suite") has the numbers.
"""
