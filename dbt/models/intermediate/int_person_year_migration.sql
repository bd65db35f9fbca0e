{{ config(event_time='period_start') }}
-- The migration side of each panel person-year: the year's emigrations (the first one's type and
-- destination), its immigrations, immigrations registered up to the year, and (per person) the
-- direction of the last move before death. A separate step of fct_person_year: these read every
-- migration event of a person, whatever the year, so inside the panel's yearly batches they were
-- computed again for every batch (a window over all events per batch); here they are computed once
-- and the batches only filter this table by period_start.
-- Only person-years of persons with at least one migration event have a row (the panel left-joins).
with ev as (select * from {{ ref('stg_migration_events') }}),
p as (select person_id, death_date from {{ ref('int_person_attributes') }}),
py as (
    select s.person_id, s.year, s.period_start
    from {{ ref('int_person_year_status') }} as s
    where s.person_id in (select e.person_id from ev as e)
),
ranked_emigrations as (
    select
        e.*,
        row_number() over (partition by e.person_id, e.event_year
                           order by e.event_date asc nulls last, e.event_id asc nulls last) as emigration_rank
    from {{ ref('int_emigrations') }} as e
),
em_year as (
    select
        person_id, event_year as year,
        count(*) as n_emigrations,
        sum(case when is_administrative then 1 else 0 end) as n_administrative,
        -- first emigration of the year carries type and destination
        min(case when emigration_rank = 1 then registration_type end) as emigration_type,
        min(case when emigration_rank = 1 then dest_class_b end)      as dest_class_b,
        min(case when emigration_rank = 1 then dest_cat7 end)         as dest_cat7,
        min(case when emigration_rank = 1 then destination_country end) as destination_country,
        min(case when emigration_rank = 1 then event_id end)          as first_event_id
    from ranked_emigrations
    group by person_id, event_year
),
imm_year as (
    select person_id, event_year as year, count(*) as n_immigrations,
           min(municipality_2013) as arrival_municipality_2013
    from ev
    where direction = 'in'
    group by person_id, event_year
),
imm_to_date as (
    -- immigrations registered up to and including year t: time-varying, so that a year's row never
    -- depends on later deliveries (the panel is rebuilt only from the lookback window on)
    select py.person_id, py.year, count(*) as n_immigrations_to_date
    from py
    inner join ev as e
      on e.person_id = py.person_id and e.direction = 'in' and e.event_year <= py.year
    group by py.person_id, py.year
),
moves_before_death as (
    -- was the person in Norway when they died? (last migration event on or before the death date)
    select
        e.person_id, e.direction,
        row_number() over (partition by e.person_id
                           order by e.event_date desc nulls last, e.event_id desc nulls last) as rn
    from ev as e
    inner join p on p.person_id = e.person_id
    where p.death_date is not null and e.event_date <= p.death_date
),
death_place as (
    select person_id, direction as last_direction_before_death from moves_before_death where rn = 1
)
select
    py.person_id,
    py.year,
    py.period_start,
    cast(em.n_emigrations as {{ dbt.type_int() }})                   as n_emigrations,
    cast(em.n_administrative as {{ dbt.type_int() }})                as n_administrative_emigrations,
    cast(em.emigration_type as {{ dbt.type_string() }})              as emigration_type,
    cast(em.dest_class_b as {{ dbt.type_string() }})                 as dest_class_b,
    cast(em.dest_cat7 as {{ dbt.type_string() }})                    as dest_cat7,
    cast(em.destination_country as {{ dbt.type_string() }})          as destination_country,
    cast(em.first_event_id as {{ dbt.type_string() }})               as emigration_event_id,
    cast(iy.n_immigrations as {{ dbt.type_int() }})                  as n_immigrations,
    cast(iy.arrival_municipality_2013 as {{ dbt.type_string() }})    as arrival_municipality_2013,
    cast(itd.n_immigrations_to_date as {{ dbt.type_int() }})         as n_immigrations_to_date,
    cast(dp.last_direction_before_death as {{ dbt.type_string() }})  as last_direction_before_death
from py
left join em_year as em on em.person_id = py.person_id and em.year = py.year
left join imm_year as iy on iy.person_id = py.person_id and iy.year = py.year
left join imm_to_date as itd on itd.person_id = py.person_id and itd.year = py.year
left join death_place as dp on dp.person_id = py.person_id
