{{ config(materialized='table') }}
-- Study A Figs 3.1-3.6 (flows) and 3.10 (rate): immigrations and emigrations per year for the whole
-- population, non-immigrants, immigrants and immigrants by country group, with the 1 January stock
-- and the rate. Multi-migrants (immigration and emigration in the same calendar year) per var
-- study_a_macro_multi_migrants; their counts are kept beside. Emigration year per
-- var study_a_admin_emigration_dating is applied only to the immigrant populations via
-- int_study_a_events; the 'all'/'non_immigrants' rows use the registered year.
with cov as (select * from {{ ref('int_register_coverage') }}),
pa as (select person_id, is_immigrant, country_group_a from {{ ref('int_person_attributes') }}),
mig as (
    select e.person_id, e.direction, e.event_year as year, pa.is_immigrant, pa.country_group_a
    from {{ ref('stg_migration_events') }} as e
    join pa on pa.person_id = e.person_id
),
mm as (
    -- person-years with both directions (study A §2.4)
    select person_id, year from mig group by person_id, year
    having sum(case when direction = 'in' then 1 else 0 end) > 0
       and sum(case when direction = 'out' then 1 else 0 end) > 0
),
flagged as (
    select m.*, cast(mm.person_id is not null as boolean) as multi_migrant
    from mig as m left join mm on mm.person_id = m.person_id and mm.year = m.year
),
pops as (
    select 'all' as population union all select 'non_immigrants' union all select 'immigrants'
    union all select 'group_1' union all select 'group_2' union all select 'group_3'
),
flows as (
    select f.year, p.population,
           sum(case when f.direction = 'in' {% if var('study_a_macro_multi_migrants') == 'exclude' %} and not f.multi_migrant{% endif %} then 1 else 0 end) as immigrations,
           sum(case when f.direction = 'out' {% if var('study_a_macro_multi_migrants') == 'exclude' %} and not f.multi_migrant{% endif %} then 1 else 0 end) as emigrations,
           sum(case when f.multi_migrant and f.direction = 'out' then 1 else 0 end) as multi_migrant_emigrations
    from flagged as f
    join pops as p on p.population = 'all'
        or (p.population = 'non_immigrants' and not f.is_immigrant)
        or (p.population = 'immigrants' and f.is_immigrant)
        or (p.population = {{ dbt.concat(["'group_'", "cast(f.country_group_a as " ~ dbt.type_string() ~ ")"]) }} and f.is_immigrant)
    group by f.year, p.population
),
stock as (
    select py.year, p.population, count(*) as population_jan1
    from {{ ref('fct_person_year') }} as py
    join pops as p on p.population = 'all'
        or (p.population = 'non_immigrants' and not py.is_immigrant)
        or (p.population = 'immigrants' and py.is_immigrant)
        or (p.population = {{ dbt.concat(["'group_'", "cast(py.country_group_a as " ~ dbt.type_string() ~ ")"]) }} and py.is_immigrant)
    where py.resident_jan1
    group by py.year, p.population
)
select
    cast(s.year as {{ dbt.type_int() }})                       as year,
    cast(s.population as {{ dbt.type_string() }})              as population,
    cast(coalesce(f.immigrations, 0) as {{ dbt.type_bigint() }}) as immigrations,
    cast(coalesce(f.emigrations, 0) as {{ dbt.type_bigint() }})  as emigrations,
    cast(coalesce(f.multi_migrant_emigrations, 0) as {{ dbt.type_bigint() }}) as multi_migrant_emigrations,
    cast(s.population_jan1 as {{ dbt.type_bigint() }})         as population_jan1,
    cast(100.0 * coalesce(f.emigrations, 0) / nullif(s.population_jan1, 0) as {{ type_double() }}) as rate_per_100,
    cast(s.year > cov.last_final_year as boolean)              as provisional,
    cast(s.year between {{ var('study_a_first_year') }} and {{ var('study_a_last_year') }} as boolean) as in_study_window
from stock as s
cross join cov
left join flows as f on f.year = s.year and f.population = s.population
