-- Study C person-years (§2.3): resident on 1 January t, aged 18-35 on 31 December t, 2000-2023,
-- once per population_group (own group, 'G1+G2', 'all').
with py as (
    select person_id, year, age, sex, group5_c, is_descendant_c, educ_c, origin_group19, period_c, provisional
    from {{ ref('fct_person_year') }}
    where in_study_c
)
select py.*, py.group5_c as population_group from py
union all
select py.*, 'G1+G2' as population_group from py where py.is_descendant_c
union all
select py.*, 'all' as population_group from py
