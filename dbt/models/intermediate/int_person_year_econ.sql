{{ config(event_time='period_start') }}
-- Education (1 Oct t-1) and income (calendar year t-1) per panel person-year: the "t-1"
-- covariates (study B §4.1). Separate step of fct_person_year (see int_person_year_status).
select
    py.person_id,
    py.year,
    {{ year_start('py.year') }}                   as period_start,
    ed.nus_level,
    ed.enrolled                                   as enrolled_prev_year,
    inc.wage_income, inc.self_employment_income, inc.earned_income, inc.welfare_benefits,
    inc.net_wealth, inc.employed, inc.self_employed, inc.welfare_any,
    inc.income_pct_all, inc.income_pct_20_65
from {{ ref('int_person_years') }} as py
left join {{ ref('stg_education') }} as ed on ed.person_id = py.person_id and ed.year = py.year
left join {{ ref('int_income_ranked') }} as inc on inc.person_id = py.person_id and inc.income_year = py.year - 1
