-- Study C person-years (§2.3): resident on 1 January t, aged 18-35 on 31 December t, 2000-2023,
-- once per population_group (own group G1..G5 or GX, 'G1+G2', 'all'). educ_missing: no
-- registered education at the start of t (§8.5; educ_c folds it into 'low').
with py as (
    select person_id, year, age, sex, group5_c, is_descendant_c, educ_c,
           cast(nus_level is null as boolean) as educ_missing,
           origin_group19, period_c, provisional
    from {{ ref('fct_person_year') }}
    where in_study_c
)
select py.*, py.group5_c as population_group from py
union all
select py.*, 'G1+G2' as population_group from py where py.is_descendant_c
union all
select py.*, 'all' as population_group from py
