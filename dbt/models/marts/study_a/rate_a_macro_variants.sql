{{ config(materialized='table') }}
-- Study A chapter 4 input series (Table 4.1) and Figs 3.10/4.2 for every variant of dim_a_variants:
-- per year, country group j, sex and age group i (Table A2): EMI = emigrations / 1 Jan stock as a
-- FRACTION (and per 100), the 1 Jan shares with short (0-2, ANKO) and medium (3-9, ANME) botid,
-- and BEH_j = immigrants of group j on 1 Jan (all ages and sexes). Multi-migrants 'excluded' drops
-- all their emigrations of that year (stock unchanged, §2.4). Rows with sex = 0 / age_group = 'all'
-- are totals, country_group 0 = all immigrants. `selected` = the settings' variant
-- (var study_a_admin_emigration_dating x var study_a_macro_multi_migrants).
with cov as (select * from {{ ref('int_register_coverage') }}),
v as (select * from {{ ref('dim_a_variants') }}),
ev as (
    select e.year, e.country_group_a, e.sex, {{ age_group_a('e.age_a') }} as age_group, v.variant,
           count(*) as emigrations
    from {{ ref('fct_a_emigration_dated') }} as e
    inner join v on v.dating = e.dating and (v.multi_migrants = 'included' or not e.multi_migrant)
    group by e.year, e.country_group_a, e.sex, {{ age_group_a('e.age_a') }}, v.variant
),
st0 as (
    select year, country_group_a, sex, {{ age_group_a('age_a') }} as age_group, removed_by_backdating,
           count(*) as population_jan1,
           sum(case when botid_group_a3a = {{ band_label('botid_group_a3a', 0) }} then 1 else 0 end) as n_botid_short,
           sum(case when botid_group_a3a = {{ band_label('botid_group_a3a', 1) }} then 1 else 0 end) as n_botid_medium
    from {{ ref('int_a_stock') }}
    group by year, country_group_a, sex, {{ age_group_a('age_a') }}, removed_by_backdating
),
st as (
    select s.year, s.country_group_a, s.sex, s.age_group, v.variant,
           sum(s.population_jan1) as population_jan1,
           sum(s.n_botid_short) as n_botid_short,
           sum(s.n_botid_medium) as n_botid_medium
    from st0 as s
    inner join v on v.dating <> 'backdated' or not s.removed_by_backdating
    group by s.year, s.country_group_a, s.sex, s.age_group, v.variant
),
cells as (
    select coalesce(s.year, e.year) as year,
           coalesce(s.variant, e.variant) as variant,
           coalesce(s.country_group_a, e.country_group_a) as country_group_a,
           coalesce(s.sex, e.sex) as sex,
           coalesce(s.age_group, e.age_group) as age_group,
           coalesce(e.emigrations, 0) as emigrations,
           coalesce(s.population_jan1, 0) as population_jan1,
           coalesce(s.n_botid_short, 0) as n_botid_short,
           coalesce(s.n_botid_medium, 0) as n_botid_medium
    from st as s
    full outer join ev as e
      on e.year = s.year and e.variant = s.variant and e.country_group_a = s.country_group_a
     and e.sex = s.sex and e.age_group = s.age_group
),
with_totals as (
    select year, variant, country_group_a, sex, age_group, emigrations, population_jan1, n_botid_short, n_botid_medium
    from cells
    union all
    select year, variant, country_group_a, 0, 'all', sum(emigrations), sum(population_jan1), sum(n_botid_short),
           sum(n_botid_medium)
    from cells group by year, variant, country_group_a
    union all
    select year, variant, 0, 0, 'all', sum(emigrations), sum(population_jan1), sum(n_botid_short), sum(n_botid_medium)
    from cells group by year, variant
),
beh as (
    select year, variant, country_group_a, sum(population_jan1) as beh
    from cells group by year, variant, country_group_a
)
select
    cast(t.year as {{ dbt.type_int() }})                    as year,
    cast(t.country_group_a as {{ dbt.type_int() }})         as country_group,
    cast(t.sex as {{ dbt.type_int() }})                     as sex,
    cast(t.age_group as {{ dbt.type_string() }})            as age_group,
    {{ variant_columns('v', 'macro') }},
    cast(t.emigrations as {{ dbt.type_bigint() }})          as emigrations,
    cast(t.population_jan1 as {{ dbt.type_bigint() }})      as population_jan1,
    -- the counts behind ANKO and ANME: the disclosure gate's R9 check and pooling of the SUR inputs read them
    cast(t.n_botid_short as {{ dbt.type_bigint() }})        as n_botid_short,
    cast(t.n_botid_medium as {{ dbt.type_bigint() }})       as n_botid_medium,
    cast(1.0 * t.emigrations / nullif(t.population_jan1, 0) as {{ type_double() }})   as emi,
    cast(100.0 * t.emigrations / nullif(t.population_jan1, 0) as {{ type_double() }}) as rate_per_100,
    cast(1.0 * t.n_botid_short / nullif(t.population_jan1, 0) as {{ type_double() }}) as anko,
    cast(1.0 * t.n_botid_medium / nullif(t.population_jan1, 0) as {{ type_double() }}) as anme,
    cast(b.beh as {{ dbt.type_bigint() }})                  as beh,
    -- the year's macro series (seed macro_series; blank cells stay null: lags are built by the model)
    cast(m.lednor as {{ type_double() }})                   as lednor,
    cast(m.led1 as {{ type_double() }})                     as led1,
    cast(m.led2 as {{ type_double() }})                     as led2,
    cast(m.relinnt1 as {{ type_double() }})                 as relinnt1,
    cast(m.relinnt2 as {{ type_double() }})                 as relinnt2,
    cast(m.relinnt3 as {{ type_double() }})                 as relinnt3,
    {{ small_cell('t.emigrations', 't.population_jan1') }}  as small_cell,
    cast(t.year > cov.last_final_year as boolean)           as provisional,
    cast(t.year between {{ var('study_a_first_year') }} and {{ var('study_a_last_year') }} as boolean)
                                                            as in_study_window
from with_totals as t
inner join v on v.variant = t.variant
cross join cov
left join beh as b on b.year = t.year and b.variant = t.variant and b.country_group_a = t.country_group_a
left join {{ ref('macro_series') }} as m on m.year = t.year
