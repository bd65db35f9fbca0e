{{ config(materialized='table') }}
-- Study C five-year return (§2.8, §3.5 estimator 4): 100 * returned / emigrations, emigrations
-- 2000-2019 (var study_c_return_last_emigration_year) whose status at the horizon is known
-- (censored events are excluded and counted beside). Deaths count as returned (var).
-- Both horizon rules side by side (horizon_rule 'jan1' = 1 January t+5, 'exact' = emigration
-- date + 5 years; int_c_events); is_primary_horizon marks var study_c_return_horizon_rule.
--   c_fig_6 : group (L) and group x ORIGIN / OTHER_KNOWN (R)   c_fig_9 : group x education
--   c_fig_10: group x education, ORIGIN (L) / OTHER_KNOWN (R)  c_fig_17: descendants x origin (L), x education (R)
with ev0 as (select * from {{ ref('int_c_events') }} where in_return_window),
ev as (
    select population_group, educ_c, origin_group19, dest_type3, 'jan1' as horizon_rule,
           returned_5y_jan1 as returned_5y, status_jan1 as status_at_horizon
    from ev0
    union all
    select population_group, educ_c, origin_group19, dest_type3, 'exact',
           returned_5y_exact, status_exact
    from ev0
),
cells as (
    select 'c_fig_6' as exhibit, 'L' as panel, horizon_rule, population_group, 'all' as level1, 'all' as level2,
           returned_5y, status_at_horizon
    from ev
    union all
    select 'c_fig_6', 'R', horizon_rule, population_group, dest_type3, 'all', returned_5y, status_at_horizon
    from ev where dest_type3 <> 'UNKNOWN'
    union all
    select 'c_fig_9', 'L', horizon_rule, population_group, educ_c, 'all', returned_5y, status_at_horizon from ev
    union all
    select 'c_fig_10', case when dest_type3 = 'ORIGIN' then 'L' else 'R' end, horizon_rule, population_group, educ_c,
           'all', returned_5y, status_at_horizon
    from ev where dest_type3 <> 'UNKNOWN'
    union all
    select 'c_fig_17', 'L', horizon_rule, population_group, origin_group19, 'all', returned_5y, status_at_horizon
    from ev where population_group = 'G1+G2'
    union all
    select 'c_fig_17', 'R', horizon_rule, population_group, origin_group19, educ_c, returned_5y, status_at_horizon
    from ev where population_group = 'G1+G2'
)
select
    cast(exhibit as {{ dbt.type_string() }})          as exhibit,
    cast(panel as {{ dbt.type_string() }})            as panel,
    cast(horizon_rule as {{ dbt.type_string() }})     as horizon_rule,
    cast(horizon_rule = '{{ var("study_c_return_horizon_rule") }}' as boolean) as is_primary_horizon,
    cast(population_group as {{ dbt.type_string() }}) as population_group,
    cast(level1 as {{ dbt.type_string() }})           as level1,
    cast(level2 as {{ dbt.type_string() }})           as level2,
    cast(sum(case when returned_5y is not null then 1 else 0 end) as {{ dbt.type_bigint() }}) as emigrations,
    cast(sum(case when returned_5y = 1 then 1 else 0 end) as {{ dbt.type_bigint() }})          as returned,
    cast(sum(case when status_at_horizon = 'dead' then 1 else 0 end) as {{ dbt.type_bigint() }}) as dead_at_horizon,
    cast(sum(case when returned_5y is null then 1 else 0 end) as {{ dbt.type_bigint() }})      as censored,
    cast(100.0 * sum(case when returned_5y = 1 then 1 else 0 end)
         / nullif(sum(case when returned_5y is not null then 1 else 0 end), 0) as {{ type_double() }})
                                                      as return_share_pct,
    {{ small_cell('sum(case when returned_5y is not null then 1 else 0 end)') }} as small_cell
from cells
group by exhibit, panel, horizon_rule, population_group, level1, level2
