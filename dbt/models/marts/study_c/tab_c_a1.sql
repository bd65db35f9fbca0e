{{ config(materialized='table') }}
-- Study C Table A1 (App.1, §2.5): persons in the sample (distinct persons resident on 1 January
-- aged 18-35 in at least one year 2000-2023) and emigrations 2000-2023 per group, with the
-- descendants (G1+G2), the row sum of G1-G5 (the figures' N, 'G1-G5') and the total of everybody
-- in the sample ('all', which also holds GX: immigrants whose age at immigration is unknown; the
-- study's stated total is of this kind, §8.1).
with py as (select * from {{ ref('int_c_person_years') }}),
ev as (select * from {{ ref('int_c_events') }}),
by_group as (
    select population_group, count(distinct person_id) as persons, count(*) as person_years
    from py group by population_group
    union all
    select 'G1-G5', count(distinct person_id), count(*)
    from py where population_group in ({{ quoted_list(var('study_c_groups')) }})
),
ev_group as (
    select population_group, count(*) as emigrations, count(distinct person_id) as emigrants
    from ev group by population_group
    union all
    select 'G1-G5', count(*), count(distinct person_id)
    from ev where population_group in ({{ quoted_list(var('study_c_groups')) }})
)
select
    cast(b.population_group as {{ dbt.type_string() }})            as population_group,
    cast(b.persons as {{ dbt.type_bigint() }})                     as persons,
    cast(coalesce(e.emigrations, 0) as {{ dbt.type_bigint() }})    as emigrations,
    -- §8.8 events vs persons: one person can emigrate more than once
    cast(coalesce(e.emigrants, 0) as {{ dbt.type_bigint() }})      as emigrants,
    cast(b.person_years as {{ dbt.type_bigint() }})                as person_years,
    cast(100.0 * coalesce(e.emigrations, 0) / nullif(b.persons, 0) as {{ type_double() }})
                                                                   as emigrations_per_100_persons,
    {{ small_cell('coalesce(e.emigrations, 0)', 'b.persons') }}   as small_cell
from by_group as b
left join ev_group as e on e.population_group = b.population_group
