{{ config(materialized='table') }}
-- Study C five-year return (§2.8, §3.5 estimator 4): 100 * returned / emigrations, emigrations
-- 2000-2019 (var study_c_return_last_emigration_year) with an observed status on 1 Jan t+5
-- (censored events are excluded and counted beside). Deaths count as returned (var).
--   fig_6 : group (L) and group x ORIGIN / OTHER_KNOWN (R)   fig_9 : group x education
--   fig_10: group x education, ORIGIN (L) / OTHER_KNOWN (R)  fig_17: descendants x origin (L), x education (R)
with ev as (select * from {{ ref('int_study_c_events') }} where in_return_window),
cells as (
    select 'fig_6' as exhibit, 'L' as panel, population_group, 'all' as level1, 'all' as level2, returned_5y, return_censored, status_at_horizon
    from ev
    union all
    select 'fig_6', 'R', population_group, dest_type3, 'all', returned_5y, return_censored, status_at_horizon
    from ev where dest_type3 <> 'UNKNOWN'
    union all
    select 'fig_9', 'L', population_group, educ_c, 'all', returned_5y, return_censored, status_at_horizon from ev
    union all
    select 'fig_10', case when dest_type3 = 'ORIGIN' then 'L' else 'R' end, population_group, educ_c, 'all', returned_5y, return_censored, status_at_horizon
    from ev where dest_type3 <> 'UNKNOWN'
    union all
    select 'fig_17', 'L', population_group, origin_group19, 'all', returned_5y, return_censored, status_at_horizon
    from ev where population_group = 'G1+G2'
    union all
    select 'fig_17', 'R', population_group, origin_group19, educ_c, returned_5y, return_censored, status_at_horizon
    from ev where population_group = 'G1+G2'
)
select
    cast(exhibit as {{ dbt.type_string() }})          as exhibit,
    cast(panel as {{ dbt.type_string() }})            as panel,
    cast(population_group as {{ dbt.type_string() }}) as population_group,
    cast(level1 as {{ dbt.type_string() }})           as level1,
    cast(level2 as {{ dbt.type_string() }})           as level2,
    cast(sum(case when not return_censored then 1 else 0 end) as {{ dbt.type_bigint() }}) as emigrations,
    cast(sum(case when returned_5y = 1 then 1 else 0 end) as {{ dbt.type_bigint() }})     as returned,
    cast(sum(case when status_at_horizon = 'dead' then 1 else 0 end) as {{ dbt.type_bigint() }}) as dead_at_horizon,
    cast(sum(case when return_censored then 1 else 0 end) as {{ dbt.type_bigint() }})    as censored,
    cast(100.0 * sum(case when returned_5y = 1 then 1 else 0 end)
         / nullif(sum(case when not return_censored then 1 else 0 end), 0) as {{ type_double() }}) as return_share_pct,
    {{ small_cell('sum(case when not return_censored then 1 else 0 end)') }} as small_cell
from cells
group by exhibit, panel, population_group, level1, level2
