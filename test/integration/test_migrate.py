"""`rtmon migrate`: versioned, checksummed, one transaction each, safe when run concurrently."""
import os
import subprocess

from conftest import PG_ADMIN_URL, PG_PORT, RTMON, ROOT, Postgres


def fresh_db(name):
    Postgres(PG_ADMIN_URL).query(f'drop database if exists "{name}"')
    Postgres(PG_ADMIN_URL).query(f'create database "{name}"')
    return f"postgresql://rtmon:rtmon@127.0.0.1:{PG_PORT}/{name}"


def migrate(url, **kw):
    env = dict(os.environ, RTMON_DATABASE_URL=url)
    return subprocess.Popen([RTMON, "migrate", f"--config-file={ROOT / 'config' / 'rtmon.ini'}"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def run_migrate(url):
    p = migrate(url)
    out, err = p.communicate(timeout=60)
    return p.returncode, out, err


def test_migrate_applies_once_and_records_checksums():
    url = fresh_db("t_migrate_once")
    code, out, err = run_migrate(url)
    assert code == 0, err
    assert "applied 001" in out
    pg = Postgres(url)
    rows = pg.query("select version, name, checksum like 'fnv1a64:%' from schema_migrations order by 1")
    assert rows[0] == ["1", "raw_tables", "t"]
    code, out, err = run_migrate(url)
    assert code == 0 and "applied" not in out and "schema at version" in out
    # The raw tables are partitioned by day with partitions around today.
    parts = pg.scalar("select count(*) from pg_inherits i join pg_class p on p.oid = i.inhparent "
                      "where p.relname = 'logs'")
    assert int(parts) >= 5  # default + 2 days back + today + 3 ahead


def test_concurrent_migrations_do_not_race():
    url = fresh_db("t_migrate_race")
    procs = [migrate(url) for _ in range(4)]
    results = [p.communicate(timeout=60) + (p.returncode,) for p in procs]
    assert all(code == 0 for _, _, code in results), results
    versions = sorted(p.name[:3] for p in (ROOT / "sql").glob("[0-9][0-9][0-9]_*.sql"))
    for v in versions:  # each migration applied by exactly one of the racing processes
        assert sum(out.count(f"applied {v}") for out, _, _ in results) == 1, (v, results)
    assert Postgres(url).scalar("select count(*) from schema_migrations") == str(len(versions))


def test_an_edited_applied_migration_is_refused():
    url = fresh_db("t_migrate_tamper")
    assert run_migrate(url)[0] == 0
    Postgres(url).query("update schema_migrations set checksum = 'fnv1a64:0' where version = 1")
    code, out, err = run_migrate(url)
    assert code == 1
    assert "001_raw_tables" in err and "never be edited" in err


def test_a_database_ahead_of_the_build_is_refused():
    url = fresh_db("t_migrate_ahead")
    assert run_migrate(url)[0] == 0
    Postgres(url).query("insert into schema_migrations (version, name, checksum) values (999, 'future', 'x')")
    code, _, err = run_migrate(url)
    assert code == 1 and "newer than this rtmon build" in err


def test_partition_upkeep_creates_ahead_and_drops_past_retention():
    url = fresh_db("t_migrate_parts")
    assert run_migrate(url)[0] == 0
    pg = Postgres(url)
    assert int(pg.scalar("select rtmon_ensure_partitions(10, 5)")) > 0
    assert pg.scalar("select rtmon_ensure_partitions(10, 5)") == "0"  # idempotent
    old = pg.scalar("select count(*) from pg_class where relname ~ '^logs_[0-9]{8}$' and "
                    "to_date(right(relname, 8), 'YYYYMMDD') + 1 < (now() at time zone 'utc')::date - 7")
    assert int(old) > 0
    dropped = int(pg.scalar("select rtmon_drop_partitions(7)"))
    assert dropped == 3 * int(old)  # logs, metrics and events
    left = pg.scalar("select count(*) from pg_class where relname ~ '^logs_[0-9]{8}$' and "
                     "to_date(right(relname, 8), 'YYYYMMDD') + 1 < (now() at time zone 'utc')::date - 7")
    assert left == "0"


def test_check_config_validates():
    env = dict(os.environ, RTMON_HTTP_ADDR="127.0.0.1:notaport")
    p = subprocess.run([RTMON, "check-config", f"--config-file={ROOT / 'config' / 'rtmon.ini'}"],
                       env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "http.addr" in p.stderr
    env = dict(os.environ, RTMON_DATABASE_URL="postgresql://u:secret@h/db")
    p = subprocess.run([RTMON, "check-config", f"--config-file={ROOT / 'config' / 'rtmon.ini'}"],
                       env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "secret" not in p.stdout and "u:***@h/db" in p.stdout
