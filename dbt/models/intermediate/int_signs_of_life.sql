-- One row per person and calendar year with a sign of life in Norway: income activity (wages,
-- self-employment, benefits, employment), enrolment in education, or a registered immigration
-- or reported emigration (administrative emigrations are the register's own decision, not a sign
-- of life). Used for suspected over-coverage and for back-dating administrative emigrations.
select person_id, year, max(source) as example_source
from (
    select person_id, income_year as year, 'income' as source
    from {{ ref('stg_income') }} where has_activity
    union all
    select person_id, reference_year as year, 'education' as source
    from {{ ref('stg_education') }} where enrolled
    union all
    select person_id, event_year as year, 'migration' as source
    from {{ ref('stg_migration_events') }}
    where direction = 'in' or not is_administrative
) as s
group by person_id, year
