{{ config(materialized='table') }}
-- Study A Figs 3.7-3.9: emigrations by immigrants pooled over var study_a_pooled_years (2009-2013),
-- dating per var study_a_admin_emigration_dating (int_a_events), multi-migrants per var
-- study_a_macro_multi_migrants: single year of age x sex (3.7), single age x country group (3.8),
-- single year of botid x country group (3.9). Ages/botid at the event (moved back with the event
-- when back-dated). Unknown x (botid when the first immigration predates the deliveries) is left
-- out: a published cell needs a code.
{% set yrs = var('study_a_pooled_years') %}
with ev as (
    select * from {{ ref('int_a_events') }}
    where year between {{ yrs[0] }} and {{ yrs[1] }}
    {% if var('study_a_macro_multi_migrants') == 'exclude' %} and not multi_migrant {% endif %}
)
select * from (
select cast('a_fig_3_7' as {{ dbt.type_string() }}) as exhibit, cast('age' as {{ dbt.type_string() }}) as x_dim,
       cast(age_a as {{ dbt.type_int() }}) as x, cast('sex' as {{ dbt.type_string() }}) as series_dim,
       cast(sex as {{ dbt.type_int() }}) as series, cast(count(*) as {{ dbt.type_bigint() }}) as emigrations
from ev group by age_a, sex
union all
select 'a_fig_3_8', 'age', age_a, 'country_group', country_group_a, count(*) from ev group by age_a, country_group_a
union all
select 'a_fig_3_9', 'botid', botid_a, 'country_group', country_group_a, count(*)
from ev group by botid_a, country_group_a
) as c
where x is not null
