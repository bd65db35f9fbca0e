{{ config(materialized='table') }}
-- Study A Figs 5.27-5.47 for every variant of dim_a_variants: per county (2013 borders) and five-year
-- period (var study_a_county_periods), annual averages: the pooled rate sum(E) / sum(1 Jan stocks)
-- x 100 and the mean of the annual rates (rate_per_100 follows var study_a_period_average, §3.1),
-- plus the mean 1 January stock and its share of the county's immigrants (composition, Figs
-- 5.27-5.30: population_jan1_sum / county_population_jan1_sum). county_code '00' = national total.
-- Residents with unknown municipality are excluded (§3.6). `selected` = the settings' variant
-- (var study_a_admin_emigration_dating x var study_a_micro_multi_migrants).
{% set bds = [
    ['total', []],
    ['botid_group', ['botid_group_a3b']],
    ['country_group', ['country_group_a']],
    ['sex', ['sex']],
    ['age_group', ['age_group']],
] %}
with cov as (select * from {{ ref('int_register_coverage') }}),
v as (select * from {{ ref('dim_a_variants') }}),
ev as (
    select e.year, {{ period_a_county('e.year') }} as period, e.county_code, e.sex, e.country_group_a,
           e.botid_group_a3b, {{ age_group_a('e.age_a') }} as age_group, v.variant,
           count(*) as emigration, 0 as resident
    from {{ ref('fct_a_emigration_dated') }} as e
    inner join v on v.dating = e.dating and (v.multi_migrants = 'included' or not e.multi_migrant)
    where e.county_code is not null
    group by e.year, e.county_code, e.sex, e.country_group_a, e.botid_group_a3b, {{ age_group_a('e.age_a') }}, v.variant
),
st0 as (
    select year, {{ period_a_county('year') }} as period, county_code, sex, country_group_a,
           botid_group_a3b, {{ age_group_a('age_a') }} as age_group,
           count(*) as n_registered,
           sum(case when removed_by_backdating then 0 else 1 end) as n_backdated
    from {{ ref('int_a_stock') }}
    where county_code is not null
    group by year, county_code, sex, country_group_a, botid_group_a3b, {{ age_group_a('age_a') }}
),
st as (
    select s.year, s.period, s.county_code, s.sex, s.country_group_a, s.botid_group_a3b, s.age_group,
           v.variant, 0 as emigration,
           case when v.dating = 'backdated' then s.n_backdated else s.n_registered end as resident
    from st0 as s cross join v
),
u as (
    select * from ev where period is not null
    union all
    select * from st where period is not null
),
u2 as (
    select * from u
    union all
    select year, period, '00' as county_code, sex, country_group_a, botid_group_a3b, age_group, variant,
           emigration, resident
    from u
),
annual as (
    {{ cells_union('u2', bds, ['variant', 'period', 'county_code', 'year'],
                   'sum(emigration) as emigrations, sum(resident) as population_jan1') }}
),
county_total as (
    -- every year of the period, also those in which a cell of the breakdown is empty
    select variant, period, county_code, sum(population_jan1) as county_population_jan1_sum
    from annual where breakdown = 'total'
    group by variant, period, county_code
),
agg as (
    select
        a.breakdown, a.dim1, a.level1, a.variant, a.period, a.county_code,
        count(distinct a.year)                                   as n_years,
        sum(a.emigrations)                                       as emigrations,
        sum(a.population_jan1)                                   as population_jan1_sum,
        avg(100.0 * a.emigrations / nullif(a.population_jan1, 0)) as rate_mean_of_years_per_100,
        max(case when a.year > cov.last_final_year then 1 else 0 end) as any_provisional
    from annual as a
    cross join cov
    group by a.breakdown, a.dim1, a.level1, a.variant, a.period, a.county_code
),
-- one row per level, period and county (a county without immigrants of an age group in a period gets a zero
-- row): the county total beside each level and the national margin '00' then add up over the counties for every
-- level, as the disclosure gate's margins assume (a missing row would read as a zero county total)
levels as (select distinct breakdown, dim1, level1, variant from agg),
places as (select distinct variant, period, county_code from agg),
grid as (
    select l.breakdown, l.dim1, l.level1, l.variant, p.period, p.county_code
    from levels as l
    inner join places as p on p.variant = l.variant
),
period_provisional as (
    select variant, period, max(any_provisional) as any_provisional from agg group by variant, period
),
dense as (
    select g.breakdown, g.dim1, g.level1, g.variant, g.period, g.county_code,
           coalesce(a.n_years, 0)                                as n_years,
           coalesce(a.emigrations, 0)                            as emigrations,
           coalesce(a.population_jan1_sum, 0)                    as population_jan1_sum,
           a.rate_mean_of_years_per_100,
           pp.any_provisional
    from grid as g
    left join agg as a
           on a.breakdown = g.breakdown and a.variant = g.variant and a.period = g.period
          and a.county_code = g.county_code
          and coalesce(a.dim1, '') = coalesce(g.dim1, '') and coalesce(a.level1, '') = coalesce(g.level1, '')
    inner join period_provisional as pp on pp.variant = g.variant and pp.period = g.period
),
counties as (select distinct county_code, county_name from {{ ref('municipalities_2013') }})
select
    a.breakdown, a.dim1, a.level1,
    cast(a.period as {{ dbt.type_string() }})                     as period,
    cast(a.county_code as {{ dbt.type_string() }})                as county_code,
    cast(m.county_name as {{ dbt.type_string() }})                as county_name,
    {{ variant_columns('v', 'micro') }},
    cast(a.n_years as {{ dbt.type_int() }})                       as n_years,
    cast(a.emigrations as {{ dbt.type_bigint() }})                as emigrations,
    cast(a.population_jan1_sum as {{ dbt.type_bigint() }})        as population_jan1_sum,
    cast(ct.county_population_jan1_sum as {{ dbt.type_bigint() }}) as county_population_jan1_sum,
    cast(1.0 * a.population_jan1_sum / nullif(a.n_years, 0) as {{ type_double() }}) as population_jan1_mean,
    cast(100.0 * a.emigrations / nullif(a.population_jan1_sum, 0) as {{ type_double() }}) as rate_pooled_per_100,
    cast(a.rate_mean_of_years_per_100 as {{ type_double() }})     as rate_mean_of_years_per_100,
    cast({% if var('study_a_period_average') == 'mean_of_rates' %} a.rate_mean_of_years_per_100
         {% else %} 100.0 * a.emigrations / nullif(a.population_jan1_sum, 0) {% endif %}
         as {{ type_double() }})                                  as rate_per_100,
    cast(100.0 * a.population_jan1_sum / nullif(ct.county_population_jan1_sum, 0) as {{ type_double() }})
                                                                  as composition_share_pct,
    {{ small_cell('a.emigrations', 'a.population_jan1_sum') }}    as small_cell,
    cast(a.any_provisional = 1 as boolean)                        as provisional
from dense as a
inner join v on v.variant = a.variant
left join county_total as ct on ct.variant = a.variant and ct.period = a.period and ct.county_code = a.county_code
left join counties as m
       on m.county_code = a.county_code
