{{ config(materialized='table') }}
-- Study A Appendix D: the municipalities of 1.1.2013 by centrality level (seed municipalities_2013).
select
    cast(municipality_code as {{ dbt.type_string() }}) as municipality_code,
    cast(municipality_name as {{ dbt.type_string() }}) as municipality_name,
    cast(centrality as {{ dbt.type_int() }})           as centrality,
    cast(county_code as {{ dbt.type_string() }})       as county_code,
    cast(county_name as {{ dbt.type_string() }})       as county_name
from {{ ref('municipalities_2013') }}
