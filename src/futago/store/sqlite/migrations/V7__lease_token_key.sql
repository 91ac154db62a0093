-- In step with PostgreSQL's V7 (the fencing token as a key column of the lease row). Beside SQLite a file lock
-- decides who leads and there is no lease row, so this version changes nothing here.
SELECT 1;
