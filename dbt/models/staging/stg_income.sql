-- One row per person and income year (calendar year register_year - 1).
select
    cast(person_id as {{ dbt.type_string() }})                  as person_id,
    cast(income_year as {{ dbt.type_int() }})                   as income_year,
    cast(register_year as {{ dbt.type_int() }})                 as register_year,
    cast(wage_income as {{ type_double() }})                 as wage_income,
    cast(self_employment_income as {{ type_double() }})      as self_employment_income,
    cast(wage_income + self_employment_income as {{ type_double() }}) as earned_income,
    cast(welfare_benefits as {{ type_double() }})            as welfare_benefits,
    cast(net_wealth as {{ type_double() }})                  as net_wealth,
    cast(employed as boolean)                                   as employed,
    cast(self_employed as boolean)                              as self_employed,
    cast(welfare_benefits > 0 as boolean)                       as welfare_any,
    -- a sign of life in Norway in the income year (over-coverage rule)
    cast(wage_income > 0 or self_employment_income <> 0 or welfare_benefits > 0
         or employed or self_employed as boolean)               as has_activity,
    cast(vintage as date)                                       as vintage
from {{ source('raw', 'income') }}
