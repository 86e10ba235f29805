-- The crawl horizon: the instant before which every shop row a crawl can see is final.
-- created_at and updated_at are the writing transaction's start (now()), and a row becomes
-- visible only when that transaction commits, so a row stamped before a transaction still
-- in progress may yet appear. Crawls stop at the start of the oldest transaction in progress
-- in this database (or now(), when there is none), and the next crawl picks up from there.
-- Seeing other roles' transactions needs superuser or pg_read_all_stats (see README).
CREATE FUNCTION crawl_horizon() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT least(now(), min(xact_start))
    FROM pg_stat_activity
    WHERE datname = current_database()
      AND backend_type = 'client backend'
      AND pid <> pg_backend_pid()
      AND xact_start IS NOT NULL
$$;
