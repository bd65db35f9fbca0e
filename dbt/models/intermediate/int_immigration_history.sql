-- One row per person who has immigrated: first immigration (date, year, reason, country,
-- municipality), age at first immigration and the number of registered immigrations.
-- Duration of residence (botid) always counts from the FIRST immigration (study A §3.3, §7;
-- re-immigration does not reset it). The date comes from the register's first-immigration date on
-- persons, which also covers arrivals before the first delivered register year; the observed first
-- immigration event supplies it when the register date is missing. Reason, country and
-- municipality come from the observed event only when that event is the first immigration (for
-- earlier arrivals they are unknown: null).
with imm as (
    select
        e.*,
        row_number() over (partition by e.person_id
                           order by e.event_date asc nulls last, e.event_id asc nulls last) as rn,
        count(*) over (partition by e.person_id) as n_immigrations
    from {{ ref('stg_migration_events') }} as e
    where e.direction = 'in'
),
first_event as (
    select * from imm where rn = 1
),
history as (
    select
        p.person_id,
        p.birth_year,
        p.birth_month,
        coalesce(p.first_immigration_date, f.event_date) as first_immigration_date,
        -- the observed event is the first immigration unless the register dates one earlier
        (f.person_id is not null
         and (p.first_immigration_date is null or f.event_date <= p.first_immigration_date)) as event_is_first,
        f.immigration_reason,
        f.country,
        f.municipality_2013,
        coalesce(f.n_immigrations, 0) as n_observed_immigrations
    from {{ ref('stg_persons') }} as p
    left join first_event as f on f.person_id = p.person_id
    where p.first_immigration_date is not null or f.person_id is not null
)
select
    h.person_id,
    h.first_immigration_date,
    cast({{ date_part_int('year', 'h.first_immigration_date') }} as {{ dbt.type_int() }})  as first_immigration_year,
    cast({{ date_part_int('month', 'h.first_immigration_date') }} as {{ dbt.type_int() }}) as first_immigration_month,
    case when h.event_is_first then h.immigration_reason end as first_immigration_reason,
    case when h.event_is_first then h.country end            as first_immigration_country,
    case when h.event_is_first then h.municipality_2013 end  as first_immigration_municipality_2013,
    -- immigrations before the first delivery are not observed: count the register's first one
    cast(h.n_observed_immigrations + case when h.event_is_first then 0 else 1 end as {{ dbt.type_int() }})
                                                              as n_immigrations,
    -- completed years at the first immigration (birth day unknown: a birthday in the month of the
    -- event counts as reached)
    cast({{ date_part_int('year', 'h.first_immigration_date') }} - h.birth_year
         - case when {{ date_part_int('month', 'h.first_immigration_date') }} < h.birth_month then 1 else 0 end
         as {{ dbt.type_int() }})                             as age_at_first_immigration
from history as h
