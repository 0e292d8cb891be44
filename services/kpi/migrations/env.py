from shared.migrations import run_migrations_from_env

run_migrations_from_env()
