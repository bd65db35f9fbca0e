-- Skeleton of the person-year panel: one row per person and calendar year in which the person was
-- resident on 1 January, or arrived (registered immigration dated in the year) without being
-- resident on 1 January. Years: first .. last delivered register year.
with cov as (select * from {{ ref('int_register_coverage') }}),
jan1 as (
    select person_id, year from {{ ref('stg_population_status') }} where is_resident
),
arrivals as (
    select distinct e.person_id, e.event_year as year
    from {{ ref('stg_migration_events') }} as e
    cross join cov
    where e.direction = 'in'
      and e.event_year between cov.first_register_year and cov.last_register_year
)
select
    coalesce(j.person_id, a.person_id)               as person_id,
    cast(coalesce(j.year, a.year) as {{ dbt.type_int() }}) as year,
    cast(j.person_id is not null as boolean)         as resident_jan1,
    cast(j.person_id is null as boolean)             as arrived_in_year
from jan1 as j
full outer join arrivals as a on a.person_id = j.person_id and a.year = j.year
