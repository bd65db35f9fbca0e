{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='period_start',
          batch_size='year', begin=var('panel_first_batch'), lookback=var('panel_lookback_years'),
          concurrent_batches=false, **engine_incremental_config('register_year')) }}
-- Income per person and income year with within-year percentile ranks (study B §4.1 [I]):
--   income_pct_all      : rank of earned income (wages + self-employment) among everybody with an
--                         income record that year (aged 16+, resident some time in the year);
--   income_pct_20_65    : the same among those aged 20-65 (31 Dec age) in the income year.
-- percent_rank() * 100: ties get the lowest rank, 0 = lowest, 100 = highest.
-- The ranks are computed on a narrow projection (window memory) and joined back.
-- One batch per register year (a year's delivery holds its one income year, register_year - 1, so a
-- batch holds whole rank groups): a new register year ranks its own incomes only.
with inc as (select * from {{ ref('stg_income') }} where {{ batch_years('register_year') }}),
narrow as (
    select i.person_id, i.income_year, i.earned_income,
           cast(i.income_year - p.birth_year between 20 and 65 as boolean) as is_20_65
    from inc as i
    left join {{ ref('stg_persons') }} as p on p.person_id = i.person_id
),
ranked as (
    select person_id, income_year,
           100.0 * percent_rank() over (partition by income_year order by earned_income asc nulls first) as pct_all,
           case when is_20_65 then
               100.0 * percent_rank() over (partition by income_year, is_20_65 order by earned_income asc nulls first)
           end as pct_20_65
    from narrow
)
select
    i.person_id, i.income_year, i.register_year,
    {{ year_start('i.register_year') }}           as period_start,
    i.wage_income, i.self_employment_income, i.earned_income, i.welfare_benefits, i.net_wealth,
    i.employed, i.self_employed, i.welfare_any, i.has_activity,
    cast(r.pct_all as {{ type_double() }})   as income_pct_all,
    cast(r.pct_20_65 as {{ type_double() }}) as income_pct_20_65
from inc as i
inner join ranked as r on r.person_id = i.person_id and r.income_year = i.income_year
