{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='period_start',
          batch_size='year', begin=var('panel_first_batch'), lookback=var('panel_lookback_years'),
          concurrent_batches=false, **engine_incremental_config('year')) }}
-- Education (1 Oct t-1) and income (calendar year t-1) per panel person-year: the "t-1"
-- covariates (study B §4.1). Separate step of fct_person_year (see int_person_year_status).
-- One batch per year, like the panel: a query joins one year of each input, so memory stays that of
-- a year (at Norway's size the whole-table join needed more than DuckDB's 12 GB limit).
with ed as (
    select person_id, year, nus_level, enrolled from {{ ref('stg_education') }} where {{ batch_years('year') }}
),
inc as (
    select * from {{ ref('int_income_ranked') }} where {{ batch_years('income_year', -1) }}
)
select
    py.person_id,
    py.year,
    {{ year_start('py.year') }}                   as period_start,
    ed.nus_level,
    ed.enrolled                                   as enrolled_prev_year,
    inc.wage_income, inc.self_employment_income, inc.earned_income, inc.welfare_benefits,
    inc.net_wealth, inc.employed, inc.self_employed, inc.welfare_any,
    inc.income_pct_all, inc.income_pct_20_65
from {{ ref('int_person_years') }} as py
left join ed on ed.person_id = py.person_id and ed.year = py.year
left join inc on inc.person_id = py.person_id and inc.income_year = py.year - 1
where {{ batch_years('py.year') }}
