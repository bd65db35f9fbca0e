-- One row per person and register year: the register status on 1 January of `year`
-- (= register_year). Municipality codes are recoded to the borders of 1 Jan 2013 (study A §2.5);
-- codes that cannot be mapped get municipality_2013 = '9999' and municipality_unmapped = true.
select
    cast(s.person_id as {{ dbt.type_string() }})          as person_id,
    cast(s.register_year as {{ dbt.type_int() }})         as year,
    cast(s.status as {{ dbt.type_string() }})             as status,
    cast(s.status = 'resident' as boolean)                as is_resident,
    cast(nullif(trim(s.municipality), '') as {{ dbt.type_string() }}) as municipality_code,
    cast(coalesce(m.municipality_2013, case when s.municipality is not null then '9999' end)
         as {{ dbt.type_string() }})                      as municipality_2013,
    cast(m.municipality_2013 is null and s.municipality is not null as boolean) as municipality_unmapped,
    cast(upper(nullif(trim(s.citizenship), '')) as {{ dbt.type_string() }}) as citizenship,
    cast(s.marital_status as {{ dbt.type_string() }})     as marital_status,
    cast(nullif(trim(s.spouse_id), '') as {{ dbt.type_string() }}) as spouse_id,
    cast(s.n_children_in_household as {{ dbt.type_int() }}) as n_children_in_household,
    cast(s.vintage as date)                               as vintage
from {{ source('raw', 'population_status') }} as s
left join {{ ref('stg_municipality_map') }} as m
    on m.municipality_code = nullif(trim(s.municipality), '')
   and cast(s.register_year as {{ dbt.type_int() }}) between m.valid_from_year and m.valid_to_year
