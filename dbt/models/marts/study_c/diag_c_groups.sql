{{ config(materialized='table') }}
-- Study C §2.5 group assignment diagnostics, persons in the sample and their emigrations:
--   parent_rule : group under the unknown-parent rule in force (var study_c_unknown_parent_rule)
--                 x group under the other rule; rows where they differ are the persons whose group
--                 depends on the choice (other_group = population_group: unaffected)
--   age_unknown : GX, born abroad to foreign-born parents, age at first immigration unknown
--                 (neither G2 nor G4; counted apart)
--   age_negative: first immigration in the birth year before the birth month (age -1 set to 0)
with pa as (select * from {{ ref('int_person_attributes') }}),
persons as (
    select distinct py.person_id, pa.group5_c, pa.group5_c_other_parent_rule,
           pa.age_at_immigration_negative
    from {{ ref('int_c_person_years') }} as py
    inner join pa on pa.person_id = py.person_id
    where py.population_group = 'all'
),
ev as (
    select person_id, count(*) as n from {{ ref('int_c_events') }}
    where population_group = 'all' group by person_id
),
p as (
    select persons.*, coalesce(ev.n, 0) as emigrations
    from persons left join ev on ev.person_id = persons.person_id
),
cells as (
    select 'parent_rule' as diagnostic, group5_c as population_group,
           group5_c_other_parent_rule as other_group, count(*) as persons, sum(emigrations) as emigrations
    from p group by group5_c, group5_c_other_parent_rule
    union all
    select 'age_unknown', group5_c as population_group, group5_c as other_group, count(*), sum(emigrations)
    from p where group5_c = 'GX' group by group5_c
    union all
    select 'age_negative', group5_c as population_group, group5_c as other_group, count(*), sum(emigrations)
    from p where coalesce(age_at_immigration_negative, false) group by group5_c
)
select
    cast(diagnostic as {{ dbt.type_string() }})        as diagnostic,
    cast(population_group as {{ dbt.type_string() }})  as population_group,
    cast(other_group as {{ dbt.type_string() }})       as other_group,
    cast(population_group <> other_group as boolean)   as depends_on_rule,
    cast(persons as {{ dbt.type_bigint() }})           as persons,
    cast(emigrations as {{ dbt.type_bigint() }})       as emigrations
from cells
