{#- Study B's risk set (spec B §4.1), one definition for the main panel (fct_b_person_year) and its
    missing-destination variants (fct_b_person_year_md_variants): md = person | censor | return,
    se = person_year | person (see the vars study_b_missing_destination, study_b_self_employed). -#}
{% macro study_b_panel(md, se) %}
with base as (
    select py.*
    from {{ ref('fct_person_year') }} as py
    where py.in_study_b_population
      and py.year >= py.first_immigration_year
),
first_em as (
    -- the first emigration after the first immigration (end of the first spell)
    select e.person_id, min(e.event_year) as first_emigration_year
    from {{ ref('fct_emigration') }} as e
    join {{ ref('int_person_attributes') }} as p on p.person_id = e.person_id
    where e.event_date >= p.first_immigration_date
    group by e.person_id
),
first_em_dest as (
    select e.person_id, min(e.dest_class_b) as first_dest_class_b
    from {{ ref('fct_emigration') }} as e
    join first_em as f on f.person_id = e.person_id and f.first_emigration_year = e.event_year
    join {{ ref('int_person_attributes') }} as p on p.person_id = e.person_id
    where e.event_date >= p.first_immigration_date
      and e.emigration_number = (select min(e2.emigration_number) from {{ ref('fct_emigration') }} as e2
                                 where e2.person_id = e.person_id and e2.event_date >= p.first_immigration_date)
    group by e.person_id
),
ever_self_employed as (
    select distinct person_id from base
    where self_employed and year between {{ var('study_b_first_year') }} and {{ var('study_b_last_year') }}
),
spell as (
    select b.*, f.first_emigration_year, d.first_dest_class_b
    from base as b
    left join first_em as f on f.person_id = b.person_id
    left join first_em_dest as d on d.person_id = b.person_id
    where (f.first_emigration_year is null or b.year <= f.first_emigration_year)
),
risk as (
    select s.*,
           cast(case when s.year = s.first_emigration_year then
                    case when s.first_dest_class_b = 'return' then 1
                         when s.first_dest_class_b = 'onward' then 2
                         {% if md == 'return' %} when s.first_dest_class_b = 'unknown' then 1 {% endif %}
                    end
                else 0 end as {{ dbt.type_int() }}) as y
    from spell as s
    where s.year between {{ var('study_b_first_year') }} and {{ var('study_b_last_year') }}
      and s.age between {{ var('study_b_min_age') }} and {{ var('study_b_max_age') }}
      {% if md == 'person' %}
      and coalesce(s.first_dest_class_b, 'none') <> 'unknown'
      {% elif md == 'censor' %}
      -- coalesce: a person who never emigrates has a null first_emigration_year and keeps every year
      and not coalesce(s.year = s.first_emigration_year and s.first_dest_class_b = 'unknown', false)
      {% endif %}
      {% if se == 'person_year' %}
      and not coalesce(s.self_employed, false)
      {% elif se == 'person' %}
      and s.person_id not in (select person_id from ever_self_employed)
      {% endif %}
),
panel as (
select
    r.person_id,
    r.year,
    r.y,
    r.sex,
    cast(r.sex = 2 as boolean)                                  as female,
    r.birth_year,
    r.age,
    r.age_band_b                                                as age_band,
    r.birth_country,
    r.destination_country,
    r.origin_b                                                  as origin,
    r.first_immigration_year                                    as arrival_year,
    r.age_at_first_immigration                                  as arrival_age,
    r.first_immigration_reason                                  as imm_reason,
    r.duration_years                                            as dur_years,
    r.dur_band_b                                                as dur_band,
    r.resident_jan1,
    coalesce(r.norwegian_citizen, false)                        as citizen_no,
    coalesce(r.spouse_in_norway, false)                         as spouse_in_no,
    coalesce(r.children_in_household, false)                    as child_in_hh,
    r.educ_b                                                    as educ,
    coalesce(r.employed, false)                                 as employed,
    coalesce(r.welfare_any, false)                              as welfare_any,
    r.earned_income                                             as income_nok,
    -- the same income at 2015 prices: deflated by the CPI of the income year t-1 (seed cpi, annual
    -- average, 2015 = 100); null when the income is, or the income year has no CPI row
    cast(r.earned_income * 100.0 / nullif(cpi.cpi_2015, 0) as {{ type_double() }}) as income_nok_real,
    r.net_wealth,
    {% if var('study_b_income_percentile_reference') == 'residents_20_65' %}
    r.income_pct_20_65                                          as inc_pct,
    {% else %}
    cast(case when r.earned_income is not null then
         100.0 * percent_rank() over (partition by r.year, case when r.earned_income is null then 1 else 0 end
                                      order by r.earned_income asc nulls first) end as {{ type_double() }}) as inc_pct,
    {% endif %}
    r.municipality_2013,
    r.centrality,
    r.provisional,
    -- entered through the Nordic-citizen route, not a listed immigration reason (sensitivity run)
    cast(not coalesce(r.first_immigration_reason in ({% for x in var('study_b_immigration_reasons') %}'{{ x }}'{% if not loop.last %}, {% endif %}{% endfor %}), false)
         as boolean)                                            as nordic_route,
    -- self-employed in any year 2000-2020 after arrival (sensitivity run; all false under 'person')
    cast(r.person_id in (select person_id from ever_self_employed) as boolean) as ever_self_employed
from risk as r
left join {{ ref('cpi') }} as cpi on cpi.year = r.year - 1
)
select
    p.*,
    cast({{ inc_group_b('p.inc_pct') }} as {{ dbt.type_string() }}) as inc_group,
    cast(case when p.net_wealth is null then 'unknown'
              when p.net_wealth <= 0 then 'le0'
              else {{ dbt.concat(["'Q'", "cast(ntile(5) over (partition by p.year, case when p.net_wealth > 0 then 1 else 0 end order by p.net_wealth asc nulls first) as " ~ dbt.type_string() ~ ")"]) }}
         end as {{ dbt.type_string() }})                      as wealth_group
from panel as p
{% endmacro %}
