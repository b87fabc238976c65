#!/usr/bin/python3
"""Why the events' order SQL leaves out NULLS FIRST/LAST on PostgreSQL
(service/store/query.h, query_dialect.not_null): EXPLAIN ANALYZE of the
newest event of one job (ORDER BY counter DESC ... LIMIT 1, the API's
`order_by=-counter&page_size=1`) on a partitioned events table of the
store's keys (UNIQUE(job_id, counter, job_created)), 50 jobs x 10,000 events,
with and without NULLS LAST. A throwaway cluster (tests' runneld_harness).

    /usr/bin/python3 bench/pg_explain_order.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tests', 'integration'))
from runneld_harness import start_postgres  # noqa: E402

SCHEMA = [
    "CREATE TABLE events(id bigserial, job_id bigint NOT NULL, counter bigint NOT NULL,"
    " job_created timestamp NOT NULL, uuid text, event_data text,"
    " UNIQUE(job_id, counter, job_created)) PARTITION BY RANGE (job_created)",
    "CREATE TABLE events_default PARTITION OF events DEFAULT",
    "CREATE TABLE f(job_id bigint, uuid text, failed bool, UNIQUE(job_id, uuid))",
    "INSERT INTO events(job_id, counter, job_created, uuid, event_data) SELECT j, c, '2026-01-01',"
    " md5(c::text), repeat('x', 1000) FROM generate_series(1, 50) j, generate_series(1, 10000) c",
    "ANALYZE",
]


def main():
    pg = start_postgres()
    try:
        for sql in SCHEMA:
            pg.psql(sql)
        for order in ("counter DESC NULLS LAST, events.id", "counter DESC, events.id"):
            print("ORDER BY %s:" % order)
            print(pg.psql("EXPLAIN ANALYZE SELECT events.id, counter, f.failed FROM events LEFT JOIN f"
                          " ON f.job_id = events.job_id AND f.uuid = events.uuid WHERE events.job_id = 7"
                          " AND events.job_created = '2026-01-01' ORDER BY %s LIMIT 1" % order))
    finally:
        pg.stop()


if __name__ == '__main__':
    main()
