{{ config(materialized='table') }}
-- Study A Appendix A2 (age groups) and A3 (duration of residence: A3a macro model, A3b regional
-- analyses): each band's first and last year, derived from the band macros themselves (the one home
-- of the definitions) over 0..119 years. last_year null = open top band.
with n as (
    select cast(generated_number - 1 as {{ dbt.type_int() }}) as years
    from ({{ dbt.generate_series(120) }}) as s
),
b as (
    select 'a_tab_a2' as classification, {{ age_group_a('years') }} as band, years from n
    union all
    select 'a_tab_a3a', {{ botid_group_a3a('years') }}, years from n
    union all
    select 'a_tab_a3b', {{ botid_group_a3b('years') }}, years from n
)
select
    cast(classification as {{ dbt.type_string() }}) as classification,
    cast(row_number() over (partition by classification order by min(years) asc nulls last) as {{ dbt.type_int() }})
                                                     as band_number,
    cast(band as {{ dbt.type_string() }})           as band,
    cast(min(years) as {{ dbt.type_int() }})        as first_year,
    cast(case when max(years) < 119 then max(years) end as {{ dbt.type_int() }}) as last_year
from b
group by classification, band
