{{ config(materialized='table') }}
-- One row per registered emigration. Event year and registration year; reported or
-- administrative, with the back-dated year of administrative ones; destination classes of study B
-- (return/onward/unknown) and study C (origin match on 53 groups, 7 categories); multi-migrant
-- flag; five-year return status from the status on 1 January t+H (study C §2.8), right-censored
-- (null) when that 1 January is not yet delivered; provisional flag for the newest event years.
with e as (select * from {{ ref('int_emigrations') }}),
cov as (select * from {{ ref('int_register_coverage') }}),
st as (
    select person_id, year, status from {{ ref('stg_population_status') }}
),
status_at_horizon as (
    -- the last 1 January snapshot after the emigration and not after 1 Jan (t + H): a person is in
    -- the snapshot of every year after having been resident in the previous year, so this is the
    -- status on 1 Jan t + H (a person absent since is still emigrated)
    select event_id, status as status_at_horizon from (
        select e.event_id, st.status,
               row_number() over (partition by e.event_id order by st.year desc nulls last) as rn
        from e
        inner join st on st.person_id = e.person_id
               and st.year > e.event_year
               and st.year <= e.event_year + {{ var('study_c_return_horizon_years') }}
    ) as x where rn = 1
),
later_imm as (
    select e.event_id, min(i.event_date) as next_immigration_date
    from e
    inner join {{ ref('stg_migration_events') }} as i
      on i.person_id = e.person_id and i.direction = 'in' and i.event_date >= e.event_date
    group by e.event_id
),
m as (select * from {{ ref('municipalities_2013') }})
select
    e.event_id,
    e.person_id,
    e.event_date,
    e.event_year,
    e.registration_date,
    e.registration_year,
    e.registration_lag_years,
    e.registration_type,
    e.is_administrative,
    e.last_sign_of_life_year,
    e.backdated_year,
    e.emigration_number,
    e.is_first_emigration,
    e.multi_migrant,
    e.returned_same_year,
    e.destination_country,
    e.destination_unknown,
    e.dest_class_b,
    e.dest_group53,
    e.dest_group19,
    e.to_origin_c,
    e.dest_cat7,
    e.dest_type3,
    e.sex,
    e.birth_year,
    e.birth_country,
    e.is_immigrant,
    e.country_group_a,
    e.group5_c,
    e.is_descendant_c,
    e.origin_country_c,
    e.origin_group53,
    e.origin_group19,
    e.origin_b,
    e.in_study_b_population,
    e.first_immigration_year,
    e.immigrated_before_data,
    e.age,
    e.age_at_event,
    cast({{ age_group_a('e.age_at_event') }} as {{ dbt.type_string() }}) as age_group_a,
    e.botid_at_event,
    -- when the first immigration predates the deliveries, botid is at least the years since then
    cast(case when e.botid_at_event is null and e.immigrated_before_data
              then e.event_year - cov.first_register_year + 1 end as {{ dbt.type_int() }})
         as botid_at_event_lower_bound,
    {%- set lower_bound = 'e.event_year - cov.first_register_year + 1' %}
    cast({{ band_with_lower_bound('botid_group_a3a', 'e.botid_at_event', lower_bound, 'e.immigrated_before_data') }}
         as {{ dbt.type_string() }}) as botid_group_a3a,
    cast({{ band_with_lower_bound('botid_group_a3b', 'e.botid_at_event', lower_bound, 'e.immigrated_before_data') }}
         as {{ dbt.type_string() }}) as botid_group_a3b,
    e.duration_years,
    e.resident_jan1,
    e.municipality_2013,
    cast(m.county_code as {{ dbt.type_string() }})        as county_code,
    cast(m.centrality as {{ dbt.type_int() }})            as centrality,
    -- education registered before the emigration (1 Oct of t-1; study C §2.9)
    ed.nus_level                                          as nus_level_before,
    cast({{ educ_c('ed.nus_level') }} as {{ dbt.type_string() }}) as educ_c,
    -- death after the emigration while abroad (no immigration between emigration and death)
    cast(pa.death_date is not null and pa.death_date >= e.event_date
         and (li.next_immigration_date is null or li.next_immigration_date > pa.death_date)
         as boolean)                                      as died_abroad_after_emigration,
    -- five-year return (study C §2.8)
    cast(e.event_year + {{ var('study_c_return_horizon_years') }} > cov.last_register_year as boolean)
                                                          as return_censored,
    cast(case when e.event_year + {{ var('study_c_return_horizon_years') }} <= cov.last_register_year
              then coalesce(sh.status_at_horizon, 'emigrated') end as {{ dbt.type_string() }})
                                                          as status_at_horizon,
    cast(case
            when e.event_year + {{ var('study_c_return_horizon_years') }} > cov.last_register_year then null
            when sh.status_at_horizon = 'resident' then 1
            {% if var('study_c_deaths_count_as_returned') %}
            when sh.status_at_horizon = 'dead' then 1
            {% endif %}
            else 0
         end as {{ dbt.type_int() }})                     as returned_5y,
    cast(e.event_year > cov.last_final_year as boolean)   as provisional
from e
cross join cov
left join status_at_horizon as sh on sh.event_id = e.event_id
left join later_imm as li on li.event_id = e.event_id
left join {{ ref('int_person_attributes') }} as pa on pa.person_id = e.person_id
left join {{ ref('stg_education') }} as ed on ed.person_id = e.person_id and ed.year = e.event_year
left join m on m.municipality_code = e.municipality_2013
