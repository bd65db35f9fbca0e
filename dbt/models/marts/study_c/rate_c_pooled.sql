{{ config(materialized='table') }}
-- Study C pooled rates (§3.5 estimator 2): 100 * sum(E) / sum(PY) over the cells of each exhibit,
-- with the counts beside (Figs 4, 7, 11, 12, 13, 15; Fig 2 person-years).
--   c_fig_4 : group x single age          c_fig_7 : group x education (bachelor+ vs other)
--   c_fig_11: descendants x origin (19)   c_fig_13: descendants x origin x period (c_fig_12 = its counts)
--   c_fig_15: descendants x origin x education
{% set bds = [
    ['c_fig_4', ['age']],
    ['c_fig_7', ['educ_c']],
    ['c_fig_11', ['origin_group19']],
    ['c_fig_13', ['origin_group19', 'period']],
    ['c_fig_15', ['origin_group19', 'educ_c']],
    ['total', []],
] %}
with u as (
    select population_group, age, educ_c, origin_group19, period, provisional, 1 as emigration, 0 as person_year
    from {{ ref('int_c_events') }}
    union all
    select population_group, age, educ_c, origin_group19, period_c as period, provisional, 0, 1
    from {{ ref('int_c_person_years') }}
),
cells as (
    {{ cells_union('u', bds, ['population_group'],
        'sum(emigration) as emigrations, sum(person_year) as person_years, max(case when provisional then 1 else 0 end) as any_provisional') }}
)
select
    cast(c.breakdown as {{ dbt.type_string() }})                 as exhibit,
    c.dim1, c.level1, c.dim2, c.level2,
    cast(c.population_group as {{ dbt.type_string() }})          as population_group,
    cast(c.emigrations as {{ dbt.type_bigint() }})               as emigrations,
    cast(c.person_years as {{ dbt.type_bigint() }})              as person_years,
    cast(100.0 * c.emigrations / nullif(c.person_years, 0) as {{ type_double() }}) as rate_per_100,
    {{ small_cell('c.emigrations', 'c.person_years') }}         as small_cell,
    cast(c.any_provisional = 1 as boolean)                       as includes_provisional_years
from cells as c
where c.breakdown not in ('c_fig_11', 'c_fig_13', 'c_fig_15') or c.population_group = 'G1+G2'
