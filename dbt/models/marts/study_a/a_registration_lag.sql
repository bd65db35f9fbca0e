{{ config(materialized='table') }}
-- Beyond study A (its §7 warning): the registration-lag triangle. Per emigration year (registered
-- event date) and country group (0 = all immigrants), the emigrations by immigrants registered
-- after lag_years = year(registration date) - year(event date) (the increment), and those known
-- after 0, 1, 2, ... years (cumulative). A cell exists only when event_year + lag_years has been
-- delivered (<= the newest register year). still_growing marks the cells on that data edge whose
-- lag is below the longest lag observed in the deliveries: later registrations can still arrive.
with cov as (select * from {{ ref('int_register_coverage') }}),
e as (
    select event_year, country_group_a, is_administrative,
           -- the registration date the delivery carries; its register year when it lacks one
           greatest(0, coalesce({{ date_part_int('year', 'registration_date') }}, registration_year) - event_year) as lag_years
    from {{ ref('fct_emigration') }}
    where is_immigrant
),
cells as (
    select event_year, country_group_a, lag_years, count(*) as n, sum(case when is_administrative then 1 else 0 end) as n_admin
    from e group by event_year, country_group_a, lag_years
    union all
    select event_year, 0, lag_years, count(*), sum(case when is_administrative then 1 else 0 end)
    from e group by event_year, lag_years
),
max_lag as (select max(lag_years) as max_lag_years from e),
grid as (
    select y.event_year, y.country_group_a, cast(s.generated_number - 1 as {{ dbt.type_int() }}) as lag_years
    from (select distinct event_year, country_group_a from cells) as y
    cross join ({{ dbt.generate_series(60) }}) as s
    cross join cov
    cross join max_lag as ml
    where s.generated_number - 1 <= ml.max_lag_years
      and y.event_year + s.generated_number - 1 <= cov.last_register_year
),
filled as (
    select g.event_year, g.country_group_a, g.lag_years,
           coalesce(c.n, 0) as n, coalesce(c.n_admin, 0) as n_admin
    from grid as g
    left join cells as c
           on c.event_year = g.event_year and c.country_group_a = g.country_group_a and c.lag_years = g.lag_years
)
select
    cast(f.event_year as {{ dbt.type_int() }})                     as event_year,
    cast(f.country_group_a as {{ dbt.type_int() }})                as country_group,
    cast(f.lag_years as {{ dbt.type_int() }})                      as lag_years,
    cast(f.n as {{ dbt.type_bigint() }})                           as emigrations_registered,
    cast(f.n_admin as {{ dbt.type_bigint() }})                     as administrative_registered,
    cast(sum(f.n) over (partition by f.event_year, f.country_group_a order by f.lag_years
                        rows between unbounded preceding and current row) as {{ dbt.type_bigint() }}) as emigrations_known,
    cast(sum(f.n_admin) over (partition by f.event_year, f.country_group_a order by f.lag_years
                        rows between unbounded preceding and current row) as {{ dbt.type_bigint() }}) as administrative_known,
    cast(f.event_year + f.lag_years = cov.last_register_year and f.lag_years < ml.max_lag_years as boolean) as still_growing,
    cast(f.event_year > cov.last_final_year as boolean)           as provisional
from filled as f
cross join cov
cross join max_lag as ml
