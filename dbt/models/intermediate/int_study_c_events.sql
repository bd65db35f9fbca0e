-- Study C emigrations (§2.3, §2.6): registered emigrations dated in 2000-2023 by persons in the
-- sample (resident on 1 January in at least one year aged 18-35 within the window), aged 18-35 on
-- 31 December of the emigration year. Each event appears once per population_group it belongs to:
-- its own group (G1..G5), 'G1+G2' (descendants, pooled in §4.2) and 'all'.
with sample as (
    select distinct person_id from {{ ref('fct_person_year') }} where in_study_c
),
ev as (
    select e.*
    from {{ ref('fct_emigration') }} as e
    join sample as s on s.person_id = e.person_id
    where e.event_year between {{ var('study_c_first_year') }} and {{ var('study_c_last_year') }}
      and e.age between {{ var('study_c_min_age') }} and {{ var('study_c_max_age') }}
),
groups as (
    select e.*, e.group5_c as population_group from ev as e
    union all
    select e.*, 'G1+G2' as population_group from ev as e where e.is_descendant_c
    union all
    select e.*, 'all' as population_group from ev as e
)
select
    g.event_id, g.person_id, g.population_group, g.group5_c,
    g.event_year as year, g.age, g.sex,
    cast({{ period_c('g.event_year') }} as {{ dbt.type_string() }}) as period,
    g.educ_c, g.origin_group19, g.dest_cat7, g.dest_type3, g.dest_group19,
    g.returned_5y, g.return_censored, g.status_at_horizon, g.is_administrative, g.provisional,
    cast(g.event_year <= {{ var('study_c_return_last_emigration_year') }} as boolean) as in_return_window
from groups as g
