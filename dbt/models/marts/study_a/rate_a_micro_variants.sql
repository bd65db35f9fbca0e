{{ config(materialized='table') }}
-- Study A national and centrality series 2000-2013 (Figs 3.11-3.18, 5.1-5.26) for every variant
-- of dim_a_variants: emigrations by immigrants in year t / immigrants resident on 1 January t, x 100,
-- by breakdown. Numerator from fct_a_emigration_dated (classified at the event or on 1 Jan, var
-- study_a_numerator_classification), denominator on 1 January (int_a_stock; the backdated
-- variant drops the stocks back-dating removes). `selected` = the settings' variant
-- (var study_a_admin_emigration_dating x var study_a_micro_multi_migrants).
{% set bds = [
    ['total', []],
    ['sex', ['sex']],
    ['age_group', ['age_group']],
    ['botid_group', ['botid_group_a3b']],
    ['country_group', ['country_group_a']],
    ['centrality', ['centrality']],
    ['centrality_x_botid', ['centrality', 'botid_group_a3b']],
    ['centrality_x_country_group', ['centrality', 'country_group_a']],
    ['centrality_x_sex', ['centrality', 'sex']],
    ['centrality_x_age_group', ['centrality', 'age_group']],
] %}
with cov as (select * from {{ ref('int_register_coverage') }}),
v as (select * from {{ ref('dim_a_variants') }}),
ev as (
    select e.year, e.sex, e.country_group_a, e.botid_group_a3b, e.centrality,
           {{ age_group_a('e.age_a') }} as age_group, v.variant,
           count(*) as emigration, 0 as resident
    from {{ ref('fct_a_emigration_dated') }} as e
    inner join v on v.dating = e.dating and (v.multi_migrants = 'included' or not e.multi_migrant)
    where e.year >= {{ var('study_a_micro_first_year') }}
    group by e.year, e.sex, e.country_group_a, e.botid_group_a3b, e.centrality, {{ age_group_a('e.age_a') }}, v.variant
),
st0 as (
    select year, sex, country_group_a, botid_group_a3b, centrality,
           {{ age_group_a('age_a') }} as age_group,
           count(*) as n_registered,
           sum(case when removed_by_backdating then 0 else 1 end) as n_backdated
    from {{ ref('int_a_stock') }}
    where year >= {{ var('study_a_micro_first_year') }}
    group by year, sex, country_group_a, botid_group_a3b, centrality, {{ age_group_a('age_a') }}
),
st as (
    select s.year, s.sex, s.country_group_a, s.botid_group_a3b, s.centrality, s.age_group, v.variant,
           0 as emigration,
           case when v.dating = 'backdated' then s.n_backdated else s.n_registered end as resident
    from st0 as s cross join v
),
unioned as (
    select * from ev
    union all
    select * from st
),
cells as (
    {{ cells_union('unioned', bds, ['variant', 'year'],
                   'sum(emigration) as emigrations, sum(resident) as population_jan1') }}
)
select
    c.breakdown, c.dim1, c.level1, c.dim2, c.level2,
    cast(c.year as {{ dbt.type_int() }})                   as year,
    {{ variant_columns('v', 'micro') }},
    cast(c.emigrations as {{ dbt.type_bigint() }})         as emigrations,
    cast(c.population_jan1 as {{ dbt.type_bigint() }})     as population_jan1,
    cast(100.0 * c.emigrations / nullif(c.population_jan1, 0) as {{ type_double() }}) as rate_per_100,
    {{ small_cell('c.emigrations', 'c.population_jan1') }} as small_cell,
    cast(c.year > cov.last_final_year as boolean)          as provisional,
    cast(c.year <= {{ var('study_a_last_year') }} as boolean) as in_study_window
from cells as c
inner join v on v.variant = c.variant
cross join cov
