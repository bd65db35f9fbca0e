{#- Double-precision float for statistics. dbt.type_float() is FLOAT, which DuckDB reads as a
    4-byte REAL, so rates and percentiles use this instead. -#}
{% macro type_double() -%}{{ return(adapter.dispatch('type_double')()) }}{%- endmacro %}
{% macro default__type_double() -%}double precision{%- endmacro %}
{% macro duckdb__type_double() -%}double{%- endmacro %}
{% macro spark__type_double() -%}double{%- endmacro %}
{% macro trino__type_double() -%}double{%- endmacro %}

{#- Calendar part of a date as an integer. ANSI `extract(part from date)` works on DuckDB, Spark,
    Trino, Postgres and Snowflake (dbt has no cross-database date_part macro). -#}
{% macro date_part_int(part, expr) -%}
cast(extract({{ part }} from {{ expr }}) as {{ dbt.type_int() }})
{%- endmacro %}

{#- 1 January of an integer year as a date: the `event_time` column (`period_start`) that dbt's
    microbatch uses to cut the panel into one batch per year. -#}
{% macro year_start(year_expr) -%}
cast({{ dbt.concat(["cast(" ~ year_expr ~ " as " ~ dbt.type_string() ~ ")", "'-01-01'"]) }} as date)
{%- endmacro %}
