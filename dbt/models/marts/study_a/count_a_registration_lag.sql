{{ config(materialized='table') }}
-- Beyond study A (its §7 warning): the registration-lag triangle. Per emigration year (registered
-- event date) and country group (0 = all immigrants), the emigrations by immigrants registered
-- after lag_years = year(registration date) - year(event date) (the increment), and those known
-- after 0, 1, 2, ... years (cumulative). A cell exists only when event_year + lag_years has been
-- delivered (<= the newest register year). still_growing marks the cells on that data edge whose
-- lag is below the longest lag observed in the deliveries: later registrations can still arrive.
-- lag = lag_years as text, plus one row 'all' per event year and group (known to date = the sum of
-- the increments): the published exhibit shows increments and that total, so that disclosure
-- control sees every relation (cumulative counts are differences of published cells otherwise).
with cov as (select * from {{ ref('int_register_coverage') }}),
e as (
    select event_year, country_group_a, is_administrative,
           -- the registration date the delivery carries; its register year when it lacks one
           greatest(0, coalesce({{ date_part_int('year', 'registration_date') }}, registration_year) - event_year)
               as lag_years
    from {{ ref('fct_emigration') }}
    where is_immigrant
),
cells as (
    select event_year, country_group_a, lag_years, count(*) as n,
           sum(case when is_administrative then 1 else 0 end) as n_admin
    from e group by event_year, country_group_a, lag_years
    union all
    select event_year, 0, lag_years, count(*), sum(case when is_administrative then 1 else 0 end)
    from e group by event_year, lag_years
),
max_lag as (select max(lag_years) as max_lag_years from e),
series as (
    select * from ({{ dbt.generate_series(60) }}) as gs
),
grid as (
    select y.event_year, y.country_group_a, cast(s.generated_number - 1 as {{ dbt.type_int() }}) as lag_years
    from (select distinct event_year, country_group_a from cells) as y
    cross join series as s
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
),
lagged as (
    select
        f.event_year, f.country_group_a, f.lag_years, f.n, f.n_admin,
        sum(f.n) over (partition by f.event_year, f.country_group_a order by f.lag_years asc nulls last
                       rows between unbounded preceding and current row) as n_known,
        sum(f.n_admin) over (partition by f.event_year, f.country_group_a order by f.lag_years asc nulls last
                       rows between unbounded preceding and current row) as n_admin_known,
        case when f.event_year + f.lag_years = cov.last_register_year and f.lag_years < ml.max_lag_years
             then 1 else 0 end as growing
    from filled as f
    cross join cov
    cross join max_lag as ml
),
with_total as (
    select event_year, country_group_a, lag_years,
           cast(lag_years as {{ dbt.type_string() }}) as lag, n, n_admin, n_known, n_admin_known, growing
    from lagged
    union all
    select event_year, country_group_a, cast(null as {{ dbt.type_int() }}), 'all', sum(n), sum(n_admin), sum(n),
           sum(n_admin), max(growing)
    from lagged group by event_year, country_group_a
)
select
    cast(t.event_year as {{ dbt.type_int() }})                    as event_year,
    cast(t.country_group_a as {{ dbt.type_int() }})               as country_group,
    cast(t.lag_years as {{ dbt.type_int() }})                     as lag_years,
    cast(t.lag as {{ dbt.type_string() }})                        as lag,
    cast(t.n as {{ dbt.type_bigint() }})                          as emigrations_registered,
    cast(t.n_admin as {{ dbt.type_bigint() }})                    as administrative_registered,
    cast(t.n_known as {{ dbt.type_bigint() }})                    as emigrations_known,
    cast(t.n_admin_known as {{ dbt.type_bigint() }})              as administrative_known,
    cast(t.growing = 1 as boolean)                                as still_growing,
    cast(t.event_year > cov.last_final_year as boolean)           as provisional
from with_total as t
cross join cov
