"""One place for what tests, the fault suite, the load suite and the benchmarks all need: a real server
process and a database to point it at.

Imported as `support` (tests/ is on sys.path for the suite; tests/e2e/chaos.py, performance/ and bench/
put it there themselves):

    from support.servers import ServerProcess, free_port
    from support.databases import fresh_database, libpq, with_database
"""
