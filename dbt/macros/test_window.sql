{#- Data tests on year-keyed tables test only the years a run rebuilt (issue 16: a new register year
    must not pay a full scan of every big table). A test opts in with the token in its `where`
    config, e.g. `config: {where: "year >= __first_rebuilt_year__"}`:
    - a build with a batch window (`--event-time-start`, what Dagster passes when register years
      arrive, dagster_project.automation.dbt_build_args) tests the years from the window's first on:
      the earlier years are the rows an earlier build tested, unchanged (the same lookback argument
      as the panel's microbatches: panel_lookback_years);
    - any other invocation (--full-refresh, a plain `dbt build`/`dbt test`) tests the whole table.
    The token must be the whole of the comparison's right-hand side. dbt calls this macro in place of
    its default (docs: "custom logic in where configs"). -#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where', '') -%}
  {%- if where and '__first_rebuilt_year__' in where -%}
    {%- set first = first_rebuilt_year() -%}
    {%- if first is none -%}
      {%- do return(relation) -%}
    {%- endif -%}
    {%- set where = where | replace('__first_rebuilt_year__', first | string) -%}
  {%- endif -%}
  {%- if where -%}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}

{#- The first year of this invocation's batch window, or none when it rebuilds everything. -#}
{% macro first_rebuilt_year() -%}
  {%- set args = invocation_args_dict -%}
  {%- set start = args.get('event_time_start') -%}
  {%- if args.get('full_refresh') or not start -%}
    {%- do return(none) -%}
  {%- endif -%}
  {%- do return((start | string)[:4] | int) -%}
{%- endmacro %}
