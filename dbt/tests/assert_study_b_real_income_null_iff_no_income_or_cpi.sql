{{ config(meta={'dagster': {'ref': {'name': 'fct_b_person_year'}}}) }}
-- Study B §4.1 real income: income_nok_real is null exactly when the nominal income of t-1 is null or
-- the income year t-1 has no row in the seed cpi, in the main panel and in the missing-destination
-- variants (the same macro, study_b_panel). Returns the rows that break the rule. Shown in Dagster as a check of
-- fct_b_person_year (meta dagster.ref: a singular test with several parents has no asset of its own).
with panels as (
    select cast('main' as {{ dbt.type_string() }}) as panel, person_id, year, income_nok, income_nok_real
    from {{ ref('fct_b_person_year') }}
    union all
    select missing_destination, person_id, year, income_nok, income_nok_real
    from {{ ref('fct_b_person_year_md_variants') }}
)
select p.panel, p.person_id, p.year, p.income_nok, p.income_nok_real, c.cpi_2015
from panels as p
left join {{ ref('cpi') }} as c on c.year = p.year - 1
where (p.income_nok_real is null) <> (p.income_nok is null or c.year is null)
