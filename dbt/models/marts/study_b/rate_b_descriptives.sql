{{ config(materialized='table') }}
-- Study B §4.3 descriptives: persons, person-years, returns and onward moves, rates per 1,000
-- person-years and the onward share of emigrations, overall and by each covariate's level.
{% set dims = ['age_band', 'female', 'citizen_no', 'spouse_in_no', 'child_in_hh', 'dur_band', 'educ',
               'employed', 'welfare_any', 'origin', 'inc_group', 'wealth_group', 'year'] %}
-- inc_group and wealth_group are the panel's own columns (one definition for descriptives and model).
with b as (
    select f.* from {{ ref('fct_b_person_year') }} as f
),
cells as (
    select cast('total' as {{ dbt.type_string() }}) as dimension, cast('all' as {{ dbt.type_string() }}) as level,
           count(distinct person_id) as persons, count(*) as person_years,
           -- coalesce: on an empty panel (register years before 2000) the sums are null, the counts are 0
           coalesce(sum(case when y = 1 then 1 else 0 end), 0) as returns,
           coalesce(sum(case when y = 2 then 1 else 0 end), 0) as onward
    from b
    {% for d in dims %}
    union all
    select '{{ d }}', cast({{ d }} as {{ dbt.type_string() }}), count(distinct person_id), count(*),
           sum(case when y = 1 then 1 else 0 end), sum(case when y = 2 then 1 else 0 end)
    from b group by {{ d }}
    {% endfor %}
)
select
    dimension, level,
    cast(persons as {{ dbt.type_bigint() }})      as persons,
    cast(person_years as {{ dbt.type_bigint() }}) as person_years,
    cast(returns as {{ dbt.type_bigint() }})      as returns,
    cast(onward as {{ dbt.type_bigint() }})       as onward,
    cast(returns + onward as {{ dbt.type_bigint() }}) as emigrations,
    cast(1000.0 * returns / nullif(person_years, 0) as {{ type_double() }}) as return_per_1000,
    cast(1000.0 * onward / nullif(person_years, 0) as {{ type_double() }})  as onward_per_1000,
    cast(100.0 * onward / nullif(returns + onward, 0) as {{ type_double() }}) as onward_share_pct,
    {{ small_cell('returns + onward', 'person_years') }} as small_cell
from cells
