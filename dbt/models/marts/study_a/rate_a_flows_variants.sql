{{ config(materialized='table') }}
-- Study A Figs 3.1-3.6 (flows) and 3.10 (rate) for every variant of dim_a_variants: immigrations and
-- emigrations per year for the whole population, non-immigrants, immigrants and immigrants by
-- country group, with the 1 January stock and the rate. The dating variant applies to every
-- population's emigrations (so that 'all' = immigrants + non-immigrants): 'backdated' moves an
-- administrative emigration to fct_emigration.backdated_year and drops the person from the
-- 1 January stocks in between (fct_a_backdated_absence); 'excluded' drops administrative emigrations.
-- multi_migrants 'excluded' drops every migration event of a person-year with both directions
-- (registered years, §2.4). `selected` = the variant of the study's own exhibits (settings).
with cov as (select * from {{ ref('int_register_coverage') }}),
v as (select * from {{ ref('dim_a_variants') }}),
pa as (select person_id, is_immigrant, country_group_a from {{ ref('int_person_attributes') }}),
mig as (
    select e.person_id, e.direction, e.event_year, pa.is_immigrant, pa.country_group_a,
           cast(coalesce(fe.is_administrative, false) as boolean) as is_administrative,
           coalesce(fe.backdated_year, e.event_year) as backdated_year
    from {{ ref('stg_migration_events') }} as e
    inner join pa on pa.person_id = e.person_id
    left join {{ ref('fct_emigration') }} as fe on fe.event_id = e.event_id
),
mm as (
    -- person-years with both directions (study A §2.4)
    select person_id, event_year from mig group by person_id, event_year
    having sum(case when direction = 'in' then 1 else 0 end) > 0
       and sum(case when direction = 'out' then 1 else 0 end) > 0
),
flagged as (
    select m.*, cast(mm.person_id is not null as boolean) as multi_migrant
    from mig as m left join mm on mm.person_id = m.person_id and mm.event_year = m.event_year
),
pops as (
    select 'all' as population
    union all
    select 'non_immigrants'
    union all
    select 'immigrants'
    union all
    select 'group_1'
    union all
    select 'group_2'
    union all
    select 'group_3'
),
dated as (
    select v.dating, v.multi_migrants, f.direction, f.is_immigrant, f.country_group_a, f.multi_migrant,
           f.is_administrative,
           case when v.dating = 'backdated' and f.direction = 'out' then f.backdated_year
                else f.event_year end as year
    from flagged as f
    cross join v
    where not (v.dating = 'excluded' and f.direction = 'out' and f.is_administrative)
),
flows as (
    select f.year, p.population, f.dating, f.multi_migrants,
           sum(case when f.direction = 'in' and (f.multi_migrants = 'included' or not f.multi_migrant)
                    then 1 else 0 end) as immigrations,
           sum(case when f.direction = 'out' and (f.multi_migrants = 'included' or not f.multi_migrant)
                    then 1 else 0 end) as emigrations,
           sum(case when f.multi_migrant and f.direction = 'out' then 1 else 0 end) as multi_migrant_emigrations,
           sum(case when f.is_administrative and f.direction = 'out'
                     and (f.multi_migrants = 'included' or not f.multi_migrant) then 1 else 0 end)
               as administrative_emigrations
    from dated as f
    inner join pops as p on p.population = 'all'
        or (p.population = 'non_immigrants' and not f.is_immigrant)
        or (p.population = 'immigrants' and f.is_immigrant)
        or (p.population = {{ dbt.concat(["'group_'", "cast(f.country_group_a as " ~ dbt.type_string() ~ ")"]) }}
            and f.is_immigrant)
    group by f.year, p.population, f.dating, f.multi_migrants
),
stock0 as (
    select py.year, p.population, count(*) as n_registered,
           sum(case when ab.person_id is null then 1 else 0 end) as n_backdated
    from {{ ref('fct_person_year') }} as py
    left join {{ ref('fct_a_backdated_absence') }} as ab on ab.person_id = py.person_id and ab.year = py.year
    inner join pops as p on p.population = 'all'
        or (p.population = 'non_immigrants' and not py.is_immigrant)
        or (p.population = 'immigrants' and py.is_immigrant)
        or (p.population = {{ dbt.concat(["'group_'", "cast(py.country_group_a as " ~ dbt.type_string() ~ ")"]) }}
            and py.is_immigrant)
    where py.resident_jan1
    group by py.year, p.population
),
stock as (
    select s.year, s.population, v.dating, v.multi_migrants, v.variant, v.dating_order, v.mm_order,
           v.selected_dating, v.selected_mm_macro,
           case when v.dating = 'backdated' then s.n_backdated else s.n_registered end as population_jan1
    from stock0 as s cross join v
)
select
    cast(s.year as {{ dbt.type_int() }})                       as year,
    cast(s.population as {{ dbt.type_string() }})              as population,
    -- the flow the emigration counts and the rate belong to (count_a_flows_long has both flows): exhibits
    -- of both marts then name the same cells for disclosure control
    cast('emigrations' as {{ dbt.type_string() }})             as flow,
    {{ variant_columns('s', 'macro') }},
    cast(coalesce(f.immigrations, 0) as {{ dbt.type_bigint() }}) as immigrations,
    cast(coalesce(f.emigrations, 0) as {{ dbt.type_bigint() }})  as emigrations,
    cast(coalesce(f.multi_migrant_emigrations, 0) as {{ dbt.type_bigint() }}) as multi_migrant_emigrations,
    cast(coalesce(f.administrative_emigrations, 0) as {{ dbt.type_bigint() }}) as administrative_emigrations,
    cast(s.population_jan1 as {{ dbt.type_bigint() }})         as population_jan1,
    cast(100.0 * coalesce(f.emigrations, 0) / nullif(s.population_jan1, 0) as {{ type_double() }}) as rate_per_100,
    cast(s.year > cov.last_final_year as boolean)              as provisional,
    cast(s.year between {{ var('study_a_first_year') }} and {{ var('study_a_last_year') }} as boolean)
                                                               as in_study_window
from stock as s
cross join cov
left join flows as f
       on f.year = s.year and f.population = s.population
      and f.dating = s.dating and f.multi_migrants = s.multi_migrants
