-- One row per person and register year: highest completed NUS level on 1 Oct of register_year - 1
-- and enrolment during register_year - 1 (reference_year). Used for year t = register_year
-- ("status at the start of year t", study C §2.9 [A]; "t-1" covariate, study B §4.1).
select
    cast(person_id as {{ dbt.type_string() }})          as person_id,
    cast(register_year as {{ dbt.type_int() }})         as year,
    cast(register_year - 1 as {{ dbt.type_int() }})     as reference_year,
    cast(nus_level as {{ dbt.type_int() }})             as nus_level,
    cast(enrolled as boolean)                           as enrolled,
    cast(vintage as date)                               as vintage
from {{ source('raw', 'education') }}
