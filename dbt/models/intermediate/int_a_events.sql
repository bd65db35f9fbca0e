-- Study A numerator as the settings select it: the variant of fct_a_emigration_dated named by var
-- study_a_admin_emigration_dating ('registered' | 'backdated' | 'exclude', §7), one row per event.
-- All dating variants are built side by side in fct_a_emigration_dated (marts/study_a); see there
-- for the definitions, the classification (var study_a_numerator_classification) and the age
-- convention (var study_a_age_convention). multi_migrant is kept as a flag; each mart applies its
-- own include/exclude var (§2.4).
select
    event_id,
    person_id,
    year,
    sex,
    country_group_a,
    is_administrative,
    multi_migrant,
    provisional,
    age_a,
    botid_a,
    botid_group_a3a,
    botid_group_a3b,
    municipality_2013,
    county_code,
    centrality,
    registered_year,
    shift_years
from {{ ref('fct_a_emigration_dated') }}
where selected_dating
