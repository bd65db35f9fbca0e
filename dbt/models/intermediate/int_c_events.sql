-- Study C emigrations (§2.3, §2.6): registered emigrations dated in 2000-2023 by persons in the
-- sample (resident on 1 January in at least one year aged 18-35 within the window), aged 18-35 on
-- 31 December of the emigration year. Each event appears once per population_group it belongs to:
-- its own group (G1..G5, or GX = age at immigration unknown), 'G1+G2' (descendants, pooled in
-- §4.2) and 'all'.
-- Five-year return (§2.8), under both horizon rules (var study_c_return_horizon_rule picks the
-- primary one, returned_5y / return_censored / status_at_horizon):
--   jan1 : status on 1 January t+H. Delivered snapshots where they exist (fct_emigration); the
--          1 January after the last delivery is the 31 December status of the last register year,
--          known from that delivery's events (the 2019 cohort of a 2023 delivery). Censored only
--          when t+H is later still.
--   exact: status on the emigration date + H years, from the events; censored when that date is
--          after 1 January following the last register year.
-- Event-based status at a date D: dead if the person died before D while resident (last move
-- 'in'), else resident if the last move dated before D is an immigration, else emigrated (the
-- emigration itself is the earliest move considered, so there always is one).
{%- set h = var('study_c_return_horizon_years') %}
{%- set rule = var('study_c_return_horizon_rule') %}
{%- if rule not in ['jan1', 'exact'] %}
{{ exceptions.raise_compiler_error("var study_c_return_horizon_rule must be 'jan1' or 'exact'") }}
{%- endif %}
with cov as (select * from {{ ref('int_register_coverage') }}),
sample as (
    select distinct person_id from {{ ref('fct_person_year') }} where in_study_c
),
ev as (
    select e.*
    from {{ ref('fct_emigration') }} as e
    inner join sample as s on s.person_id = e.person_id
    where e.event_year between {{ var('study_c_first_year') }} and {{ var('study_c_last_year') }}
      and e.age between {{ var('study_c_min_age') }} and {{ var('study_c_max_age') }}
),
horizon as (
    select
        ev.event_id, ev.person_id, ev.event_date,
        {{ year_start('ev.event_year + ' ~ h) }}              as horizon_jan1,
        cast({{ dbt.dateadd('year', h, 'ev.event_date') }} as date) as horizon_exact,
        {{ year_start('cov.last_register_year + 1') }}        as known_until
    from ev
    cross join cov
),
horizon_long as (
    select event_id, person_id, event_date, 'jan1' as horizon_rule, horizon_jan1 as horizon_date, known_until
    from horizon
    union all
    select event_id, person_id, event_date, 'exact', horizon_exact, known_until
    from horizon
),
last_move as (
    -- the person's last move dated from the emigration up to the day before the horizon
    select event_id, horizon_rule, direction from (
        select hl.event_id, hl.horizon_rule, m.direction,
               row_number() over (partition by hl.event_id, hl.horizon_rule
                                  order by m.event_date desc nulls last, m.registration_date desc nulls last,
                                           m.event_id desc nulls last) as rn
        from horizon_long as hl
        inner join {{ ref('stg_migration_events') }} as m
          on m.person_id = hl.person_id
         and m.event_date >= hl.event_date
         and m.event_date < hl.horizon_date
    ) as x where rn = 1
),
event_status as (
    select
        hl.event_id, hl.horizon_rule,
        cast(hl.horizon_date <= hl.known_until as boolean) as horizon_known,
        case
            when pa.death_date is not null and pa.death_date >= hl.event_date
                 and pa.death_date < hl.horizon_date and lm.direction = 'in' then 'dead'
            when lm.direction = 'in' then 'resident'
            else 'emigrated'
        end as status_from_events
    from horizon_long as hl
    left join last_move as lm on lm.event_id = hl.event_id and lm.horizon_rule = hl.horizon_rule
    left join {{ ref('int_person_attributes') }} as pa on pa.person_id = hl.person_id
),
ret as (
    select
        ev.event_id,
        -- 1 January t+H: the delivered snapshot, else the last delivery's 31 December status
        case
            when ev.event_year + {{ h }} <= cov.last_register_year then ev.status_at_horizon
            when sj.horizon_known then sj.status_from_events
        end as status_jan1,
        case when sx.horizon_known then sx.status_from_events end as status_exact,
        -- the two rules agree on the 1 January where a snapshot exists (diagnostic)
        sj.status_from_events as status_jan1_from_events
    from ev
    cross join cov
    inner join event_status as sj on sj.event_id = ev.event_id and sj.horizon_rule = 'jan1'
    inner join event_status as sx on sx.event_id = ev.event_id and sx.horizon_rule = 'exact'
),
ev_ret as (
    select
        ev.*,
        r.status_jan1, r.status_exact, r.status_jan1_from_events,
        {%- for v in ['jan1', 'exact'] %}
        cast(case
                when r.status_{{ v }} is null then null
                when r.status_{{ v }} = 'resident' then 1
                {%- if var('study_c_deaths_count_as_returned') %}
                when r.status_{{ v }} = 'dead' then 1
                {%- endif %}
                else 0
             end as {{ dbt.type_int() }}) as returned_5y_{{ v }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from ev
    inner join ret as r on r.event_id = ev.event_id
),
groups as (
    select e.*, e.group5_c as population_group from ev_ret as e
    union all
    select e.*, 'G1+G2' as population_group from ev_ret as e where e.is_descendant_c
    union all
    select e.*, 'all' as population_group from ev_ret as e
)
select
    g.event_id, g.person_id, g.population_group, g.group5_c,
    g.event_year as year, g.age, g.sex,
    cast({{ period_c('g.event_year') }} as {{ dbt.type_string() }}) as period,
    g.educ_c,
    -- §8.5: no registered education before the emigration (folded into 'low' by educ_c)
    cast(g.nus_level_before is null as boolean)                    as educ_missing,
    g.origin_group19, g.dest_cat7, g.dest_type3, g.dest_group19,
    cast(g.status_{{ rule }} as {{ dbt.type_string() }})            as status_at_horizon,
    cast(g.returned_5y_{{ rule }} as {{ dbt.type_int() }})          as returned_5y,
    cast(g.status_{{ rule }} is null as boolean)                   as return_censored,
    cast(g.status_jan1 as {{ dbt.type_string() }})                 as status_jan1,
    cast(g.returned_5y_jan1 as {{ dbt.type_int() }})               as returned_5y_jan1,
    cast(g.status_exact as {{ dbt.type_string() }})                as status_exact,
    cast(g.returned_5y_exact as {{ dbt.type_int() }})              as returned_5y_exact,
    cast(g.status_jan1_from_events as {{ dbt.type_string() }})     as status_jan1_from_events,
    g.is_administrative, g.provisional,
    cast(g.event_year <= {{ var('study_c_return_last_emigration_year') }} as boolean) as in_return_window
from groups as g
