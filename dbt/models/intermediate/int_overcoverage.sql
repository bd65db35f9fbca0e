{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='period_start',
          batch_size='year', begin=var('panel_first_batch'), lookback=var('panel_lookback_years'),
          concurrent_batches=false, **engine_incremental_config('year')) }}
-- Suspected over-coverage (narrow: person x year of the panel skeleton). A year is "quiet" when the
-- person is resident on 1 January, aged within [overcoverage_min_age, overcoverage_max_age] on
-- 31 Dec, and has no sign of life in that calendar year. Runs of consecutive quiet years of length
-- >= k (var overcoverage_no_sign_of_life_years) are flagged. Years without activity data yet, and
-- short runs that reach the newest activity year (they may still grow), are provisional.
-- One batch per year, like the panel (a whole-table build needed more than DuckDB's 12 GB at Norway's
-- size). A batch reads the years within k - 1 of its own: a run of >= k quiet years through year t has
-- k consecutive quiet years inside [t - k + 1, t + k - 1], and a shorter run lies wholly inside it, so
-- runs cut at the window's edges give the same flags as whole histories.
{%- set k = var('overcoverage_no_sign_of_life_years') %}
with cov as (select * from {{ ref('int_register_coverage') }}),
sol as (
    select person_id, year from {{ ref('int_signs_of_life') }} where {{ batch_years('year', 1 - k, k - 1) }}
),
base as (
    select py.person_id, py.year,
           cast(py.resident_jan1
                and sol.person_id is null
                and py.year <= cov.last_activity_year
                and py.year - p.birth_year between {{ var('overcoverage_min_age') }}
                                               and {{ var('overcoverage_max_age') }}
                as boolean) as is_quiet,
           cast(py.year > cov.last_activity_year as boolean) as unobserved,
           cov.last_activity_year
    from {{ ref('int_person_years') }} as py
    cross join cov
    inner join {{ ref('int_person_attributes') }} as p on p.person_id = py.person_id
    left join sol on sol.person_id = py.person_id and sol.year = py.year
    where {{ batch_years('py.year', 1 - k, k - 1) }}
),
quiet as (
    select person_id, year, last_activity_year,
           year - row_number() over (partition by person_id order by year asc nulls last) as run_key
    from base
    where is_quiet
),
runs as (
    select person_id, run_key, count(*) as run_length, max(year) as run_end,
           max(last_activity_year) as last_activity_year
    from quiet group by person_id, run_key
),
sol_flag as (
    select person_id, year, true as has_sign_of_life from {{ ref('int_signs_of_life') }}
    where {{ batch_years('year') }}
)
select
    b.person_id,
    b.year,
    {{ year_start('b.year') }} as period_start,
    cast(sol_flag.has_sign_of_life as boolean) as has_sign_of_life,
    cast(coalesce(r.run_length >= {{ var('overcoverage_no_sign_of_life_years') }}, false) as boolean)
        as suspected_overcoverage,
    cast(b.unobserved
         or coalesce(r.run_length < {{ var('overcoverage_no_sign_of_life_years') }}
                     and r.run_end = r.last_activity_year, false) as boolean) as overcoverage_provisional
from base as b
left join quiet as q on q.person_id = b.person_id and q.year = b.year
left join runs as r on r.person_id = q.person_id and r.run_key = q.run_key
left join sol_flag
       on sol_flag.person_id = b.person_id and sol_flag.year = b.year
where {{ batch_years('b.year') }}
