{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='period_start',
          batch_size='year', begin=var('panel_first_batch'), lookback=var('panel_lookback_years'),
          concurrent_batches=false, **engine_incremental_config('year')) }}
-- Panel skeleton + the 1 January status of year t (= 31 Dec t-1) + residence on 31 Dec t.
-- A separate step of fct_person_year so that no query joins more than two panel-sized tables
-- (memory: at full scale each is ~10^8 rows). One batch per year, like the panel: a new register
-- year rebuilds the years its lookback reaches (resident_dec31 of the year before it changes).
with cov as (select * from {{ ref('int_register_coverage') }}),
py as (select * from {{ ref('int_person_years') }} where {{ batch_years('year') }}),
st as (select * from {{ ref('stg_population_status') }} where {{ batch_years('year') }}),
nxt as (
    select person_id, year - 1 as year from {{ ref('stg_population_status') }}
    where is_resident and {{ batch_years('year', 1) }}
)
select
    py.person_id,
    py.year,
    {{ year_start('py.year') }}                                      as period_start,
    py.resident_jan1,
    py.arrived_in_year,
    cast(case when py.year >= cov.last_register_year then null
              else nxt.person_id is not null end as boolean)        as resident_dec31,
    s.municipality_2013,
    s.citizenship,
    s.marital_status,
    cast(s.spouse_id is not null as boolean)                          as spouse_in_norway,
    s.n_children_in_household
from py
cross join cov
left join st as s on s.person_id = py.person_id and s.year = py.year
left join nxt on nxt.person_id = py.person_id and nxt.year = py.year
