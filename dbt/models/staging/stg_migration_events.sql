-- One row per registered migration event. event_id is unique across deliveries; if a revised
-- delivery repeats an id under another register year, the newest register year wins.
with ranked as (
    select
        e.*,
        row_number() over (
            partition by e.event_id
            order by e.register_year desc nulls last, e.vintage desc nulls last
        ) as rn
    from {{ source('raw', 'migration_events') }} as e
)
select
    cast(r.event_id as {{ dbt.type_string() }})              as event_id,
    cast(r.person_id as {{ dbt.type_string() }})             as person_id,
    cast(r.direction as {{ dbt.type_string() }})             as direction,
    cast(r.event_date as date)                               as event_date,
    cast({{ date_part_int('year', 'r.event_date') }} as {{ dbt.type_int() }})  as event_year,
    cast({{ date_part_int('month', 'r.event_date') }} as {{ dbt.type_int() }}) as event_month,
    cast(r.registration_date as date)                        as registration_date,
    cast(r.register_year as {{ dbt.type_int() }})            as registration_year,
    cast(upper(nullif(trim(r.country), '')) as {{ dbt.type_string() }}) as country,
    cast(r.registration_type as {{ dbt.type_string() }})     as registration_type,
    cast(r.registration_type = 'administrative' as boolean)  as is_administrative,
    cast(r.immigration_reason as {{ dbt.type_string() }})    as immigration_reason,
    cast(nullif(trim(r.municipality), '') as {{ dbt.type_string() }}) as municipality_code,
    cast(coalesce(m.municipality_2013, case when nullif(trim(r.municipality), '') is not null then '9999' end)
         as {{ dbt.type_string() }})                         as municipality_2013,
    cast(r.vintage as date)                                  as vintage
from ranked as r
left join {{ ref('stg_municipality_map') }} as m
    on m.municipality_code = nullif(trim(r.municipality), '')
   and cast({{ date_part_int('year', 'r.event_date') }} as {{ dbt.type_int() }})
       between m.valid_from_year and m.valid_to_year
where r.rn = 1
