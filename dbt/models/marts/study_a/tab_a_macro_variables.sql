{{ config(materialized='table') }}
-- Study A Table 4.1: the chapter 4 model variables as the SUR models use them (spec A §3.8), built
-- within each country group j from rate_a_macro (the settings' variant) over the study window:
-- per variable and group, the number of series (sex x age cells), years, and the min / mean / max
-- of the series as entered (EMI as a fraction, ANKO/ANME shares on 1 January, ln RELINNT_j,
-- LEDNOR and LED_j in %, ln BEH_j, Trend = 1 in 1990). min_population_jan1 is the smallest
-- 1 January stock behind the row (the denominator cells of EMI/ANKO/ANME, or BEH itself).
with r as (
    select * from {{ ref('rate_a_macro') }}
    where in_study_window and country_group in (1, 2, 3)
),
cell as (
    select r.*, {{ band_number('age_group_a', 'age_group') }} as age_index
    from r where r.sex in (1, 2) and r.age_group <> 'all'
),
grp as (select * from r where sex = 0 and age_group = 'all'),
long as (
    select 1 as ord, 'EMI' as variable, country_group, year, emi as value, population_jan1, sex, age_index from cell
    union all
    select 2, 'ANKO', country_group, year, anko, population_jan1, sex, age_index from cell
    union all
    select 3, 'ANME', country_group, year, anme, population_jan1, sex, age_index from cell
    union all
    select 4, 'RELINNT', country_group, year,
           ln(case country_group when 1 then relinnt1 when 2 then relinnt2 else relinnt3 end),
           cast(null as {{ dbt.type_bigint() }}), 0, 0
    from grp
    union all
    select 5, 'LEDNOR', country_group, year, lednor, cast(null as {{ dbt.type_bigint() }}), 0, 0 from grp
    union all
    select 6, 'LED', country_group, year, case country_group when 1 then led1 when 2 then led2 end,
           cast(null as {{ dbt.type_bigint() }}), 0, 0
    from grp where country_group in (1, 2)
    union all
    select 7, 'BEH', country_group, year, ln(nullif(beh, 0)), beh, 0, 0 from grp
    union all
    select 8, 'Trend', country_group, year, cast(year - {{ var('study_a_first_year') }} + 1 as {{ type_double() }}),
           cast(null as {{ dbt.type_bigint() }}), 0, 0
    from grp
),
defs as (
    select 'EMI' as variable, 'EMI_Ki / EMI_Mi' as name,
    'Emigration rate of women / men in age group i (Table A2), group j, year t; multi-migrants per the macro setting'
           as definition,
           'fraction' as entered
    union all
    select 'ANKO', 'ANKO_Ki / ANKO_Mi',
           'Share with short duration of residence (0-2 years) among immigrants of that sex x age group, 1 January t',
           'share'
    union all
    select 'ANME', 'ANME_Ki / ANME_Mi',
           'Share with medium duration of residence (3-9 years), defined the same way', 'share'
    union all
    select 'RELINNT', 'RELINNTj', 'GDP per capita (PPP) Norway / GDP per capita (PPP) group j', 'natural log'
    union all
    select 'LEDNOR', 'LEDNOR', 'Unemployment rate in Norway (LFS), %', 'level'
    union all
    select 'LED', 'LEDj', 'Unemployment rate in group j (j = 1, 2), population-weighted, %', 'level'
    union all
    select 'BEH', 'BEHj', 'Immigrants from group j resident on 1 January t (network)', 'natural log'
    union all
    select 'Trend', 'Trend', 'Time trend, 1 in 1990 rising by 1 a year', 'level'
)
select
    cast(min(l.ord) as {{ dbt.type_int() }})                  as variable_order,
    cast(d.name as {{ dbt.type_string() }})                   as variable,
    cast(l.country_group as {{ dbt.type_int() }})             as country_group,
    cast(d.definition as {{ dbt.type_string() }})             as definition,
    cast(d.entered as {{ dbt.type_string() }})                as entered_as,
    cast(count(distinct {{ dbt.concat(["cast(l.sex as " ~ dbt.type_string() ~ ")", "'_'",
                                       "cast(l.age_index as " ~ dbt.type_string() ~ ")"]) }})
         as {{ dbt.type_int() }})                             as n_series,
    cast(min(l.year) as {{ dbt.type_int() }})                 as first_year,
    cast(max(l.year) as {{ dbt.type_int() }})                 as last_year,
    cast(count(l.value) as {{ dbt.type_int() }})              as n_values,
    cast(min(l.value) as {{ type_double() }})                 as min_value,
    -- the mean from an integer sum (values in units of 1e-12, |value| < 100, at most a few thousand of them): a sum
    -- of doubles depends on the order the engine's threads add them in, so a rerun or a backfill year by year gave
    -- a different last bit (tests/integration/test_ops_pipeline.py); integer addition does not
    cast(1.0 * sum(cast(round(l.value * 1e12, 0) as {{ dbt.type_bigint() }})) / nullif(count(l.value), 0) / 1e12
         as {{ type_double() }})                              as mean_value,
    cast(max(l.value) as {{ type_double() }})                 as max_value,
    cast(min(l.population_jan1) as {{ dbt.type_bigint() }})   as min_population_jan1
from long as l
inner join defs as d on d.variable = l.variable
group by d.name, l.country_group, d.definition, d.entered
