{#- Engine-specific pieces, kept here so that models stay the same on DuckDB and Spark
    (shared/spec/distributed_engine.md). -#}

{#- Incremental config of a year-batched model, keyed on the engine (one place). DuckDB: dbt
    microbatch as declared in the model (delete+insert of each batch). Spark: microbatch wraps
    insert_overwrite, which needs the batch grain as a partition column (Spark moves it last) and
    a file format; Parquet is the format an offline Hive metastore can hold. -#}
{% macro engine_incremental_config(partition_column) -%}
  {%- if target.type == 'spark' -%}
    {{ return({'partition_by': [partition_column], 'file_format': 'parquet'}) }}
  {%- else -%}
    {{ return({}) }}
  {%- endif -%}
{%- endmacro %}

{#- on-run-start (dbt_project.yml): on Spark, register each raw delivery table as an external
    Parquet table raw.<table> over the directory REGISTER_SPARK_RAW_DIR/<table> (Hive needs a
    directory per table). Only when that setting is given: on a cluster the raw tables already live
    in the lake's metastore. DuckDB needs nothing (the ingest assets write raw.* in the warehouse).
    The directory is an operator setting, never delivery content; it is still checked against a
    strict character set before it enters the statement. -#}
{% macro register_raw_sources_on_spark() -%}
  {%- if target.type == 'spark' and execute and flags.WHICH in ['run', 'build', 'test'] -%}
    {%- set raw_dir = env_var('REGISTER_SPARK_RAW_DIR', '') -%}
    {%- if raw_dir -%}
      {%- if not modules.re.fullmatch('[A-Za-z0-9_./:+-]+', raw_dir) -%}
        {{ exceptions.raise_compiler_error('REGISTER_SPARK_RAW_DIR may hold only letters, digits and _ . / : + -') }}
      {%- endif -%}
      {%- set tables = [] -%}
      {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
        {%- do tables.append((node.schema, node.identifier)) -%}
      {%- endfor -%}
      {%- for schema_name in tables | map(attribute=0) | unique -%}
        {%- do run_query('create database if not exists ' ~ schema_name) -%}
      {%- endfor -%}
      {%- for schema_name, table_name in tables -%}
        {#- drop + create (not `if not exists`): a new export must replace the inferred schema and file list -#}
        {%- do run_query('drop table if exists ' ~ schema_name ~ '.' ~ table_name) -%}
        {%- do run_query('create table ' ~ schema_name ~ '.' ~ table_name ~ " using parquet location '"
                         ~ raw_dir.rstrip('/') ~ '/' ~ table_name ~ "'") -%}
      {%- endfor -%}
      {{ log('registered ' ~ (tables | length) ~ ' raw Parquet sources on Spark', info=True) }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{#- dbt.safe_cast as try_cast on both engines (spec rule 3): dbt-duckdb has no duckdb__safe_cast,
    so dbt's default would be a plain cast that errors on DuckDB where Spark gives NULL. -#}
{% macro duckdb__safe_cast(field, type) -%}try_cast({{ field }} as {{ type }}){%- endmacro %}
{% macro spark__safe_cast(field, type) -%}try_cast({{ field }} as {{ type }}){%- endmacro %}

{#- Seed column types on Spark: the seeds' column_types say varchar (DuckDB's string type), which
    Spark refuses without a length; there it is `string`. -#}
{% macro spark_seed_types(model, agate_table) %}
  {% set column_override = model['config'].get('column_types', {}) %}
  {% set types = [] %}
  {% for col_name in agate_table.column_names %}
    {% set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) %}
    {% do types.append('string' if type | lower in ['varchar', 'text'] else type) %}
  {% endfor %}
  {{ return(types) }}
{% endmacro %}

{% macro spark__create_csv_table(model, agate_table) %}
  {%- set types = spark_seed_types(model, agate_table) -%}
  {%- set quote_seed_column = model['config'].get('quote_columns', None) -%}
  {% set sql %}
    create table {{ this.render() }} (
        {%- for col_name in agate_table.column_names -%}
            {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }} {{ types[loop.index0] }}
            {%- if not loop.last -%}, {%- endif -%}
        {%- endfor -%}
    )
    {{ file_format_clause() }}
    {{ partition_cols(label="partitioned by") }}
    {{ clustered_cols(label="clustered by") }}
    {{ location_clause() }}
    {{ comment_clause() }}
  {% endset %}
  {% call statement('_') -%}
    {{ sql }}
  {%- endcall %}
  {{ return(sql) }}
{% endmacro %}

{#- Seeds on Spark: dbt-spark's session cursor pastes bound values into the SQL text unescaped
    (Côte d'Ivoire breaks the statement) and binds Python None as the string 'None'
    (dbt-labs/dbt-spark#901, wontfix). This copy of spark__load_csv_rows writes every value as an
    escaped literal (backslash first, then the quote: Spark's string-literal escapes) and an empty
    cell as a typed NULL. Seed values are reviewed reference data in the repository. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {% set types = spark_seed_types(model, agate_table) %}
  {% set statements = [] %}
  {% for chunk in agate_table.rows | batch(get_batch_size()) %}
      {% set sql %}
          insert into {{ this.render() }} values
          {% for row in chunk -%}
              ({%- for value in row -%}
                  {%- if value is none -%}cast(null as {{ types[loop.index0] }})
                  {%- else -%}cast('{{ (value | string).replace('\\', '\\\\').replace("'", "\\'") }}' as {{ types[loop.index0] }}){%- endif -%}
                  {%- if not loop.last %},{% endif -%}
              {%- endfor -%})
              {%- if not loop.last %},{% endif %}
          {%- endfor %}
      {% endset %}
      {% do adapter.add_query(sql, abridge_sql_log=True) %}
      {% if loop.index0 == 0 %}{% do statements.append(sql) %}{% endif %}
  {% endfor %}
  {{ return(statements[0]) }}
{% endmacro %}

{#- The register years of the running microbatch batch, as a predicate on `column`: years from the batch's first
    year + start_offset up to (not including) its end year + end_offset (default: start_offset). For models that
    read inputs without an event_time (no automatic batch filter) or a wider window of them. Outside a batch
    (compile, lint) every year. -#}
{% macro batch_years(column, start_offset=0, end_offset=none) -%}
  {%- if model.batch -%}
    {%- set end_offset = start_offset if end_offset is none else end_offset -%}
    ({{ column }} >= {{ model.batch.event_time_start.year + start_offset }}
     and {{ column }} < {{ model.batch.event_time_end.year + end_offset }})
  {%- else -%}
    (1 = 1)
  {%- endif -%}
{%- endmacro %}
