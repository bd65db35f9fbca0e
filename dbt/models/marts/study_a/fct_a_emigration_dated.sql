{{ config(materialized='table') }}
-- Study A numerator, every dating variant in one table: one row per emigration by an immigrant
-- (SSB category B) and dating variant of dim_a_variants (spec A §2.3, §7):
--   registered : the registered date (administrative: the decision date), as the study;
--   backdated  : an administrative emigration moves to the estimated real move, the same calendar
--                day shift_years = event_year - backdated_year earlier (backdated_year = year after
--                the last sign of life, fct_emigration). Year, age and duration of residence at the
--                event all move back by shift_years; the last municipality stays. The 1 January
--                stocks lose the person from the year after the back-dated year
--                (fct_a_backdated_absence);
--   excluded   : administrative emigrations dropped.
-- Classification per var study_a_numerator_classification ('event' | 'cohort': the person's 1 Jan
-- row of the counted year; same-year arrivals drop) and var study_a_age_convention. multi_migrant
-- is the registered-date flag (§2.4); each mart applies its own include/exclude variant.
{% set cls = var('study_a_numerator_classification') %}
{% set agec = var('study_a_age_convention') %}
with cov as (select * from {{ ref('int_register_coverage') }}),
v as (select distinct dating, selected_dating from {{ ref('dim_a_variants') }}),
e as (
    select e.*, v.dating, v.selected_dating,
           cast(case when v.dating = 'backdated' then e.event_year - e.backdated_year else 0 end
                as {{ dbt.type_int() }}) as shift_years
    from {{ ref('fct_emigration') }} as e
    cross join v
    where e.is_immigrant and (v.dating <> 'excluded' or not e.is_administrative)
),
ev as (
    select e.*,
           e.event_year - e.shift_years                                  as year_a,
           case when e.botid_at_event is not null
                then case when e.botid_at_event - e.shift_years < 0 then 0
                          else e.botid_at_event - e.shift_years end end  as botid_moved,
           e.botid_at_event_lower_bound - e.shift_years                  as botid_lower_bound_moved
    from e
)
{% if cls == 'cohort' %}
, py as (select * from {{ ref('fct_person_year') }} where resident_jan1)
{% endif %}
select
    ev.event_id,
    ev.person_id,
    cast(ev.dating as {{ dbt.type_string() }})                       as dating,
    cast(ev.selected_dating as boolean)                               as selected_dating,
    cast(ev.year_a as {{ dbt.type_int() }})                           as year,
    cast(ev.event_year as {{ dbt.type_int() }})                       as registered_year,
    cast(ev.shift_years as {{ dbt.type_int() }})                      as shift_years,
    cast({{ dbt.dateadd('year', '-1 * ev.shift_years', 'ev.event_date') }} as date) as event_date_a,
    ev.sex,
    ev.country_group_a,
    ev.is_administrative,
    ev.multi_migrant,
    cast(ev.year_a > cov.last_final_year as boolean)                 as provisional,
    {% if cls == 'cohort' %}
    cast({% if agec == 'end_of_year' %} py.age {% else %} py.age_jan1 {% endif %} as {{ dbt.type_int() }}) as age_a,
    py.botid_jan1                                                     as botid_a,
    py.botid_group_a3a,
    py.botid_group_a3b,
    py.municipality_2013,
    py.county_code,
    py.centrality
    {% else %}
    cast({% if agec == 'end_of_year' %} ev.age {% else %} ev.age_at_event {% endif %} - ev.shift_years
         as {{ dbt.type_int() }})                                     as age_a,
    cast(ev.botid_moved as {{ dbt.type_int() }})                      as botid_a,
    -- first immigration before the deliveries: the lower bound decides the open top group
    cast({{ band_with_lower_bound('botid_group_a3a', 'ev.botid_moved', 'ev.botid_lower_bound_moved',
                                  'ev.immigrated_before_data') }}
         as {{ dbt.type_string() }}) as botid_group_a3a,
    cast({{ band_with_lower_bound('botid_group_a3b', 'ev.botid_moved', 'ev.botid_lower_bound_moved',
                                  'ev.immigrated_before_data') }}
         as {{ dbt.type_string() }}) as botid_group_a3b,
    ev.municipality_2013,
    ev.county_code,
    ev.centrality
    {% endif %}
from ev
cross join cov
{% if cls == 'cohort' %}
join py on py.person_id = ev.person_id and py.year = ev.year_a
{% endif %}
