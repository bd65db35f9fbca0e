-- Study A numerator: emigrations by immigrants (SSB category B), classified per the settings:
--   year      : var study_a_admin_emigration_dating ('registered' | 'backdated' | 'exclude', §7)
--   classification: var study_a_numerator_classification ('event': age/botid/municipality at the
--               event; 'cohort': the person's 1 January row of the year; same-year arrivals drop, §3.1)
--   age       : var study_a_age_convention ('completed' | 'end_of_year', §3.2)
-- multi_migrant is kept as a flag; each mart applies its own include/exclude var (§2.4).
{% set dating = var('study_a_admin_emigration_dating') %}
{% set cls = var('study_a_numerator_classification') %}
{% set agec = var('study_a_age_convention') %}
with e as (
    select e.*,
           {% if dating == 'backdated' %} e.backdated_year {% else %} e.event_year {% endif %} as year_a
    from {{ ref('fct_emigration') }} as e
    where e.is_immigrant
    {% if dating == 'exclude' %} and not e.is_administrative {% endif %}
),
py as (select * from {{ ref('fct_person_year') }} where resident_jan1)
select
    e.event_id,
    e.person_id,
    cast(e.year_a as {{ dbt.type_int() }})                   as year,
    e.sex,
    e.country_group_a,
    e.is_administrative,
    e.multi_migrant,
    e.provisional,
    {% if cls == 'cohort' %}
    {% if agec == 'end_of_year' %} py.age {% else %} py.age_jan1 {% endif %} as age_a,
    py.botid_jan1                                            as botid_a,
    py.botid_group_a3a,
    py.botid_group_a3b,
    py.municipality_2013,
    py.county_code,
    py.centrality
    {% else %}
    {% if agec == 'end_of_year' %} e.age {% else %} e.age_at_event {% endif %} as age_a,
    e.botid_at_event                                         as botid_a,
    e.botid_group_a3a,
    e.botid_group_a3b,
    e.municipality_2013,
    e.county_code,
    e.centrality
    {% endif %}
from e
{% if cls == 'cohort' %}
join py on py.person_id = e.person_id and py.year = e.year_a
{% endif %}
