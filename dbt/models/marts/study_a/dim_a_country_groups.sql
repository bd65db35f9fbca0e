{{ config(materialized='table') }}
-- Study A Appendix A1: countries by study A country group (seed countries; spec A §3.4 with
-- Germany and Spain in group 1, §8.1). Countries without a group (Norway) are left out.
select
    cast(study_a_group as {{ dbt.type_int() }})    as country_group,
    cast(country_code as {{ dbt.type_string() }})  as country_code,
    cast(country_name as {{ dbt.type_string() }})  as country_name,
    cast(continent as {{ dbt.type_string() }})     as continent
from {{ ref('countries') }}
where study_a_group is not null
