-- One row: which years the deliveries cover. Everything "provisional" or "censored" is relative
-- to this, so adding a register year recomputes the flags of the earlier years.
select
    cast(min(year) as {{ dbt.type_int() }})                                   as first_register_year,
    cast(max(year) as {{ dbt.type_int() }})                                   as last_register_year,
    -- income/enrolment for calendar year Y arrive with register year Y + 1
    cast(max(year) - 1 as {{ dbt.type_int() }})                               as last_activity_year,
    cast(max(year) - {{ var('provisional_years') }} as {{ dbt.type_int() }})  as last_final_year
from {{ ref('stg_population_status') }}
