{{ config(materialized='table') }}
-- Study A sensitivity variants, built side by side in one run (spec A §2.4, §7): the dating of
-- administrative emigrations x the multi-migrant rule. One home for the variant names and for the
-- mapping of the settings onto them: every *_variants mart cross-joins this table, and the plain
-- marts (rate_a_flows, rate_a_micro, rate_a_macro, rate_a_county_period) keep the row the settings
-- select for the study's own exhibits.
--   dating         : registered (decision date, as the study) | backdated (estimated real move) |
--                    excluded (administrative emigrations dropped from the numerator)
--   multi_migrants : included | excluded (all migration events of a person-year with both
--                    directions dropped; 1 January stock unchanged)
{% set dating = var('study_a_admin_emigration_dating') %}
{% set macro_mm = var('study_a_macro_multi_migrants') %}
{% set micro_mm = var('study_a_micro_multi_migrants') %}
{% if dating not in ['registered', 'backdated', 'exclude'] %}
{{ exceptions.raise_compiler_error("var study_a_admin_emigration_dating must be 'registered', 'backdated' or 'exclude'") }}
{% endif %}
{% for v in [macro_mm, micro_mm] %}{% if v not in ['include', 'exclude'] %}
{{ exceptions.raise_compiler_error("vars study_a_macro/micro_multi_migrants must be 'include' or 'exclude'") }}
{% endif %}{% endfor %}
{% set dating_variant = 'excluded' if dating == 'exclude' else dating %}
with d as (
    select 'registered' as dating, 1 as dating_order
    union all
    select 'backdated', 2
    union all
    select 'excluded', 3
),
m as (
    select 'included' as multi_migrants, 1 as mm_order
    union all
    select 'excluded', 2
)
select
    cast(d.dating as {{ dbt.type_string() }})                                    as dating,
    cast(m.multi_migrants as {{ dbt.type_string() }})                            as multi_migrants,
    cast({{ dbt.concat(["d.dating", "'/'", "m.multi_migrants"]) }} as {{ dbt.type_string() }}) as variant,
    cast(d.dating_order as {{ dbt.type_int() }})                                 as dating_order,
    cast(m.mm_order as {{ dbt.type_int() }})                                     as mm_order,
    cast(d.dating = '{{ dating_variant }}' as boolean)                           as selected_dating,
    -- macro data (ch. 4, Figs 3.1-3.10, 4.2) and micro data (ch. 5, Figs 3.11-3.18) have their own rule
    cast(m.multi_migrants = '{{ macro_mm }}d' as boolean)                        as selected_mm_macro,
    cast(m.multi_migrants = '{{ micro_mm }}d' as boolean)                        as selected_mm_micro
from d cross join m
