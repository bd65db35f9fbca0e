{{ config(materialized='table') }}
-- Study A Figs 5.27-5.47: per county (2013 borders) and five-year period (var
-- study_a_county_periods), annual averages: the pooled rate sum(E) / sum(1 Jan stocks) x 100
-- (var study_a_period_average = 'pooled', §3.1) and the mean of the annual rates, plus the mean
-- 1 January stock and its share of the county's immigrants (composition, Figs 5.27-5.30).
-- county_code '00' = national total. Residents with unknown municipality are excluded (§3.6).
{% set bds = [
    ['total', []],
    ['botid_group', ['botid_group_a3b']],
    ['country_group', ['country_group_a']],
    ['sex', ['sex']],
    ['age_group', ['age_group']],
] %}
with cov as (select * from {{ ref('int_register_coverage') }}),
ev as (
    select year, {{ period_a_county('year') }} as period, county_code, sex, country_group_a,
           botid_group_a3b, {{ age_group_a('age_a') }} as age_group, 1 as emigration, 0 as resident
    from {{ ref('int_study_a_events') }}
    where county_code is not null
    {% if var('study_a_micro_multi_migrants') == 'exclude' %} and not multi_migrant {% endif %}
),
st as (
    select year, {{ period_a_county('year') }} as period, county_code, sex, country_group_a,
           botid_group_a3b, {{ age_group_a('age_a') }} as age_group, 0 as emigration, 1 as resident
    from {{ ref('int_study_a_stock') }}
    where county_code is not null
),
u as (
    select * from ev where period is not null
    union all
    select * from st where period is not null
),
u2 as (
    select * from u
    union all
    select year, period, '00' as county_code, sex, country_group_a, botid_group_a3b, age_group, emigration, resident from u
),
annual as (
    {{ cells_union('u2', bds, ['period', 'county_code', 'year'], 'sum(emigration) as emigrations, sum(resident) as population_jan1') }}
),
county_total as (
    select period, county_code, year, population_jan1 as county_population_jan1
    from annual where breakdown = 'total'
)
select
    a.breakdown, a.dim1, a.level1,
    cast(a.period as {{ dbt.type_string() }})                     as period,
    cast(a.county_code as {{ dbt.type_string() }})                as county_code,
    cast(max(m.county_name) as {{ dbt.type_string() }})           as county_name,
    cast(count(distinct a.year) as {{ dbt.type_int() }})          as n_years,
    cast(sum(a.emigrations) as {{ dbt.type_bigint() }})           as emigrations,
    cast(sum(a.population_jan1) as {{ dbt.type_bigint() }})       as population_jan1_sum,
    cast(1.0 * sum(a.population_jan1) / nullif(count(distinct a.year), 0) as {{ type_double() }}) as population_jan1_mean,
    cast(100.0 * sum(a.emigrations) / nullif(sum(a.population_jan1), 0) as {{ type_double() }})   as rate_pooled_per_100,
    cast(avg(100.0 * a.emigrations / nullif(a.population_jan1, 0)) as {{ type_double() }})         as rate_mean_of_years_per_100,
    cast({% if var('study_a_period_average') == 'mean_of_rates' %}
         avg(100.0 * a.emigrations / nullif(a.population_jan1, 0))
         {% else %} 100.0 * sum(a.emigrations) / nullif(sum(a.population_jan1), 0) {% endif %}
         as {{ type_double() }})                                  as rate_per_100,
    cast(100.0 * sum(a.population_jan1) / nullif(sum(ct.county_population_jan1), 0) as {{ type_double() }}) as composition_share_pct,
    {{ small_cell('sum(a.emigrations)', 'sum(a.population_jan1)') }} as small_cell,
    cast(max(case when a.year > cov.last_final_year then 1 else 0 end) = 1 as boolean) as provisional
from annual as a
cross join cov
left join county_total as ct on ct.period = a.period and ct.county_code = a.county_code and ct.year = a.year
left join (select distinct county_code, county_name from {{ ref('municipalities_2013') }}) as m
       on m.county_code = a.county_code
group by a.breakdown, a.dim1, a.level1, a.period, a.county_code
