-- Study A denominator: immigrants (SSB category B) resident on 1 January as registered, classified
-- on that date (age in completed years on 1 Jan, or 31 Dec age per var study_a_age_convention;
-- botid from the first immigration; municipality on 1 Jan, 2013 borders).
-- removed_by_backdating: the person left before this 1 January once their administrative
-- emigration is back-dated (fct_a_backdated_absence, §2.3/§7); the 'backdated' dating variant drops
-- these rows, the 'registered' and 'excluded' variants keep them.
select
    py.person_id,
    py.year,
    py.sex,
    py.country_group_a,
    {% if var('study_a_age_convention') == 'end_of_year' %} py.age {% else %} py.age_jan1 {% endif %} as age_a,
    py.botid_jan1 as botid_a,
    py.botid_group_a3a,
    py.botid_group_a3b,
    py.municipality_2013,
    py.county_code,
    py.centrality,
    py.provisional,
    cast(ab.person_id is not null as boolean) as removed_by_backdating
from {{ ref('fct_person_year') }} as py
left join {{ ref('fct_a_backdated_absence') }} as ab on ab.person_id = py.person_id and ab.year = py.year
where py.resident_jan1 and py.is_immigrant
