import dagster as dg

# Register years are added as their deliveries arrive (the landing-folder sensor, or `make run`),
# so the partition set is exactly the set of delivered years.
PARTITION_NAME = "register_year"  # the one place the name is written (the sensor, make run and tests read it)
register_years = dg.DynamicPartitionsDefinition(name=PARTITION_NAME)


def deregister_year(instance: dg.DagsterInstance, year: int | str) -> bool:
    """Remove a withdrawn register year's partition (the UI and the sensor stop offering it); False when the
    year was not registered."""
    registered = str(year) in instance.get_dynamic_partitions(PARTITION_NAME)
    if registered:
        instance.delete_dynamic_partition(PARTITION_NAME, str(year))
    return registered


# Steps that open the DuckDB warehouse share this pool; dagster_home/dagster.yaml limits it to 1.
DUCKDB_POOL = "duckdb"
